package gupshupsim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// TemplateApproved is the status of a template that can be sent.
const TemplateApproved = "APPROVED"

// TemplateListRateLimit is how many GET /partner/app/{appId}/templates calls
// an app may make per RateLimitWindow (Gupshup's documented value).
const TemplateListRateLimit = 10

// Template error messages. "Invalid Destination", "Invalid App Details" and
// the internal error are Gupshup's documented wordings for template/msg;
// the others are the simulator's own.
const (
	msgInvalidDestination   = "Invalid Destination"
	msgInvalidTemplateID    = "Invalid template id"
	msgTemplateParamsCount  = "Template params count mismatch"
	msgInternalError        = "Internal server error. Please try again later and If Issue still persist than contact Gupshup Dev Support"
	msgPostbackTextsInvalid = "postbackTexts is missing/invalid"
	msgTemplateMessage      = "message is missing/invalid"
)

// Template is one of an app's Gupshup templates, for Options.Templates and
// Sim.AddTemplate. Category, Status, TemplateType and the button types are
// stored in upper case.
type Template struct {
	AppID string // the app it belongs to; required
	// ID is the Gupshup template id. Default: a UUID derived from AppID,
	// ElementName and LanguageCode (the same on every run).
	ID           string
	ElementName  string // the template's name (Meta's template.name); required
	LanguageCode string // default "en"
	Category     string // default "MARKETING"
	Status       string // default TemplateApproved; only APPROVED templates can be sent
	// TemplateType is TEXT (default), IMAGE, VIDEO, DOCUMENT, LOCATION,
	// CAROUSEL, CATALOG, PRODUCT (a multi-product message), LTO, …
	TemplateType string
	Header       string // header text, with its placeholder if any; "" for none or a media header
	Data         string // body text with {{1}} or {{name}} placeholders
	Footer       string
	// Buttons are the template's buttons, in order (their index); for a
	// CAROUSEL template, the buttons every card has.
	Buttons []TemplateButton
}

// TemplateButton is a template button.
type TemplateButton struct {
	Type string // QUICK_REPLY, URL, PHONE_NUMBER, COPY_CODE, FLOW, CATALOG, MPM, OTP, …
	Text string
	// URL is a URL button's url ({{1}} in it makes a dynamic suffix, one
	// send param), or a PHONE_NUMBER button's number.
	URL string
}

type templateState struct {
	Template
	createdOn  int64 // ms
	modifiedOn int64 // ms
}

// templateSend is what a template/msg send leaves for Inbound's postback
// lookup.
type templateSend struct {
	buttons   []TemplateButton // the template's, at send time
	postbacks map[int]string   // postbackTexts: button index → text
	cards     []map[int]string // message.cards[].postbackTexts (carousel)
}

// templateStore holds every app's templates; guarded by Sim.mu.
type templateStore struct {
	list      []*templateState       // every app's, in the order added
	listCalls map[string][]time.Time // list rate-limit windows by app
	served    map[string]int         // list calls answered 200, by app
	sends     map[string]*templateSend
	sendOrder []string // ids in sends, oldest first
}

func newTemplateStore() *templateStore {
	return &templateStore{
		listCalls: make(map[string][]time.Time),
		served:    make(map[string]int),
		sends:     make(map[string]*templateSend),
	}
}

func (t Template) clone() Template {
	t.Buttons = slices.Clone(t.Buttons)
	return t
}

// normalize fills in defaults and upper-cases the enumerations. It reports
// what is missing.
func (t Template) normalize() (Template, error) {
	if t.AppID == "" {
		return t, fmt.Errorf("gupshupsim: template %q without AppID", t.ElementName)
	}
	if t.ElementName == "" {
		return t, fmt.Errorf("gupshupsim: template of app %q without ElementName", t.AppID)
	}
	if t.LanguageCode == "" {
		t.LanguageCode = "en"
	}
	t.Category = upperOr(t.Category, "MARKETING")
	t.Status = upperOr(t.Status, TemplateApproved)
	t.TemplateType = upperOr(t.TemplateType, "TEXT")
	t.Buttons = slices.Clone(t.Buttons)
	for i := range t.Buttons {
		t.Buttons[i].Type = strings.ToUpper(t.Buttons[i].Type)
	}
	if t.ID == "" {
		t.ID = derivedUUID("template\x00" + t.AppID + "\x00" + t.ElementName + "\x00" + t.LanguageCode)
	}
	return t, nil
}

func upperOr(s, def string) string {
	if s == "" {
		return def
	}
	return strings.ToUpper(s)
}

// derivedUUID formats a hash of seed as a version 4 UUID.
func derivedUUID(seed string) string {
	b := sha256.Sum256([]byte(seed))
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// lookupTemplate returns the app's template with that id, or nil. s.mu must
// be held.
func (s *Sim) lookupTemplate(appID, id string) *templateState {
	for _, t := range s.templates.list {
		if t.AppID == appID && t.ID == id {
			return t
		}
	}
	return nil
}

// putTemplate adds a normalized template of a known app, or replaces the
// app's template with the same id (keeping its createdOn and place). It
// reports whether it replaced one. s.mu must be held.
func (s *Sim) putTemplate(t Template) bool {
	now := s.now().UnixMilli()
	if old := s.lookupTemplate(t.AppID, t.ID); old != nil {
		old.Template = t
		old.modifiedOn = now
		return true
	}
	s.templates.list = append(s.templates.list, &templateState{Template: t, createdOn: now, modifiedOn: now})
	return false
}

// addOptionTemplates adds Options.Templates; it panics like New does on bad
// apps (and on an id repeated within an app).
func (s *Sim) addOptionTemplates(list []Template) {
	for _, t := range list {
		t, err := t.normalize()
		if err != nil {
			panic(err.Error())
		}
		if _, ok := s.apps[t.AppID]; !ok {
			panic(fmt.Sprintf("gupshupsim: template %q of unknown app %q", t.ElementName, t.AppID))
		}
		if s.putTemplate(t) {
			panic(fmt.Sprintf("gupshupsim: duplicate template ID %q in app %q", t.ID, t.AppID))
		}
	}
}

// AddTemplate adds a template at run time and returns it with its defaults
// filled in. A template of the app with the same ID (by default: the same
// ElementName and LanguageCode) is replaced. It panics when AppID is not a
// known app or ElementName is empty.
func (s *Sim) AddTemplate(t Template) Template {
	t, err := t.normalize()
	if err != nil {
		panic(err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.apps[t.AppID]; !ok {
		panic(fmt.Sprintf("gupshupsim: template %q of unknown app %q", t.ElementName, t.AppID))
	}
	s.putTemplate(t)
	return t.clone()
}

// SetTemplateStatus changes the status of the app's template (stored in
// upper case; only APPROVED templates can be sent) and reports whether the
// app has a template with that id.
func (s *Sim) SetTemplateStatus(appID, id, status string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.lookupTemplate(appID, id)
	if t == nil {
		return false
	}
	t.Status = strings.ToUpper(status)
	t.modifiedOn = s.now().UnixMilli()
	return true
}

// Templates returns copies of the app's templates, in the order added.
func (s *Sim) Templates(appID string) []Template {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Template
	for _, t := range s.templates.list {
		if t.AppID == appID {
			out = append(out, t.Template.clone())
		}
	}
	return out
}

// TemplateListCalls returns how many GET /partner/app/{appId}/templates
// calls of the app were answered with the list (200).
func (s *Sim) TemplateListCalls(appID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.templates.served[appID]
}

// placeholderRE matches a {{1}} or {{name}} placeholder.
var placeholderRE = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_]+)\s*\}\}`)

// distinctPlaceholders counts the distinct placeholders of a text.
func distinctPlaceholders(text string) int {
	seen := map[string]bool{}
	for _, m := range placeholderRE.FindAllStringSubmatch(text, -1) {
		seen[m[1]] = true
	}
	return len(seen)
}

// sampleOf replaces each placeholder by its name in brackets, like
// Gupshup's samples ("Your code is [1]").
func sampleOf(text string) string {
	return placeholderRE.ReplaceAllString(text, "[$1]")
}

// expectedParams is how many template.params a send of t must carry: the
// distinct placeholders of the header and of the body, one per URL button
// with a placeholder in its url, one per COPY_CODE button, and one product
// (the thumbnail) for CATALOG and PRODUCT templates or a template with a
// CATALOG or MPM button.
func (t *Template) expectedParams() int {
	n := distinctPlaceholders(t.Header) + distinctPlaceholders(t.Data)
	thumbnail := t.TemplateType == "CATALOG" || t.TemplateType == "PRODUCT"
	for _, b := range t.Buttons {
		switch b.Type {
		case "URL":
			if placeholderRE.MatchString(b.URL) {
				n++
			}
		case "COPY_CODE":
			n++
		case "CATALOG", "MPM":
			thumbnail = true
		}
	}
	if thumbnail {
		n++
	}
	return n
}

// List answer.

type templateItem struct {
	ID              string `json:"id"`
	ElementName     string `json:"elementName"`
	LanguageCode    string `json:"languageCode"`
	Category        string `json:"category"`
	Status          string `json:"status"`
	TemplateType    string `json:"templateType"`
	Data            string `json:"data"`
	Meta            string `json:"meta"`
	ContainerMeta   string `json:"containerMeta"`
	LanguagePolicy  string `json:"languagePolicy"`
	Namespace       string `json:"namespace"`
	CreatedOn       int64  `json:"createdOn"`
	ModifiedOn      int64  `json:"modifiedOn"`
	AppID           string `json:"appId"`
	WabaID          string `json:"wabaId"`
	ExternalID      string `json:"externalId"`
	Quality         string `json:"quality"`
	Vertical        string `json:"vertical"`
	ButtonSupported string `json:"buttonSupported,omitempty"`
}

type containerMeta struct {
	Header       string            `json:"header,omitempty"`
	Data         string            `json:"data"`
	Footer       string            `json:"footer,omitempty"`
	Buttons      []containerButton `json:"buttons,omitempty"`
	SampleText   string            `json:"sampleText"`
	SampleHeader string            `json:"sampleHeader,omitempty"`
	EnableSample bool              `json:"enableSample"`
}

type containerButton struct {
	Type        string `json:"type"`
	Text        string `json:"text"`
	URL         string `json:"url,omitempty"`
	PhoneNumber string `json:"phone_number,omitempty"`
}

// buttonCodes are Gupshup's buttonSupported names of button types (others
// are listed under their type).
var buttonCodes = map[string]string{"QUICK_REPLY": "QR", "PHONE_NUMBER": "PN"}

// item renders the template as an item of the list answer.
func (t *templateState) item(app App) templateItem {
	cm := containerMeta{Header: t.Header, Data: t.Data, Footer: t.Footer,
		SampleText: sampleOf(t.Data), SampleHeader: sampleOf(t.Header), EnableSample: true}
	// data: Gupshup's rendering, "header\nbody\nfooter | [button] | [button,url]".
	var data strings.Builder
	if t.Header != "" {
		data.WriteString(t.Header + "\n")
	}
	data.WriteString(t.Data)
	if t.Footer != "" {
		data.WriteString("\n" + t.Footer)
	}
	var codes []string
	for _, b := range t.Buttons {
		cb := containerButton{Type: b.Type, Text: b.Text}
		data.WriteString(" | [" + b.Text)
		if b.URL != "" {
			data.WriteString("," + b.URL)
			if b.Type == "PHONE_NUMBER" {
				cb.PhoneNumber = b.URL
			} else {
				cb.URL = b.URL
			}
		}
		data.WriteString("]")
		cm.Buttons = append(cm.Buttons, cb)
		code := b.Type
		if c, ok := buttonCodes[code]; ok {
			code = c
		}
		if !slices.Contains(codes, code) {
			codes = append(codes, code)
		}
	}
	slices.Sort(codes)
	return templateItem{
		ID:              t.ID,
		ElementName:     t.ElementName,
		LanguageCode:    t.LanguageCode,
		Category:        t.Category,
		Status:          t.Status,
		TemplateType:    t.TemplateType,
		Data:            data.String(),
		Meta:            string(marshal(map[string]string{"example": sampleOf(t.Data)})),
		ContainerMeta:   string(marshal(cm)),
		LanguagePolicy:  "deterministic",
		Namespace:       namespaceOf(app.ID),
		CreatedOn:       t.createdOn,
		ModifiedOn:      t.modifiedOn,
		AppID:           t.AppID,
		WabaID:          app.WABAID,
		ExternalID:      derivedDigits(t.ID, "template-external-id", "1", 16),
		Quality:         "UNKNOWN",
		Vertical:        t.ElementName,
		ButtonSupported: strings.Join(codes, ","),
	}
}

// namespaceOf is the app's template namespace, shaped like Meta's
// (a UUID with underscores), derived from the app id.
func namespaceOf(appID string) string {
	return strings.ReplaceAll(derivedUUID("namespace\x00"+appID), "-", "_")
}

// writeRawJSON answers a body already encoded.
func writeRawJSON(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// listTemplates handles GET /partner/app/{appId}/templates, optionally
// filtered by the query parameters elementName and languageCode.
func (s *Sim) listTemplates(w http.ResponseWriter, r *http.Request, appID string) {
	if !s.subscriptionAccess(w, r, appID, http.MethodGet) {
		return
	}
	q := r.URL.Query()
	name, lang := q.Get("elementName"), q.Get("languageCode")
	s.mu.Lock()
	calls := s.templates.listCalls[appID]
	ok, wait := s.allow(&calls, TemplateListRateLimit, s.now())
	s.templates.listCalls[appID] = calls
	if !ok {
		s.mu.Unlock()
		writeTooMany(w, wait)
		return
	}
	s.templates.served[appID]++
	app := s.apps[appID].App
	items := []templateItem{}
	for _, t := range s.templates.list {
		if t.AppID != appID || (name != "" && t.ElementName != name) || (lang != "" && t.LanguageCode != lang) {
			continue
		}
		items = append(items, t.item(app))
	}
	s.mu.Unlock()
	writeRawJSON(w, http.StatusOK, marshal(struct {
		Status    string         `json:"status"`
		Templates []templateItem `json:"templates"`
	}{"success", items}))
}

// Send.

// writeSeedError answers an error with the key order of Gupshup's
// template/msg documentation: {"message":…,"status":"error"}.
func writeSeedError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, struct {
		Message string `json:"message"`
		Status  string `json:"status"`
	}{message, "error"})
}

// templateForm returns the form of a template/msg body: URL-encoded, or
// without a Content-Type parsed as such. A non-empty message reports a 400.
func templateForm(r *http.Request, rec Request) (url.Values, string) {
	ct := r.Header.Get("Content-Type")
	if ct != "" && !isForm(ct) {
		return nil, msgUnsupportedType
	}
	if rec.Form != nil {
		return rec.Form, ""
	}
	form, err := url.ParseQuery(string(rec.Body))
	if err != nil {
		return nil, msgBodyInvalid
	}
	return form, ""
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// templateField is the template form field: {"id":"…","params":[…],…}.
// It reports false when it is not a JSON object with a string id and, when
// present, an array params.
func templateField(v string) (id string, params int, ok bool) {
	var f struct {
		ID     *string           `json:"id"`
		Params []json.RawMessage `json:"params"`
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal([]byte(v), &obj) != nil || obj == nil || json.Unmarshal([]byte(v), &f) != nil || f.ID == nil {
		return "", 0, false
	}
	return *f.ID, len(f.Params), true
}

// parsePostbacks reads a postbackTexts value: a JSON array of
// {"index":<integer, or its decimal string>,"text":"…"}.
func parsePostbacks(raw []byte) (map[int]string, bool) {
	var items []struct {
		Index json.RawMessage `json:"index"`
		Text  *string         `json:"text"`
	}
	if json.Unmarshal(raw, &items) != nil || items == nil {
		return nil, false
	}
	out := make(map[int]string, len(items))
	for _, it := range items {
		idx := strings.Trim(string(it.Index), `"`)
		n, err := strconv.Atoi(idx)
		if err != nil || n < 0 || it.Text == nil {
			return nil, false
		}
		if _, dup := out[n]; !dup {
			out[n] = *it.Text
		}
	}
	return out, true
}

// parseTemplateMessage reads the message field: a JSON object; for a
// carousel ("type":"carousel") its cards must be an array of objects whose
// postbackTexts, when present, are read like the top-level field.
func parseTemplateMessage(v string) ([]map[int]string, bool) {
	var m struct {
		Type  string                       `json:"type"`
		Cards []map[string]json.RawMessage `json:"cards"`
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal([]byte(v), &obj) != nil || obj == nil || json.Unmarshal([]byte(v), &m) != nil {
		return nil, false
	}
	if m.Type != "carousel" {
		return nil, true
	}
	cards := make([]map[int]string, len(m.Cards))
	for i, c := range m.Cards {
		if c == nil {
			return nil, false
		}
		if raw, ok := c["postbackTexts"]; ok {
			p, ok := parsePostbacks(raw)
			if !ok {
				return nil, false
			}
			cards[i] = p
		}
	}
	return cards, true
}

// sendTemplate handles POST /partner/app/{appId}/template/msg.
func (s *Sim) sendTemplate(w http.ResponseWriter, r *http.Request, appID string, rec Request) {
	if !s.appAuth(w, r, appID) {
		return
	}
	form, msg := templateForm(r, rec)
	if msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	dest := form.Get("destination")
	if !allDigits(dest) {
		writeSeedError(w, http.StatusBadRequest, msgInvalidDestination)
		return
	}
	s.mu.Lock()
	app := s.apps[appID].App
	s.mu.Unlock()
	if src, name := form.Get("source"), form.Get("src.name"); src == "" || src != digitsOnly(app.DisplayPhoneNumber) ||
		name == "" || name != app.Name {
		writeSeedError(w, http.StatusBadRequest, msgInvalidApp)
		return
	}
	id, params, ok := templateField(form.Get("template"))
	var tpl Template
	if ok {
		s.mu.Lock()
		if t := s.lookupTemplate(appID, id); t != nil && t.Status == TemplateApproved {
			tpl = t.Template.clone()
		} else {
			ok = false
		}
		s.mu.Unlock()
	}
	if !ok {
		writeError(w, http.StatusBadRequest, msgInvalidTemplateID)
		return
	}
	if params != tpl.expectedParams() {
		writeError(w, http.StatusBadRequest, msgTemplateParamsCount)
		return
	}
	send := &templateSend{buttons: tpl.Buttons}
	if v := form.Get("postbackTexts"); v != "" {
		if send.postbacks, ok = parsePostbacks([]byte(v)); !ok {
			writeError(w, http.StatusBadRequest, msgPostbackTextsInvalid)
			return
		}
	}
	if v := form.Get("message"); v != "" {
		if send.cards, ok = parseTemplateMessage(v); !ok {
			writeError(w, http.StatusBadRequest, msgTemplateMessage)
			return
		}
	}
	for _, m := range magicDestinations {
		if strings.HasSuffix(dest, m.suffix) {
			if m.retryAfter != "" {
				w.Header().Set("Retry-After", m.retryAfter)
			}
			if m.message == msgInvalidDestination {
				writeSeedError(w, m.status, m.message)
			} else {
				writeJSON(w, m.status, errorBody{Status: "error", Message: m.message, Code: m.code})
			}
			return
		}
	}

	gsID := newUUID()
	s.mu.Lock()
	s.rememberTemplateSend(gsID, send)
	s.mu.Unlock()
	// Remembered before the answer, so that a reply to it may follow at once.
	s.afterSend(appID, gsID, dest, "template", strings.HasSuffix(dest, SuffixFailsLater))
	writeJSON(w, http.StatusOK, struct {
		Status    string `json:"status"`
		MessageID string `json:"messageId"`
	}{"submitted", gsID})
}

// rememberTemplateSend keeps a send for Inbound's postback lookup, at most
// MaxRememberedMessages of them. s.mu must be held.
func (s *Sim) rememberTemplateSend(gsID string, ts *templateSend) {
	st := s.templates
	if _, dup := st.sends[gsID]; !dup {
		if len(st.sendOrder) >= MaxRememberedMessages {
			delete(st.sends, st.sendOrder[0])
			st.sendOrder = st.sendOrder[1:]
		}
		st.sendOrder = append(st.sendOrder, gsID)
	}
	st.sends[gsID] = ts
}

// templatePostback returns the postbackText a template/msg send registered
// for its first button with that text (top-level postbackTexts first, then
// the carousel cards' in card order), or "". s.mu must be held.
func (s *Sim) templatePostback(gsID, text string) string {
	ts := s.templates.sends[gsID]
	if ts == nil {
		return ""
	}
	i := slices.IndexFunc(ts.buttons, func(b TemplateButton) bool { return b.Text == text })
	if i < 0 {
		return ""
	}
	if p, ok := ts.postbacks[i]; ok {
		return p
	}
	for _, c := range ts.cards {
		if p, ok := c[i]; ok {
			return p
		}
	}
	return ""
}
