package gupshupsim

import (
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

func templatesURL(base, appID string) string { return base + "/partner/app/" + appID + "/templates" }

func templateMsgURL(base, appID string) string {
	return base + "/partner/app/" + appID + "/template/msg"
}

// orderTemplate has a header param, two body params and two quick replies.
var orderTemplate = Template{
	AppID:       testAppID,
	ElementName: "order_update",
	Header:      "Order {{1}}",
	Data:        "Hi {{1}}, your order {{2}} is on its way. Code {{1}}.",
	Footer:      "Reply STOP",
	Buttons: []TemplateButton{
		{Type: "QUICK_REPLY", Text: "Yes"},
		{Type: "quick_reply", Text: "No"},
		{Type: "URL", Text: "Track", URL: "https://x.example/t/{{1}}"},
		{Type: "PHONE_NUMBER", Text: "Call", URL: "+15550100"},
		{Type: "QUICK_REPLY", Text: "Later"},
	},
}

func templateOptions(ts ...Template) Options {
	o := fastOptions()
	o.Templates = ts
	return o
}

// templateSendForm is a valid template/msg form for the app's template id
// with params; kv overrides or adds fields ("" values delete them).
func templateSendForm(sim *Sim, id string, params []string, kv ...string) string {
	app, _ := sim.App(testAppID)
	tpl, _ := json.Marshal(map[string]any{"id": id, "params": params})
	v := url.Values{
		"channel":     {"whatsapp"},
		"source":      {digitsOnly(app.DisplayPhoneNumber)},
		"src.name":    {app.Name},
		"destination": {"919876543210"},
		"sandbox":     {"false"},
		"template":    {string(tpl)},
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "" {
			v.Del(kv[i])
		} else {
			v.Set(kv[i], kv[i+1])
		}
	}
	return v.Encode()
}

var templateFormHeader = map[string]string{"Authorization": testAppToken, "Content-Type": "application/x-www-form-urlencoded"}

// sendTemplateMsg posts a template/msg form and returns the messageId of a
// 200 answer.
func sendTemplateMsg(t *testing.T, base, form string) string {
	t.Helper()
	r := doRequest(t, nil, "POST", templateMsgURL(base, testAppID), templateFormHeader, form)
	r.check(t, 200, "")
	id := gjson.GetBytes(r.body, "messageId").String()
	if want := `{"status":"submitted","messageId":"` + id + `"}`; string(r.body) != want || !uuidV4.MatchString(id) {
		t.Fatalf("send answer %s", r.body)
	}
	return id
}

func TestTemplateListShape(t *testing.T) {
	sim, srv, clock := startSimWithClock(t, testOptions())
	tpl := sim.AddTemplate(orderTemplate)
	if !uuidV4.MatchString(tpl.ID) || tpl.LanguageCode != "en" || tpl.Category != "MARKETING" || tpl.Status != "APPROVED" ||
		tpl.TemplateType != "TEXT" || tpl.Buttons[1].Type != "QUICK_REPLY" || orderTemplate.Buttons[1].Type != "quick_reply" {
		t.Fatalf("AddTemplate = %+v", tpl)
	}
	app, _ := sim.App(testAppID)
	ms := clock.Now().UnixMilli()

	r := doRequest(t, nil, "GET", templatesURL(srv.URL, testAppID), authHeader(testAppToken), "")
	r.check(t, 200, "")
	items := gjson.GetBytes(r.body, "templates").Array()
	if gjson.GetBytes(r.body, "status").String() != "success" || len(items) != 1 {
		t.Fatalf("list %s", r.body)
	}
	var item map[string]any
	if err := json.Unmarshal([]byte(items[0].Raw), &item); err != nil {
		t.Fatal(err)
	}
	cm, _ := item["containerMeta"].(string)
	delete(item, "containerMeta")
	want := map[string]any{
		"id": tpl.ID, "elementName": "order_update", "languageCode": "en", "category": "MARKETING",
		"status": "APPROVED", "templateType": "TEXT",
		"data":           "Order {{1}}\nHi {{1}}, your order {{2}} is on its way. Code {{1}}.\nReply STOP | [Yes] | [No] | [Track,https://x.example/t/{{1}}] | [Call,+15550100] | [Later]",
		"meta":           `{"example":"Hi [1], your order [2] is on its way. Code [1]."}`,
		"languagePolicy": "deterministic", "namespace": strings.ReplaceAll(derivedUUID("namespace\x00"+testAppID), "-", "_"),
		"createdOn": float64(ms), "modifiedOn": float64(ms), "appId": testAppID, "wabaId": app.WABAID,
		"externalId": derivedDigits(tpl.ID, "template-external-id", "1", 16), "quality": "UNKNOWN",
		"vertical": "order_update", "buttonSupported": "PN,QR,URL",
	}
	if !reflect.DeepEqual(item, want) {
		t.Errorf("item\n got %v\nwant %v", item, want)
	}
	wantCM := `{"header":"Order {{1}}","data":"Hi {{1}}, your order {{2}} is on its way. Code {{1}}.","footer":"Reply STOP",` +
		`"buttons":[{"type":"QUICK_REPLY","text":"Yes"},{"type":"QUICK_REPLY","text":"No"},` +
		`{"type":"URL","text":"Track","url":"https://x.example/t/{{1}}"},{"type":"PHONE_NUMBER","text":"Call","phone_number":"+15550100"},` +
		`{"type":"QUICK_REPLY","text":"Later"}],` +
		`"sampleText":"Hi [1], your order [2] is on its way. Code [1].","sampleHeader":"Order [1]","enableSample":true}`
	if cm != wantCM {
		t.Errorf("containerMeta\n got %s\nwant %s", cm, wantCM)
	}
	// Key order as documented.
	if !strings.HasPrefix(items[0].Raw, `{"id":"`+tpl.ID+`","elementName":"order_update","languageCode":"en","category":"MARKETING",`) {
		t.Errorf("item %s", items[0].Raw)
	}

	// A plain template: no header, footer or buttons; HTML characters unescaped.
	sim.AddTemplate(Template{AppID: testAppID, ElementName: "plain", LanguageCode: "pt_BR", Data: "Tom & Jerry <3"})
	r = doRequest(t, nil, "GET", templatesURL(srv.URL, testAppID)+"?elementName=plain", authHeader(testAppToken), "")
	r.check(t, 200, "")
	it := gjson.GetBytes(r.body, "templates.0")
	if it.Get("containerMeta").String() != `{"data":"Tom & Jerry <3","sampleText":"Tom & Jerry <3","enableSample":true}` ||
		it.Get("buttonSupported").Exists() || it.Get("data").String() != "Tom & Jerry <3" || it.Get("languageCode").String() != "pt_BR" ||
		!strings.Contains(string(r.body), `"Tom & Jerry <3"`) {
		t.Errorf("plain item %s", it.Raw)
	}
}

func TestTemplateIDsAreDerived(t *testing.T) {
	opts := testOptions()
	opts.Templates = []Template{
		{AppID: testAppID, ElementName: "a"},
		{AppID: testAppID, ElementName: "a", LanguageCode: "es"},
		{AppID: otherAppID, ElementName: "a"},
		{AppID: testAppID, ElementName: "b", ID: "fixed-id"},
	}
	a, b := New(opts), New(opts)
	defer a.Close()
	defer b.Close()
	ta, tb := a.Templates(testAppID), b.Templates(testAppID)
	if !reflect.DeepEqual(ta, tb) || len(ta) != 3 {
		t.Fatalf("templates differ between runs: %+v / %+v", ta, tb)
	}
	other := a.Templates(otherAppID)
	if ta[0].ID == ta[1].ID || ta[0].ID == other[0].ID || !uuidV4.MatchString(ta[0].ID) || ta[2].ID != "fixed-id" {
		t.Errorf("ids %q %q %q %q", ta[0].ID, ta[1].ID, other[0].ID, ta[2].ID)
	}
	// Copies are independent.
	ta[0].Buttons = append(ta[0].Buttons, TemplateButton{Text: "x"})
	if len(a.Templates(testAppID)[0].Buttons) != 0 {
		t.Error("Templates returned shared state")
	}
}

func TestTemplateListFiltersAndChanges(t *testing.T) {
	sim, srv, clock := startSimWithClock(t, testOptions())
	hello := sim.AddTemplate(Template{AppID: testAppID, ElementName: "hello", Data: "Hi"})
	sim.AddTemplate(Template{AppID: testAppID, ElementName: "hello", LanguageCode: "es", Data: "Hola", Status: "pending"})
	sim.AddTemplate(Template{AppID: testAppID, ElementName: "bye", Data: "Bye"})
	sim.AddTemplate(Template{AppID: otherAppID, ElementName: "hello", Data: "Other"})
	list := func(query string) []string {
		t.Helper()
		r := doRequest(t, nil, "GET", templatesURL(srv.URL, testAppID)+query, authHeader(testAppToken), "")
		r.check(t, 200, "")
		var out []string
		for _, it := range gjson.GetBytes(r.body, "templates").Array() {
			out = append(out, it.Get("elementName").String()+"/"+it.Get("languageCode").String()+"/"+it.Get("status").String())
		}
		return out
	}
	if got := list(""); !reflect.DeepEqual(got, []string{"hello/en/APPROVED", "hello/es/PENDING", "bye/en/APPROVED"}) {
		t.Errorf("all = %v", got)
	}
	if got := list("?elementName=hello"); !reflect.DeepEqual(got, []string{"hello/en/APPROVED", "hello/es/PENDING"}) {
		t.Errorf("by name = %v", got)
	}
	if got := list("?elementName=hello&languageCode=es"); !reflect.DeepEqual(got, []string{"hello/es/PENDING"}) {
		t.Errorf("by name and language = %v", got)
	}
	if got := list("?elementName=nope"); got != nil {
		t.Errorf("unknown name = %v", got)
	}
	r := doRequest(t, nil, "GET", templatesURL(srv.URL, testAppID)+"?languageCode=fr", authHeader(testAppToken), "")
	r.check(t, 200, `{"status":"success","templates":[]}`)

	// Status changes and replacements update modifiedOn, not createdOn.
	created := clock.Now().UnixMilli()
	clock.Advance(time.Minute)
	if !sim.SetTemplateStatus(testAppID, hello.ID, "rejected") || sim.SetTemplateStatus(otherAppID, hello.ID, "APPROVED") ||
		sim.SetTemplateStatus(testAppID, "nope", "APPROVED") {
		t.Error("SetTemplateStatus results")
	}
	r = doRequest(t, nil, "GET", templatesURL(srv.URL, testAppID)+"?elementName=hello&languageCode=en", authHeader(testAppToken), "")
	it := gjson.GetBytes(r.body, "templates.0")
	if it.Get("status").String() != "REJECTED" || it.Get("createdOn").Int() != created || it.Get("modifiedOn").Int() != created+60000 {
		t.Errorf("after SetTemplateStatus %s", it.Raw)
	}
	clock.Advance(time.Minute)
	sim.AddTemplate(Template{AppID: testAppID, ElementName: "hello", Data: "Hi again"})
	if got := list(""); !reflect.DeepEqual(got, []string{"hello/en/APPROVED", "hello/es/PENDING", "bye/en/APPROVED"}) {
		t.Errorf("after replacement = %v", got)
	}
	ts := sim.Templates(testAppID)
	if ts[0].Data != "Hi again" || ts[0].ID != hello.ID {
		t.Errorf("replaced = %+v", ts[0])
	}
	if n := sim.TemplateListCalls(testAppID); n != 7 {
		t.Errorf("TemplateListCalls = %d, want 7", n)
	}
	if n := sim.TemplateListCalls(otherAppID); n != 0 {
		t.Errorf("TemplateListCalls(other) = %d", n)
	}
}

func TestTemplateListAuthAndRateLimit(t *testing.T) {
	sim, srv, clock := startSimWithClock(t, testOptions())
	u := templatesURL(srv.URL, testAppID)
	doRequest(t, nil, "GET", templatesURL(srv.URL, "nope"), authHeader(testAppToken), "").check(t, 400, errJSON("Invalid App Details"))
	doRequest(t, nil, "GET", u, nil, "").check(t, 401, errJSON("Authentication Failed"))
	doRequest(t, nil, "GET", u, authHeader("Bearer "+testAppToken), "").check(t, 401, errJSON("Authentication Failed"))
	r := doRequest(t, nil, "POST", u, authHeader(testAppToken), "")
	r.check(t, 405, errJSON("Method Not Allowed"))
	if r.header.Get("Allow") != "GET" {
		t.Errorf("Allow = %q", r.header.Get("Allow"))
	}
	doRequest(t, nil, "GET", u+"/", authHeader(testAppToken), "").check(t, 200, `{"status":"success","templates":[]}`)
	doRequest(t, nil, "GET", u+"/x/y", authHeader(testAppToken), "").check(t, 404, errJSON("Not Found"))

	for i := 1; i < TemplateListRateLimit; i++ {
		clock.Advance(time.Second)
		doRequest(t, nil, "GET", u, authHeader(testAppToken), "").check(t, 200, "")
	}
	r = doRequest(t, nil, "GET", u, authHeader(testAppToken), "")
	r.check(t, 429, errJSON("Too Many Requests"))
	if r.header.Get("Retry-After") != "51" {
		t.Errorf("Retry-After = %q, want 51", r.header.Get("Retry-After"))
	}
	// Per app: the other app is not limited.
	doRequest(t, nil, "GET", templatesURL(srv.URL, otherAppID), authHeader(sim.AppToken(otherAppID)), "").check(t, 200, "")
	if n := sim.TemplateListCalls(testAppID); n != TemplateListRateLimit {
		t.Errorf("TemplateListCalls = %d", n)
	}
	clock.Advance(51 * time.Second)
	doRequest(t, nil, "GET", u, authHeader(testAppToken), "").check(t, 200, "")

	opts := testOptions()
	opts.DisableRateLimits = true
	_, srv2 := startSim(t, opts)
	for range 2 * TemplateListRateLimit {
		doRequest(t, nil, "GET", templatesURL(srv2.URL, testAppID), authHeader(testAppToken), "").check(t, 200, "")
	}
}

func TestTemplateExpectedParams(t *testing.T) {
	tests := []struct {
		tpl  Template
		want int
	}{
		{Template{}, 0},
		{Template{Data: "Hi {{1}}, {{2}} and {{1}} again"}, 2},
		{Template{Header: "Order {{1}}", Data: "Hi {{1}}"}, 2},
		{Template{Data: "Hi {{ first_name }}, order {{order_id}}; {{first_name}}"}, 2},
		{Template{Data: "Not a {{placeholder with spaces}} nor {single}"}, 0},
		{Template{Data: "Code", Buttons: []TemplateButton{{Type: "URL", URL: "https://x/{{1}}"}, {Type: "URL", URL: "https://x/static"},
			{Type: "COPY_CODE"}, {Type: "QUICK_REPLY"}, {Type: "PHONE_NUMBER", URL: "+1555"}}}, 2},
		{Template{TemplateType: "CATALOG", Data: "Hi {{1}}"}, 2},
		{Template{TemplateType: "PRODUCT", Data: "Hi"}, 1},
		{Template{Data: "Hi", Buttons: []TemplateButton{{Type: "MPM"}}}, 1},
		{Template{TemplateType: "CATALOG", Data: "Hi", Buttons: []TemplateButton{{Type: "CATALOG"}}}, 1},
		{Template{TemplateType: "CAROUSEL", Data: "Picks for {{1}}", Buttons: []TemplateButton{{Type: "QUICK_REPLY"}, {Type: "URL", URL: "https://x/{{1}}"}}}, 2},
	}
	for i, tc := range tests {
		if got := tc.tpl.expectedParams(); got != tc.want {
			t.Errorf("%d: expectedParams(%+v) = %d, want %d", i, tc.tpl, got, tc.want)
		}
	}
}

func TestTemplateSendErrors(t *testing.T) {
	opts := testOptions()
	opts.Templates = []Template{
		orderTemplate,
		{AppID: testAppID, ElementName: "pending", Data: "Hi", Status: "PENDING"},
		{AppID: otherAppID, ElementName: "theirs", Data: "Hi"},
		{AppID: testAppID, ElementName: "catalog", TemplateType: "CATALOG", Data: "See {{1}}",
			Buttons: []TemplateButton{{Type: "URL", Text: "Go", URL: "https://x/{{1}}"}, {Type: "COPY_CODE", Text: "Copy"}}},
	}
	sim, srv := startSim(t, opts)
	ts := sim.Templates(testAppID)
	order, pending, catalog := ts[0].ID, ts[1].ID, ts[2].ID
	theirs := sim.Templates(otherAppID)[0].ID
	ok4 := []string{"A1", "Asha", "A1", "track-1"}
	form := func(kv ...string) string { return templateSendForm(sim, order, ok4, kv...) }
	const formCT = "application/x-www-form-urlencoded"
	seedErr := func(msg string) string { return `{"message":"` + msg + `","status":"error"}` }

	tests := []struct {
		name       string
		app, auth  string
		method     string
		ctype      string
		body       string
		status     int
		want       string
		retryAfter string
	}{
		{"unknown app", "nope", testAppToken, "POST", formCT, form(), 400, errJSON("Invalid App Details"), ""},
		{"missing token", testAppID, "", "POST", formCT, form(), 401, errJSON("Authentication Failed"), ""},
		{"wrong token", testAppID, "sk_wrong", "POST", formCT, form(), 401, errJSON("Authentication Failed"), ""},
		{"other app's token", otherAppID, testAppToken, "POST", formCT, form(), 401, errJSON("Authentication Failed"), ""},
		{"json body", testAppID, testAppToken, "POST", "application/json", `{"destination":"1"}`, 400, errJSON("Unsupported Content-Type"), ""},
		{"missing destination", testAppID, testAppToken, "POST", formCT, form("destination", ""), 400, seedErr("Invalid Destination"), ""},
		{"destination with plus", testAppID, testAppToken, "POST", formCT, form("destination", "+919876543210"), 400, seedErr("Invalid Destination"), ""},
		{"destination with spaces", testAppID, testAppToken, "POST", formCT, form("destination", "91 98765"), 400, seedErr("Invalid Destination"), ""},
		{"destination before source", testAppID, testAppToken, "POST", formCT, form("destination", "", "source", ""), 400, seedErr("Invalid Destination"), ""},
		{"missing source", testAppID, testAppToken, "POST", formCT, form("source", ""), 400, seedErr("Invalid App Details"), ""},
		{"wrong source", testAppID, testAppToken, "POST", formCT, form("source", "15550001111"), 400, seedErr("Invalid App Details"), ""},
		{"missing src.name", testAppID, testAppToken, "POST", formCT, form("src.name", ""), 400, seedErr("Invalid App Details"), ""},
		{"wrong src.name", testAppID, testAppToken, "POST", formCT, form("src.name", "Other"), 400, seedErr("Invalid App Details"), ""},
		{"app details before template", testAppID, testAppToken, "POST", formCT, form("src.name", "", "template", ""), 400, seedErr("Invalid App Details"), ""},
		{"missing template", testAppID, testAppToken, "POST", formCT, form("template", ""), 400, errJSON("Invalid template id"), ""},
		{"template not json", testAppID, testAppToken, "POST", formCT, form("template", `{"id":`), 400, errJSON("Invalid template id"), ""},
		{"template array", testAppID, testAppToken, "POST", formCT, form("template", `["`+order+`"]`), 400, errJSON("Invalid template id"), ""},
		{"template without id", testAppID, testAppToken, "POST", formCT, form("template", `{"params":[]}`), 400, errJSON("Invalid template id"), ""},
		{"template id not a string", testAppID, testAppToken, "POST", formCT, form("template", `{"id":12,"params":[]}`), 400, errJSON("Invalid template id"), ""},
		{"params not an array", testAppID, testAppToken, "POST", formCT, form("template", `{"id":"`+order+`","params":"A1"}`), 400, errJSON("Invalid template id"), ""},
		{"unknown template id", testAppID, testAppToken, "POST", formCT, form("template", `{"id":"nope","params":[]}`), 400, errJSON("Invalid template id"), ""},
		{"another app's template", testAppID, testAppToken, "POST", formCT, form("template", `{"id":"`+theirs+`","params":[]}`), 400, errJSON("Invalid template id"), ""},
		{"pending template", testAppID, testAppToken, "POST", formCT, form("template", `{"id":"`+pending+`","params":[]}`), 400, errJSON("Invalid template id"), ""},
		{"too few params", testAppID, testAppToken, "POST", formCT, form("template", `{"id":"`+order+`","params":["a","b","c"]}`), 400, errJSON("Template params count mismatch"), ""},
		{"too many params", testAppID, testAppToken, "POST", formCT, form("template", `{"id":"`+order+`","params":["a","b","c","d","e"]}`), 400, errJSON("Template params count mismatch"), ""},
		{"no params", testAppID, testAppToken, "POST", formCT, form("template", `{"id":"`+order+`"}`), 400, errJSON("Template params count mismatch"), ""},
		{"catalog params short", testAppID, testAppToken, "POST", formCT, form("template", `{"id":"`+catalog+`","params":["a","b","c"]}`), 400, errJSON("Template params count mismatch"), ""},
		{"postbackTexts not json", testAppID, testAppToken, "POST", formCT, form("postbackTexts", `[{"index":0,`), 400, errJSON("postbackTexts is missing/invalid"), ""},
		{"postbackTexts object", testAppID, testAppToken, "POST", formCT, form("postbackTexts", `{"index":0,"text":"a"}`), 400, errJSON("postbackTexts is missing/invalid"), ""},
		{"postbackTexts bad index", testAppID, testAppToken, "POST", formCT, form("postbackTexts", `[{"index":"x","text":"a"}]`), 400, errJSON("postbackTexts is missing/invalid"), ""},
		{"postbackTexts without text", testAppID, testAppToken, "POST", formCT, form("postbackTexts", `[{"index":0}]`), 400, errJSON("postbackTexts is missing/invalid"), ""},
		{"message not an object", testAppID, testAppToken, "POST", formCT, form("message", `[1]`), 400, errJSON("message is missing/invalid"), ""},
		{"carousel card postbacks invalid", testAppID, testAppToken, "POST", formCT,
			form("message", `{"type":"carousel","cardHeaderType":"IMAGE","cards":[{"link":"https://x/a.jpg","postbackTexts":[{"index":-1,"text":"a"}]}]}`),
			400, errJSON("message is missing/invalid"), ""},
		{"count before internal error", testAppID, testAppToken, "POST", formCT,
			form("destination", "91"+SuffixInternalError, "template", `{"id":"`+order+`","params":[]}`), 400, errJSON("Template params count mismatch"), ""},
		{"internal error", testAppID, testAppToken, "POST", formCT, form("destination", "91"+SuffixInternalError), 500,
			errJSON("Internal server error. Please try again later and If Issue still persist than contact Gupshup Dev Support"), ""},
		{"magic invalid destination", testAppID, testAppToken, "POST", formCT, form("destination", "91"+SuffixInvalidDestination), 400, seedErr("Invalid Destination"), ""},
		{"magic not on whatsapp", testAppID, testAppToken, "POST", formCT, form("destination", "91"+SuffixNotOnWhatsApp), 400,
			`{"status":"error","message":"Number does not exist on WhatsApp","code":1002}`, ""},
		{"magic wallet low", testAppID, testAppToken, "POST", formCT, form("destination", "91"+SuffixWalletLow), 400,
			`{"status":"error","message":"Wallet Balance Low","code":1003}`, ""},
		{"magic rate limited", testAppID, testAppToken, "POST", formCT, form("destination", "91"+SuffixRateLimited), 429, errJSON("Too Many Requests"), "1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{"Content-Type": tc.ctype}
			if tc.auth != "" {
				h["Authorization"] = tc.auth
			}
			r := doRequest(t, nil, tc.method, templateMsgURL(srv.URL, tc.app), h, tc.body)
			r.check(t, tc.status, tc.want)
			if got := r.header.Get("Retry-After"); got != tc.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tc.retryAfter)
			}
		})
	}
	r := doRequest(t, nil, "GET", templateMsgURL(srv.URL, testAppID), authHeader(testAppToken), "")
	r.check(t, 405, errJSON("Method Not Allowed"))
	if r.header.Get("Allow") != "POST" {
		t.Errorf("Allow = %q", r.header.Get("Allow"))
	}
	doRequest(t, nil, "POST", templateMsgURL(srv.URL, testAppID)+"/", templateFormHeader, form()).check(t, 404, errJSON("Not Found"))

	// The internal-error suffix applies to the v3 send too.
	doRequest(t, nil, "POST", sendURL(srv.URL, testAppID), jsonHeader(testAppToken),
		`{"messaging_product":"whatsapp","to":"91`+SuffixInternalError+`","type":"text","text":{"body":"hi"}}`).
		check(t, 500, errJSON(msgInternalError))
}

func TestTemplateSendSuccess(t *testing.T) {
	opts := testOptions()
	opts.Templates = []Template{orderTemplate,
		{AppID: testAppID, ElementName: "catalog", TemplateType: "CATALOG", Data: "See {{1}}",
			Buttons: []TemplateButton{{Type: "URL", Text: "Go", URL: "https://x/{{1}}"}, {Type: "COPY_CODE", Text: "Copy"}}},
	}
	sim, srv := startSim(t, opts)
	order, catalog := sim.Templates(testAppID)[0].ID, sim.Templates(testAppID)[1].ID

	full := templateSendForm(sim, order, []string{"A1", "Asha", "A1", "track-1"},
		"postbackTexts", `[{"index":0,"text":"yes-pb"},{"index":"1","text":"no-pb"}]`,
		"message", `{"type":"image","image":{"link":"https://x/a.jpg"}}`)
	id := sendTemplateMsg(t, srv.URL, full)
	if sim.WAMID(id) == "" {
		t.Error("message not remembered")
	}
	// Params are counted, whatever their values; catalog: 2 + URL + copy code + thumbnail.
	sendTemplateMsg(t, srv.URL, templateSendForm(sim, catalog, []string{"x", "suffix", "CODE", "sku-1"}))
	// Without a Content-Type the body is read as a form.
	r := doRequest(t, nil, "POST", templateMsgURL(srv.URL, testAppID), authHeader(testAppToken),
		templateSendForm(sim, order, []string{"", "", "", ""}))
	r.check(t, 200, "")
	// The magic suffix in the middle of a number does nothing.
	sendTemplateMsg(t, srv.URL, templateSendForm(sim, order, []string{"a", "b", "c", "d"}, "destination", "1"+SuffixInternalError+"5"))

	reqs := sim.Requests()
	if len(reqs) != 4 || sim.Count("/template/msg") != 4 {
		t.Fatalf("%d requests", len(reqs))
	}
	first := reqs[0]
	if first.Method != "POST" || first.Path != "/partner/app/"+testAppID+"/template/msg" || string(first.Body) != full ||
		first.Form.Get("postbackTexts") != `[{"index":0,"text":"yes-pb"},{"index":"1","text":"no-pb"}]` ||
		first.Form.Get("destination") != "919876543210" || first.Header.Get("Authorization") != testAppToken {
		t.Errorf("recorded %+v", first)
	}
	if reqs[2].Form != nil {
		t.Error("Form recorded for a body without Content-Type")
	}
}

func TestTemplateSendCallbacks(t *testing.T) {
	sim, srv, clock := startCallbackSim(t, templateOptions(orderTemplate))
	v3 := newReceiver(t)
	v2 := newReceiver(t)
	createSub(t, srv.URL, "url", v3.URL, "tag", "v3", "version", "3", "modes", "ENQUEUED,SENT,DELIVERED,FAILED")
	createSub(t, srv.URL, "url", v2.URL, "tag", "v2", "version", "2", "modes", "ENQUEUED,SENT,DELIVERED,FAILED")
	id := sim.Templates(testAppID)[0].ID

	gsID := sendTemplateMsg(t, srv.URL, templateSendForm(sim, id, []string{"a", "b", "c", "d"}))
	g3, g2 := v3.wait(t, 3), v2.wait(t, 3)
	v3.quiet(t, sim, 3)
	v2.quiet(t, sim, 3)
	want := []string{"enqueued", "sent", "delivered"}
	if s := statuses(g3); !reflect.DeepEqual(s, want) {
		t.Fatalf("v3 statuses = %v", s)
	}
	if s := statuses(g2); !reflect.DeepEqual(s, want) {
		t.Fatalf("v2 statuses = %v", s)
	}
	wamid := sim.WAMID(gsID)
	at := clock.Now().Add(5 * time.Millisecond)
	wantEnq := expand(t, `{"app":"TestApp","timestamp":TS,"version":2,"type":"message-event","payload":{"id":"GSID","gsId":"GSID","type":"enqueued","destination":"919876543210","payload":{"type":"template","whatsappMessageId":"WAMID"}}}`,
		"TS", fmt.Sprint(at.UnixMilli()), "GSID", gsID, "WAMID", wamid)
	if string(g2[0].body) != wantEnq {
		t.Errorf("v2 enqueued\n got %s\nwant %s", g2[0].body, wantEnq)
	}
	st := gjson.GetBytes(g3[1].body, "entry.0.changes.0.value.statuses.0")
	if st.Get("gs_id").String() != gsID || st.Get("id").String() != wamid || st.Get("recipient_id").String() != "919876543210" ||
		st.Get("conversation.origin.type").String() != "marketing" || !st.Get("pricing.billable").Bool() {
		t.Errorf("v3 sent %s", st.Raw)
	}

	// SuffixFailsLater: enqueued then failed.
	failID := sendTemplateMsg(t, srv.URL, templateSendForm(sim, id, []string{"a", "b", "c", "d"}, "destination", "91"+SuffixFailsLater))
	g3 = v3.wait(t, 5)
	if s := statuses(g3[3:]); !reflect.DeepEqual(s, []string{"enqueued", "failed"}) {
		t.Errorf("fails-later statuses = %v", s)
	}
	if gjson.GetBytes(g3[4].body, "entry.0.changes.0.value.statuses.0.gs_id").String() != failID ||
		gjson.GetBytes(g3[4].body, "entry.0.changes.0.value.statuses.0.errors.0.code").Int() != 131047 {
		t.Errorf("failed %s", g3[4].body)
	}

	// Failed sends emit nothing.
	doRequest(t, nil, "POST", templateMsgURL(srv.URL, testAppID), templateFormHeader,
		templateSendForm(sim, id, []string{"a"})).check(t, 400, "")
	doRequest(t, nil, "POST", templateMsgURL(srv.URL, testAppID), templateFormHeader,
		templateSendForm(sim, id, []string{"a", "b", "c", "d"}, "destination", "91"+SuffixInternalError)).check(t, 500, "")
	v3.quiet(t, sim, 5)
}

func TestTemplateButtonReplyPostbacks(t *testing.T) {
	carousel := Template{AppID: testAppID, ElementName: "picks", TemplateType: "CAROUSEL", Data: "Picks for {{1}}",
		Buttons: []TemplateButton{{Type: "URL", Text: "Buy", URL: "https://x/buy"}, {Type: "QUICK_REPLY", Text: "Interested"}}}
	sim, srv, _ := startCallbackSim(t, templateOptions(orderTemplate, carousel))
	v3 := newReceiver(t)
	v2 := newReceiver(t)
	createSub(t, srv.URL, "url", v3.URL, "tag", "v3", "version", "3", "modes", "MESSAGE")
	createSub(t, srv.URL, "url", v2.URL, "tag", "v2", "version", "2", "modes", "MESSAGE")
	ts := sim.Templates(testAppID)

	withPB := sendTemplateMsg(t, srv.URL, templateSendForm(sim, ts[0].ID, []string{"a", "b", "c", "d"},
		"postbackTexts", `[{"index":1,"text":"no-pb"},{"index":0,"text":"yes-pb"}]`))
	withoutPB := sendTemplateMsg(t, srv.URL, templateSendForm(sim, ts[0].ID, []string{"a", "b", "c", "d"}))
	cards := sendTemplateMsg(t, srv.URL, templateSendForm(sim, ts[1].ID, []string{"Asha"}, "message",
		`{"type":"carousel","cardHeaderType":"IMAGE","cards":[{"link":"https://x/1.jpg"},{"id":"123","postbackTexts":[{"index":1,"text":"card2-interested"}]}]}`))
	v3Send := send(t, srv.URL, "919876543210", "template")

	tests := []struct {
		in   Inbound
		want string
	}{
		{Inbound{Type: "button", Text: "Yes", ContextGsID: withPB}, "yes-pb"},
		{Inbound{Type: "button", Text: "No", ContextGsID: withPB}, "no-pb"},
		{Inbound{Type: "button", Text: "Later", ContextGsID: withPB}, "Later"},                  // no postbackText for index 4
		{Inbound{Type: "button", Text: "Maybe", ContextGsID: withPB}, "Maybe"},                  // not a button of the template
		{Inbound{Type: "button", Text: "Yes", Postback: "given", ContextGsID: withPB}, "given"}, // an explicit Postback wins
		{Inbound{Type: "button", Text: "Yes", ContextGsID: withoutPB}, "Yes"},                   // none registered
		{Inbound{Type: "button", Text: "Interested", ContextGsID: cards}, "card2-interested"},   // a card's
		{Inbound{Type: "button", Text: "Yes", ContextGsID: v3Send}, "Yes"},                      // a v3 send
		{Inbound{Type: "button", Text: "Yes"}, "Yes"},                                           // not a reply
		{Inbound{Type: "button_reply", Text: "Yes", ContextGsID: withPB}, "Yes"},                // interactive replies are not looked up
		{Inbound{Type: "button", Text: "Yes", ContextGsID: "unknown-gs-id"}, "Yes"},             // unknown message
	}
	for i, tc := range tests {
		tc.in.From = "919876543210"
		if _, err := sim.Inbound(testAppID, tc.in); err != nil {
			t.Fatal(err)
		}
		b3, b2 := v3.wait(t, i+1)[i].body, v2.wait(t, i+1)[i].body
		msg := gjson.GetBytes(b3, "entry.0.changes.0.value.messages.0")
		got3 := msg.Get("button.payload").String()
		if tc.in.Type == "button_reply" {
			got3 = msg.Get("interactive.button_reply.id").String()
		}
		if got2 := gjson.GetBytes(b2, "payload.payload.postbackText").String(); got3 != tc.want || got2 != tc.want {
			t.Errorf("%d %+v: v3 %q, v2 %q, want %q", i, tc.in, got3, got2, tc.want)
		}
		if tc.in.ContextGsID != "" && gjson.GetBytes(b2, "payload.context.gsId").String() != tc.in.ContextGsID {
			t.Errorf("%d: context %s", i, b2)
		}
	}
	// The seed's callback: quick_reply with the registered postbackText.
	got := gjson.GetBytes(v2.all()[0].body, "payload")
	if got.Get("type").String() != "quick_reply" || got.Get("payload").Raw != `{"text":"Yes","type":"button","postbackText":"yes-pb"}` ||
		got.Get("context.id").String() != sim.WAMID(withPB) {
		t.Errorf("v2 reply %s", got.Raw)
	}
}

func TestTemplatePanics(t *testing.T) {
	mustPanic := func(name, want string, f func()) {
		t.Helper()
		defer func() {
			if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), want) {
				t.Errorf("%s: recovered %v, want a panic with %q", name, r, want)
			}
		}()
		f()
	}
	withTemplates := func(ts ...Template) func() {
		return func() {
			o := testOptions()
			o.Templates = ts
			New(o).Close()
		}
	}
	mustPanic("unknown app", "unknown app", withTemplates(Template{AppID: "nope", ElementName: "a"}))
	mustPanic("no app", "without AppID", withTemplates(Template{ElementName: "a"}))
	mustPanic("no name", "without ElementName", withTemplates(Template{AppID: testAppID}))
	mustPanic("duplicate", "duplicate template ID", withTemplates(Template{AppID: testAppID, ElementName: "a"},
		Template{AppID: testAppID, ElementName: "a", Data: "other"}))
	sim := New(testOptions())
	defer sim.Close()
	mustPanic("AddTemplate unknown app", "unknown app", func() { sim.AddTemplate(Template{AppID: "nope", ElementName: "a"}) })
	mustPanic("AddTemplate no name", "without ElementName", func() { sim.AddTemplate(Template{AppID: testAppID}) })
	// The same id in two apps is fine.
	withTemplates(Template{AppID: testAppID, ElementName: "a", ID: "x"}, Template{AppID: otherAppID, ElementName: "a", ID: "x"})()
}

func TestTemplatesSurviveReset(t *testing.T) {
	sim, srv := startSim(t, testOptions())
	t.Cleanup(sim.Close)
	tpl := sim.AddTemplate(orderTemplate)
	doRequest(t, nil, "GET", templatesURL(srv.URL, testAppID), authHeader(testAppToken), "").check(t, 200, "")
	gsID := sendTemplateMsg(t, srv.URL, templateSendForm(sim, tpl.ID, []string{"a", "b", "c", "d"},
		"postbackTexts", `[{"index":0,"text":"yes-pb"}]`))
	sim.Reset()
	if len(sim.Templates(testAppID)) != 1 || sim.TemplateListCalls(testAppID) != 1 || len(sim.Requests()) != 0 {
		t.Error("Reset lost templates or kept requests")
	}
	rc := newReceiver(t)
	createSub(t, srv.URL, "url", rc.URL, "tag", "v2", "version", "2", "modes", "MESSAGE")
	if _, err := sim.Inbound(testAppID, Inbound{From: "919876543210", Type: "button", Text: "Yes", ContextGsID: gsID}); err != nil {
		t.Fatal(err)
	}
	if pb := gjson.GetBytes(rc.wait(t, 1)[0].body, "payload.payload.postbackText").String(); pb != "yes-pb" {
		t.Errorf("postbackText after Reset = %q", pb)
	}
}
