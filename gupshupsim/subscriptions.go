package gupshupsim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// MaxSubscriptionsPerApp is how many subscriptions (v2 and v3 together) an
// app may have.
const MaxSubscriptionsPerApp = 5

// Subscription error messages. The first three are Gupshup's; the others
// are the simulator's own.
const (
	msgInvalidURL       = "Invalid URL Passed"
	msgDuplicateTag     = "Duplicate component tag"
	msgNoSubscription   = "Subscription Does Not Exist"
	msgNotOwner         = "Not Subscription Owner"
	msgSubscriptionsMax = "Maximum 5 subscriptions allowed per app"
)

// Subscription is a callback subscription as the simulator stores it and
// answers it (the JSON shape of Gupshup's subscription object).
type Subscription struct {
	Active        bool     `json:"active"`
	AppID         string   `json:"appId"`
	CreatedOn     int64    `json:"createdOn"` // ms
	ID            string   `json:"id"`        // decimal digits
	Mode          int      `json:"mode"`      // bitmask of Modes, see ModeBit
	Modes         []string `json:"modes"`     // canonical mode names, in the order given
	LatencyBucket string   `json:"latencyBucket"`
	Meta          string   `json:"meta"`       // JSON text as given ("" when none)
	ModifiedOn    int64    `json:"modifiedOn"` // ms
	ShowOnUI      bool     `json:"showOnUI"`
	Tag           string   `json:"tag"`
	URL           string   `json:"url"`
	Version       int      `json:"version"` // 2 or 3
}

// Has reports whether the subscription covers mode (a canonical name).
func (s Subscription) Has(mode string) bool { return slices.Contains(s.Modes, mode) }

func (s *Subscription) clone() Subscription {
	c := *s
	c.Modes = slices.Clone(s.Modes)
	return c
}

// modeNames lists the known modes; a mode's bit is 1<<index. The first 14
// are the ones of Gupshup's older mode list (all of them → 16383, as the
// docs say); COEXISTENCE is newer. NONE is 0.
var modeNames = []string{
	"MESSAGE", "FLOWS_MESSAGE", "PAYMENTS", "SENT", "DELIVERED", "READ", "FAILED",
	"ENQUEUED", "DELETED", "BILLING", "TEMPLATE", "ACCOUNT", "OTHERS", "ALL", "COEXISTENCE",
}

// modeAliases are spellings seen in production code, stored canonically.
var modeAliases = map[string]string{"FLOW_MESSAGE": "FLOWS_MESSAGE", "DELETE": "DELETED"}

// ModeBit returns the bit of a mode in Subscription.Mode (0 for NONE and
// unknown names).
func ModeBit(mode string) int {
	if i := slices.Index(modeNames, mode); i >= 0 {
		return 1 << i
	}
	return 0
}

// parseModes reads a comma list of modes (case-insensitive, aliases
// accepted, duplicates dropped). ok is false when it names no mode or an
// unknown one.
func parseModes(values []string) (modes []string, mask int, ok bool) {
	for _, v := range values {
		for _, m := range strings.Split(v, ",") {
			m = strings.ToUpper(strings.TrimSpace(m))
			if m == "" {
				continue
			}
			if c, alias := modeAliases[m]; alias {
				m = c
			}
			if m != "NONE" && !slices.Contains(modeNames, m) {
				return nil, 0, false
			}
			if !slices.Contains(modes, m) {
				modes = append(modes, m)
				mask |= ModeBit(m)
			}
		}
	}
	return modes, mask, len(modes) > 0
}

func validCallbackURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.IsAbs() && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" &&
		u.Hostname() != "" && !strings.ContainsAny(s, " \t\r\n")
}

// validMeta accepts "" or a JSON object.
func validMeta(s string) bool {
	if s == "" {
		return true
	}
	var m map[string]json.RawMessage
	return json.Unmarshal([]byte(s), &m) == nil && m != nil
}

// Subscriptions returns copies of the app's subscriptions in creation order.
func (s *Sim) Subscriptions(appID string) []Subscription {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Subscription
	for _, sub := range s.subs {
		if sub.AppID == appID {
			out = append(out, sub.clone())
		}
	}
	return out
}

// findSub returns the subscription with that id (any app). s.mu must be held.
func (s *Sim) findSub(id string) (int, *Subscription) {
	for i, sub := range s.subs {
		if sub.ID == id {
			return i, sub
		}
	}
	return -1, nil
}

// appAuth checks that the app exists and the Authorization header carries
// its token, answering the error itself when not.
func (s *Sim) appAuth(w http.ResponseWriter, r *http.Request, appID string) bool {
	s.mu.Lock()
	a, known := s.apps[appID]
	var token string
	if known {
		token = a.Token
	}
	s.mu.Unlock()
	if !known {
		writeError(w, http.StatusBadRequest, msgInvalidApp)
		return false
	}
	if auth := r.Header.Get("Authorization"); auth == "" || auth != token {
		writeError(w, http.StatusUnauthorized, msgAuthFailed)
		return false
	}
	return true
}

// subscriptionAccess answers 405 (allowing methods) unless r's method is
// one of methods, then checks the app and its token (see appAuth). It
// reports whether the request may go on.
func (s *Sim) subscriptionAccess(w http.ResponseWriter, r *http.Request, appID string, methods ...string) bool {
	if !slices.Contains(methods, r.Method) {
		writeMethodNotAllowed(w, strings.Join(methods, ", "))
		return false
	}
	return s.appAuth(w, r, appID)
}

type subscriptionAnswer struct {
	Status       string       `json:"status"`
	Subscription Subscription `json:"subscription"`
}

type subscriptionsAnswer struct {
	Status        string         `json:"status"`
	Subscriptions []Subscription `json:"subscriptions"`
}

// subscriptionCollection serves /partner/app/{appId}/subscription.
func (s *Sim) subscriptionCollection(w http.ResponseWriter, r *http.Request, appID string, rec Request) {
	if !s.subscriptionAccess(w, r, appID, http.MethodGet, http.MethodPost, http.MethodDelete) {
		return
	}
	switch r.Method {
	case http.MethodGet:
		subs := s.Subscriptions(appID)
		if subs == nil {
			subs = []Subscription{}
		}
		writeJSON(w, http.StatusOK, subscriptionsAnswer{Status: "success", Subscriptions: subs})
	case http.MethodDelete:
		s.mu.Lock()
		s.subs = slices.DeleteFunc(s.subs, func(sub *Subscription) bool { return sub.AppID == appID })
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	case http.MethodPost:
		s.createSubscription(w, appID, subscriptionForm(rec))
	}
}

// subscriptionItem serves /partner/app/{appId}/subscription/{id}.
func (s *Sim) subscriptionItem(w http.ResponseWriter, r *http.Request, appID, id string, rec Request) {
	if !s.subscriptionAccess(w, r, appID, http.MethodGet, http.MethodPut, http.MethodDelete) {
		return
	}
	s.mu.Lock()
	i, sub := s.findSub(id)
	if sub == nil {
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, msgNoSubscription)
		return
	}
	if sub.AppID != appID {
		s.mu.Unlock()
		writeError(w, http.StatusForbidden, msgNotOwner)
		return
	}
	switch r.Method {
	case http.MethodGet:
		c := sub.clone()
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, subscriptionAnswer{Status: "success", Subscription: c})
	case http.MethodDelete:
		s.subs = slices.Delete(s.subs, i, i+1)
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	case http.MethodPut:
		s.mu.Unlock()
		s.updateSubscription(w, appID, id, subscriptionForm(rec))
	}
}

// subscriptionForm returns the form of a create/update request; a body
// without a form Content-Type is parsed as a form too.
func subscriptionForm(rec Request) url.Values {
	if rec.Form != nil {
		return rec.Form
	}
	f, _ := url.ParseQuery(string(rec.Body))
	if f == nil {
		f = url.Values{}
	}
	return f
}

// subscriptionFields is the validated content of a create/update form; nil
// members were absent.
type subscriptionFields struct {
	url, tag, meta   *string
	version          *int
	modes            []string
	mask             int
	showOnUI, active *bool
}

// parseSubscriptionFields validates the fields present in f; with create,
// url, tag, version and modes are required. It returns a 400 message on
// failure.
func parseSubscriptionFields(f url.Values, create bool) (subscriptionFields, string) {
	var out subscriptionFields
	if f.Has("url") || create {
		u := strings.TrimSpace(f.Get("url"))
		if !validCallbackURL(u) {
			return out, msgInvalidURL
		}
		out.url = &u
	}
	if f.Has("tag") || create {
		t := strings.TrimSpace(f.Get("tag"))
		if t == "" {
			return out, "tag is missing/invalid"
		}
		out.tag = &t
	}
	if f.Has("version") || create {
		v, err := strconv.Atoi(strings.TrimSpace(f.Get("version")))
		if err != nil || (v != 2 && v != 3) {
			return out, "version is missing/invalid"
		}
		out.version = &v
	}
	if f.Has("modes") || create {
		modes, mask, ok := parseModes(f["modes"])
		if !ok {
			return out, "modes is missing/invalid"
		}
		out.modes, out.mask = modes, mask
	}
	if f.Has("meta") {
		m := strings.TrimSpace(f.Get("meta"))
		if !validMeta(m) {
			return out, "meta is missing/invalid"
		}
		out.meta = &m
	}
	for _, b := range []struct {
		name string
		dst  **bool
	}{{"showOnUI", &out.showOnUI}, {"active", &out.active}} {
		if !f.Has(b.name) {
			continue
		}
		v, err := strconv.ParseBool(strings.TrimSpace(f.Get(b.name)))
		if err != nil {
			return out, b.name + " is missing/invalid"
		}
		*b.dst = &v
	}
	if f.Has("doCheck") {
		if _, err := strconv.ParseBool(strings.TrimSpace(f.Get("doCheck"))); err != nil {
			return out, "doCheck is missing/invalid"
		}
	}
	return out, ""
}

// apply sets the fields present on sub.
func (f *subscriptionFields) apply(sub *Subscription) {
	if f.url != nil {
		sub.URL = *f.url
	}
	if f.tag != nil {
		sub.Tag = *f.tag
	}
	if f.version != nil {
		sub.Version = *f.version
	}
	if f.modes != nil {
		sub.Modes, sub.Mode = f.modes, f.mask
	}
	if f.meta != nil {
		sub.Meta = *f.meta
	}
	if f.showOnUI != nil {
		sub.ShowOnUI = *f.showOnUI
	}
	if f.active != nil {
		sub.Active = *f.active
	}
}

// tagTaken reports whether another subscription of the app has tag. s.mu
// must be held.
func (s *Sim) tagTaken(appID, tag, exceptID string) bool {
	for _, sub := range s.subs {
		if sub.AppID == appID && sub.Tag == tag && sub.ID != exceptID {
			return true
		}
	}
	return false
}

func (s *Sim) createSubscription(w http.ResponseWriter, appID string, f url.Values) {
	fields, msg := parseSubscriptionFields(f, true)
	if msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	s.mu.Lock()
	if s.tagTaken(appID, *fields.tag, "") {
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, msgDuplicateTag)
		return
	}
	n := 0
	for _, sub := range s.subs {
		if sub.AppID == appID {
			n++
		}
	}
	if n >= MaxSubscriptionsPerApp {
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, msgSubscriptionsMax)
		return
	}
	now := s.now().UnixMilli()
	s.subSeq++
	sub := &Subscription{
		Active:        true,
		AppID:         appID,
		CreatedOn:     now,
		ID:            strconv.Itoa(8000 + s.subSeq),
		LatencyBucket: "lt_1_s",
		ModifiedOn:    now,
	}
	fields.apply(sub) // url, tag, version and modes are there: required
	s.subs = append(s.subs, sub)
	c := sub.clone()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, subscriptionAnswer{Status: "success", Subscription: c})
}

func (s *Sim) updateSubscription(w http.ResponseWriter, appID, id string, f url.Values) {
	fields, msg := parseSubscriptionFields(f, false)
	if msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	s.mu.Lock()
	_, sub := s.findSub(id)
	if sub == nil || sub.AppID != appID { // deleted meanwhile
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, msgNoSubscription)
		return
	}
	if fields.tag != nil && s.tagTaken(appID, *fields.tag, id) {
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, msgDuplicateTag)
		return
	}
	fields.apply(sub)
	sub.ModifiedOn = s.now().UnixMilli()
	c := sub.clone()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, subscriptionAnswer{Status: "success", Subscription: c})
}
