package translate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// v2DefaultOptions are the options of a fixture without "options".
var v2DefaultOptions = V2Options{Source: "15550001111", AppName: "DemoApp"}

// v2Fixture is one testdata/templatev2/*.json file: the app's template as
// the cache holds it, the number's options and the client's Meta body
// (its exact bytes).
type v2Fixture struct {
	Template V2Template      `json:"template"`
	Options  *V2Options      `json:"options"`
	Body     json.RawMessage `json:"body"`
}

func readV2Fixture(t *testing.T, path string) (V2Template, V2Options, []byte) {
	t.Helper()
	var fx v2Fixture
	if err := json.Unmarshal(readFixture(t, path), &fx); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	opt := v2DefaultOptions
	if fx.Options != nil {
		opt = *fx.Options
	}
	return fx.Template, opt, fx.Body
}

// renderV2Form is the golden form of a translation: the recipient as
// written, then one name=value line per form field in order, the value
// decoded (JSON as sent); or the Meta error and its HTTP status.
func renderV2Form(form []byte, to string, e *Error) string {
	if e != nil {
		return renderFlowError(e)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "input to: %q\n", to)
	for _, kv := range strings.Split(string(form), "&") {
		k, v, _ := strings.Cut(kv, "=")
		dk, _ := url.QueryUnescape(k)
		dv, _ := url.QueryUnescape(v)
		fmt.Fprintf(&b, "%s=%s\n", dk, dv)
	}
	return b.String()
}

// checkV2Form checks what every template/msg form must be, independently of
// the golden files: the fields in the documented order, each value escaped
// exactly as net/url would, JSON values valid and pure ASCII, the template
// id and destination right.
func checkV2Form(t *testing.T, form []byte, to string, tpl V2Template, opt V2Options) {
	t.Helper()
	var names []string
	vals := map[string]string{}
	for _, kv := range strings.Split(string(form), "&") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			t.Fatalf("field without '=': %q", kv)
		}
		dk, err1 := url.QueryUnescape(k)
		dv, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			t.Fatalf("field %q does not decode", kv)
		}
		if url.QueryEscape(dv) != v {
			t.Errorf("field %s not escaped as net/url does: %q", dk, v)
		}
		names = append(names, dk)
		vals[dk] = dv
	}
	want := []string{"channel", "source", "src.name", "destination", "sandbox", "template"}
	if _, ok := vals["message"]; ok {
		want = append(want, "message")
	}
	if _, ok := vals["postbackTexts"]; ok {
		want = append(want, "postbackTexts")
	}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("fields %v, want %v", names, want)
	}
	if vals["channel"] != "whatsapp" || vals["source"] != opt.Source || vals["src.name"] != opt.AppName ||
		vals["sandbox"] != fmt.Sprint(opt.Sandbox) || vals["destination"] != digits(to) {
		t.Errorf("fixed fields wrong: %v", vals)
	}
	for _, k := range []string{"template", "message", "postbackTexts"} {
		v, ok := vals[k]
		if !ok {
			continue
		}
		if !gjson.Valid(v) {
			t.Errorf("%s is not JSON: %s", k, v)
		}
		for i := 0; i < len(v); i++ {
			if v[i] >= 0x80 {
				t.Errorf("%s is not pure ASCII: %s", k, v)
				break
			}
		}
	}
	tj := gjson.Parse(vals["template"])
	if tj.Get("id").Str != tpl.ID || !tj.Get("params").IsArray() {
		t.Errorf("template JSON without id %q or params: %s", tpl.ID, tj.Raw)
	}
	tj.Get("params").ForEach(func(_, p gjson.Result) bool {
		if p.Type != gjson.String {
			t.Errorf("param not a string: %s", p.Raw)
		}
		return true
	})
	if pb, ok := vals["postbackTexts"]; ok && len(gjson.Parse(pb).Array()) == 0 {
		t.Errorf("empty postbackTexts sent: %s", pb)
	}
}

// TestTemplateV2FormGolden translates every fixture under
// testdata/templatev2 (seed examples, each mapping rule, each refused
// component); err_ fixtures must fail and only they.
func TestTemplateV2FormGolden(t *testing.T) {
	for in, golden := range fixtures(t, "templatev2") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			tpl, opt, body := readV2Fixture(t, in)
			form, to, e := TemplateV2Form([]byte("keep:"), body, tpl, opt)
			if strings.HasPrefix(filepath.Base(in), "err_") != (e != nil) {
				t.Errorf("error %v for %s", e, filepath.Base(in))
			}
			if !bytes.HasPrefix(form, []byte("keep:")) {
				t.Fatalf("dst not kept: %s", form)
			}
			form = form[len("keep:"):]
			if e != nil {
				if len(form) != 0 {
					t.Errorf("bytes appended on error: %s", form)
				}
				if !gjson.ValidBytes(e.Body("T")) {
					t.Errorf("invalid error body %s", e.Body("T"))
				}
			} else {
				checkV2Form(t, form, to, tpl, opt)
			}
			checkGolden(t, golden, []byte(renderV2Form(form, to, e)))
		})
	}
}

// TestTemplateV2FormRules pins single rules on small bodies, each case
// saying what it pins; the fixtures cover whole sends.
func TestTemplateV2FormRules(t *testing.T) {
	tpl := V2Template{ID: "T1", Name: "t", Language: "en", Body: "Hi {{1}}", Header: ""}
	wrap := func(components string) string {
		return `{"messaging_product":"whatsapp","to":"15551234567","type":"template","template":{"name":"t","language":{"code":"en"},"components":` + components + `}}`
	}
	cases := []struct {
		name     string
		body     string
		tpl      V2Template
		opt      V2Options
		template string // the decoded template field, or
		field    string // "name=value" that must be in the form, or
		code     int    // the error code
		details  string // a part of the error details
	}{
		{name: "params are JSON strings with Meta's escaping", body: wrap(`[{"type":"body","parameters":[{"type":"text","text":"é/\"ok\""}]}]`), tpl: tpl,
			template: `{"id":"T1","params":["\u00e9\/\"ok\""]}`},
		{name: "escapes in the client's JSON are decoded first", body: wrap(`[{"type":"body","parameters":[{"type":"text","text":"\u00e9\/\ud83d\ude00"}]}]`), tpl: tpl,
			template: `{"id":"T1","params":["\u00e9\/\ud83d\ude00"]}`},
		{name: "a template without components sends no params", body: `{"messaging_product":"whatsapp","to":"1","type":"template","template":{"name":"t","language":{"code":"en"}}}`,
			tpl: V2Template{ID: "T1"}, template: `{"id":"T1","params":[]}`},
		{name: "sandbox true", body: wrap(`[]`), tpl: V2Template{ID: "T1"}, opt: V2Options{Sandbox: true}, field: "sandbox=true"},
		{name: "empty options still write every fixed field", body: wrap(`[]`), tpl: V2Template{ID: "T1"}, field: "channel=whatsapp&source=&src.name=&destination=15551234567&sandbox=false"},
		{name: "unknown ButtonParams value means append", body: wrap(`[{"type":"button","sub_type":"url","index":0,"parameters":[{"type":"text","text":"s"}]}]`),
			tpl: V2Template{ID: "T1"}, opt: V2Options{ButtonParams: "whatever"}, template: `{"id":"T1","params":["s"]}`},
		{name: "the body count is checked against distinct placeholders", body: wrap(`[{"type":"body","parameters":[]}]`), tpl: tpl,
			code: CodeTemplateParamCount, details: "body: number of localizable_params (0) does not match the expected number of params (1)"},
		{name: "a missing body component counts as no params", body: wrap(`[]`), tpl: tpl, code: CodeTemplateParamCount},
		{name: "components must be an array", body: wrap(`{}`), tpl: tpl, code: CodeInvalidParam, details: "template.components must be an array"},
		{name: "a component must be an object", body: wrap(`["body"]`), tpl: tpl, code: CodeInvalidParam, details: "template.components[0] must be a JSON object"},
		{name: "a component needs a type", body: wrap(`[{"parameters":[]}]`), tpl: tpl, code: CodeInvalidParam, details: "template.components[0].type is required"},
		{name: "parameters must be an array", body: wrap(`[{"type":"body","parameters":{}}]`), tpl: tpl, code: CodeInvalidParam, details: "parameters must be an array"},
		{name: "a param must be an object", body: wrap(`[{"type":"body","parameters":["x"]}]`), tpl: tpl, code: CodeInvalidParam, details: "body parameter 1 must be a JSON object"},
		{name: "a param needs a type", body: wrap(`[{"type":"body","parameters":[{"text":"x"}]}]`), tpl: tpl, code: CodeInvalidParam, details: "body parameter 1 type is required"},
		{name: "a currency needs its fallback_value", body: wrap(`[{"type":"body","parameters":[{"type":"currency","currency":{"code":"USD","amount_1000":1}}]}]`), tpl: tpl,
			code: CodeInvalidParam, details: "currency.fallback_value"},
		{name: "a button needs a sub_type", body: wrap(`[{"type":"body","parameters":[{"type":"text","text":"a"}]},{"type":"button","index":0}]`), tpl: tpl,
			code: CodeInvalidParam, details: "sub_type is required"},
		{name: "a header param of another type names it", body: wrap(`[{"type":"header","parameters":[{"type":"payload","payload":"x"}]}]`), tpl: V2Template{ID: "T1"},
			code: CodeInvalidParam, details: `header parameter of type "payload"`},
		{name: "two header components", body: wrap(`[{"type":"header","parameters":[]},{"type":"header","parameters":[]}]`), tpl: V2Template{ID: "T1"},
			code: CodeInvalidParam, details: "more than one header component"},
		{name: "two limited_time_offer components", body: wrap(`[{"type":"limited_time_offer"},{"type":"limited_time_offer"}]`), tpl: V2Template{ID: "T1"},
			code: CodeInvalidParam, details: "more than one limited_time_offer component"},
		{name: "two carousels", body: wrap(`[{"type":"carousel","cards":[{"components":[{"type":"header","parameters":[{"type":"image","image":{"id":"1"}}]}]}]},{"type":"carousel","cards":[]}]`),
			tpl: V2Template{ID: "T1"}, code: CodeInvalidParam, details: "more than one carousel component"},
		{name: "a catalog and an mpm thumbnail", body: wrap(`[{"type":"button","sub_type":"catalog","index":0,"parameters":[{"type":"action","action":{"thumbnail_product_retailer_id":"A"}}]},` +
			`{"type":"button","sub_type":"catalog","index":1,"parameters":[{"type":"action","action":{"thumbnail_product_retailer_id":"B"}}]}]`),
			tpl: V2Template{ID: "T1"}, code: CodeInvalidParam, details: "more than one catalog or mpm button"},
		{name: "an unknown language member", body: `{"messaging_product":"whatsapp","to":"1","type":"template","template":{"name":"t","language":{"code":"en","fallback":"es"}}}`,
			tpl: V2Template{ID: "T1"}, code: CodeInvalidParam, details: `"template.language.fallback"`},
		{name: "to of another JSON type", body: `{"messaging_product":"whatsapp","to":["1"],"type":"template","template":{"name":"t","language":{"code":"en"}}}`,
			tpl: V2Template{ID: "T1"}, code: CodeInvalidParam, details: "Param to must be a string."},
		{name: "no type is a text message", body: `{"messaging_product":"whatsapp","to":"1","text":{"body":"x"}}`, tpl: V2Template{ID: "T1"},
			code: CodeUnsupportedType, details: `a "text" message`},
		{name: "type not a string", body: `{"messaging_product":"whatsapp","to":"1","type":1}`, tpl: V2Template{ID: "T1"},
			code: CodeInvalidParam, details: "Param type must be a non-empty string."},
		{name: "messaging_product other than whatsapp", body: `{"messaging_product":"sms","to":"1","type":"template"}`, tpl: V2Template{ID: "T1"},
			code: CodeInvalidParam, details: `messaging_product must be "whatsapp"`},
		{name: "body not an object", body: `[1]`, tpl: V2Template{ID: "T1"}, code: CodeInvalidParam, details: "must be a JSON object"},
		{name: "body truncated", body: `{"messaging_product":"whatsapp","to":"1"`, tpl: V2Template{ID: "T1"}, code: CodeInvalidParam, details: "must be a JSON object"},
		{name: "template not an object", body: `{"messaging_product":"whatsapp","to":"1","type":"template","template":"hello_world"}`, tpl: V2Template{ID: "T1"},
			code: CodeInvalidParam, details: "Param template must be a JSON object."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			form, to, e := TemplateV2Form(nil, []byte(c.body), c.tpl, c.opt)
			if c.code != 0 {
				if e == nil {
					t.Fatalf("accepted: %s", form)
				}
				if e.Code != c.code || !strings.Contains(e.Details, c.details) {
					t.Errorf("got code %d details %q, want %d containing %q", e.Code, e.Details, c.code, c.details)
				}
				return
			}
			if e != nil {
				t.Fatalf("rejected: %v", e)
			}
			checkV2Form(t, form, to, c.tpl, c.opt)
			vals, _ := url.ParseQuery(string(form))
			if c.template != "" && vals.Get("template") != c.template {
				t.Errorf("template %s\nwant     %s", vals.Get("template"), c.template)
			}
			if c.field != "" && !strings.Contains(string(form), c.field) {
				t.Errorf("form %s lacks %s", form, c.field)
			}
		})
	}
}

func TestParseV2Templates(t *testing.T) {
	cases := []struct {
		name, in string
		want     []V2Template
		fail     bool
	}{
		{name: "glific fixture shape (reference §8)", in: `{"status":"success","templates":[{
			"id":"16e84186-97fa-454e-ac3b-8c9c94e53b4b","elementName":"conference_ticket_status","languageCode":"en",
			"category":"UTILITY","status":"APPROVED","templateType":"TEXT","data":"Your conference ticket no. {{1}}",
			"meta":"{\"example\":\"Your conference ticket no. [1234]\"}","containerMeta":"{\"buttons\":[]}","buttonSupported":"FLOW",
			"languagePolicy":"deterministic","vertical":"TICKET_UPDATE","namespace":"8f2b","createdOn":1595904220495,
			"modifiedOn":1595904220495,"appId":"a1","master":true,"reason":null}]}`,
			want: []V2Template{{ID: "16e84186-97fa-454e-ac3b-8c9c94e53b4b", Name: "conference_ticket_status", Language: "en",
				Status: "APPROVED", Type: "TEXT", Body: "Your conference ticket no. {{1}}"}}},
		{name: "containerMeta string gives header, body and buttons (upper-cased)", in: `{"status":"success","templates":[{
			"id":"t2","elementName":"order_update","languageCode":"en_US","status":"APPROVED","templateType":"image",
			"data":"Order {{1}}\nHi {{1}}, shipped.\nThanks | [Yes] | [Track,https://x.example/{{1}}]",
			"containerMeta":"{\"header\":\"Order {{1}}\",\"data\":\"Hi {{1}}, shipped.\",\"footer\":\"Thanks\",\"buttons\":[{\"type\":\"quick_reply\",\"text\":\"Yes\"},{\"type\":\"URL\",\"text\":\"Track\",\"url\":\"https://x.example/{{1}}\"}],\"enableSample\":true}"}]}`,
			want: []V2Template{{ID: "t2", Name: "order_update", Language: "en_US", Status: "APPROVED", Type: "IMAGE",
				Header: "Order {{1}}", Body: "Hi {{1}}, shipped.", Buttons: []V2Button{{"QUICK_REPLY", "Yes"}, {"URL", "Track"}}}}},
		{name: "containerMeta as an object is read too", in: `{"templates":[{"id":"t3","elementName":"x","containerMeta":{"data":"B {{1}}"},"data":"ignored"}]}`,
			want: []V2Template{{ID: "t3", Name: "x", Body: "B {{1}}"}}},
		{name: "containerMeta not JSON falls back to data", in: `{"templates":[{"id":"t4","elementName":"x","containerMeta":"{broken","data":"D"}]}`,
			want: []V2Template{{ID: "t4", Name: "x", Body: "D"}}},
		{name: "bare array, numeric id kept as its digits", in: `[{"id":12345678901234567890,"elementName":"n","languageCode":"pt_BR","status":"PENDING"}]`,
			want: []V2Template{{ID: "12345678901234567890", Name: "n", Language: "pt_BR", Status: "PENDING"}}},
		{name: "data wrapper", in: `{"data":[{"id":"d1","elementName":"e"}]}`, want: []V2Template{{ID: "d1", Name: "e"}}},
		{name: "items without id or elementName and non-objects are skipped", in: `{"templates":[{"elementName":"a"},{"id":"b"},{"id":"","elementName":"c"},"x",null,{"id":"k","elementName":"kept"}]}`,
			want: []V2Template{{ID: "k", Name: "kept"}}},
		{name: "empty list", in: `{"status":"success","templates":[]}`, want: nil},
		{name: "not JSON", in: `<html>502</html>`, fail: true},
		{name: "truncated JSON", in: `{"status":"success","templates":[{"id":"a"`, fail: true},
		{name: "error answer", in: `{"status":"error","message":"Invalid app"}`, fail: true},
		{name: "templates not an array", in: `{"status":"success","templates":{"id":"a"}}`, fail: true},
		{name: "empty body", in: ``, fail: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, e := ParseV2Templates([]byte(c.in))
			if c.fail {
				if e == nil || e.HTTPStatus != 500 || e.Code != CodeGeneric || e.Rule != "upstream_bad_answer" {
					t.Fatalf("want 500/131000 upstream_bad_answer, got %v (%v)", e, got)
				}
				return
			}
			if e != nil {
				t.Fatal(e)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestTemplateV2Response(t *testing.T) {
	cases := []struct {
		name, in, to, want string
		details            string // error details part; "" for success
	}{
		{"seed's answer", `{"status":"submitted","messageId":"b4a1acb0-3f2e-4c1d-98ab-64c0ffeea901"}`, "919970754444",
			`{"messaging_product":"whatsapp","contacts":[{"input":"919970754444","wa_id":"919970754444"}],"messages":[{"id":"b4a1acb0-3f2e-4c1d-98ab-64c0ffeea901"}]}`, ""},
		{"input as written, wa_id its digits, Meta escaping", `{"messageId":"id/1","status":"submitted"}`, "+1 (631) 555-1234",
			`{"messaging_product":"whatsapp","contacts":[{"input":"+1 (631) 555-1234","wa_id":"16315551234"}],"messages":[{"id":"id\/1"}]}`, ""},
		{"no messageId", `{"status":"submitted"}`, "1", "", "no message id"},
		{"empty messageId", `{"status":"submitted","messageId":""}`, "1", "", "no message id"},
		{"status error", `{"status":"error","message":"Invalid Destination","messageId":"x"}`, "1", "", "Gupshup: Invalid Destination"},
		{"not JSON", `submitted`, "1", "", "no message id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, e := TemplateV2Response([]byte("keep:"), []byte(c.in), c.to)
			if !bytes.HasPrefix(got, []byte("keep:")) {
				t.Fatalf("dst not kept: %s", got)
			}
			got = got[len("keep:"):]
			if c.details != "" {
				if e == nil || e.HTTPStatus != 500 || e.Code != CodeGeneric || !strings.Contains(e.Details, c.details) || len(got) != 0 {
					t.Fatalf("want 500/131000 with %q, got %v %s", c.details, e, got)
				}
				return
			}
			if e != nil || string(got) != c.want {
				t.Errorf("got %s (%v)\nwant %s", got, e, c.want)
			}
			checkMetaAnswer(t, got)
		})
	}
}

func TestV2TemplateRef(t *testing.T) {
	cases := []struct {
		name, body, wantName, wantLang, msg string
	}{
		{"name and code", `{"type":"template","template":{"name":"hello_world","language":{"code":"en_US","policy":"deterministic"}}}`, "hello_world", "en_US", ""},
		{"escapes decoded", `{"template":{"name":"caf\u00e9","language":{"code":"pt_BR"}}}`, "café", "pt_BR", ""},
		{"no template", `{"type":"template"}`, "", "", "(#100) The parameter template is required."},
		{"null template", `{"template":null}`, "", "", "(#100) The parameter template is required."},
		{"template not an object", `{"template":"hello_world"}`, "", "", "(#100) Invalid parameter"},
		{"no name", `{"template":{"language":{"code":"en"}}}`, "", "", "(#100) The parameter template.name is required."},
		{"empty name", `{"template":{"name":"","language":{"code":"en"}}}`, "", "", "(#100) The parameter template.name is required."},
		{"name not a string", `{"template":{"name":5,"language":{"code":"en"}}}`, "", "", "(#100) The parameter template.name is required."},
		{"no language", `{"template":{"name":"t"}}`, "", "", "(#100) The parameter template.language.code is required."},
		{"language as a string", `{"template":{"name":"t","language":"en"}}`, "", "", "(#100) The parameter template.language.code is required."},
		{"not an object", `[]`, "", "", "(#100) Invalid parameter"},
		{"not JSON", `{"template":`, "", "", "(#100) Invalid parameter"},
		{"repeated template: the last counts", `{"template":{"name":"a","language":{"code":"en"}},"template":{"name":"b","language":{"code":"de"}}}`, "b", "de", ""},
		{"repeated name and code: the last counts", `{"template":{"name":"a","name":"b","language":{"code":"en","code":"fr"}}}`, "b", "fr", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name, lang, e := V2TemplateRef([]byte(c.body))
			if c.msg != "" {
				if e == nil || e.HTTPStatus != 400 || e.message() != c.msg {
					t.Fatalf("want %q, got %v", c.msg, e)
				}
				return
			}
			if e != nil || name != c.wantName || lang != c.wantLang {
				t.Errorf("got %q %q %v", name, lang, e)
			}
		})
	}
}

func TestV2Placeholders(t *testing.T) {
	cases := []struct {
		text     string
		distinct int
		has      []string
		hasNot   []string
	}{
		{"", 0, nil, []string{"1"}},
		{"Hello World", 0, nil, []string{"1"}},
		{"Hi {{1}}, order {{2}}, bye {{1}}", 2, []string{"1", "2"}, []string{"3"}},
		{"{{first_name}} {{ first_name }} {{last}}", 2, []string{"first_name", "last"}, nil},
		{"{{{1}}} and {{}} and {{a{b}} and {{2", 1, []string{"1"}, []string{"2", "", "a{b"}},
		{"}}{{x}}{{", 1, []string{"x"}, nil},
	}
	for _, c := range cases {
		if got := distinctPlaceholders(c.text); got != c.distinct {
			t.Errorf("distinctPlaceholders(%q) = %d, want %d", c.text, got, c.distinct)
		}
		for _, n := range c.has {
			if !hasPlaceholder(c.text, n) {
				t.Errorf("%q should have {{%s}}", c.text, n)
			}
		}
		for _, n := range c.hasNot {
			if hasPlaceholder(c.text, n) {
				t.Errorf("%q should not have {{%s}}", c.text, n)
			}
		}
	}
}

func TestEscapeFormTailMatchesNetURL(t *testing.T) {
	for _, s := range []string{"", "abc", "a b", `{"x":"ü 😀/\n"}`, "~._-", "\x00\xff", "   "} {
		got := escapeFormTail([]byte("head&"+s), len("head&"))
		if string(got) != "head&"+url.QueryEscape(s) {
			t.Errorf("%q: got %q want %q", s, got, "head&"+url.QueryEscape(s))
		}
	}
}

func FuzzEscapeFormTail(f *testing.F) {
	f.Add("héllo wörld & {\"a\":1}")
	f.Fuzz(func(t *testing.T, s string) {
		if got := string(escapeFormTail([]byte("p="+s), 2)); got != "p="+url.QueryEscape(s) {
			t.Fatalf("%q: got %q", s, got)
		}
	})
}

func FuzzTemplateV2Form(f *testing.F) {
	f.Add([]byte(`{"messaging_product":"whatsapp","to":"1","type":"template","template":{"name":"t","language":{"code":"en"},"components":[{"type":"body","parameters":[{"type":"text","text":"x"}]}]}}`),
		"Hi {{1}}")
	f.Add([]byte(`{"messaging_product":"whatsapp","to":"1","type":"template","template":{"name":"t","language":{"code":"en"},"components":[{"type":"carousel","cards":[{"components":[{"type":"header","parameters":[{"type":"image","image":{"id":"1"}}]},{"type":"button","sub_type":"quick_reply","index":0,"parameters":[{"type":"payload","payload":"p"}]}]}]}]}}`),
		"")
	files, _ := filepath.Glob(filepath.Join("testdata", "templatev2", "*.json"))
	for _, file := range files {
		var fx v2Fixture
		if data, err := os.ReadFile(file); err == nil && json.Unmarshal(data, &fx) == nil {
			f.Add([]byte(fx.Body), fx.Template.Body)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, text string) {
		tpl := V2Template{ID: "T", Body: text}
		form, to, e := TemplateV2Form(nil, body, tpl, V2Options{Source: "1", AppName: "a"})
		if e != nil {
			if !gjson.ValidBytes(e.Body("x")) {
				t.Fatalf("invalid error body for %q", body)
			}
			return
		}
		checkV2Form(t, form, to, tpl, V2Options{Source: "1", AppName: "a"})
	})
}
