package gupshupsim

import (
	"bytes"
	"encoding/json"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Destination suffixes that make a send (v3 or template/msg) fail (see the
// package doc).
const (
	SuffixNotOnWhatsApp      = "0000001002"
	SuffixWalletLow          = "0000001003"
	SuffixInvalidDestination = "0000000400"
	SuffixRateLimited        = "0000000429"
	// SuffixInternalError: the send answers 500 with Gupshup's internal
	// error message.
	SuffixInternalError = "0000000500"
	// SuffixFailsLater: the send succeeds, then the message is reported
	// enqueued and failed (131047, re-engagement message).
	SuffixFailsLater = "0000001047"
)

// Error messages used by the simulator.
const (
	msgInvalidCredentials = "Invalid Credentials"
	msgAuthFailed         = "Authentication Failed"
	msgInvalidApp         = "Invalid App Details"
	msgTooManyRequests    = "Too Many Requests"
	msgNotFound           = "Not Found"
	msgMethodNotAllowed   = "Method Not Allowed"
	msgUnsupportedType    = "Unsupported Content-Type"
)

type magicDestination struct {
	suffix     string
	status     int
	message    string
	code       int
	retryAfter string
}

var magicDestinations = []magicDestination{
	{SuffixNotOnWhatsApp, http.StatusBadRequest, "Number does not exist on WhatsApp", 1002, ""},
	{SuffixWalletLow, http.StatusBadRequest, "Wallet Balance Low", 1003, ""},
	{SuffixInvalidDestination, http.StatusBadRequest, msgInvalidDestination, 0, ""},
	{SuffixRateLimited, http.StatusTooManyRequests, msgTooManyRequests, 0, "1"},
	{SuffixInternalError, http.StatusInternalServerError, msgInternalError, 0, ""},
}

type errorBody struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	Code    int    `json:"code,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"status":"error","message":"Internal Server Error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

func writeError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, errorBody{Status: "error", Message: message})
}

func writeMethodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeError(w, http.StatusMethodNotAllowed, msgMethodNotAllowed)
}

func (s *Sim) route(w http.ResponseWriter, r *http.Request, rec Request) {
	path := rec.Path
	if path == "/healthz" {
		if r.Method != http.MethodGet {
			writeMethodNotAllowed(w, http.MethodGet)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return
	}
	if path == "/partner/account/login" {
		if r.Method != http.MethodPost {
			writeMethodNotAllowed(w, http.MethodPost)
			return
		}
		s.login(w, rec)
		return
	}
	if rest, ok := strings.CutPrefix(path, "/sim/flows/"); ok {
		// /sim/flows/{flowId}/flow.json: flow asset downloads.
		if id, ok := strings.CutSuffix(rest, "/flow.json"); ok && id != "" && !strings.Contains(id, "/") {
			s.serveFlowDownload(w, r, id)
			return
		}
		writeError(w, http.StatusNotFound, msgNotFound)
		return
	}
	if rest, ok := strings.CutPrefix(path, "/sim/apps/"); ok {
		if appID, ok := strings.CutSuffix(rest, "/inbound"); ok && appID != "" && !strings.Contains(appID, "/") {
			s.serveInbound(w, r, appID, rec)
			return
		}
		writeError(w, http.StatusNotFound, msgNotFound)
		return
	}
	if rest, ok := strings.CutPrefix(path, "/wa/"); ok {
		// /wa/{appId}/wa/media/{id}: media of simulated inbound messages.
		parts := strings.Split(rest, "/")
		if len(parts) == 4 && parts[0] != "" && parts[1] == "wa" && parts[2] == "media" && parts[3] != "" {
			s.serveInboundMedia(w, r, parts[3])
			return
		}
		writeError(w, http.StatusNotFound, msgNotFound)
		return
	}
	rest, ok := strings.CutPrefix(path, "/partner/app/")
	if !ok {
		writeError(w, http.StatusNotFound, msgNotFound)
		return
	}
	appID, sub, ok := strings.Cut(rest, "/")
	if !ok || appID == "" {
		writeError(w, http.StatusNotFound, msgNotFound)
		return
	}
	switch sub {
	case "token", "token/":
		if r.Method != http.MethodGet {
			writeMethodNotAllowed(w, http.MethodGet)
			return
		}
		s.appToken(w, r, appID)
	case "v3/message":
		if r.Method != http.MethodPost {
			writeMethodNotAllowed(w, http.MethodPost)
			return
		}
		s.sendMessage(w, r, appID, rec)
	case "subscription", "subscription/":
		s.subscriptionCollection(w, r, appID, rec)
	case "v1/event":
		if r.Method != http.MethodPost {
			writeMethodNotAllowed(w, http.MethodPost)
			return
		}
		s.sendEvent(w, r, appID, rec)
	case "media", "media/":
		s.mediaCollection(w, r, appID)
	case "flows", "flows/":
		s.flowCollection(w, r, appID, rec)
	case "templates", "templates/":
		s.listTemplates(w, r, appID)
	case "template/msg":
		if r.Method != http.MethodPost {
			writeMethodNotAllowed(w, http.MethodPost)
			return
		}
		s.sendTemplate(w, r, appID, rec)
	default:
		if rest, ok := strings.CutPrefix(sub, "flows/"); ok {
			s.flowItem(w, r, appID, rest, rec)
			return
		}
		if id, ok := strings.CutPrefix(sub, "subscription/"); ok && id != "" && !strings.Contains(id, "/") {
			s.subscriptionItem(w, r, appID, id, rec)
			return
		}
		// /media/{id}, a trailing "/" accepted.
		if id, ok := strings.CutPrefix(sub, "media/"); ok {
			if id = strings.TrimSuffix(id, "/"); id != "" && !strings.Contains(id, "/") {
				s.mediaItem(w, r, appID, id)
				return
			}
		}
		writeError(w, http.StatusNotFound, msgNotFound)
	}
}

// allow records a call in a sliding-window limiter and reports whether it is
// admitted; when it is not, it returns how long until it would be. s.mu must
// be held.
func (s *Sim) allow(calls *[]time.Time, limit int, now time.Time) (bool, time.Duration) {
	if !s.rateLimit {
		return true, 0
	}
	return slidingWindow(calls, limit, RateLimitWindow, now)
}

func writeTooMany(w http.ResponseWriter, wait time.Duration) {
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeError(w, http.StatusTooManyRequests, msgTooManyRequests)
}

type loginResponse struct {
	Token               string `json:"token"`
	ID                  int    `json:"id"`
	Name                string `json:"name"`
	Email               string `json:"email"`
	Admin               bool   `json:"admin"`
	BillingType         string `json:"billingType"`
	EnableWallet        bool   `json:"enableWallet"`
	EnableAppOnboarding bool   `json:"enableAppOnboarding"`
	IsTpp               bool   `json:"isTpp"`
}

func (s *Sim) login(w http.ResponseWriter, rec Request) {
	s.mu.Lock()
	ok, wait := s.allow(&s.logins, LoginRateLimit, s.now())
	wantEmail, wantSecret := s.email, s.secret
	s.mu.Unlock()
	if !ok {
		writeTooMany(w, wait)
		return
	}
	form := rec.Form
	email := form.Get("email")
	valid := email != "" && email == wantEmail &&
		((form.Has("password") && form.Get("password") == wantSecret) ||
			(form.Has("secret") && form.Get("secret") == wantSecret))
	if !valid {
		writeError(w, http.StatusUnauthorized, msgInvalidCredentials)
		return
	}
	tok := newPartnerToken()
	s.mu.Lock()
	s.partnerTokens[tok] = struct{}{}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, loginResponse{
		Token:               tok,
		ID:                  1003,
		Name:                "Sim Partner",
		Email:               wantEmail,
		Admin:               true,
		BillingType:         "POSTPAID",
		EnableWallet:        true,
		EnableAppOnboarding: true,
		IsTpp:               false,
	})
}

type appTokenInfo struct {
	Token        string `json:"token"`
	AuthoriserID string `json:"authoriserId"`
	RequestorID  string `json:"requestorId"`
	CreatedOn    int64  `json:"createdOn"`
	ModifiedOn   int64  `json:"modifiedOn"`
	ExpiresOn    int64  `json:"expiresOn"`
	Active       bool   `json:"active"`
}

type appTokenResponse struct {
	Status string       `json:"status"`
	Token  appTokenInfo `json:"token"`
}

func (s *Sim) appToken(w http.ResponseWriter, r *http.Request, appID string) {
	s.mu.Lock()
	authed := s.validPartnerToken(r.Header.Get("Authorization")) || s.validPartnerToken(r.Header.Get("token"))
	if !authed {
		s.mu.Unlock()
		writeError(w, http.StatusUnauthorized, msgAuthFailed)
		return
	}
	a, known := s.apps[appID]
	if !known {
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, msgInvalidApp)
		return
	}
	calls := s.appTokenCalls[appID]
	ok, wait := s.allow(&calls, AppTokenRateLimit, s.now())
	s.appTokenCalls[appID] = calls
	if !ok {
		s.mu.Unlock()
		writeTooMany(w, wait)
		return
	}
	resp := appTokenResponse{
		Status: "success",
		Token: appTokenInfo{
			Token:        a.Token,
			AuthoriserID: a.authoriserID,
			RequestorID:  a.requestorID,
			CreatedOn:    a.createdOn,
			ModifiedOn:   a.modifiedOn,
			ExpiresOn:    0,
			Active:       true,
		},
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, resp)
}

// validPartnerToken reports whether tok was issued by a login. s.mu must be held.
func (s *Sim) validPartnerToken(tok string) bool {
	if tok == "" {
		return false
	}
	_, ok := s.partnerTokens[tok]
	return ok
}

type sendResponse struct {
	Messages         []sendMessageID `json:"messages"`
	MessagingProduct string          `json:"messaging_product"`
	Contacts         []sendContact   `json:"contacts"`
}

type sendMessageID struct {
	ID string `json:"id"`
}

type sendContact struct {
	Input string `json:"input"`
	WaID  string `json:"wa_id"`
}

// message is a v3 send body reduced to the members the simulator checks.
// Each member is kept as raw JSON; form fields are converted so that plain
// values become JSON strings and the type object stays as sent.
type message map[string]json.RawMessage

func (s *Sim) sendMessage(w http.ResponseWriter, r *http.Request, appID string, rec Request) {
	if !s.appAuth(w, r, appID) {
		return
	}

	msg, status, errMsg := parseMessage(r.Header.Get("Content-Type"), rec)
	if status != 0 {
		writeError(w, status, errMsg)
		return
	}
	if v, ok := msg.str("messaging_product"); !ok || v != "whatsapp" {
		writeError(w, http.StatusBadRequest, "messaging_product is missing/invalid")
		return
	}
	dest, ok := msg.str("to")
	if _, present := msg["to"]; !present {
		dest, ok = msg.str("recipient")
	}
	if !ok || dest == "" {
		writeError(w, http.StatusBadRequest, "to is missing/invalid")
		return
	}
	typ, ok := msg.str("type")
	if !ok || typ == "" {
		writeError(w, http.StatusBadRequest, "type is missing/invalid")
		return
	}
	if !msg.object(typ) && !(typ == "contacts" && msg.nonEmptyArray(typ)) {
		writeError(w, http.StatusBadRequest, typ+" is missing/invalid")
		return
	}

	for _, m := range magicDestinations {
		if strings.HasSuffix(dest, m.suffix) {
			if m.retryAfter != "" {
				w.Header().Set("Retry-After", m.retryAfter)
			}
			writeJSON(w, m.status, errorBody{Status: "error", Message: m.message, Code: m.code})
			return
		}
	}

	gsID := newUUID()
	writeJSON(w, http.StatusOK, sendResponse{
		Messages:         []sendMessageID{{ID: gsID}},
		MessagingProduct: "whatsapp",
		Contacts:         []sendContact{{Input: dest, WaID: digitsOnly(dest)}},
	})
	s.afterSend(appID, gsID, dest, typ, strings.HasSuffix(dest, SuffixFailsLater))
}

// parseMessage decodes a v3 send body. A non-zero status reports a failure.
func parseMessage(contentType string, rec Request) (message, int, string) {
	kind := ""
	if contentType == "" {
		if t := bytes.TrimSpace(rec.Body); len(t) > 0 && t[0] == '{' {
			kind = "json"
		} else {
			kind = "form"
		}
	} else if mt, _, err := mime.ParseMediaType(contentType); err == nil {
		switch {
		case mt == "application/json" || strings.HasSuffix(mt, "+json"):
			kind = "json"
		case mt == "application/x-www-form-urlencoded":
			kind = "form"
		}
	}
	switch kind {
	case "json":
		var m message
		if err := json.Unmarshal(rec.Body, &m); err != nil || m == nil {
			return nil, http.StatusBadRequest, "body is missing/invalid"
		}
		return m, 0, ""
	case "form":
		form := rec.Form
		if form == nil {
			var err error
			if form, err = url.ParseQuery(string(rec.Body)); err != nil {
				return nil, http.StatusBadRequest, "body is missing/invalid"
			}
		}
		return formMessage(form), 0, ""
	default:
		return nil, http.StatusBadRequest, msgUnsupportedType
	}
}

// formMessage converts form fields to raw JSON members. A field whose value is
// a JSON object or array is kept as that JSON; anything else becomes a JSON
// string.
func formMessage(form url.Values) message {
	m := make(message, len(form))
	for k := range form {
		v := form.Get(k)
		t := strings.TrimSpace(v)
		if len(t) > 0 && (t[0] == '{' || t[0] == '[') && json.Valid([]byte(t)) {
			m[k] = json.RawMessage(t)
			continue
		}
		b, _ := json.Marshal(v)
		m[k] = b
	}
	return m
}

// str returns member k when it is a JSON string.
func (m message) str(k string) (string, bool) {
	raw, ok := m[k]
	if !ok {
		return "", false
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", false
	}
	return v, true
}

// nonEmptyArray reports whether member k is a JSON array with an element
// (Meta's contacts are an array of contact objects).
func (m message) nonEmptyArray(k string) bool {
	var v []json.RawMessage
	return json.Unmarshal(m[k], &v) == nil && len(v) > 0
}

// object reports whether member k is a JSON object.
func (m message) object(k string) bool {
	raw, ok := m[k]
	if !ok {
		return false
	}
	var v map[string]json.RawMessage
	return json.Unmarshal(raw, &v) == nil && v != nil
}

func digitsOnly(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	return b.String()
}
