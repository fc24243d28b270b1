package gupshupsim

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Flow statuses (Meta's names).
const (
	FlowDraft      = "DRAFT"
	FlowPublished  = "PUBLISHED"
	FlowDeprecated = "DEPRECATED"
)

// FlowCategories are the categories a flow may have (Meta's list).
var FlowCategories = []string{
	"SIGN_UP", "SIGN_IN", "APPOINTMENT_BOOKING", "LEAD_GENERATION", "CONTACT_US",
	"CUSTOMER_SUPPORT", "SURVEY", "SHOPPING", "OTHER",
}

// Values the simulator gives new flows.
const (
	FlowJSONVersion    = "6.0" // json_version of a flow without a valid asset
	FlowDataAPIVersion = "3.0" // data_api_version of every flow
	// FlowPreviewTTL is how long a preview URL stays valid.
	FlowPreviewTTL = 30 * 24 * time.Hour
)

// Flow error messages. The first is Gupshup's documented wording; the
// others follow Gupshup's style but are the simulator's own.
const (
	msgFlowNeverPublished  = "Flow was never published, it cannot be deprecated"
	msgInvalidFlowID       = "Invalid flow id"
	msgFlowNameExists      = "Flow name already exists"
	msgInvalidCategories   = "Invalid categories"
	msgFlowPublished       = "Flow is published, it cannot be updated"
	msgFlowDeprecated      = "Flow is deprecated"
	msgFlowOnlyDraftDelete = "Only draft flows can be deleted"
	msgFlowAlreadyPublish  = "Flow is already published"
	msgFlowHasErrors       = "Flow has validation errors, it cannot be published"
	msgFlowName            = "name is missing/invalid"
	msgFlowEndpointURI     = "endpoint_uri is missing/invalid"
	msgFlowFile            = "file is missing/invalid"
	msgBodyInvalid         = "body is missing/invalid"
	msgForbidden           = "Forbidden"
)

// FlowValidationError is one item of a flow's validation_errors, in Meta's
// shape.
type FlowValidationError struct {
	Error       string `json:"error"`      // e.g. INVALID_JSON, MISSING_REQUIRED_PROPERTY
	ErrorType   string `json:"error_type"` // JSON_SCHEMA_ERROR
	Message     string `json:"message"`
	LineStart   int    `json:"line_start"`
	LineEnd     int    `json:"line_end"`
	ColumnStart int    `json:"column_start"`
	ColumnEnd   int    `json:"column_end"`
}

// SimFlow is a flow as the simulator holds it.
type SimFlow struct {
	ID          string // 16 digits
	AppID       string
	Name        string
	Status      string // FlowDraft, FlowPublished or FlowDeprecated
	Categories  []string
	EndpointURI string // "" when not set
	JSONVersion string // FlowJSONVersion, or the "version" of the last valid asset

	// Asset is the last flow.json uploaded, as received; nil when none was.
	Asset []byte
	// AssetFileName and AssetContentType are the file part's filename and
	// Content-Type header, as sent.
	AssetFileName    string
	AssetContentType string
	// ValidationErrors are the last upload's errors (empty when it had none
	// or nothing was uploaded).
	ValidationErrors []FlowValidationError
	// AssetUploads counts the uploads accepted (valid or not).
	AssetUploads int

	Created time.Time
}

type flowState struct {
	SimFlow
	previewToken   string
	previewExpires time.Time
}

// flowStore holds every app's flows; guarded by Sim.mu.
type flowStore struct {
	baseURL string // Options.MediaBaseURL as given (trimmed); "" derives it from each request
	key     []byte // signs download URLs
	byID    map[string]*flowState
	order   []string // ids, oldest first
}

func newFlowStore(opts Options) *flowStore {
	key := make([]byte, 32)
	rand.Read(key)
	return &flowStore{
		baseURL: strings.TrimRight(opts.MediaBaseURL, "/"),
		key:     key,
		byID:    make(map[string]*flowState),
	}
}

func (f *SimFlow) clone() SimFlow {
	c := *f
	c.Categories = slices.Clone(f.Categories)
	c.Asset = bytes.Clone(f.Asset)
	c.ValidationErrors = slices.Clone(f.ValidationErrors)
	return c
}

// Flow returns a copy of the app's flow, and whether the app has a flow with
// that id (deleted flows are gone).
func (s *Sim) Flow(appID, flowID string) (SimFlow, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.flows.byID[flowID]
	if f == nil || f.AppID != appID {
		return SimFlow{}, false
	}
	return f.clone(), true
}

// Flows returns copies of the app's flows, oldest first.
func (s *Sim) Flows(appID string) []SimFlow {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []SimFlow
	for _, id := range s.flows.order {
		if f := s.flows.byID[id]; f.AppID == appID {
			out = append(out, f.clone())
		}
	}
	return out
}

// flowCollection serves /partner/app/{appId}/flows.
func (s *Sim) flowCollection(w http.ResponseWriter, r *http.Request, appID string, rec Request) {
	if !s.subscriptionAccess(w, r, appID, http.MethodGet, http.MethodPost) {
		return
	}
	if r.Method == http.MethodGet {
		s.listFlows(w, appID)
		return
	}
	s.createFlow(w, r, appID, rec)
}

// flowItem serves /partner/app/{appId}/flows/{rest} (a trailing "/" is
// accepted).
func (s *Sim) flowItem(w http.ResponseWriter, r *http.Request, appID, rest string, rec Request) {
	id, action, _ := strings.Cut(strings.TrimSuffix(rest, "/"), "/")
	if id == "" || strings.Contains(action, "/") {
		writeError(w, http.StatusNotFound, msgNotFound)
		return
	}
	var methods []string
	switch action {
	case "":
		methods = []string{http.MethodGet, http.MethodPut, http.MethodDelete}
	case "assets":
		methods = []string{http.MethodGet, http.MethodPut}
	case "preview":
		methods = []string{http.MethodGet}
	case "deprecate", "publish":
		methods = []string{http.MethodPost}
	default:
		writeError(w, http.StatusNotFound, msgNotFound)
		return
	}
	if !s.subscriptionAccess(w, r, appID, methods...) {
		return
	}
	// Each handler looks the flow up first (400 "Invalid flow id").
	switch {
	case action == "" && r.Method == http.MethodGet:
		s.getFlow(w, appID, id)
	case action == "" && r.Method == http.MethodPut:
		s.updateFlow(w, r, appID, id, rec)
	case action == "" && r.Method == http.MethodDelete:
		s.deleteFlow(w, appID, id)
	case action == "assets" && r.Method == http.MethodGet:
		s.flowAssets(w, r, appID, id)
	case action == "assets":
		s.uploadFlowAsset(w, r, appID, id, rec)
	case action == "preview":
		s.flowPreview(w, r, appID, id)
	case action == "deprecate":
		s.deprecateFlow(w, appID, id)
	case action == "publish":
		s.publishFlow(w, appID, id)
	}
}

// lookupFlow returns the app's flow, or nil (unknown id, another app's, or
// deleted). s.mu must be held.
func (s *Sim) lookupFlow(appID, id string) *flowState {
	f := s.flows.byID[id]
	if f == nil || f.AppID != appID {
		return nil
	}
	return f
}

var okAnswer = struct {
	Status  string `json:"status"`
	Success bool   `json:"success"`
}{"success", true}

// flowFields are the members of a create or update body; nil members were
// absent.
type flowFields map[string]json.RawMessage

// parseFlowFields reads a create/update body: JSON (application/json, a
// +json type, or no Content-Type and a body starting with "{"), a URL-encoded
// form or multipart/form-data. Form values become JSON strings except
// categories, kept as JSON when it is a JSON array and otherwise split on
// commas. A non-empty message reports a 400.
func parseFlowFields(r *http.Request, rec Request) (flowFields, string) {
	kind := ""
	ct := r.Header.Get("Content-Type")
	var params map[string]string
	if ct == "" {
		if t := bytes.TrimSpace(rec.Body); len(t) == 0 || t[0] == '{' {
			kind = "json"
		} else {
			kind = "form"
		}
	} else if mt, p, err := mime.ParseMediaType(ct); err == nil {
		params = p
		switch {
		case mt == "application/json" || strings.HasSuffix(mt, "+json"):
			kind = "json"
		case mt == "application/x-www-form-urlencoded":
			kind = "form"
		case mt == "multipart/form-data" && p["boundary"] != "":
			kind = "multipart"
		}
	}
	var form url.Values
	switch kind {
	case "json":
		if len(bytes.TrimSpace(rec.Body)) == 0 {
			return flowFields{}, ""
		}
		var m flowFields
		if err := json.Unmarshal(rec.Body, &m); err != nil || m == nil {
			return nil, msgInvalidJSON
		}
		return m, ""
	case "form":
		form = rec.Form
		if form == nil {
			var err error
			if form, err = url.ParseQuery(string(rec.Body)); err != nil {
				return nil, msgBodyInvalid
			}
		}
	case "multipart":
		mf, err := multipart.NewReader(bytes.NewReader(rec.Body), params["boundary"]).ReadForm(MaxBodyBytes)
		if err != nil {
			return nil, msgBodyInvalid
		}
		defer mf.RemoveAll()
		form = url.Values(mf.Value)
	default:
		return nil, msgUnsupportedType
	}
	m := make(flowFields, len(form))
	for k := range form {
		v := form.Get(k)
		if k == "categories" {
			if t := strings.TrimSpace(v); strings.HasPrefix(t, "[") {
				m[k] = json.RawMessage(t) // checked (and rejected when not JSON) by categories
				continue
			}
			var list []string
			for _, c := range strings.Split(v, ",") {
				if c = strings.TrimSpace(c); c != "" {
					list = append(list, c)
				}
			}
			m[k], _ = json.Marshal(list)
			continue
		}
		m[k], _ = json.Marshal(v)
	}
	return m, ""
}

// name returns the name member: present, and if so valid (a non-empty
// string).
func (f flowFields) name() (name string, present, ok bool) {
	raw, present := f["name"]
	if !present {
		return "", false, false
	}
	if err := json.Unmarshal(raw, &name); err != nil || strings.TrimSpace(name) == "" {
		return "", true, false
	}
	return name, true, true
}

// categories returns the categories member: present, and if so valid (a
// non-empty array of known names; duplicates are dropped).
func (f flowFields) categories() (cats []string, present, ok bool) {
	raw, present := f["categories"]
	if !present {
		return nil, false, false
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil || len(list) == 0 {
		return nil, true, false
	}
	for _, c := range list {
		if !slices.Contains(FlowCategories, c) {
			return nil, true, false
		}
		if !slices.Contains(cats, c) {
			cats = append(cats, c)
		}
	}
	return cats, true, true
}

// endpointURI returns the endpoint_uri member: present, and if so valid
// ("" clears it; otherwise an absolute http(s) URL).
func (f flowFields) endpointURI() (uri string, present, ok bool) {
	raw, present := f["endpoint_uri"]
	if !present {
		return "", false, false
	}
	if err := json.Unmarshal(raw, &uri); err != nil {
		return "", true, false
	}
	return uri, true, uri == "" || validCallbackURL(uri)
}

// nameTaken reports whether another flow of the app has the name. s.mu must
// be held.
func (s *Sim) nameTaken(appID, name, exceptID string) bool {
	for _, f := range s.flows.byID {
		if f.AppID == appID && f.Name == name && f.ID != exceptID {
			return true
		}
	}
	return false
}

// newFlowID returns an unused 16-digit flow id. s.mu must be held.
func (s *Sim) newFlowID() string {
	return unused16Digits(func(id string) bool { return s.flows.byID[id] != nil })
}

// createFlow handles POST /partner/app/{appId}/flows.
func (s *Sim) createFlow(w http.ResponseWriter, r *http.Request, appID string, rec Request) {
	fields, msg := parseFlowFields(r, rec)
	if msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	name, _, ok := fields.name()
	if !ok {
		writeError(w, http.StatusBadRequest, msgFlowName)
		return
	}
	cats, _, ok := fields.categories()
	if !ok {
		writeError(w, http.StatusBadRequest, msgInvalidCategories)
		return
	}
	s.mu.Lock()
	if s.nameTaken(appID, name, "") {
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, msgFlowNameExists)
		return
	}
	id := s.newFlowID()
	s.flows.byID[id] = &flowState{SimFlow: SimFlow{
		ID: id, AppID: appID, Name: name, Status: FlowDraft, Categories: cats,
		JSONVersion: FlowJSONVersion, Created: s.now(),
	}}
	s.flows.order = append(s.flows.order, id)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, struct {
		ID               string                `json:"id"`
		Status           string                `json:"status"`
		ValidationErrors []FlowValidationError `json:"validation_errors"`
	}{id, "success", []FlowValidationError{}})
}

// flowObject is a flow in Meta's shape.
type flowObject struct {
	ID               string                `json:"id"`
	Name             string                `json:"name"`
	Status           string                `json:"status"`
	Categories       []string              `json:"categories"`
	ValidationErrors []FlowValidationError `json:"validation_errors"`
	JSONVersion      string                `json:"json_version"`
	DataAPIVersion   string                `json:"data_api_version"`
	DataChannelURI   string                `json:"data_channel_uri,omitempty"`
	EndpointURI      string                `json:"endpoint_uri,omitempty"`
	HealthStatus     flowHealth            `json:"health_status"`
}

type flowHealth struct {
	CanSendMessage string             `json:"can_send_message"`
	Entities       []flowHealthEntity `json:"entities"`
}

type flowHealthEntity struct {
	EntityType     string            `json:"entity_type"`
	ID             string            `json:"id"`
	CanSendMessage string            `json:"can_send_message"`
	Errors         []flowHealthError `json:"errors,omitempty"`
}

type flowHealthError struct {
	ErrorCode        int    `json:"error_code"`
	ErrorDescription string `json:"error_description"`
	PossibleSolution string `json:"possible_solution"`
}

// flowHealthErrorCode is the error_code of the simulator's health errors
// (its own choice).
const flowHealthErrorCode = 139001

// object renders the flow in Meta's shape. s.mu must be held.
func (s *Sim) object(f *flowState) flowObject {
	o := flowObject{
		ID: f.ID, Name: f.Name, Status: f.Status,
		Categories:       slices.Clone(f.Categories),
		ValidationErrors: slices.Clone(f.ValidationErrors),
		JSONVersion:      f.JSONVersion,
		DataAPIVersion:   FlowDataAPIVersion,
		DataChannelURI:   f.EndpointURI,
		EndpointURI:      f.EndpointURI,
	}
	if o.Categories == nil {
		o.Categories = []string{}
	}
	if o.ValidationErrors == nil {
		o.ValidationErrors = []FlowValidationError{}
	}
	flow := flowHealthEntity{EntityType: "FLOW", ID: f.ID, CanSendMessage: "AVAILABLE"}
	switch {
	case f.Status == FlowDeprecated:
		flow.Errors = []flowHealthError{{flowHealthErrorCode, "The flow is deprecated.",
			"Deprecated flows cannot be sent. Create and publish a new flow."}}
	case f.Status == FlowDraft && f.Asset == nil:
		flow.Errors = []flowHealthError{{flowHealthErrorCode, "The flow has no flow JSON.",
			"Upload a flow JSON without validation errors."}}
	case f.Status == FlowDraft && len(f.ValidationErrors) > 0:
		flow.Errors = []flowHealthError{{flowHealthErrorCode, "The flow JSON has validation errors.",
			"Fix the validation errors and upload the flow JSON again."}}
	}
	if flow.Errors != nil {
		flow.CanSendMessage = "BLOCKED"
	}
	app := s.apps[f.AppID].App
	o.HealthStatus = flowHealth{
		CanSendMessage: flow.CanSendMessage,
		Entities: []flowHealthEntity{
			flow,
			{EntityType: "WABA", ID: app.WABAID, CanSendMessage: "AVAILABLE"},
			{EntityType: "BUSINESS", ID: derivedDigits(app.ID, "business-id", "3", 15), CanSendMessage: "AVAILABLE"},
			{EntityType: "APP", ID: derivedDigits(app.ID, "meta-app-id", "4", 15), CanSendMessage: "AVAILABLE"},
		},
	}
	return o
}

// onFlow runs op on the app's flow with s.mu held and returns op's
// refusal (a 400 message, "" to accept) and answer; an unknown flow is
// refused with msgInvalidFlowID without running op.
func (s *Sim) onFlow(appID, id string, op func(f *flowState) (refusal string, answer any)) (string, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.lookupFlow(appID, id)
	if f == nil {
		return msgInvalidFlowID, nil
	}
	return op(f)
}

// flowOp is onFlow writing the outcome: 400 with the refusal, or 200 with
// the answer.
func (s *Sim) flowOp(w http.ResponseWriter, appID, id string, op func(f *flowState) (refusal string, answer any)) {
	if refusal, answer := s.onFlow(appID, id, op); refusal != "" {
		writeError(w, http.StatusBadRequest, refusal)
	} else {
		writeJSON(w, http.StatusOK, answer)
	}
}

// draftOnly is an onFlow op that refuses flows that are not drafts (see
// notDraft) and answers nothing.
func draftOnly(deprecatedMsg bool) func(f *flowState) (string, any) {
	return func(f *flowState) (string, any) { return notDraft(f, deprecatedMsg), nil }
}

// getFlow handles GET /partner/app/{appId}/flows/{flowId}: the flow object,
// unwrapped.
func (s *Sim) getFlow(w http.ResponseWriter, appID, id string) {
	s.flowOp(w, appID, id, func(f *flowState) (string, any) { return "", s.object(f) })
}

// listFlows handles GET /partner/app/{appId}/flows.
func (s *Sim) listFlows(w http.ResponseWriter, appID string) {
	s.mu.Lock()
	list := []flowObject{}
	for _, id := range s.flows.order {
		if f := s.flows.byID[id]; f.AppID == appID {
			list = append(list, s.object(f))
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, struct {
		Status string       `json:"status"`
		Flows  []flowObject `json:"flows"`
	}{"success", list})
}

// notDraft returns the 400 message for changing a flow that is not a draft
// (deprecated: msgFlowDeprecated when deprecatedMsg), or "".
func notDraft(f *flowState, deprecatedMsg bool) string {
	switch f.Status {
	case FlowDraft:
		return ""
	case FlowDeprecated:
		if deprecatedMsg {
			return msgFlowDeprecated
		}
	}
	return msgFlowPublished
}

// updateFlow handles PUT /partner/app/{appId}/flows/{flowId}: name,
// categories and endpoint_uri, each optional.
func (s *Sim) updateFlow(w http.ResponseWriter, r *http.Request, appID, id string, rec Request) {
	if refusal, _ := s.onFlow(appID, id, draftOnly(true)); refusal != "" {
		writeError(w, http.StatusBadRequest, refusal)
		return
	}

	fields, msg := parseFlowFields(r, rec)
	if msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	name, hasName, ok := fields.name()
	if hasName && !ok {
		writeError(w, http.StatusBadRequest, msgFlowName)
		return
	}
	cats, hasCats, ok := fields.categories()
	if hasCats && !ok {
		writeError(w, http.StatusBadRequest, msgInvalidCategories)
		return
	}
	uri, hasURI, ok := fields.endpointURI()
	if hasURI && !ok {
		writeError(w, http.StatusBadRequest, msgFlowEndpointURI)
		return
	}

	// Looked up again: the flow may have changed since.
	s.flowOp(w, appID, id, func(f *flowState) (string, any) {
		if msg := notDraft(f, true); msg != "" {
			return msg, nil
		}
		if hasName && s.nameTaken(appID, name, id) {
			return msgFlowNameExists, nil
		}
		if hasName {
			f.Name = name
		}
		if hasCats {
			f.Categories = cats
		}
		if hasURI {
			f.EndpointURI = uri
		}
		return "", okAnswer
	})
}

// deleteFlow handles DELETE /partner/app/{appId}/flows/{flowId}: drafts
// only.
func (s *Sim) deleteFlow(w http.ResponseWriter, appID, id string) {
	s.flowOp(w, appID, id, func(f *flowState) (string, any) {
		if f.Status != FlowDraft {
			return msgFlowOnlyDraftDelete, nil
		}
		delete(s.flows.byID, id)
		s.flows.order = slices.DeleteFunc(s.flows.order, func(x string) bool { return x == id })
		return "", okAnswer
	})
}

// deprecateFlow handles POST /partner/app/{appId}/flows/{flowId}/deprecate.
func (s *Sim) deprecateFlow(w http.ResponseWriter, appID, id string) {
	s.flowOp(w, appID, id, func(f *flowState) (string, any) {
		switch f.Status {
		case FlowDraft:
			return msgFlowNeverPublished, nil
		case FlowDeprecated:
			return msgFlowDeprecated, nil
		}
		f.Status = FlowDeprecated
		return "", okAnswer
	})
}

// publishFlow handles POST /partner/app/{appId}/flows/{flowId}/publish.
func (s *Sim) publishFlow(w http.ResponseWriter, appID, id string) {
	s.flowOp(w, appID, id, func(f *flowState) (string, any) {
		switch {
		case f.Status != FlowDraft:
			return msgFlowAlreadyPublish, nil
		case f.Asset == nil || len(f.ValidationErrors) > 0:
			return msgFlowHasErrors, nil
		}
		f.Status = FlowPublished
		return "", okAnswer
	})
}

// flowPreview handles GET /partner/app/{appId}/flows/{flowId}/preview. The
// token stays the same until it expires or ?invalidate=true asks for a new
// one.
func (s *Sim) flowPreview(w http.ResponseWriter, r *http.Request, appID, id string) {
	type preview struct {
		PreviewURL string `json:"preview_url"`
		ExpiresAt  string `json:"expires_at"`
	}
	s.flowOp(w, appID, id, func(f *flowState) (string, any) {
		now := s.now()
		if f.previewToken == "" || !now.Before(f.previewExpires) || r.URL.Query().Get("invalidate") == "true" {
			f.previewToken = newUUID()
			f.previewExpires = now.Add(FlowPreviewTTL)
		}
		return "", struct {
			ID      string  `json:"id"`
			Preview preview `json:"preview"`
		}{id, preview{
			PreviewURL: "https://business.facebook.com/wa/manage/flows/" + url.PathEscape(id) + "/preview/?token=" + f.previewToken,
			ExpiresAt:  f.previewExpires.UTC().Format("2006-01-02T15:04:05-0700"),
		}}
	})
}

type flowAsset struct {
	Name        string `json:"name"`
	AssetType   string `json:"asset_type"`
	DownloadURL string `json:"download_url"`
}

// flowAssets handles GET /partner/app/{appId}/flows/{flowId}/assets: a bare
// array, empty when no flow JSON was uploaded.
func (s *Sim) flowAssets(w http.ResponseWriter, r *http.Request, appID, id string) {
	s.flowOp(w, appID, id, func(f *flowState) (string, any) {
		assets := []flowAsset{}
		if f.Asset != nil {
			assets = append(assets, flowAsset{
				Name:      "flow.json",
				AssetType: "FLOW_JSON",
				DownloadURL: s.flowBaseURL(r) + "/sim/flows/" + url.PathEscape(id) + "/flow.json?sig=" +
					s.flowSig(id, f.AssetUploads),
			})
		}
		return "", assets
	})
}

// flowBaseURL is Options.MediaBaseURL when given, else the scheme and Host
// the request came in with.
func (s *Sim) flowBaseURL(r *http.Request) string {
	if s.flows.baseURL != "" {
		return s.flows.baseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// flowSig signs a download URL for one upload of a flow's asset.
func (s *Sim) flowSig(id string, upload int) string {
	m := hmac.New(sha256.New, s.flows.key)
	m.Write([]byte(id + "\x00" + strconv.Itoa(upload)))
	return hex.EncodeToString(m.Sum(nil))[:32]
}

// serveFlowDownload serves GET /sim/flows/{flowId}/flow.json?sig=…: the
// asset's bytes, without authentication. A URL from before the last upload,
// or of a deleted flow, answers 404; a wrong signature 403.
func (s *Sim) serveFlowDownload(w http.ResponseWriter, r *http.Request, id string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeMethodNotAllowed(w, "GET, HEAD")
		return
	}
	sig := r.URL.Query().Get("sig")
	s.mu.Lock()
	f := s.flows.byID[id]
	if f == nil || f.Asset == nil {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, msgNotFound)
		return
	}
	if !hmac.Equal([]byte(sig), []byte(s.flowSig(id, f.AssetUploads))) {
		stale := false
		for n := 1; n < f.AssetUploads && !stale; n++ {
			stale = hmac.Equal([]byte(sig), []byte(s.flowSig(id, n)))
		}
		s.mu.Unlock()
		if stale {
			writeError(w, http.StatusNotFound, msgNotFound)
		} else {
			writeError(w, http.StatusForbidden, msgForbidden)
		}
		return
	}
	body := bytes.Clone(f.Asset)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(body)
	}
}

// uploadFlowAsset handles PUT /partner/app/{appId}/flows/{flowId}/assets: a
// multipart body whose part "file" is the flow JSON. The asset is stored
// with its validation errors, which are answered.
func (s *Sim) uploadFlowAsset(w http.ResponseWriter, r *http.Request, appID, id string, rec Request) {
	if refusal, _ := s.onFlow(appID, id, draftOnly(false)); refusal != "" {
		writeError(w, http.StatusBadRequest, refusal)
		return
	}

	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		writeError(w, http.StatusBadRequest, msgUnsupportedType)
		return
	}
	mr := multipart.NewReader(bytes.NewReader(rec.Body), params["boundary"])
	var asset []byte
	var fileName, partType string
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, msgBodyInvalid)
			return
		}
		if p.FormName() != "file" {
			continue
		}
		if asset != nil {
			writeError(w, http.StatusBadRequest, msgFlowFile)
			return
		}
		b, err := io.ReadAll(p)
		if err != nil {
			writeError(w, http.StatusBadRequest, msgBodyInvalid)
			return
		}
		asset = b
		if asset == nil {
			asset = []byte{}
		}
		fileName, partType = p.FileName(), p.Header.Get("Content-Type")
	}
	if asset == nil {
		writeError(w, http.StatusBadRequest, msgFlowFile)
		return
	}
	verrs, version := validateFlowJSON(asset)

	s.flowOp(w, appID, id, func(f *flowState) (string, any) {
		if msg := notDraft(f, false); msg != "" {
			return msg, nil
		}
		f.Asset, f.AssetFileName, f.AssetContentType = asset, fileName, partType
		f.ValidationErrors = verrs
		f.AssetUploads++
		if version != "" {
			f.JSONVersion = version
		}
		return "", struct {
			Status           string                `json:"status"`
			Success          bool                  `json:"success"`
			ValidationErrors []FlowValidationError `json:"validation_errors"`
		}{"success", true, slices.Clone(verrs)}
	})
}

// validateFlowJSON checks a flow JSON: it must parse, be an object, and have
// a string "version" and an array "screens". It returns the errors (never
// nil) and, when the JSON is valid, its version.
func validateFlowJSON(b []byte) ([]FlowValidationError, string) {
	errs := []FlowValidationError{}
	var top any
	if err := json.Unmarshal(b, &top); err != nil {
		// The error is at the last byte read, or just past the end of
		// a truncated document.
		at := len(b)
		var se *json.SyntaxError
		if errors.As(err, &se) && !strings.HasPrefix(se.Error(), "unexpected end") {
			at = int(se.Offset) - 1
		}
		line, col := position(b, at)
		return append(errs, FlowValidationError{
			Error: "INVALID_JSON", ErrorType: "JSON_SCHEMA_ERROR", Message: "Invalid JSON: " + err.Error(),
			LineStart: line, LineEnd: line, ColumnStart: col, ColumnEnd: col,
		}), ""
	}
	schema := func(code, msg string) {
		errs = append(errs, FlowValidationError{
			Error: code, ErrorType: "JSON_SCHEMA_ERROR", Message: msg,
			LineStart: 1, LineEnd: 1, ColumnStart: 1, ColumnEnd: 1,
		})
	}
	obj, ok := top.(map[string]any)
	if !ok {
		schema("INVALID_PROPERTY_TYPE", "The flow JSON must be an object, not "+jsonType(top)+".")
		return errs, ""
	}
	version := ""
	switch v, present := obj["version"]; {
	case !present:
		schema("MISSING_REQUIRED_PROPERTY", "The required property 'version' is missing.")
	default:
		if s, ok := v.(string); ok {
			version = s
		} else {
			schema("INVALID_PROPERTY_TYPE", "Property 'version' must be a string, not "+jsonType(v)+".")
		}
	}
	switch v, present := obj["screens"]; {
	case !present:
		schema("MISSING_REQUIRED_PROPERTY", "The required property 'screens' is missing.")
	default:
		if _, ok := v.([]any); !ok {
			schema("INVALID_PROPERTY_TYPE", "Property 'screens' must be an array, not "+jsonType(v)+".")
		}
	}
	if len(errs) > 0 {
		return errs, ""
	}
	return errs, version
}

// jsonType names the JSON type of a decoded value.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	default:
		return "an object"
	}
}

// position returns the 1-based line and column (in characters) of byte
// index i of b (i may be len(b)).
func position(b []byte, i int) (line, col int) {
	i = min(max(i, 0), len(b))
	start := bytes.LastIndexByte(b[:i], '\n') + 1
	return bytes.Count(b[:i], []byte{'\n'}) + 1, utf8.RuneCount(b[start:i]) + 1
}
