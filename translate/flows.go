package translate

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// This file maps Meta's Flows API (meta-cloud-api.md §4) onto Gupshup's flow
// management endpoints (gupshup-partner-api.md §7). The server makes the
// calls; everything here is pure. Meta → Gupshup, and the functions here:
//
//   - POST /{waba-id}/flows → POST /partner/app/{appId}/flows (then, with
//     flow_json, PUT …/flows/{id}/assets): FlowCreateRequest, FlowID,
//     FlowCreateResponse.
//   - GET /{waba-id}/flows → GET …/flows: FlowListResponse.
//   - GET /{flow-id}?fields=… → GET …/flows/{id}, and GET …/flows/{id}/preview
//     when preview is asked for: ParseFlowFields, FlowGetResponse.
//   - POST /{flow-id} → PUT …/flows/{id}: FlowUpdateRequest; answer Success.
//   - POST /{flow-id}/assets → PUT …/flows/{id}/assets (multipart file):
//     FlowAssetParams, FlowValidationResponse.
//   - GET /{flow-id}/assets → GET …/flows/{id}/assets: FlowAssetsResponse.
//   - POST /{flow-id}/publish, /deprecate → POST …/flows/{id}/publish,
//     /deprecate; DELETE /{flow-id} → DELETE …/flows/{id}: answer Success.
//   - Any failure of a call on a flow id: UpstreamFlowError.
//
// Gupshup's flow answers are only partly documented, so every reader accepts
// each plausible shape: bare values or wrapped in {"status":"success",…},
// {"flow":…}, {"flows":…}, {"data":…}, Meta's snake_case member names or
// their camelCase spellings, ids as strings or as numbers (kept as their
// digits, never through a float). A body that is not valid JSON reads as
// nothing.

// flowCategories are the categories Meta accepts for a Flow, in the order
// Meta's documentation lists them (SHOPPING last, as added later).
var flowCategories = []string{
	"SIGN_UP", "SIGN_IN", "APPOINTMENT_BOOKING", "LEAD_GENERATION",
	"CONTACT_US", "CUSTOMER_SUPPORT", "SURVEY", "OTHER", "SHOPPING",
}

// flowCategoryList is flowCategories as Graph writes an enum in its
// parameter errors: {SIGN_UP, SIGN_IN, …}.
var flowCategoryList = "{" + strings.Join(flowCategories, ", ") + "}"

// FlowCreate is a Meta create-Flow request (POST /{waba-id}/flows) taken
// apart for Gupshup.
type FlowCreate struct {
	// Name is the flow's name as given.
	Name string
	// Body is the JSON body for Gupshup's POST /partner/app/{appId}/flows:
	// {"name":…,"categories":[…]} with the categories in upper case.
	Body []byte
	// FlowJSON is the text of the flow_json parameter (the flow.json file
	// to upload right after creating the flow), nil when absent. A JSON
	// string gives its content; an object (a JSON body that sends the Flow
	// JSON unencoded, or a form field the server embedded as JSON) gives its
	// exact bytes.
	FlowJSON []byte
	// Publish is the publish parameter. Meta publishes only when flow_json
	// is also given and has no validation errors; the server decides.
	Publish bool
	// CloneFlowID is clone_flow_id ("" when absent). Gupshup has no clone
	// operation, so the server must decline or emulate it.
	CloneFlowID string
	// EndpointURI is endpoint_uri ("" when absent). Gupshup documents only
	// flows without an endpoint; the server may pass it with a metadata
	// update (FlowUpdateRequest) or decline it.
	EndpointURI string
}

// FlowCreateRequest validates the parameters of a create-Flow request (the
// request body as one JSON object, see the server) and builds Gupshup's
// body. name and categories are required (MissingParameter); categories is
// a JSON array of strings, a string holding such an array (`["OTHER"]`, as
// Meta's Postman collection sends in form-data) or a comma list
// ("OTHER,SIGN_UP"), case-insensitive; an unknown category is an
// InvalidParameter listing the allowed ones. publish is a boolean, or the
// strings/numbers true/false/1/0.
func FlowCreateRequest(params []byte) (FlowCreate, *Error) {
	var c FlowCreate
	root, err := flowParams(params)
	if err != nil {
		return c, err
	}
	name, err := flowName(root.Get("name"), true)
	if err != nil {
		return c, err
	}
	cv := root.Get("categories")
	if !present(cv) {
		return c, MissingParameter("categories")
	}
	cats, err := parseFlowCategories(cv)
	if err != nil {
		return c, err
	}
	if v := root.Get("flow_json"); present(v) {
		switch {
		case v.Type == gjson.String && strings.TrimSpace(v.Str) != "":
			c.FlowJSON = []byte(v.Str)
		case v.IsObject():
			c.FlowJSON = []byte(v.Raw)
		default:
			return c, InvalidParameter("Param flow_json must be the Flow JSON encoded as a string.")
		}
	}
	if v := root.Get("publish"); present(v) {
		p, ok := flowBool(v)
		if !ok {
			return c, InvalidParameter("Param publish must be a boolean.")
		}
		c.Publish = p
	}
	if v := root.Get("clone_flow_id"); present(v) {
		id := scalarString(v)
		if id == "" || (v.Type == gjson.Number && !isDigits(id)) {
			return c, InvalidParameter("Param clone_flow_id must be a Flow ID.")
		}
		c.CloneFlowID = id
	}
	if v := root.Get("endpoint_uri"); present(v) {
		if v.Type != gjson.String {
			return c, InvalidParameter("Param endpoint_uri must be a string.")
		}
		c.EndpointURI = v.Str
	}
	c.Name = name
	b := make([]byte, 0, 64+len(name))
	b = append(b, `{"name":`...)
	b = AppendMetaString(b, name)
	b = append(b, `,"categories":`...)
	b = appendStringArray(b, cats)
	c.Body = append(b, '}')
	return c, nil
}

// FlowID reads the new flow's id from Gupshup's create answer
// {"id":"<meta flow id>","status":"success","validation_errors":[]}. The id
// may also sit in "flow_id"/"flowId" or in a "flow" or "data" object; a
// numeric id is taken as its exact digits. It returns false when there is no
// non-empty id.
func FlowID(gupshup []byte) (string, bool) {
	root := gjson.ParseBytes(gupshup)
	if !root.IsObject() || !gjson.ValidBytes(gupshup) {
		return "", false
	}
	for _, obj := range [...]gjson.Result{root, root.Get("flow"), root.Get("data")} {
		if id := flowIDOf(obj); id != "" {
			return id, true
		}
	}
	return "", false
}

// FlowCreateResponse appends Meta's answer to a create-Flow request:
// {"id":"…"}; when flow_json was given (assetAnswer is Gupshup's answer to
// the asset upload, non-nil) {"id":"…","success":true,"validation_errors":[…]}
// with the validation errors as FlowValidationResponse keeps them.
func FlowCreateResponse(dst []byte, id string, assetAnswer []byte) []byte {
	dst = append(dst, `{"id":`...)
	dst = AppendMetaString(dst, id)
	if assetAnswer != nil {
		dst = append(dst, `,"success":true,"validation_errors":`...)
		dst = appendValidationErrors(dst, findValidationErrors(parseAnswer(assetAnswer)))
	}
	return append(dst, '}')
}

// FlowUpdateRequest validates a Flow metadata update (POST /{flow-id} with
// name, categories, endpoint_uri, application_id) and builds the JSON body
// for Gupshup's PUT /partner/app/{appId}/flows/{flowId}: the members given,
// in the order {"name","categories","endpoint_uri"}. categories takes the
// same forms as on create. application_id cannot be set through Gupshup and
// is ignored; a request with nothing else is an InvalidParameter. Meta's
// answer to a successful update is Success.
func FlowUpdateRequest(params []byte) ([]byte, *Error) {
	root, err := flowParams(params)
	if err != nil {
		return nil, err
	}
	b := []byte{'{'}
	if v := root.Get("name"); present(v) {
		name, err := flowName(v, false)
		if err != nil {
			return nil, err
		}
		b = appendStringMember(b, 1, "name", name)
	}
	if v := root.Get("categories"); present(v) {
		cats, err := parseFlowCategories(v)
		if err != nil {
			return nil, err
		}
		b = appendStringArray(appendMemberKey(b, 1, "categories"), cats)
	}
	if v := root.Get("endpoint_uri"); present(v) {
		if v.Type != gjson.String {
			return nil, InvalidParameter("Param endpoint_uri must be a string.")
		}
		b = appendStringMember(b, 1, "endpoint_uri", v.Str)
	}
	if len(b) == 1 {
		return nil, InvalidParameter("Nothing to update: give at least one of name, categories or endpoint_uri " +
			"(application_id cannot be changed through this gateway).")
	}
	return append(b, '}'), nil
}

// FlowListResponse turns Gupshup's list of flows into Meta's answer to
// GET /{waba-id}/flows:
//
//	{"data":[{"name","status","categories","validation_errors","id"},…],
//	 "paging":{"cursors":{"before":"…","after":"…"}}}
//
// members in the order of Meta's sample, id last as Graph writes default
// fields. Accepted shapes: a bare array, {"flows":[…]}, {"data":[…]},
// {"status":"success","flows":[…]}, {"flows":{"data":[…]}}. A flow without
// an id is left out; name, status and categories are copied when present;
// validation_errors is [] when absent.
//
// The proxy does not page: Gupshup returns every flow at once and all of
// them are answered in one page. The cursors are the base64url of the first
// and last flow ids (stable for the same list) and there is no "next" link,
// so clients that follow paging stop after this page; limit/after/before
// are not applied. paging is left out when there are no flows.
func FlowListResponse(dst, gupshup []byte) ([]byte, *Error) {
	items, ok := flowItems(parseAnswer(gupshup), "flows")
	if !ok {
		return dst, flowBadAnswer("flow list")
	}
	dst = append(dst, `{"data":[`...)
	first, last := "", ""
	items.ForEach(func(_, it gjson.Result) bool {
		it = unwrapFlow(it)
		id := flowIDOf(it)
		if id == "" {
			return true
		}
		if first != "" {
			dst = append(dst, ',')
		}
		dst = append(dst, '{')
		start := len(dst)
		for _, name := range [...]string{"name", "status", "categories"} {
			if v := flowMember(it, name); present(v) {
				dst = appendMetaJSON(appendMemberKey(dst, start, name), v.Raw)
			}
		}
		dst = appendValidationErrors(appendMemberKey(dst, start, "validation_errors"), findValidationErrors(it))
		dst = appendStringMember(dst, start, "id", id)
		dst = append(dst, '}')
		if first == "" {
			first = id
		}
		last = id
		return true
	})
	dst = append(dst, ']')
	if first != "" {
		dst = appendPaging(dst, first, last)
	}
	return append(dst, '}'), nil
}

// FlowFields is what a GET /{flow-id}?fields=… asks for.
type FlowFields struct {
	// Names are the requested top-level fields in the order asked, each
	// once, without their sub-selections ("preview.invalidate(false)" is
	// "preview", "metric.name(…).granularity(DAY)" is "metric",
	// "whatsapp_business_account{id,name}" is "whatsapp_business_account").
	// "id" appears only when asked for; the answer always has it.
	Names []string
	// Preview reports whether "preview" is asked for: the server must then
	// fetch Gupshup's preview URL (GET …/flows/{id}/preview).
	Preview bool
	// InvalidatePreview is preview.invalidate(true): Meta then issues a new
	// preview URL. Graph's default is invalidate(false).
	InvalidatePreview bool
}

// defaultFlowFields are the fields Graph answers GET /{flow-id} with when
// no fields are asked for: Meta's Flows API reference says "By default, it
// will return the fields: id, name, status, categories, validation_errors"
// (not Graph's usual id and name). id is left out here because the answer
// always ends with it, as in Meta's samples of default answers.
var defaultFlowFields = []string{"name", "status", "categories", "validation_errors"}

// ParseFlowFields parses Graph's fields parameter for a Flow node: a comma
// list whose items may carry modifiers (preview.invalidate(false),
// metric.name(ENDPOINT_REQUEST_COUNT).granularity(DAY)) and nested
// selections (whatsapp_business_account{id,name}); commas inside (…) and
// {…} do not split. An empty list gives Graph's default for a Flow (see
// defaultFlowFields).
func ParseFlowFields(fields string) FlowFields {
	var f FlowFields
	seen := map[string]bool{}
	depth, start := 0, 0
	for i := 0; i <= len(fields); i++ {
		if i < len(fields) {
			switch fields[i] {
			case '(', '{', '[':
				depth++
				continue
			case ')', '}', ']':
				if depth > 0 {
					depth--
				}
				continue
			case ',':
				if depth > 0 {
					continue
				}
			default:
				continue
			}
		}
		item := strings.TrimSpace(fields[start:i])
		start = i + 1
		name := fieldName(item)
		if name == "" {
			continue
		}
		if name == "preview" {
			f.Preview = true
			if invalidatePreview(item[len("preview"):]) {
				f.InvalidatePreview = true
			}
		}
		if !seen[name] {
			seen[name] = true
			f.Names = append(f.Names, name)
		}
	}
	if len(f.Names) == 0 {
		f.Names = append([]string(nil), defaultFlowFields...)
	}
	return f
}

// fieldName is the field an item of a fields list names: its leading
// letters, digits and underscores ("preview" of "preview.invalidate(false)").
func fieldName(item string) string {
	i := 0
	for ; i < len(item); i++ {
		c := item[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			break
		}
	}
	return item[:i]
}

// invalidatePreview reads the invalidate(…) modifier of a preview field.
func invalidatePreview(mods string) bool {
	i := strings.Index(mods, "invalidate(")
	if i < 0 {
		return false
	}
	v := mods[i+len("invalidate("):]
	if j := strings.IndexByte(v, ')'); j >= 0 {
		v = v[:j]
	}
	v = strings.ToLower(strings.Trim(strings.TrimSpace(v), `"'`))
	return v == "true" || v == "1"
}

// FlowGetResponse builds Meta's answer to GET /{flow-id}?fields=… from
// Gupshup's flow object and, when preview was asked for, its preview
// answer (nil otherwise, or when the call was not made).
//
// The flow may be the bare Meta-like object {"id","name","status",
// "categories","validation_errors","json_version","data_api_version",
// "data_channel_uri","endpoint_uri","health_status",…} or wrapped as
// {"flow":{…}}, {"status":"success","flow":{…}} or {"data":{…}}. The preview
// answer may be {"id","preview":{"preview_url","expires_at"}},
// {"preview_url","expires_at"}, either wrapped in "data", or {"preview":
// "<url>"}; without one, a "preview" member of the flow object is used.
//
// The answer has exactly the requested fields Gupshup provided, in the
// order asked; fields it did not provide (unknown names, metric, …) are
// left out, as Graph leaves out fields a node does not have. Values are
// Gupshup's bytes in Graph's escaping (numbers unchanged), except:
//   - "id" is written where asked, else last (as in Graph's answers);
//   - "preview" is {"preview_url","expires_at"} (expires_at only when
//     Gupshup gave one; the proxy has no clock);
//   - "whatsapp_business_account" is {"id":wabaID} (the caller's WABA, never
//     Gupshup's), left out when wabaID is "";
//   - "validation_errors" is normalised like FlowValidationResponse and []
//     when Gupshup has none;
//   - in "health_status", the id of the WABA entity becomes wabaID.
func FlowGetResponse(dst, flow, preview []byte, f FlowFields, wabaID string) ([]byte, *Error) {
	obj := unwrapFlow(parseAnswer(flow))
	if !obj.IsObject() {
		return dst, flowBadAnswer("flow")
	}
	pv := parseAnswer(preview)
	id := flowIDOf(obj)
	if id == "" && pv.IsObject() {
		id = flowIDOf(pv)
	}
	if id == "" {
		return dst, flowBadAnswer("flow")
	}
	names := f.Names
	if len(names) == 0 {
		names = defaultFlowFields
	}
	dst = append(dst, '{')
	start := len(dst)
	idDone := false
	for _, name := range names {
		switch name {
		case "id":
			dst = appendStringMember(dst, start, "id", id)
			idDone = true
		case "preview":
			u, exp, ok := previewOf(pv)
			if !ok {
				u, exp, ok = previewOf(obj)
			}
			if !ok {
				continue
			}
			dst = append(appendMemberKey(dst, start, "preview"), `{"preview_url":`...)
			dst = AppendMetaString(dst, u)
			if present(exp) {
				dst = appendMetaJSON(append(dst, `,"expires_at":`...), exp.Raw)
			}
			dst = append(dst, '}')
		case "whatsapp_business_account":
			if wabaID == "" {
				continue
			}
			dst = append(appendMemberKey(dst, start, name), `{"id":`...)
			dst = append(AppendMetaString(dst, wabaID), '}')
		case "validation_errors":
			dst = appendValidationErrors(appendMemberKey(dst, start, name), findValidationErrors(obj))
		case "health_status":
			v := flowMember(obj, name)
			if !present(v) {
				continue
			}
			dst = appendMetaJSON(appendMemberKey(dst, start, name), healthWithWABA(v, wabaID))
		default:
			v := flowMember(obj, name)
			if !present(v) {
				continue
			}
			dst = appendMetaJSON(appendMemberKey(dst, start, name), v.Raw)
		}
	}
	if !idDone {
		dst = appendStringMember(dst, start, "id", id)
	}
	return append(dst, '}'), nil
}

// FlowAssetsResponse turns Gupshup's assets answer into Meta's answer to
// GET /{flow-id}/assets:
//
//	{"data":[{"name":"flow.json","asset_type":"FLOW_JSON","download_url":"…"}],
//	 "paging":{"cursors":{"before":"…","after":"…"}}}
//
// Accepted shapes: a bare array, {"data":[…]}, {"assets":[…]}, each
// possibly with "status":"success", or one bare asset object. Each
// download_url goes through rewrite (the proxy serves the file itself; a
// nil rewrite keeps it). The cursors are the base64url of the first and
// last asset names; as for flows, there is one page.
func FlowAssetsResponse(dst, gupshup []byte, rewrite func(downloadURL string) string) ([]byte, *Error) {
	root := parseAnswer(gupshup)
	items, ok := flowItems(root, "assets")
	single := false
	if !ok {
		if !root.IsObject() || !present(flowMember(root, "download_url")) {
			return dst, flowBadAnswer("flow assets")
		}
		single = true
	}
	dst = append(dst, `{"data":[`...)
	n := 0
	first, last := "", ""
	each := func(it gjson.Result) {
		if !it.IsObject() {
			return
		}
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
		dst = append(dst, '{')
		start := len(dst)
		name := flowMember(it, "name")
		if present(name) {
			dst = appendMetaJSON(appendMemberKey(dst, start, "name"), name.Raw)
		}
		if v := flowMember(it, "asset_type"); present(v) {
			dst = appendMetaJSON(appendMemberKey(dst, start, "asset_type"), v.Raw)
		}
		if v := flowMember(it, "download_url"); v.Type == gjson.String {
			u := v.Str
			if rewrite != nil {
				u = rewrite(u)
			}
			dst = appendStringMember(dst, start, "download_url", u)
		}
		dst = append(dst, '}')
		key := scalarString(name)
		if key == "" {
			key = strconv.Itoa(n - 1)
		}
		if first == "" {
			first = key
		}
		last = key
	}
	if single {
		each(root)
	} else {
		items.ForEach(func(_, it gjson.Result) bool { each(it); return true })
	}
	dst = append(dst, ']')
	if n > 0 {
		dst = appendPaging(dst, first, last)
	}
	return append(dst, '}'), nil
}

// FlowAssetParams checks the non-file parameters of a Flow JSON upload
// (POST /{flow-id}/assets, multipart file + name + asset_type): asset_type
// is required and must be FLOW_JSON (case-insensitive); name defaults to
// "flow.json". It returns the file name to hand to Gupshup.
func FlowAssetParams(params []byte) (string, *Error) {
	root, err := flowParams(params)
	if err != nil {
		return "", err
	}
	at := root.Get("asset_type")
	if !present(at) {
		return "", MissingParameter("asset_type")
	}
	if at.Type != gjson.String || !strings.EqualFold(strings.TrimSpace(at.Str), "FLOW_JSON") {
		return "", InvalidParameter("Param asset_type must be one of {FLOW_JSON} - got " + gotValue(at) + ".")
	}
	name := "flow.json"
	if v := root.Get("name"); present(v) {
		if v.Type != gjson.String {
			return "", InvalidParameter("Param name must be a string.")
		}
		if s := strings.TrimSpace(v.Str); s != "" {
			name = s
		}
	}
	return name, nil
}

// FlowValidationResponse turns Gupshup's answer to a Flow JSON upload
// ({"success":true,"validation_errors":[…]}, possibly with "status", the
// errors possibly under "validationErrors", in "data", or as a string
// holding the array) into Meta's {"success":true,"validation_errors":[…]}.
// Each item keeps Meta's members — error, error_type, message, line_start,
// line_end, column_start, column_end, pointers — in that order, as Gupshup's
// bytes in Graph's escaping (camelCase spellings are read too); an object
// with none of them is kept whole and a bare string becomes {"message":…}.
// No validation_errors gives [].
func FlowValidationResponse(dst, gupshup []byte) []byte {
	dst = append(dst, `{"success":true,"validation_errors":`...)
	dst = appendValidationErrors(dst, findValidationErrors(parseAnswer(gupshup)))
	return append(dst, '}')
}

// FlowNotFound is Graph's answer for a flow id the tenant does not have
// (code 100, subcode 33). method is the HTTP method in lower case.
func FlowNotFound(method, id string) *Error {
	return UnknownObject(method, id)
}

// UpstreamFlowError maps Gupshup's failure answer to a call on flow id.
// Gupshup's 400/404 "Invalid flow id" or "Flow not found" becomes
// FlowNotFound, as Graph answers for an unknown id; everything else
// (publish/deprecate/delete/update refused for the flow's state, …) goes
// through UpstreamError.
func UpstreamFlowError(method, id string, status int, body []byte, retryAfter string) *Error {
	if status == 400 || status == 404 {
		msg, _ := upstreamMessage(gjson.ParseBytes(body))
		if containsFold(msg, "invalid flow id") || containsFold(msg, "flow not found") {
			e := FlowNotFound(method, id)
			e.Rule = "unknown_flow"
			return e
		}
	}
	return UpstreamError(status, body, retryAfter)
}

// flowBadAnswer is the error for a 2xx Gupshup answer the proxy cannot read.
func flowBadAnswer(what string) *Error {
	return &Error{HTTPStatus: 500, Code: CodeGeneric, Title: "Something went wrong",
		Details: "The upstream answered the " + what + " request with a body the gateway cannot read.",
		Rule:    "upstream_bad_answer"}
}

// parseAnswer parses a Gupshup answer; a body that is not valid JSON reads
// as nothing (gjson would otherwise make sense of a truncated prefix).
func parseAnswer(b []byte) gjson.Result {
	if len(b) == 0 || !gjson.ValidBytes(b) {
		return gjson.Result{}
	}
	return gjson.ParseBytes(b)
}

// flowParams parses a request's parameters, which must be a JSON object.
func flowParams(params []byte) (gjson.Result, *Error) {
	root := gjson.ParseBytes(params)
	if !root.IsObject() || !gjson.ValidBytes(params) {
		return root, InvalidParameter("The request body must be a JSON object.")
	}
	return root, nil
}

// present reports whether a member exists and is not null.
func present(v gjson.Result) bool { return v.Exists() && v.Type != gjson.Null }

// flowName reads a flow name: a non-empty string (or a number, as Graph
// coerces it). required makes an absent name a MissingParameter.
func flowName(v gjson.Result, required bool) (string, *Error) {
	if !present(v) {
		if required {
			return "", MissingParameter("name")
		}
		return "", nil
	}
	s := scalarString(v)
	if v.Type != gjson.String && v.Type != gjson.Number {
		return "", InvalidParameter("Param name must be a string.")
	}
	if strings.TrimSpace(s) == "" {
		if required {
			return "", MissingParameter("name")
		}
		return "", InvalidParameter("Param name must be a non-empty string.")
	}
	return s, nil
}

// flowBool reads a boolean parameter: true/false, or their spellings as
// strings or numbers ("true", "FALSE", "1", 0).
func flowBool(v gjson.Result) (bool, bool) {
	switch v.Type {
	case gjson.True:
		return true, true
	case gjson.False:
		return false, true
	case gjson.Number:
		switch v.Raw {
		case "1":
			return true, true
		case "0":
			return false, true
		}
	case gjson.String:
		switch strings.ToLower(strings.TrimSpace(v.Str)) {
		case "true", "1":
			return true, true
		case "false", "0":
			return false, true
		}
	}
	return false, false
}

// parseFlowCategories reads the categories parameter in any of its forms
// (array, string holding an array, comma list with or without brackets,
// single name) and returns the categories in upper case, in the order given.
func parseFlowCategories(v gjson.Result) ([]string, *Error) {
	var raw []gjson.Result
	var items []string
	switch {
	case v.IsArray():
		raw = v.Array()
	case v.Type == gjson.String:
		s := strings.TrimSpace(v.Str)
		if strings.HasPrefix(s, "[") {
			if a := gjson.Parse(s); gjson.Valid(s) && a.IsArray() {
				raw = a.Array()
				break
			}
			if !strings.HasSuffix(s, "]") {
				return nil, InvalidParameter("Param categories must be a JSON array of strings.")
			}
			// [OTHER, SIGN_UP] typed into a form: a bracketed comma list.
			s = s[1 : len(s)-1]
		}
		for _, p := range strings.Split(s, ",") {
			if p = strings.Trim(strings.TrimSpace(p), `"'`); p != "" {
				items = append(items, p)
			}
		}
	default:
		return nil, InvalidParameter("Param categories must be a JSON array of strings.")
	}
	for i, r := range raw {
		if r.Type != gjson.String {
			return nil, InvalidParameter("Param categories[" + strconv.Itoa(i) + "] must be a string.")
		}
		items = append(items, strings.TrimSpace(r.Str))
	}
	if len(items) == 0 {
		return nil, InvalidParameter("Param categories must list at least one of " + flowCategoryList + ".")
	}
	out := make([]string, len(items))
	for i, it := range items {
		up := strings.ToUpper(it)
		known := false
		for _, c := range flowCategories {
			if c == up {
				known = true
				break
			}
		}
		if !known {
			return nil, InvalidParameter("Param categories[" + strconv.Itoa(i) + "] must be one of " +
				flowCategoryList + " - got " + string(AppendMetaString(nil, it)) + ".")
		}
		out[i] = up
	}
	return out, nil
}

// gotValue writes a parameter value for an error message: strings quoted,
// anything else as its JSON text.
func gotValue(v gjson.Result) string {
	if v.Type == gjson.String {
		return string(AppendMetaString(nil, v.Str))
	}
	return string(appendMetaJSON(nil, v.Raw))
}

func appendStringArray(dst []byte, items []string) []byte {
	dst = append(dst, '[')
	for i, s := range items {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendMetaString(dst, s)
	}
	return append(dst, ']')
}

// flowMember finds a member of a Gupshup flow object by its Meta name, or
// by its camelCase spelling (json_version → jsonVersion).
func flowMember(obj gjson.Result, name string) gjson.Result {
	if v := obj.Get(gjson.Escape(name)); v.Exists() {
		return v
	}
	if c := camelCase(name); c != name {
		return obj.Get(gjson.Escape(c))
	}
	return gjson.Result{}
}

// camelCase turns snake_case into camelCase: "download_url" → "downloadUrl".
func camelCase(s string) string {
	if strings.IndexByte(s, '_') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	up := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' {
			up = true
			continue
		}
		if up && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		up = false
		b = append(b, c)
	}
	return string(b)
}

// flowIDOf reads the id of a flow object: "id", "flow_id" or "flowId", a
// non-empty string or a number of digits.
func flowIDOf(obj gjson.Result) string {
	if !obj.IsObject() {
		return ""
	}
	for _, k := range [...]string{"id", "flow_id", "flowId"} {
		v := obj.Get(k)
		switch v.Type {
		case gjson.String:
			if v.Str != "" {
				return v.Str
			}
		case gjson.Number:
			if isDigits(v.Raw) {
				return v.Raw
			}
		}
	}
	return ""
}

// unwrapFlow returns the flow object of a Gupshup answer: the "flow"
// object, else the "data" object, else the value itself.
func unwrapFlow(v gjson.Result) gjson.Result {
	if !v.IsObject() {
		return v
	}
	if f := v.Get("flow"); f.IsObject() {
		return f
	}
	if d := v.Get("data"); d.IsObject() {
		return d
	}
	return v
}

// flowItems finds the array of a Gupshup list answer: the value itself,
// its member key ("flows", "assets") or "data", or one of those holding
// {"data":[…]}.
func flowItems(root gjson.Result, key string) (gjson.Result, bool) {
	if root.IsArray() {
		return root, true
	}
	if !root.IsObject() {
		return root, false
	}
	for _, k := range [...]string{key, "data"} {
		v := root.Get(k)
		if v.IsArray() {
			return v, true
		}
		if d := v.Get("data"); v.IsObject() && d.IsArray() {
			return d, true
		}
		if d := v.Get(key); v.IsObject() && d.IsArray() {
			return d, true
		}
	}
	return root, false
}

// previewOf finds a preview URL and its expiry in a Gupshup answer or flow
// object: {"preview":{"preview_url","expires_at"}}, {"preview_url",…}, the
// same inside "data", or {"preview":"<url>"}.
func previewOf(v gjson.Result) (string, gjson.Result, bool) {
	if !v.IsObject() {
		return "", gjson.Result{}, false
	}
	if p := v.Get("preview"); p.Type == gjson.String && p.Str != "" {
		return p.Str, gjson.Result{}, true
	}
	cands := [...]gjson.Result{v.Get("preview"), v, v.Get("data.preview"), v.Get("data")}
	for _, c := range cands {
		if !c.IsObject() {
			continue
		}
		if u := flowMember(c, "preview_url"); u.Type == gjson.String && u.Str != "" {
			return u.Str, flowMember(c, "expires_at"), true
		}
	}
	return "", gjson.Result{}, false
}

// healthWithWABA returns health_status with the id of its WABA entity set
// to wabaID (Gupshup's own WABA must not show through).
func healthWithWABA(v gjson.Result, wabaID string) string {
	out := v.Raw
	if wabaID == "" || !v.IsObject() {
		return out
	}
	v.Get("entities").ForEach(func(i, e gjson.Result) bool {
		if e.Get("entity_type").Str == "WABA" && e.Get("id").Exists() {
			if s, err := sjson.Set(out, "entities."+i.String()+".id", wabaID); err == nil {
				out = s
			}
		}
		return true
	})
	return out
}

// findValidationErrors finds the validation errors of a Gupshup answer or
// flow object: validation_errors or validationErrors, at the top or in
// "data" or "flow"; an array, or a string holding one.
func findValidationErrors(root gjson.Result) gjson.Result {
	if !root.IsObject() {
		return gjson.Result{}
	}
	for _, obj := range [...]gjson.Result{root, root.Get("data"), root.Get("flow")} {
		if !obj.IsObject() {
			continue
		}
		v := flowMember(obj, "validation_errors")
		if v.IsArray() {
			return v
		}
		if v.Type == gjson.String {
			if s := strings.TrimSpace(v.Str); gjson.Valid(s) {
				if a := gjson.Parse(s); a.IsArray() {
					return a
				}
			}
		}
	}
	return gjson.Result{}
}

// validationMembers are the members of a Meta validation_errors item, in
// Meta's order.
var validationMembers = [...]string{"error", "error_type", "message", "line_start", "line_end",
	"column_start", "column_end", "pointers"}

// appendValidationErrors appends the items of errs (an array, or nothing
// for []) in Meta's shape; see FlowValidationResponse.
func appendValidationErrors(dst []byte, errs gjson.Result) []byte {
	dst = append(dst, '[')
	n := 0
	errs.ForEach(func(_, it gjson.Result) bool {
		switch {
		case it.IsObject():
		case it.Type == gjson.String:
		default:
			return true
		}
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
		if it.Type == gjson.String {
			dst = append(dst, `{"message":`...)
			dst = append(AppendMetaString(dst, it.Str), '}')
			return true
		}
		mark := len(dst)
		dst = append(dst, '{')
		start := len(dst)
		for _, k := range validationMembers {
			if v := flowMember(it, k); present(v) {
				dst = appendMetaJSON(appendMemberKey(dst, start, k), v.Raw)
			}
		}
		if len(dst) == start {
			dst = appendMetaJSON(dst[:mark], it.Raw)
			return true
		}
		dst = append(dst, '}')
		return true
	})
	return append(dst, ']')
}

// appendPaging appends Graph's cursor paging for a single page whose first
// and last items have the keys first and last.
func appendPaging(dst []byte, first, last string) []byte {
	dst = append(dst, `,"paging":{"cursors":{"before":`...)
	dst = AppendMetaString(dst, base64.RawURLEncoding.EncodeToString([]byte(first)))
	dst = append(dst, `,"after":`...)
	dst = AppendMetaString(dst, base64.RawURLEncoding.EncodeToString([]byte(last)))
	return append(dst, "}}"...)
}
