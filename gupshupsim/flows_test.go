package gupshupsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

var flowIDPattern = regexp.MustCompile(`^[1-9][0-9]{15}$`)

const validFlowJSON = `{"version":"7.1","screens":[{"id":"WELCOME","title":"Hi","terminal":true,"layout":{"type":"SingleColumnLayout","children":[]}}]}`

var okJSON = `{"status":"success","success":true}`

func flowsURL(base, appID string, parts ...string) string {
	u := base + "/partner/app/" + appID + "/flows"
	for _, p := range parts {
		u += "/" + p
	}
	return u
}

func jsonHeader(token string) map[string]string {
	return map[string]string{"Authorization": token, "Content-Type": "application/json"}
}

func authHeader(token string) map[string]string { return map[string]string{"Authorization": token} }

// createFlow creates a flow and returns its id.
func createFlow(t *testing.T, base, appID, token, name string, cats ...string) string {
	t.Helper()
	if len(cats) == 0 {
		cats = []string{"OTHER"}
	}
	b, _ := json.Marshal(map[string]any{"name": name, "categories": cats})
	r := doRequest(t, nil, "POST", flowsURL(base, appID), jsonHeader(token), string(b))
	r.check(t, 200, "")
	id := gjson.GetBytes(r.body, "id").String()
	if !flowIDPattern.MatchString(id) {
		t.Fatalf("create answer %s", r.body)
	}
	return id
}

// uploadFlowJSON uploads content as flow.json and returns the answer.
func uploadFlowJSON(t *testing.T, base, appID, token, id, content string) response {
	t.Helper()
	body, ct := bufferedMultipart(t, part{name: "file", filename: "flow.json", ctype: "application/json",
		body: strings.NewReader(content)})
	return post(t, "PUT", flowsURL(base, appID, id, "assets"), map[string]string{"Authorization": token, "Content-Type": ct},
		bytes.NewReader(body), int64(len(body)))
}

// publishedFlow creates a flow with a valid asset and publishes it.
func publishedFlow(t *testing.T, base, name string) string {
	t.Helper()
	id := createFlow(t, base, testAppID, testAppToken, name)
	uploadFlowJSON(t, base, testAppID, testAppToken, id, validFlowJSON).check(t, 200, "")
	doRequest(t, nil, "POST", flowsURL(base, testAppID, id, "publish"), jsonHeader(testAppToken), "{}").check(t, 200, okJSON)
	return id
}

func TestFlowCreateGetList(t *testing.T) {
	sim, srv, clock := startSimWithClock(t, testOptions())
	app, _ := sim.App(testAppID)

	r := doRequest(t, nil, "POST", flowsURL(srv.URL, testAppID), jsonHeader(testAppToken),
		`{"name":"Sign up","categories":["SIGN_UP","OTHER","SIGN_UP"]}`)
	r.check(t, 200, "")
	id := gjson.GetBytes(r.body, "id").String()
	if !flowIDPattern.MatchString(id) {
		t.Fatalf("id %q", id)
	}
	if want := `{"id":"` + id + `","status":"success","validation_errors":[]}`; string(r.body) != want {
		t.Errorf("create answer %s, want %s", r.body, want)
	}

	f, ok := sim.Flow(testAppID, id)
	if !ok || f.ID != id || f.AppID != testAppID || f.Name != "Sign up" || f.Status != FlowDraft ||
		strings.Join(f.Categories, ",") != "SIGN_UP,OTHER" || f.JSONVersion != "6.0" || f.Asset != nil ||
		len(f.ValidationErrors) != 0 || f.EndpointURI != "" || !f.Created.Equal(clock.Now()) {
		t.Errorf("Flow = %+v, %v", f, ok)
	}
	if _, ok := sim.Flow(otherAppID, id); ok {
		t.Error("Flow found under another app")
	}

	want := `{"id":"` + id + `","name":"Sign up","status":"DRAFT","categories":["SIGN_UP","OTHER"],` +
		`"validation_errors":[],"json_version":"6.0","data_api_version":"3.0",` +
		`"health_status":{"can_send_message":"BLOCKED","entities":[` +
		`{"entity_type":"FLOW","id":"` + id + `","can_send_message":"BLOCKED","errors":[{"error_code":139001,` +
		`"error_description":"The flow has no flow JSON.","possible_solution":"Upload a flow JSON without validation errors."}]},` +
		`{"entity_type":"WABA","id":"` + app.WABAID + `","can_send_message":"AVAILABLE"},` +
		`{"entity_type":"BUSINESS","id":"` + derivedDigits(testAppID, "business-id", "3", 15) + `","can_send_message":"AVAILABLE"},` +
		`{"entity_type":"APP","id":"` + derivedDigits(testAppID, "meta-app-id", "4", 15) + `","can_send_message":"AVAILABLE"}]}}`
	doRequest(t, nil, "GET", flowsURL(srv.URL, testAppID, id), authHeader(testAppToken), "").check(t, 200, want)
	// A trailing slash is accepted.
	doRequest(t, nil, "GET", flowsURL(srv.URL, testAppID, id)+"/", authHeader(testAppToken), "").check(t, 200, want)

	// Form-encoded, categories as JSON text or a comma list; multipart.
	doRequest(t, nil, "POST", flowsURL(srv.URL, testAppID), map[string]string{"Authorization": testAppToken,
		"Content-Type": "application/x-www-form-urlencoded"},
		formBody("name", "Form one", "categories", `["SURVEY"]`)).check(t, 200, "")
	doRequest(t, nil, "POST", flowsURL(srv.URL, testAppID), map[string]string{"Authorization": testAppToken,
		"Content-Type": "application/x-www-form-urlencoded"},
		formBody("name", "Form two", "categories", "CONTACT_US, SHOPPING")).check(t, 200, "")
	body, ct := bufferedMultipart(t, part{name: "name", body: strings.NewReader("Multi")},
		part{name: "categories", body: strings.NewReader(`["LEAD_GENERATION"]`)})
	post(t, "POST", flowsURL(srv.URL, testAppID), map[string]string{"Authorization": testAppToken, "Content-Type": ct},
		bytes.NewReader(body), int64(len(body))).check(t, 200, "")
	// No Content-Type: a JSON body is JSON.
	doRequest(t, nil, "POST", flowsURL(srv.URL, testAppID), authHeader(testAppToken),
		`{"name":"Bare","categories":["APPOINTMENT_BOOKING"]}`).check(t, 200, "")

	flows := sim.Flows(testAppID)
	var got []string
	for _, f := range flows {
		got = append(got, f.Name+"="+strings.Join(f.Categories, "+"))
	}
	if g := strings.Join(got, " "); g != "Sign up=SIGN_UP+OTHER Form one=SURVEY Form two=CONTACT_US+SHOPPING Multi=LEAD_GENERATION Bare=APPOINTMENT_BOOKING" {
		t.Errorf("flows %s", g)
	}

	// The other app's list is empty and does not see these.
	otherTok := sim.AppToken(otherAppID)
	doRequest(t, nil, "GET", flowsURL(srv.URL, otherAppID), authHeader(otherTok), "").
		check(t, 200, `{"status":"success","flows":[]}`)
	createFlow(t, srv.URL, otherAppID, otherTok, "Sign up") // same name, other app: fine

	r = doRequest(t, nil, "GET", flowsURL(srv.URL, testAppID), authHeader(testAppToken), "")
	r.check(t, 200, "")
	if gjson.GetBytes(r.body, "status").String() != "success" {
		t.Errorf("list %s", r.body)
	}
	list := gjson.GetBytes(r.body, "flows").Array()
	if len(list) != 5 || list[0].Raw != gjson.Parse(want).Raw || list[4].Get("name").String() != "Bare" {
		t.Errorf("list %s", r.body)
	}
}

func TestFlowCreateErrors(t *testing.T) {
	sim, srv := startSim(t, testOptions())
	createFlow(t, srv.URL, testAppID, testAppToken, "Taken")
	form := "application/x-www-form-urlencoded"
	tests := []struct {
		name, ctype, body, msg string
	}{
		{"no name", "application/json", `{"categories":["OTHER"]}`, "name is missing/invalid"},
		{"empty name", "application/json", `{"name":"  ","categories":["OTHER"]}`, "name is missing/invalid"},
		{"name not a string", "application/json", `{"name":5,"categories":["OTHER"]}`, "name is missing/invalid"},
		{"no categories", "application/json", `{"name":"x"}`, "Invalid categories"},
		{"empty categories", "application/json", `{"name":"x","categories":[]}`, "Invalid categories"},
		{"unknown category", "application/json", `{"name":"x","categories":["OTHER","NOPE"]}`, "Invalid categories"},
		{"lower case category", "application/json", `{"name":"x","categories":["other"]}`, "Invalid categories"},
		{"categories a string", "application/json", `{"name":"x","categories":"OTHER"}`, "Invalid categories"},
		{"form categories bad JSON", form, formBody("name", "x", "categories", `["OTHER"`), "Invalid categories"},
		{"form categories empty", form, formBody("name", "x", "categories", ""), "Invalid categories"},
		{"bad JSON", "application/json", `{"name":`, "Invalid JSON payload"},
		{"JSON array", "application/json", `[]`, "Invalid JSON payload"},
		{"unsupported type", "text/plain", `name=x`, "Unsupported Content-Type"},
		{"name taken", "application/json", `{"name":"Taken","categories":["OTHER"]}`, "Flow name already exists"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doRequest(t, nil, "POST", flowsURL(srv.URL, testAppID),
				map[string]string{"Authorization": testAppToken, "Content-Type": tt.ctype}, tt.body).
				check(t, 400, errJSON(tt.msg))
		})
	}
	if n := len(sim.Flows(testAppID)); n != 1 {
		t.Errorf("%d flows after failed creates, want 1", n)
	}
}

func TestFlowAuthAndRouting(t *testing.T) {
	sim, srv := startSim(t, testOptions())
	id := createFlow(t, srv.URL, testAppID, testAppToken, "Mine")
	otherTok := sim.AppToken(otherAppID)
	otherID := createFlow(t, srv.URL, otherAppID, otherTok, "Theirs")

	endpoints := []struct {
		method, sub, body string
	}{
		{"GET", "", ""},
		{"PUT", "", `{"name":"New"}`},
		{"DELETE", "", ""},
		{"GET", "/assets", ""},
		{"PUT", "/assets", ""},
		{"GET", "/preview", ""},
		{"POST", "/deprecate", "{}"},
		{"POST", "/publish", "{}"},
	}
	for _, e := range endpoints {
		name := e.method + " {id}" + e.sub
		t.Run(name, func(t *testing.T) {
			u := flowsURL(srv.URL, testAppID, id) + e.sub
			doRequest(t, nil, e.method, u, jsonHeader("sk_wrong"), e.body).check(t, 401, errJSON("Authentication Failed"))
			doRequest(t, nil, e.method, u, jsonHeader("Bearer "+testAppToken), e.body).check(t, 401, errJSON("Authentication Failed"))
			doRequest(t, nil, e.method, u, map[string]string{"Content-Type": "application/json"}, e.body).
				check(t, 401, errJSON("Authentication Failed"))
			doRequest(t, nil, e.method, flowsURL(srv.URL, "no-such-app", id)+e.sub, jsonHeader(testAppToken), e.body).
				check(t, 400, errJSON("Invalid App Details"))
			// Another app's flow, an unknown id: Invalid flow id.
			doRequest(t, nil, e.method, flowsURL(srv.URL, testAppID, otherID)+e.sub, jsonHeader(testAppToken), e.body).
				check(t, 400, errJSON("Invalid flow id"))
			doRequest(t, nil, e.method, flowsURL(srv.URL, otherAppID, id)+e.sub, jsonHeader(otherTok), e.body).
				check(t, 400, errJSON("Invalid flow id"))
			doRequest(t, nil, e.method, flowsURL(srv.URL, testAppID, "1234567890123456")+e.sub, jsonHeader(testAppToken), e.body).
				check(t, 400, errJSON("Invalid flow id"))
		})
	}
	for _, path := range []string{"", "/"} {
		u := flowsURL(srv.URL, testAppID) + path
		doRequest(t, nil, "GET", u, nil, "").check(t, 401, errJSON("Authentication Failed"))
		doRequest(t, nil, "POST", flowsURL(srv.URL, "no-such-app")+path, jsonHeader(testAppToken), `{}`).
			check(t, 400, errJSON("Invalid App Details"))
	}

	// Wrong methods answer 405 with Allow, before authentication.
	for _, c := range []struct{ method, sub, allow string }{
		{"DELETE", "", "GET, POST"},
		{"POST", "/" + id, "GET, PUT, DELETE"},
		{"POST", "/" + id + "/assets", "GET, PUT"},
		{"POST", "/" + id + "/preview", "GET"},
		{"GET", "/" + id + "/publish", "POST"},
		{"PUT", "/" + id + "/deprecate", "POST"},
	} {
		r := doRequest(t, nil, c.method, flowsURL(srv.URL, testAppID)+c.sub, nil, "")
		r.check(t, 405, errJSON("Method Not Allowed"))
		if a := r.header.Get("Allow"); a != c.allow {
			t.Errorf("%s %s: Allow %q, want %q", c.method, c.sub, a, c.allow)
		}
	}
	for _, sub := range []string{"/" + id + "/nope", "/" + id + "/assets/x", "/" + id + "/json"} {
		doRequest(t, nil, "GET", flowsURL(srv.URL, testAppID)+sub, authHeader(testAppToken), "").
			check(t, 404, errJSON("Not Found"))
	}
	// Nothing changed.
	if f, _ := sim.Flow(testAppID, id); f.Name != "Mine" || f.Status != FlowDraft {
		t.Errorf("flow %+v", f)
	}
	if f, _ := sim.Flow(otherAppID, otherID); f.Name != "Theirs" || f.Status != FlowDraft {
		t.Errorf("other app's flow %+v", f)
	}
}

func TestFlowUpdate(t *testing.T) {
	sim, srv := startSim(t, testOptions())
	id := createFlow(t, srv.URL, testAppID, testAppToken, "One", "SURVEY")
	createFlow(t, srv.URL, testAppID, testAppToken, "Two")
	u := flowsURL(srv.URL, testAppID, id)
	put := func(body string) response {
		return doRequest(t, nil, "PUT", u, jsonHeader(testAppToken), body)
	}

	put(`{}`).check(t, 200, okJSON)
	put(`{"name":"One"}`).check(t, 200, okJSON) // its own name
	put(`{"name":"Two"}`).check(t, 400, errJSON("Flow name already exists"))
	put(`{"name":""}`).check(t, 400, errJSON("name is missing/invalid"))
	put(`{"categories":["NOPE"]}`).check(t, 400, errJSON("Invalid categories"))
	put(`{"categories":[]}`).check(t, 400, errJSON("Invalid categories"))
	put(`{"endpoint_uri":"ftp://x"}`).check(t, 400, errJSON("endpoint_uri is missing/invalid"))
	put(`{"endpoint_uri":7}`).check(t, 400, errJSON("endpoint_uri is missing/invalid"))
	put(`{"name":`).check(t, 400, errJSON("Invalid JSON payload"))
	if f, _ := sim.Flow(testAppID, id); f.Name != "One" || strings.Join(f.Categories, ",") != "SURVEY" || f.EndpointURI != "" {
		t.Fatalf("failed updates changed the flow: %+v", f)
	}

	put(`{"name":"Renamed","categories":["CUSTOMER_SUPPORT","SIGN_IN"],"endpoint_uri":"https://ep.example/flow"}`).check(t, 200, okJSON)
	f, _ := sim.Flow(testAppID, id)
	if f.Name != "Renamed" || strings.Join(f.Categories, ",") != "CUSTOMER_SUPPORT,SIGN_IN" || f.EndpointURI != "https://ep.example/flow" {
		t.Errorf("flow %+v", f)
	}
	r := doRequest(t, nil, "GET", u, authHeader(testAppToken), "")
	if g := gjson.GetManyBytes(r.body, "name", "categories", "endpoint_uri", "data_channel_uri"); g[0].String() != "Renamed" ||
		g[1].Raw != `["CUSTOMER_SUPPORT","SIGN_IN"]` || g[2].String() != "https://ep.example/flow" || g[3].String() != "https://ep.example/flow" {
		t.Errorf("GET %s", r.body)
	}
	createFlow(t, srv.URL, testAppID, testAppToken, "One") // the old name is free again

	// Form-encoded update; endpoint_uri "" clears it.
	doRequest(t, nil, "PUT", u, map[string]string{"Authorization": testAppToken, "Content-Type": "application/x-www-form-urlencoded"},
		formBody("endpoint_uri", "", "categories", "OTHER")).check(t, 200, okJSON)
	f, _ = sim.Flow(testAppID, id)
	if f.EndpointURI != "" || strings.Join(f.Categories, ",") != "OTHER" || f.Name != "Renamed" {
		t.Errorf("flow %+v", f)
	}
	r = doRequest(t, nil, "GET", u, authHeader(testAppToken), "")
	if gjson.GetBytes(r.body, "endpoint_uri").Exists() || gjson.GetBytes(r.body, "data_channel_uri").Exists() {
		t.Errorf("GET %s", r.body)
	}
}

func TestFlowAssetValidation(t *testing.T) {
	sim, srv := startSim(t, testOptions())
	tests := []struct {
		name, content string
		errors        string // validation_errors JSON
		version       string // json_version after
	}{
		{"valid", validFlowJSON, `[]`, "7.1"},
		{"valid, pretty", "{\n  \"version\": \"5.0\",\n  \"screens\": []\n}\n", `[]`, "5.0"},
		{"syntax error", "{\n  \"version\": \"6.0\",\n  \"screens\": [}\n",
			`[{"error":"INVALID_JSON","error_type":"JSON_SCHEMA_ERROR","message":"Invalid JSON: invalid character '}' looking for beginning of value","line_start":3,"line_end":3,"column_start":15,"column_end":15}]`, "6.0"},
		{"multibyte column", "{\"é\": x}",
			`[{"error":"INVALID_JSON","error_type":"JSON_SCHEMA_ERROR","message":"Invalid JSON: invalid character 'x' looking for beginning of value","line_start":1,"line_end":1,"column_start":7,"column_end":7}]`, "6.0"},
		{"truncated", "{\n\"version\":",
			`[{"error":"INVALID_JSON","error_type":"JSON_SCHEMA_ERROR","message":"Invalid JSON: unexpected end of JSON input","line_start":2,"line_end":2,"column_start":11,"column_end":11}]`, "6.0"},
		{"empty file", "",
			`[{"error":"INVALID_JSON","error_type":"JSON_SCHEMA_ERROR","message":"Invalid JSON: unexpected end of JSON input","line_start":1,"line_end":1,"column_start":1,"column_end":1}]`, "6.0"},
		{"missing version", `{"screens":[]}`,
			`[{"error":"MISSING_REQUIRED_PROPERTY","error_type":"JSON_SCHEMA_ERROR","message":"The required property 'version' is missing.","line_start":1,"line_end":1,"column_start":1,"column_end":1}]`, "6.0"},
		{"missing screens", `{"version":"7.0"}`,
			`[{"error":"MISSING_REQUIRED_PROPERTY","error_type":"JSON_SCHEMA_ERROR","message":"The required property 'screens' is missing.","line_start":1,"line_end":1,"column_start":1,"column_end":1}]`, "6.0"},
		{"both missing", `{}`,
			`[{"error":"MISSING_REQUIRED_PROPERTY","error_type":"JSON_SCHEMA_ERROR","message":"The required property 'version' is missing.","line_start":1,"line_end":1,"column_start":1,"column_end":1},` +
				`{"error":"MISSING_REQUIRED_PROPERTY","error_type":"JSON_SCHEMA_ERROR","message":"The required property 'screens' is missing.","line_start":1,"line_end":1,"column_start":1,"column_end":1}]`, "6.0"},
		{"wrong types", `{"version":7,"screens":{}}`,
			`[{"error":"INVALID_PROPERTY_TYPE","error_type":"JSON_SCHEMA_ERROR","message":"Property 'version' must be a string, not a number.","line_start":1,"line_end":1,"column_start":1,"column_end":1},` +
				`{"error":"INVALID_PROPERTY_TYPE","error_type":"JSON_SCHEMA_ERROR","message":"Property 'screens' must be an array, not an object.","line_start":1,"line_end":1,"column_start":1,"column_end":1}]`, "6.0"},
		{"not an object", `["x"]`,
			`[{"error":"INVALID_PROPERTY_TYPE","error_type":"JSON_SCHEMA_ERROR","message":"The flow JSON must be an object, not an array.","line_start":1,"line_end":1,"column_start":1,"column_end":1}]`, "6.0"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := createFlow(t, srv.URL, testAppID, testAppToken, fmt.Sprint("flow ", i))
			r := uploadFlowJSON(t, srv.URL, testAppID, testAppToken, id, tt.content)
			r.check(t, 200, `{"status":"success","success":true,"validation_errors":`+tt.errors+`}`)
			f, ok := sim.Flow(testAppID, id)
			if !ok || f.Asset == nil || string(f.Asset) != tt.content || f.AssetFileName != "flow.json" ||
				f.AssetContentType != "application/json" || f.JSONVersion != tt.version || f.AssetUploads != 1 {
				t.Errorf("Flow = %+v", f)
			}
			g := doRequest(t, nil, "GET", flowsURL(srv.URL, testAppID, id), authHeader(testAppToken), "")
			if got := gjson.GetBytes(g.body, "validation_errors").Raw; got != tt.errors {
				t.Errorf("GET validation_errors %s, want %s", got, tt.errors)
			}
			if got := gjson.GetBytes(g.body, "json_version").String(); got != tt.version {
				t.Errorf("GET json_version %s", got)
			}
			health := gjson.GetBytes(g.body, "health_status.can_send_message").String()
			publish := doRequest(t, nil, "POST", flowsURL(srv.URL, testAppID, id, "publish"), jsonHeader(testAppToken), "{}")
			if tt.errors == `[]` {
				if health != "AVAILABLE" {
					t.Errorf("health %s", g.body)
				}
				publish.check(t, 200, okJSON)
			} else {
				if health != "BLOCKED" || gjson.GetBytes(g.body, "health_status.entities.0.errors.0.error_description").String() !=
					"The flow JSON has validation errors." {
					t.Errorf("health %s", g.body)
				}
				publish.check(t, 400, errJSON("Flow has validation errors, it cannot be published"))
			}
		})
	}

	t.Run("a later valid upload clears the errors", func(t *testing.T) {
		id := createFlow(t, srv.URL, testAppID, testAppToken, "fixed later")
		uploadFlowJSON(t, srv.URL, testAppID, testAppToken, id, `{`).check(t, 200, "")
		uploadFlowJSON(t, srv.URL, testAppID, testAppToken, id, validFlowJSON).
			check(t, 200, `{"status":"success","success":true,"validation_errors":[]}`)
		if f, _ := sim.Flow(testAppID, id); len(f.ValidationErrors) != 0 || string(f.Asset) != validFlowJSON || f.AssetUploads != 2 {
			t.Errorf("Flow = %+v", f)
		}
		doRequest(t, nil, "POST", flowsURL(srv.URL, testAppID, id, "publish"), jsonHeader(testAppToken), "").check(t, 200, okJSON)
	})

	t.Run("bad uploads", func(t *testing.T) {
		id := createFlow(t, srv.URL, testAppID, testAppToken, "bad uploads")
		u := flowsURL(srv.URL, testAppID, id, "assets")
		send := func(ct string, body []byte) response {
			return post(t, "PUT", u, map[string]string{"Authorization": testAppToken, "Content-Type": ct}, bytes.NewReader(body), int64(len(body)))
		}
		send("application/json", []byte(validFlowJSON)).check(t, 400, errJSON("Unsupported Content-Type"))
		send("multipart/form-data", []byte(validFlowJSON)).check(t, 400, errJSON("Unsupported Content-Type"))
		b, ct := bufferedMultipart(t, part{name: "other", filename: "flow.json", body: strings.NewReader(validFlowJSON)})
		send(ct, b).check(t, 400, errJSON("file is missing/invalid"))
		b, ct = bufferedMultipart(t,
			part{name: "file", filename: "a.json", body: strings.NewReader(validFlowJSON)},
			part{name: "file", filename: "b.json", body: strings.NewReader(validFlowJSON)})
		send(ct, b).check(t, 400, errJSON("file is missing/invalid"))
		b, ct = bufferedMultipart(t, part{name: "file", filename: "a.json", body: strings.NewReader(validFlowJSON)})
		send(ct, b[:len(b)-10]).check(t, 400, errJSON("body is missing/invalid"))
		if f, _ := sim.Flow(testAppID, id); f.Asset != nil || f.AssetUploads != 0 {
			t.Errorf("bad uploads stored %+v", f)
		}
		// Meta's extra fields are accepted; a plain (non-file) part too.
		b, ct = bufferedMultipart(t, part{name: "name", body: strings.NewReader("flow.json")},
			part{name: "asset_type", body: strings.NewReader("FLOW_JSON")},
			part{name: "file", body: strings.NewReader(validFlowJSON)})
		send(ct, b).check(t, 200, `{"status":"success","success":true,"validation_errors":[]}`)
		if f, _ := sim.Flow(testAppID, id); string(f.Asset) != validFlowJSON || f.AssetFileName != "" {
			t.Errorf("Flow = %+v", f)
		}
	})
}

// TestFlowLifecycle walks every state through every state-changing call.
func TestFlowLifecycle(t *testing.T) {
	sim, srv := startSim(t, testOptions())
	type call struct {
		method, sub, body string
	}
	var (
		update    = call{"PUT", "", `{"name":"changed"}`}
		upload    = call{"PUT", "/assets", ""}
		del       = call{"DELETE", "", ""}
		deprecate = call{"POST", "/deprecate", "{}"}
		publish   = call{"POST", "/publish", "{}"}
	)
	do := func(id string, c call) response {
		if c.sub == "/assets" {
			return uploadFlowJSON(t, srv.URL, testAppID, testAppToken, id, validFlowJSON)
		}
		return doRequest(t, nil, c.method, flowsURL(srv.URL, testAppID, id)+c.sub, jsonHeader(testAppToken), c.body)
	}
	n := 0
	draft := func() string {
		n++
		return createFlow(t, srv.URL, testAppID, testAppToken, fmt.Sprint("draft ", n))
	}
	draftWithAsset := func() string {
		id := draft()
		do(id, upload).check(t, 200, "")
		return id
	}
	published := func() string {
		n++
		return publishedFlow(t, srv.URL, fmt.Sprint("published ", n))
	}
	deprecated := func() string {
		id := published()
		do(id, deprecate).check(t, 200, okJSON)
		return id
	}
	tests := []struct {
		name   string
		make   func() string
		call   call
		status int
		msg    string // error message; "" for success
		after  string // status after; "" when deleted
	}{
		{"draft update", draft, update, 200, "", FlowDraft},
		{"draft upload", draft, upload, 200, "", FlowDraft},
		{"draft delete", draft, del, 200, "", ""},
		{"draft deprecate", draft, deprecate, 400, "Flow was never published, it cannot be deprecated", FlowDraft},
		{"draft publish without asset", draft, publish, 400, "Flow has validation errors, it cannot be published", FlowDraft},
		{"draft publish", draftWithAsset, publish, 200, "", FlowPublished},
		{"draft with asset delete", draftWithAsset, del, 200, "", ""},
		{"published update", published, update, 400, "Flow is published, it cannot be updated", FlowPublished},
		{"published upload", published, upload, 400, "Flow is published, it cannot be updated", FlowPublished},
		{"published delete", published, del, 400, "Only draft flows can be deleted", FlowPublished},
		{"published publish", published, publish, 400, "Flow is already published", FlowPublished},
		{"published deprecate", published, deprecate, 200, "", FlowDeprecated},
		{"deprecated update", deprecated, update, 400, "Flow is deprecated", FlowDeprecated},
		{"deprecated upload", deprecated, upload, 400, "Flow is published, it cannot be updated", FlowDeprecated},
		{"deprecated delete", deprecated, del, 400, "Only draft flows can be deleted", FlowDeprecated},
		{"deprecated publish", deprecated, publish, 400, "Flow is already published", FlowDeprecated},
		{"deprecated deprecate", deprecated, deprecate, 400, "Flow is deprecated", FlowDeprecated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := tt.make()
			before, _ := sim.Flow(testAppID, id)
			r := do(id, tt.call)
			switch {
			case tt.msg != "":
				r.check(t, tt.status, errJSON(tt.msg))
			case tt.call == upload:
				r.check(t, 200, `{"status":"success","success":true,"validation_errors":[]}`)
			default:
				r.check(t, 200, okJSON)
			}
			f, ok := sim.Flow(testAppID, id)
			if tt.after == "" {
				if ok {
					t.Errorf("flow still there: %+v", f)
				}
				doRequest(t, nil, "GET", flowsURL(srv.URL, testAppID, id), authHeader(testAppToken), "").
					check(t, 400, errJSON("Invalid flow id"))
				return
			}
			if !ok || f.Status != tt.after {
				t.Errorf("status %q, want %q", f.Status, tt.after)
			}
			if tt.msg != "" && (f.Name != before.Name || f.AssetUploads != before.AssetUploads) {
				t.Errorf("a refused call changed the flow: %+v -> %+v", before, f)
			}
			g := doRequest(t, nil, "GET", flowsURL(srv.URL, testAppID, id), authHeader(testAppToken), "")
			if st := gjson.GetBytes(g.body, "status").String(); st != tt.after {
				t.Errorf("GET status %s", st)
			}
			wantHealth := "AVAILABLE"
			if tt.after == FlowDeprecated || (tt.after == FlowDraft && f.Asset == nil) {
				wantHealth = "BLOCKED"
			}
			if h := gjson.GetBytes(g.body, "health_status.can_send_message").String(); h != wantHealth {
				t.Errorf("health %s, want %s: %s", h, wantHealth, g.body)
			}
		})
	}

	// A deleted flow's name can be used again, and it leaves the list.
	id := createFlow(t, srv.URL, testAppID, testAppToken, "reused")
	do(id, del).check(t, 200, okJSON)
	id2 := createFlow(t, srv.URL, testAppID, testAppToken, "reused")
	if id2 == id {
		t.Error("deleted id reissued")
	}
	r := doRequest(t, nil, "GET", flowsURL(srv.URL, testAppID), authHeader(testAppToken), "")
	for _, f := range gjson.GetBytes(r.body, "flows").Array() {
		if f.Get("id").String() == id {
			t.Error("deleted flow listed")
		}
	}
	// A published or deprecated flow's name stays taken.
	publishedFlow(t, srv.URL, "stays taken")
	doRequest(t, nil, "POST", flowsURL(srv.URL, testAppID), jsonHeader(testAppToken),
		`{"name":"stays taken","categories":["OTHER"]}`).check(t, 400, errJSON("Flow name already exists"))
}

func TestFlowAssetsAndDownload(t *testing.T) {
	_, srv := startSim(t, testOptions())
	id := createFlow(t, srv.URL, testAppID, testAppToken, "assets")
	assetsURL := flowsURL(srv.URL, testAppID, id, "assets")
	doRequest(t, nil, "GET", assetsURL, authHeader(testAppToken), "").check(t, 200, `[]`)

	content := "{\n  \"version\": \"7.0\",\n  \"screens\": [] \n}\n"
	uploadFlowJSON(t, srv.URL, testAppID, testAppToken, id, content).check(t, 200, "")
	r := doRequest(t, nil, "GET", assetsURL, authHeader(testAppToken), "")
	r.check(t, 200, "")
	list := gjson.ParseBytes(r.body).Array()
	if len(list) != 1 || list[0].Get("name").String() != "flow.json" || list[0].Get("asset_type").String() != "FLOW_JSON" {
		t.Fatalf("assets %s", r.body)
	}
	dl := list[0].Get("download_url").String()
	prefix := srv.URL + "/sim/flows/" + id + "/flow.json?sig="
	if !strings.HasPrefix(dl, prefix) || len(dl) != len(prefix)+32 {
		t.Fatalf("download_url %q", dl)
	}
	// The same URL while the asset is unchanged.
	if again := gjson.GetBytes(doRequest(t, nil, "GET", assetsURL, authHeader(testAppToken), "").body, "0.download_url").String(); again != dl {
		t.Errorf("download_url changed: %s", again)
	}

	// Served without authentication, bytes as uploaded.
	get := func(u string) response { return doRequest(t, nil, "GET", u, nil, "") }
	d := get(dl)
	if d.status != 200 || string(d.body) != content || d.header.Get("Content-Type") != "application/json" ||
		d.header.Get("Content-Length") != fmt.Sprint(len(content)) {
		t.Errorf("download %d %q %v", d.status, d.body, d.header)
	}
	if h := doRequest(t, nil, "HEAD", dl, nil, ""); h.status != 200 || len(h.body) != 0 {
		t.Errorf("HEAD %d %q", h.status, h.body)
	}
	doRequest(t, nil, "POST", dl, nil, "").check(t, 405, errJSON("Method Not Allowed"))
	get(prefix+strings.Repeat("0", 32)).check(t, 403, errJSON("Forbidden"))
	get(srv.URL+"/sim/flows/"+id+"/flow.json").check(t, 403, errJSON("Forbidden"))
	get(srv.URL+"/sim/flows/9999999999999999/flow.json?sig=x").check(t, 404, errJSON("Not Found"))
	get(srv.URL+"/sim/flows/"+id+"/other.json").check(t, 404, errJSON("Not Found"))

	// A new upload: a new URL; the old one is gone.
	uploadFlowJSON(t, srv.URL, testAppID, testAppToken, id, validFlowJSON).check(t, 200, "")
	dl2 := gjson.GetBytes(doRequest(t, nil, "GET", assetsURL, authHeader(testAppToken), "").body, "0.download_url").String()
	if dl2 == dl || !strings.HasPrefix(dl2, prefix) {
		t.Fatalf("download_url after a new upload %q", dl2)
	}
	get(dl).check(t, 404, errJSON("Not Found"))
	if d := get(dl2); d.status != 200 || string(d.body) != validFlowJSON {
		t.Errorf("download %d %q", d.status, d.body)
	}

	// Published flows keep serving their asset; deleted flows do not.
	doRequest(t, nil, "POST", flowsURL(srv.URL, testAppID, id, "publish"), jsonHeader(testAppToken), "{}").check(t, 200, okJSON)
	if d := get(dl2); d.status != 200 || string(d.body) != validFlowJSON {
		t.Errorf("download after publish %d %q", d.status, d.body)
	}
	id2 := createFlow(t, srv.URL, testAppID, testAppToken, "deleted")
	uploadFlowJSON(t, srv.URL, testAppID, testAppToken, id2, validFlowJSON).check(t, 200, "")
	dl3 := gjson.GetBytes(doRequest(t, nil, "GET", flowsURL(srv.URL, testAppID, id2, "assets"), authHeader(testAppToken), "").body,
		"0.download_url").String()
	if get(dl3).status != 200 {
		t.Fatal("download before delete failed")
	}
	doRequest(t, nil, "DELETE", flowsURL(srv.URL, testAppID, id2), authHeader(testAppToken), "").check(t, 200, okJSON)
	get(dl3).check(t, 404, errJSON("Not Found"))

	// The Host the request came in with is the base.
	req, _ := http.NewRequest("GET", assetsURL, nil)
	req.Host = "sim.example:8443"
	req.Header.Set("Authorization", testAppToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if u := gjson.GetBytes(b, "0.download_url").String(); !strings.HasPrefix(u, "http://sim.example:8443/sim/flows/"+id+"/flow.json?sig=") {
		t.Errorf("download_url with Host sim.example:8443: %q", u)
	}
}

func TestFlowDownloadURLUsesMediaBaseURL(t *testing.T) {
	opts := testOptions()
	opts.MediaBaseURL = "https://files.example/base/"
	_, srv := startSim(t, opts)
	id := createFlow(t, srv.URL, testAppID, testAppToken, "x")
	uploadFlowJSON(t, srv.URL, testAppID, testAppToken, id, validFlowJSON).check(t, 200, "")
	r := doRequest(t, nil, "GET", flowsURL(srv.URL, testAppID, id, "assets"), authHeader(testAppToken), "")
	dl := gjson.GetBytes(r.body, "0.download_url").String()
	if !strings.HasPrefix(dl, "https://files.example/base/sim/flows/"+id+"/flow.json?sig=") {
		t.Fatalf("download_url %q", dl)
	}
	// The path and query work against the simulator itself.
	u, _ := url.Parse(dl)
	if d := doRequest(t, nil, "GET", srv.URL+"/sim/flows/"+id+"/flow.json?"+u.RawQuery, nil, ""); d.status != 200 || string(d.body) != validFlowJSON {
		t.Errorf("download %d %s", d.status, d.body)
	}
}

func TestFlowPreview(t *testing.T) {
	_, srv, clock := startSimWithClock(t, testOptions())
	id := createFlow(t, srv.URL, testAppID, testAppToken, "preview")
	u := flowsURL(srv.URL, testAppID, id, "preview")
	preview := func(u string) (string, string) {
		t.Helper()
		r := doRequest(t, nil, "GET", u, authHeader(testAppToken), "")
		r.check(t, 200, "")
		if gjson.GetBytes(r.body, "id").String() != id {
			t.Errorf("preview %s", r.body)
		}
		pu := gjson.GetBytes(r.body, "preview.preview_url").String()
		pre := "https://business.facebook.com/wa/manage/flows/" + id + "/preview/?token="
		if !strings.HasPrefix(pu, pre) || !uuidV4.MatchString(strings.TrimPrefix(pu, pre)) {
			t.Errorf("preview_url %q", pu)
		}
		var keys []string
		gjson.GetBytes(r.body, "preview").ForEach(func(k, _ gjson.Result) bool { keys = append(keys, k.String()); return true })
		if strings.Join(keys, ",") != "preview_url,expires_at" {
			t.Errorf("preview keys %v", keys)
		}
		return pu, gjson.GetBytes(r.body, "preview.expires_at").String()
	}
	p1, exp1 := preview(u)
	if want := "2026-02-01T03:04:05+0000"; exp1 != want { // the clock's time + 30 days
		t.Errorf("expires_at %s, want %s", exp1, want)
	}
	clock.Advance(time.Hour)
	if p, exp := preview(u); p != p1 || exp != exp1 {
		t.Errorf("preview changed before expiry: %s %s", p, exp)
	}
	p2, exp2 := preview(u + "?invalidate=true")
	if p2 == p1 || exp2 != "2026-02-01T04:04:05+0000" {
		t.Errorf("invalidated preview %s %s", p2, exp2)
	}
	clock.Advance(FlowPreviewTTL)
	if p3, _ := preview(u); p3 == p2 {
		t.Error("expired preview reused")
	}
	// Any status has a preview.
	pid := publishedFlow(t, srv.URL, "published preview")
	doRequest(t, nil, "GET", flowsURL(srv.URL, testAppID, pid, "preview"), authHeader(testAppToken), "").check(t, 200, "")
}

func TestFlowFaultsAndRecording(t *testing.T) {
	sim, srv := startSim(t, testOptions())
	id := createFlow(t, srv.URL, testAppID, testAppToken, "faulty")
	uploadFlowJSON(t, srv.URL, testAppID, testAppToken, id, validFlowJSON).check(t, 200, "")

	sim.Inject(Fault{PathSuffix: "/publish", Status: 500, Body: `{"status":"error","message":"boom"}`, Header: map[string]string{"Retry-After": "3"}})
	r := doRequest(t, nil, "POST", flowsURL(srv.URL, testAppID, id, "publish"), jsonHeader(testAppToken), "{}")
	r.check(t, 500, `{"status":"error","message":"boom"}`)
	if r.header.Get("Retry-After") != "3" {
		t.Errorf("fault headers %v", r.header)
	}
	if f, _ := sim.Flow(testAppID, id); f.Status != FlowDraft {
		t.Errorf("a faulted publish changed the flow: %s", f.Status)
	}
	doRequest(t, nil, "POST", flowsURL(srv.URL, testAppID, id, "publish"), jsonHeader(testAppToken), "{}").check(t, 200, okJSON)

	sim.Inject(Fault{PathSuffix: "/flows", Status: 429, Body: `{"status":"error","message":"Too Many Requests"}`})
	doRequest(t, nil, "POST", flowsURL(srv.URL, testAppID), jsonHeader(testAppToken), `{"name":"n","categories":["OTHER"]}`).
		check(t, 429, errJSON("Too Many Requests"))
	if len(sim.Flows(testAppID)) != 1 {
		t.Error("a faulted create created a flow")
	}
	sim.Inject(Fault{PathSuffix: "/flow.json", Status: 503, Body: `{}`})
	dl := gjson.GetBytes(doRequest(t, nil, "GET", flowsURL(srv.URL, testAppID, id, "assets"), authHeader(testAppToken), "").body,
		"0.download_url").String()
	if d := doRequest(t, nil, "GET", dl, nil, ""); d.status != 503 {
		t.Errorf("download with a fault: %d", d.status)
	}

	reqs := sim.Requests()
	var upload *Request
	for i := range reqs {
		if reqs[i].Method == "PUT" && strings.HasSuffix(reqs[i].Path, "/assets") {
			upload = &reqs[i]
		}
	}
	if upload == nil || !bytes.Contains(upload.Body, []byte(validFlowJSON)) || upload.Header.Get("Authorization") != testAppToken {
		t.Errorf("upload not recorded: %+v", upload)
	}
	if n := sim.Count("/publish"); n != 2 {
		t.Errorf("Count(/publish) = %d", n)
	}
	// Flows survive Reset.
	sim.Reset()
	if f, ok := sim.Flow(testAppID, id); !ok || f.Status != FlowPublished {
		t.Errorf("flow after Reset: %+v %v", f, ok)
	}
}

func TestFlowCopiesAreIndependent(t *testing.T) {
	sim, srv := startSim(t, testOptions())
	id := createFlow(t, srv.URL, testAppID, testAppToken, "copy", "OTHER")
	uploadFlowJSON(t, srv.URL, testAppID, testAppToken, id, `{}`).check(t, 200, "")
	f, _ := sim.Flow(testAppID, id)
	f.Categories[0] = "X"
	f.Asset[0] = 'X'
	f.ValidationErrors[0].Message = "X"
	g, _ := sim.Flow(testAppID, id)
	if g.Categories[0] != "OTHER" || g.Asset[0] != '{' || g.ValidationErrors[0].Message == "X" {
		t.Errorf("Flow shares memory with the simulator: %+v", g)
	}
}
