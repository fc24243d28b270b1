package translate

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// renderFlowError is the golden form of a Meta error answer.
func renderFlowError(e *Error) string {
	return fmt.Sprintf("error http=%d rule=%q\n%s\n", e.HTTPStatus, e.Rule, e.Body("TRACE"))
}

// checkMetaAnswer checks what every Meta answer built here must be: one
// valid JSON object, pure ASCII (Graph's escaping).
func checkMetaAnswer(t *testing.T, b []byte) {
	t.Helper()
	if !gjson.ValidBytes(b) || !gjson.ParseBytes(b).IsObject() {
		t.Fatalf("not a JSON object: %s", b)
	}
	for _, c := range b {
		if c >= 0x80 {
			t.Fatalf("non-ASCII byte in answer: %s", b)
		}
	}
}

func readFixture(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// renderFlowCreate is the golden form of a create request's translation.
func renderFlowCreate(t *testing.T, c FlowCreate, e *Error) string {
	t.Helper()
	if e != nil {
		return renderFlowError(e)
	}
	if !gjson.ValidBytes(c.Body) {
		t.Errorf("Gupshup body is not JSON: %s", c.Body)
	}
	fj := "(absent)"
	if c.FlowJSON != nil {
		fj = string(c.FlowJSON)
	}
	return fmt.Sprintf("gupshup body: %s\nflow_json: %s\npublish: %v\nclone_flow_id: %q\nendpoint_uri: %q\n",
		c.Body, fj, c.Publish, c.CloneFlowID, c.EndpointURI)
}

// TestFlowCreateGolden translates every create-Flow parameter fixture.
func TestFlowCreateGolden(t *testing.T) {
	for in, golden := range fixtures(t, "flows/create") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			c, e := FlowCreateRequest(readFixture(t, in))
			if strings.HasPrefix(filepath.Base(in), "err_") != (e != nil) {
				t.Errorf("error %v for %s", e, filepath.Base(in))
			}
			checkGolden(t, golden, []byte(renderFlowCreate(t, c, e)))
		})
	}
}

// TestFlowUpdateGolden translates every metadata-update fixture.
func TestFlowUpdateGolden(t *testing.T) {
	for in, golden := range fixtures(t, "flows/update") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			b, e := FlowUpdateRequest(readFixture(t, in))
			if strings.HasPrefix(filepath.Base(in), "err_") != (e != nil) {
				t.Errorf("error %v for %s", e, filepath.Base(in))
			}
			out := ""
			if e != nil {
				out = renderFlowError(e)
			} else {
				checkMetaAnswer(t, b)
				out = "gupshup body: " + string(b) + "\n"
			}
			checkGolden(t, golden, []byte(out))
		})
	}
}

// TestFlowListGolden turns every shape of Gupshup's flow list into Meta's.
func TestFlowListGolden(t *testing.T) {
	for in, golden := range fixtures(t, "flows/list") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			b, e := FlowListResponse([]byte("keep:"), readFixture(t, in))
			if strings.HasPrefix(filepath.Base(in), "err_") != (e != nil) {
				t.Errorf("error %v for %s", e, filepath.Base(in))
			}
			if !bytes.HasPrefix(b, []byte("keep:")) {
				t.Fatalf("dst not kept: %s", b)
			}
			b = b[len("keep:"):]
			out := ""
			if e != nil {
				if len(b) != 0 {
					t.Errorf("bytes appended on error: %s", b)
				}
				out = renderFlowError(e)
			} else {
				checkMetaAnswer(t, b)
				out = string(b) + "\n"
			}
			checkGolden(t, golden, []byte(out))
		})
	}
}

// TestFlowGetGolden answers GET /{flow-id}?fields=… from every fixture:
// {"fields","waba_id","flow" (or "flow_text" for raw bytes),"preview"?}.
func TestFlowGetGolden(t *testing.T) {
	for in, golden := range fixtures(t, "flows/get") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			fx := gjson.ParseBytes(readFixture(t, in))
			flow := []byte(fx.Get("flow").Raw)
			if ft := fx.Get("flow_text"); ft.Exists() {
				flow = []byte(ft.Str)
			}
			var preview []byte
			if p := fx.Get("preview"); p.Exists() {
				preview = []byte(p.Raw)
			}
			f := ParseFlowFields(fx.Get("fields").Str)
			b, e := FlowGetResponse(nil, flow, preview, f, fx.Get("waba_id").Str)
			if strings.HasPrefix(filepath.Base(in), "err_") != (e != nil) {
				t.Errorf("error %v for %s", e, filepath.Base(in))
			}
			out := fmt.Sprintf("fields %q → names=%q preview=%v invalidate=%v\n",
				fx.Get("fields").Str, f.Names, f.Preview, f.InvalidatePreview)
			if e != nil {
				out += renderFlowError(e)
			} else {
				checkMetaAnswer(t, b)
				if gjson.GetBytes(b, "id").Str == "" {
					t.Errorf("answer without id: %s", b)
				}
				out += string(b) + "\n"
			}
			checkGolden(t, golden, []byte(out))
		})
	}
}

// testAssetRewrite stands for the proxy's own download URL.
func testAssetRewrite(u string) string {
	return "https://waproxy.test/v23.0/flow_assets?src=" + url.QueryEscape(u)
}

// TestFlowAssetsGolden turns every shape of Gupshup's assets answer into
// Meta's, download URLs rewritten.
func TestFlowAssetsGolden(t *testing.T) {
	for in, golden := range fixtures(t, "flows/assets") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			b, e := FlowAssetsResponse(nil, readFixture(t, in), testAssetRewrite)
			if strings.HasPrefix(filepath.Base(in), "err_") != (e != nil) {
				t.Errorf("error %v for %s", e, filepath.Base(in))
			}
			out := ""
			if e != nil {
				out = renderFlowError(e)
			} else {
				checkMetaAnswer(t, b)
				gjson.GetBytes(b, "data.#.download_url").ForEach(func(_, u gjson.Result) bool {
					if !strings.HasPrefix(u.Str, "https://waproxy.test/") {
						t.Errorf("download_url not rewritten: %s", u.Str)
					}
					return true
				})
				out = string(b) + "\n"
			}
			checkGolden(t, golden, []byte(out))
		})
	}
}

// TestFlowValidationGolden turns every shape of Gupshup's asset upload
// answer into Meta's upload answer and Meta's create answer with flow_json.
func TestFlowValidationGolden(t *testing.T) {
	for in, golden := range fixtures(t, "flows/validation") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			answer := readFixture(t, in)
			up := FlowValidationResponse([]byte("keep:"), answer)
			if !bytes.HasPrefix(up, []byte("keep:")) {
				t.Fatalf("dst not kept: %s", up)
			}
			up = up[len("keep:"):]
			checkMetaAnswer(t, up)
			cr := FlowCreateResponse(nil, "1234567890123456", answer)
			checkMetaAnswer(t, cr)
			if a, b := gjson.GetBytes(up, "validation_errors").Raw, gjson.GetBytes(cr, "validation_errors").Raw; a != b {
				t.Errorf("upload and create answers differ: %s vs %s", a, b)
			}
			out := fmt.Sprintf("upload: %s\ncreate: %s\n", up, cr)
			checkGolden(t, golden, []byte(out))
		})
	}
}

func TestFlowCreateResponse(t *testing.T) {
	if got := string(FlowCreateResponse(nil, "1234567890123456", nil)); got != `{"id":"1234567890123456"}` {
		t.Errorf("without flow_json: %s", got)
	}
	if got := string(FlowCreateResponse(nil, "9", []byte(`{"status":"success"}`))); got != `{"id":"9","success":true,"validation_errors":[]}` {
		t.Errorf("with flow_json: %s", got)
	}
	if got := string(FlowCreateResponse(nil, "a/b", []byte{})); got != `{"id":"a\/b","success":true,"validation_errors":[]}` {
		t.Errorf("empty asset answer: %s", got)
	}
}

func TestFlowID(t *testing.T) {
	cases := []struct {
		body, want string
		ok         bool
	}{
		{`{"id":"1234567890123456","status":"success","validation_errors":[]}`, "1234567890123456", true},
		{`{"id":12345678901234567890,"status":"success"}`, "12345678901234567890", true},
		{`{"status":"success","flow":{"id":"77"}}`, "77", true},
		{`{"status":"success","data":{"flowId":88}}`, "88", true},
		{`{"flow_id":"99"}`, "99", true},
		{`{"id":""}`, "", false},
		{`{"id":1.5}`, "", false},
		{`{"id":-1}`, "", false},
		{`{"id":null}`, "", false},
		{`{"status":"success"}`, "", false},
		{`["1"]`, "", false},
		{`not json`, "", false},
		{``, "", false},
	}
	for _, c := range cases {
		got, ok := FlowID([]byte(c.body))
		if got != c.want || ok != c.ok {
			t.Errorf("%s: got %q %v, want %q %v", c.body, got, ok, c.want, c.ok)
		}
	}
}

func TestParseFlowFields(t *testing.T) {
	def := []string{"name", "status", "categories", "validation_errors"}
	cases := []struct {
		in                  string
		names               []string
		preview, invalidate bool
	}{
		{"", def, false, false},
		{" , ,", def, false, false},
		{"id,name", []string{"id", "name"}, false, false},
		{"preview.invalidate(false)", []string{"preview"}, true, false},
		{"preview.invalidate(true)", []string{"preview"}, true, true},
		{"preview.invalidate( TRUE )", []string{"preview"}, true, true},
		{"preview", []string{"preview"}, true, false},
		{"preview,preview.invalidate(true)", []string{"preview"}, true, true},
		{"id,name,categories,preview,status,validation_errors,json_version,data_api_version,data_channel_uri,health_status,whatsapp_business_account,application",
			[]string{"id", "name", "categories", "preview", "status", "validation_errors", "json_version", "data_api_version",
				"data_channel_uri", "health_status", "whatsapp_business_account", "application"}, true, false},
		{"metric.name(ENDPOINT_REQUEST_COUNT).granularity(DAY).since(2024-01-28).until(2024-01-30)", []string{"metric"}, false, false},
		{"metric.name(A){data_points{timestamp,data}},id", []string{"metric", "id"}, false, false},
		{"whatsapp_business_account{id,name},name", []string{"whatsapp_business_account", "name"}, false, false},
		{" name , name ,status ", []string{"name", "status"}, false, false},
		{"name,(broken", []string{"name"}, false, false},
		{"name,broken)", []string{"name", "broken"}, false, false},
	}
	for _, c := range cases {
		f := ParseFlowFields(c.in)
		if !reflect.DeepEqual(f.Names, c.names) || f.Preview != c.preview || f.InvalidatePreview != c.invalidate {
			t.Errorf("%q: got %+v", c.in, f)
		}
	}
	// The default is a copy: changing one answer does not change the next.
	f := ParseFlowFields("")
	f.Names[0] = "x"
	if ParseFlowFields("").Names[0] != "name" {
		t.Error("default fields shared")
	}
}

// TestFlowCategoriesForms pins every accepted spelling of categories (the
// same on create and update) and the errors.
func TestFlowCategoriesForms(t *testing.T) {
	cases := []struct {
		name, categories string // categories: the member's JSON text
		want             string // Gupshup's categories array, or the error details
	}{
		{"json array", `["OTHER"]`, `["OTHER"]`},
		{"string holding an array (Postman form-data)", `"[\"OTHER\"]"`, `["OTHER"]`},
		{"string holding an array with spaces", `" [ \"sign_up\" , \"SIGN_IN\" ] "`, `["SIGN_UP","SIGN_IN"]`},
		{"comma list", `"OTHER,SIGN_UP"`, `["OTHER","SIGN_UP"]`},
		{"comma list with spaces and quotes", `" survey , 'contact_us' , \"OTHER\" "`, `["SURVEY","CONTACT_US","OTHER"]`},
		{"single name", `"appointment_booking"`, `["APPOINTMENT_BOOKING"]`},
		{"every category", `["SIGN_UP","SIGN_IN","APPOINTMENT_BOOKING","LEAD_GENERATION","CONTACT_US","CUSTOMER_SUPPORT","SURVEY","OTHER","SHOPPING"]`,
			`["SIGN_UP","SIGN_IN","APPOINTMENT_BOOKING","LEAD_GENERATION","CONTACT_US","CUSTOMER_SUPPORT","SURVEY","OTHER","SHOPPING"]`},
		{"unknown", `["OTHER","MARKETING"]`,
			`Param categories[1] must be one of {SIGN_UP, SIGN_IN, APPOINTMENT_BOOKING, LEAD_GENERATION, CONTACT_US, CUSTOMER_SUPPORT, SURVEY, OTHER, SHOPPING} - got "MARKETING".`},
		{"unknown in comma list", `"OTHER,SIGNUP"`,
			`Param categories[1] must be one of {SIGN_UP, SIGN_IN, APPOINTMENT_BOOKING, LEAD_GENERATION, CONTACT_US, CUSTOMER_SUPPORT, SURVEY, OTHER, SHOPPING} - got "SIGNUP".`},
		{"empty array", `[]`,
			`Param categories must list at least one of {SIGN_UP, SIGN_IN, APPOINTMENT_BOOKING, LEAD_GENERATION, CONTACT_US, CUSTOMER_SUPPORT, SURVEY, OTHER, SHOPPING}.`},
		{"empty string", `""`,
			`Param categories must list at least one of {SIGN_UP, SIGN_IN, APPOINTMENT_BOOKING, LEAD_GENERATION, CONTACT_US, CUSTOMER_SUPPORT, SURVEY, OTHER, SHOPPING}.`},
		{"number", `3`, `Param categories must be a JSON array of strings.`},
		{"object", `{"a":"OTHER"}`, `Param categories must be a JSON array of strings.`},
		{"item not a string", `["OTHER",["SURVEY"]]`, `Param categories[1] must be a string.`},
		{"bracketed list without quotes", `"[OTHER, sign_up]"`, `["OTHER","SIGN_UP"]`},
		{"broken array text", `"[\"OTHER\""`, `Param categories must be a JSON array of strings.`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			create, e1 := FlowCreateRequest([]byte(`{"name":"n","categories":` + c.categories + `}`))
			update, e2 := FlowUpdateRequest([]byte(`{"categories":` + c.categories + `}`))
			if (e1 == nil) != (e2 == nil) {
				t.Fatalf("create and update disagree: %v / %v", e1, e2)
			}
			if e1 != nil {
				if e1.Details != c.want || e2.Details != c.want || e1.HTTPStatus != 400 || e1.Code != CodeInvalidParam {
					t.Errorf("got %q / %q", e1.Details, e2.Details)
				}
				return
			}
			if got := gjson.GetBytes(create.Body, "categories").Raw; got != c.want {
				t.Errorf("create: %s", got)
			}
			if got := string(update); got != `{"categories":`+c.want+`}` {
				t.Errorf("update: %s", got)
			}
		})
	}
}

func TestFlowAssetParams(t *testing.T) {
	cases := []struct {
		params, name, err string
	}{
		{`{"name":"flow.json","asset_type":"FLOW_JSON"}`, "flow.json", ""},
		{`{"asset_type":"flow_json"}`, "flow.json", ""},
		{`{"name":" my-flow.json ","asset_type":"FLOW_JSON","messaging_product":"whatsapp"}`, "my-flow.json", ""},
		{`{"name":"","asset_type":"FLOW_JSON"}`, "flow.json", ""},
		{`{"name":null,"asset_type":"FLOW_JSON"}`, "flow.json", ""},
		{`{"name":"flow.json"}`, "", "The parameter asset_type is required."},
		{`{"name":"flow.json","asset_type":null}`, "", "The parameter asset_type is required."},
		{`{"name":"flow.json","asset_type":"IMAGE"}`, "", `Param asset_type must be one of {FLOW_JSON} - got "IMAGE".`},
		{`{"asset_type":1}`, "", `Param asset_type must be one of {FLOW_JSON} - got 1.`},
		{`{"asset_type":"FLOW_JSON","name":5}`, "", "Param name must be a string."},
		{`[]`, "", "The request body must be a JSON object."},
	}
	for _, c := range cases {
		name, e := FlowAssetParams([]byte(c.params))
		switch {
		case c.err == "" && (e != nil || name != c.name):
			t.Errorf("%s: got %q %v", c.params, name, e)
		case c.err != "" && (e == nil || e.Details != c.err || e.Code != CodeInvalidParam || e.HTTPStatus != 400):
			t.Errorf("%s: got %q %v", c.params, name, e)
		}
	}
}

// upstreamFlowCases are Gupshup's failures on flow calls, with the Meta
// answer pinned under testdata/flows/upstream.
var upstreamFlowCases = []struct {
	name   string
	method string
	status int
	body   string
	rule   string
}{
	{"invalid_flow_id_400", "get", 400, `{"status":"error","message":"Invalid flow id"}`, "unknown_flow"},
	{"flow_not_found_404", "delete", 404, `{"status":"error","message":"Flow not found"}`, "unknown_flow"},
	{"invalid_flow_id_message_object", "post", 400, `{"status":"error","message":{"message":"Invalid Flow Id"}}`, "unknown_flow"},
	{"invalid_flow_id_500_is_table", "post", 500, `{"status":"error","message":"Invalid flow id"}`, "flow_invalid_id"},
	{"publish_already_published", "post", 400, `{"status":"error","message":"Flow is already published"}`, "flow_already_published"},
	{"delete_not_draft", "delete", 400, `{"status":"error","message":"Only draft flows can be deleted"}`, "flow_delete_not_draft"},
	{"deprecate_never_published", "post", 400, `{"status":"error","message":"Flow was never published, it cannot be deprecated"}`, "flow_not_published"},
	{"update_published", "post", 400, `{"status":"error","message":"Flow is published, it cannot be updated"}`, "flow_published_readonly"},
	{"deprecated", "post", 400, `{"status":"error","message":"Flow is deprecated"}`, "flow_deprecated"},
	{"publish_with_validation_errors", "post", 400, `{"status":"error","message":"Flow has validation errors, it cannot be published"}`, "flow_has_validation_errors"},
	{"create_name_taken", "post", 400, `{"status":"error","message":"Flow name already exists"}`, "flow_name_exists"},
	{"auth_failed", "get", 401, `{"status":"error","message":"Authentication Failed"}`, "app_token_rejected"},
	{"server_error", "get", 502, `bad gateway`, "upstream_5xx"},
}

// TestUpstreamFlowError pins how Gupshup's flow failures reach the client.
func TestUpstreamFlowError(t *testing.T) {
	dir := filepath.Join("testdata", "flows", "upstream")
	for _, c := range upstreamFlowCases {
		t.Run(c.name, func(t *testing.T) {
			e := UpstreamFlowError(c.method, "1234567890123456", c.status, []byte(c.body), "")
			if e.Rule != c.rule {
				t.Errorf("rule %q, want %q", e.Rule, c.rule)
			}
			if c.rule == "unknown_flow" {
				want := UnknownObject(c.method, "1234567890123456")
				if e.HTTPStatus != 400 || e.Code != 100 || e.Subcode != 33 || e.Message != want.Message {
					t.Errorf("not Graph's unknown object: %s", e.Body("T"))
				}
			} else if c.rule != "app_token_rejected" && c.rule != "upstream_5xx" {
				if e.HTTPStatus != 400 || e.Code != 100 || e.Title != "Invalid parameter" ||
					!strings.Contains(e.Details, gjson.Get(c.body, "message").String()) {
					t.Errorf("not 400/100 with Gupshup's message: %s", e.Body("T"))
				}
			}
			out := fmt.Sprintf("gupshup: %s HTTP %d\n%s\n%s", c.method, c.status, c.body, renderFlowError(e))
			checkGolden(t, filepath.Join(dir, c.name+".golden"), []byte(out))
		})
	}
	if FlowNotFound("get", "5").Message != UnknownObject("get", "5").Message {
		t.Error("FlowNotFound is not UnknownObject")
	}
}

// flowCorpusOp names the Flows API operation of a collection request, or
// "" for anything else (sends, templates, encryption keys, migrate_flows).
func flowCorpusOp(method, rawURL string) string {
	u := substituteCorpusVars(rawURL)
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
		if j := strings.IndexByte(u, '/'); j >= 0 {
			u = u[j+1:]
		} else {
			u = ""
		}
	}
	u = strings.TrimLeft(u, "/")
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	seg := strings.Split(strings.TrimRight(u, "/"), "/")
	if len(seg) < 2 {
		return ""
	}
	node, edge := seg[1], ""
	if len(seg) > 2 {
		edge = strings.Join(seg[2:], "/")
	}
	switch {
	case node == corpusVars["WABA-ID"] && edge == "flows":
		return map[string]string{"POST": "create", "GET": "list"}[method]
	case node == corpusVars["Flow-ID"] && edge == "":
		return map[string]string{"POST": "update", "GET": "get", "DELETE": "delete"}[method]
	case node == corpusVars["Flow-ID"] && edge == "assets":
		return map[string]string{"POST": "upload", "GET": "assets"}[method]
	case node == corpusVars["Flow-ID"] && (edge == "publish" || edge == "deprecate"):
		return edge
	}
	return ""
}

// corpusFormFields are a form-data body's text fields: the enabled ones,
// what a client sends, or with disabled also the ones the collection leaves
// switched off.
func corpusFormFields(r corpusRequest, disabled bool) []Field {
	var fields []Field
	for _, f := range r.Form {
		if f.Disabled && !disabled {
			continue
		}
		fields = append(fields, Field{Name: f.Key, Value: substituteCorpusVars(f.Value)})
	}
	return fields
}

// stringParams is the params object with every form value a JSON string
// (a server that does not embed JSON-looking values).
func stringParams(fields []Field) []byte {
	b := []byte{'{'}
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(AppendMetaString(b, f.Name), ':')
		b = AppendMetaString(b, f.Value)
	}
	return append(b, '}')
}

// TestFlowCorpusGolden runs the Flows requests of Meta's Postman collection
// (testdata/postman/flows.json) through the translations: request
// parameters (built as the server does, and with every value a string),
// fields selections, and Meta's saved answers read as if Gupshup had sent
// them (Gupshup passes Meta's shapes on), pinned under testdata/flows/corpus.
func TestFlowCorpusGolden(t *testing.T) {
	reqs := readCorpus(t, "flows")
	dir := filepath.Join("testdata", "flows", "corpus")
	slugs := corpusSlugs(reqs)
	ran := map[string]bool{}
	ops := map[string]int{}
	for i, r := range reqs {
		slug := slugs[i]
		ran[slug] = true
		t.Run(slug, func(t *testing.T) {
			method := r.Method
			rawURL := substituteCorpusVars(r.URL)
			op := flowCorpusOp(method, r.URL)
			ops[op]++
			answer := substituteCorpusVars(r.Response)
			var b strings.Builder
			fmt.Fprintf(&b, "%s %s (%s: %s)\n", method, rawURL, strings.Join(r.Folder, "/"), r.Name)
			fields := corpusFormFields(r, false)
			if len(fields) > 0 {
				variants := []struct {
					what   string
					params []byte
				}{
					{"params as the server builds them", FieldsToJSON(fields)},
					{"params with every value a string", stringParams(fields)},
				}
				if all := corpusFormFields(r, true); len(all) > len(fields) {
					variants = append(variants, struct {
						what   string
						params []byte
					}{"params with the collection's disabled fields too", FieldsToJSON(all)})
				}
				for _, v := range variants {
					params := v.params
					fmt.Fprintf(&b, "\n%s: %s\n", v.what, params)
					switch op {
					case "create":
						c, e := FlowCreateRequest(params)
						if e != nil {
							t.Errorf("create rejected: %s", e.Body("T"))
						}
						b.WriteString(renderFlowCreate(t, c, e))
					case "update":
						body, e := FlowUpdateRequest(params)
						if e != nil {
							t.Errorf("update rejected: %s", e.Body("T"))
							b.WriteString(renderFlowError(e))
						} else {
							fmt.Fprintf(&b, "gupshup body: %s\n", body)
						}
					case "upload":
						name, e := FlowAssetParams(params)
						if e != nil {
							t.Errorf("upload rejected: %s", e.Body("T"))
							b.WriteString(renderFlowError(e))
						} else {
							fmt.Fprintf(&b, "file name: %q\n", name)
						}
					}
				}
			}
			if op == "get" {
				q := ""
				if i := strings.IndexByte(rawURL, '?'); i >= 0 {
					v, err := url.ParseQuery(rawURL[i+1:])
					if err != nil {
						t.Fatal(err)
					}
					q = v.Get("fields")
				}
				f := ParseFlowFields(q)
				fmt.Fprintf(&b, "\nfields %q → names=%q preview=%v invalidate=%v\n", q, f.Names, f.Preview, f.InvalidatePreview)
				if answer != "" {
					// Meta's saved answer stands for Gupshup's flow object.
					out, e := FlowGetResponse(nil, []byte(answer), nil, f, corpusVars["WABA-ID"])
					if e != nil {
						t.Fatalf("get: %s", e.Body("T"))
					}
					checkMetaAnswer(t, out)
					for _, name := range f.Names {
						want := gjson.Get(answer, name)
						got := gjson.GetBytes(out, name)
						switch {
						case name == "whatsapp_business_account":
							if got.Get("id").Str != corpusVars["WABA-ID"] {
								t.Errorf("whatsapp_business_account: %s", got.Raw)
							}
						case name == "health_status":
						case want.Exists() && string(appendMetaJSON(nil, want.Raw)) != got.Raw:
							t.Errorf("%s: got %s want %s", name, got.Raw, want.Raw)
						}
					}
					fmt.Fprintf(&b, "Meta's saved answer as Gupshup's flow → %s\n", out)
				}
			}
			switch op {
			case "update", "publish", "deprecate", "delete":
				fmt.Fprintf(&b, "\nMeta's answer once Gupshup succeeds: %s\n", Success)
			}
			if answer != "" {
				switch op {
				case "list":
					out, e := FlowListResponse(nil, []byte(answer))
					if e != nil {
						t.Fatalf("list: %s", e.Body("T"))
					}
					checkMetaAnswer(t, out)
					fmt.Fprintf(&b, "\nMeta's saved answer as Gupshup's list → %s\n", out)
				case "assets":
					out, e := FlowAssetsResponse(nil, []byte(answer), testAssetRewrite)
					if e != nil {
						t.Fatalf("assets: %s", e.Body("T"))
					}
					checkMetaAnswer(t, out)
					fmt.Fprintf(&b, "\nMeta's saved answer as Gupshup's assets → %s\n", out)
				case "upload":
					out := FlowValidationResponse(nil, []byte(answer))
					checkMetaAnswer(t, out)
					fmt.Fprintf(&b, "\nMeta's saved answer as Gupshup's upload answer → %s\n", out)
				case "create":
					id, ok := FlowID([]byte(answer))
					if !ok {
						t.Fatalf("no id in %s", answer)
					}
					fmt.Fprintf(&b, "\nMeta's saved answer as Gupshup's create answer → %s\n", FlowCreateResponse(nil, id, nil))
				}
			}
			checkGolden(t, filepath.Join(dir, slug+".golden"), []byte(b.String()))
		})
	}
	t.Logf("corpus: %d Flows API requests %v", len(reqs), ops)
	for _, op := range [...]string{"create", "update", "upload", "get", "list", "assets"} {
		if ops[op] == 0 {
			t.Errorf("no %s request in the collection's Flows folder", op)
		}
	}
	checkStaleGoldens(t, dir, ran, "Flows request of the collection")
}

func TestFlowCorpusOp(t *testing.T) {
	cases := []struct{ method, url, want string }{
		{"POST", "https://graph.facebook.com/{{Version}}/{{WABA-ID}}/flows", "create"},
		{"GET", "https://graph.facebook.com/{{Version}}/{{WABA-ID}}/flows", "list"},
		{"POST", "https://graph.facebook.com/{{Version}}/{{WABA-ID}}/migrate_flows", ""},
		{"GET", "https://graph.facebook.com/{{Version}}/{{Flow-ID}}?fields=preview.invalidate(false)", "get"},
		{"POST", "https://graph.facebook.com/{{Version}}/{{Flow-ID}}", "update"},
		{"DELETE", "https://graph.facebook.com/{{Version}}/{{Flow-ID}}", "delete"},
		{"POST", "https://graph.facebook.com/{{Version}}/{{Flow-ID}}/assets", "upload"},
		{"GET", "https://graph.facebook.com/{{Version}}/{{Flow-ID}}/assets", "assets"},
		{"POST", "https://graph.facebook.com/{{Version}}/{{Flow-ID}}/publish", "publish"},
		{"POST", "https://graph.facebook.com/{{Version}}/{{Phone-Number-ID}}/messages", ""},
		{"POST", "https://graph.facebook.com/{{Version}}/{{Phone-Number-ID}}/whatsapp_business_encryption", ""},
	}
	for _, c := range cases {
		if got := flowCorpusOp(c.method, c.url); got != c.want {
			t.Errorf("%s %s: %q want %q", c.method, c.url, got, c.want)
		}
	}
}

// FuzzFlowAnswers feeds arbitrary bytes to every reader of Gupshup's flow
// answers and request parameters: none may panic, and every Meta answer
// must be a JSON object in Graph's escaping.
func FuzzFlowAnswers(f *testing.F) {
	for _, dir := range []string{"list", "get", "assets", "validation", "create", "update"} {
		files, _ := filepath.Glob(filepath.Join("testdata", "flows", dir, "*.json"))
		for _, p := range files {
			b, err := os.ReadFile(p)
			if err == nil {
				f.Add(b, "preview.invalidate(true),name,id")
			}
		}
	}
	f.Add([]byte(`{"flow":{"id":"1","validation_errors":"[{\"error\":1}]"}}`), "health_status")
	f.Fuzz(func(t *testing.T, body []byte, fields string) {
		check := func(what string, b []byte, e *Error) {
			if e != nil {
				return
			}
			if !gjson.ValidBytes(b) || !gjson.ParseBytes(b).IsObject() {
				t.Fatalf("%s: not a JSON object: %q", what, b)
			}
			if gjson.ValidBytes(body) {
				for _, c := range b {
					if c >= 0x80 {
						t.Fatalf("%s: non-ASCII: %q", what, b)
					}
				}
			}
		}
		b, e := FlowListResponse(nil, body)
		check("list", b, e)
		b, e = FlowGetResponse(nil, body, body, ParseFlowFields(fields), "1")
		check("get", b, e)
		b, e = FlowAssetsResponse(nil, body, nil)
		check("assets", b, e)
		check("validation", FlowValidationResponse(nil, body), nil)
		check("create answer", FlowCreateResponse(nil, "1", body), nil)
		_, _ = FlowID(body)
		if c, e := FlowCreateRequest(body); e == nil && !gjson.ValidBytes(c.Body) {
			t.Fatalf("create body not JSON: %q", c.Body)
		}
		if u, e := FlowUpdateRequest(body); e == nil && !gjson.ValidBytes(u) {
			t.Fatalf("update body not JSON: %q", u)
		}
		_, _ = FlowAssetParams(body)
	})
}
