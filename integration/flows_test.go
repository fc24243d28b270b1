package integration

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"waproxy/gupshupsim"
)

// flowCalls returns the requests the simulator got on an app's flow paths.
func flowCalls(w *world, app string) []gupshupsim.Request {
	var out []gupshupsim.Request
	for _, r := range w.sim.Requests() {
		if strings.HasPrefix(r.Path, "/partner/app/"+app+"/flows") {
			out = append(out, r)
		}
	}
	return out
}

// TestFlowsKapsoLifecycle runs @kapso/whatsapp-cloud-api's flows client,
// pointed at the proxy by its base URL only, through create (with flow JSON),
// asset upload, get with fields, preview, list, publish, a flow send,
// illegal state changes, deprecate and delete, and another tenant's
// attempts; then checks what the simulated Gupshup holds.
func TestFlowsKapsoLifecycle(t *testing.T) {
	w := newWorld(t, worldOptions{})
	const name = "Réservation ☕"
	res := nodeScript(t, "flows.mjs",
		"PROXY_BASE_URL="+w.proxy.URL, "ACCESS_TOKEN="+tokenA, "OTHER_TOKEN="+tokenB,
		"WABA_ID="+wabaA, "PHONE_NUMBER_ID="+phoneA, "TO=15551234567", "FLOW_NAME="+name, "GRAPH_VERSION=v23.0")
	for _, sc := range []string{"create", "create_invalid", "update_asset", "get_draft", "get_default", "preview", "list",
		"publish", "send_flow", "publish_again", "update_published", "delete_published", "deprecate_draft", "deprecate",
		"foreign_get", "foreign_publish", "foreign_list", "delete_draft"} {
		if _, ok := res[sc]; !ok {
			t.Errorf("scenario %s did not run", sc)
		}
	}
	mainID, draftID := res["create"].Get("id").Str, res["create_invalid"].Get("id").Str
	if mainID == "" || draftID == "" {
		t.Fatalf("no flow ids: %v", res)
	}

	// Gupshup holds the deprecated flow with the SDK's flow JSON, byte for
	// byte as Kapso serialised it; the draft is gone.
	f, ok := w.sim.Flow(appA, mainID)
	if !ok {
		t.Fatalf("flow %s is not at the simulator", mainID)
	}
	if f.Status != gupshupsim.FlowDeprecated || f.Name != name || strings.Join(f.Categories, ",") != "APPOINTMENT_BOOKING,OTHER" {
		t.Errorf("flow at Gupshup: %+v", f)
	}
	if !json.Valid(f.Asset) || gjson.GetBytes(f.Asset, "screens.0.layout.children.1.on-click-action.next.name").Str != "DONE" ||
		gjson.GetBytes(f.Asset, "screens.1.title").Str != "Merci" || f.AssetFileName != "flow.json" || f.AssetUploads != 1 {
		t.Errorf("flow JSON at Gupshup (%s, %d uploads): %s", f.AssetFileName, f.AssetUploads, f.Asset)
	}
	if _, ok := w.sim.Flow(appA, draftID); ok {
		t.Errorf("the deleted draft %s is still at the simulator", draftID)
	}

	// The invalid flow was created with publish=true: no publish was tried.
	for _, r := range flowCalls(w, appA) {
		if r.Path == "/partner/app/"+appA+"/flows/"+draftID+"/publish" {
			t.Errorf("the invalid draft %s was published: %s %s", draftID, r.Method, r.Path)
		}
	}

	// Kapso parsed Meta's validation error shape from the create answer.
	ve := res["create_invalid"].Get("validation_errors.0")
	if ve.Get("error").Str != "MISSING_REQUIRED_PROPERTY" || ve.Get("errorType").Str != "JSON_SCHEMA_ERROR" ||
		ve.Get("lineStart").Int() != 1 || ve.Get("columnEnd").Int() != 1 {
		t.Errorf("validation error as Kapso saw it: %s", ve.Raw)
	}

	// The published flow went out through /messages as Meta's interactive
	// flow message.
	var sent []gupshupsim.Request
	for _, r := range w.sends() {
		if r.Form.Get("type") == "interactive" {
			sent = append(sent, r)
		}
	}
	if len(sent) != 1 {
		t.Fatalf("Gupshup got %d interactive sends, want 1", len(sent))
	}
	iv := gjson.Parse(sent[0].Form.Get("interactive"))
	if iv.Get("type").Str != "flow" || iv.Get("action.parameters.flow_id").Str != mainID ||
		iv.Get("action.parameters.flow_cta").Str != "Réserver" || iv.Get("action.parameters.flow_token").Str != "flow-token-1" {
		t.Errorf("flow message reached Gupshup as %s", iv.Raw)
	}
	if res["send_flow"].Get("message_id").Str == "" {
		t.Errorf("send_flow: %s", res["send_flow"].Raw)
	}

	// Illegal state changes carry Gupshup's reason.
	for sc, reason := range map[string]string{
		"publish_again":    "Flow is already published",
		"update_published": "Flow is published, it cannot be updated",
		"delete_published": "Only draft flows can be deleted",
		"deprecate_draft":  "Flow was never published, it cannot be deprecated",
	} {
		if d := res[sc].Get("error.details").Str; !strings.Contains(d, reason) {
			t.Errorf("%s: details %q, want Gupshup's %q", sc, d, reason)
		}
	}
	// Tenant B never reached Gupshup with tenant A's flows, nor under its
	// own app.
	if n := len(flowCalls(w, appB)); n != 0 {
		t.Errorf("%d flow calls for app B, want 0", n)
	}
}

// flowPost posts a form (urlencoded) or a JSON body to the proxy.
func (w *world) flowPost(t *testing.T, token, path, contentType, body string) answer {
	t.Helper()
	return w.call(t, http.MethodPost, "/v23.0/"+path, contentType, token, []byte(body))
}

// validFlowJSON is a minimal flow JSON the simulator accepts.
const validFlowJSON = `{"version":"6.0","screens":[{"id":"ONE","title":"Één","terminal":true,"layout":{"type":"SingleColumnLayout","children":[]}}]}`

// createFlow creates a flow for tenant A with a JSON body and returns its id.
func (w *world) createFlow(t *testing.T, name string, withJSON bool) string {
	t.Helper()
	body := map[string]any{"name": name, "categories": []string{"OTHER"}}
	if withJSON {
		body["flow_json"] = validFlowJSON
	}
	b, _ := json.Marshal(body)
	a := w.flowPost(t, tokenA, wabaA+"/flows", "application/json", string(b))
	if a.status != http.StatusOK || a.json("id").Str == "" {
		t.Fatalf("create flow: HTTP %d %s", a.status, a.body)
	}
	return a.json("id").Str
}

// TestFlowsRequestForms pins the body kinds Graph accepts on the Flows
// calls, as Meta's Postman collection (multipart, categories as JSON text)
// and others send them, and what reaches Gupshup.
func TestFlowsRequestForms(t *testing.T) {
	w := newWorld(t, worldOptions{})
	ct, multi := multipartBody(t, field("name", "Postman flow"), field("categories", `["SIGN_UP"]`),
		field("flow_json", validFlowJSON), field("publish", "true"))
	tests := []struct {
		name        string
		contentType string
		body        string
		wantName    string
		wantCats    string
		wantStatus  string
	}{
		{"multipart as Meta's Postman sends it, with flow_json and publish", ct, string(multi), "Postman flow", "SIGN_UP", gupshupsim.FlowPublished},
		{"urlencoded with categories as a comma list", "application/x-www-form-urlencoded",
			url.Values{"name": {"Form flow"}, "categories": {"survey,contact_us"}}.Encode(), "Form flow", "SURVEY,CONTACT_US", gupshupsim.FlowDraft},
		{"JSON with categories as JSON text", "application/json", `{"name":"Json flow","categories":"[\"LEAD_GENERATION\"]"}`,
			"Json flow", "LEAD_GENERATION", gupshupsim.FlowDraft},
		{"JSON with flow_json as an object", "application/json",
			`{"name":"Object flow","categories":["OTHER"],"flow_json":` + validFlowJSON + `}`, "Object flow", "OTHER", gupshupsim.FlowDraft},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := w.flowPost(t, tokenA, wabaA+"/flows", tc.contentType, tc.body)
			if a.status != http.StatusOK || a.json("id").Str == "" {
				t.Fatalf("HTTP %d %s", a.status, a.body)
			}
			if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
			f, ok := w.sim.Flow(appA, a.json("id").Str)
			if !ok {
				t.Fatalf("flow %s not at the simulator", a.json("id").Str)
			}
			if f.Name != tc.wantName || strings.Join(f.Categories, ",") != tc.wantCats || f.Status != tc.wantStatus {
				t.Errorf("at Gupshup: %+v", f)
			}
			if strings.Contains(tc.body, "screens") {
				if a.json("success").Raw != "true" || !a.json("validation_errors").IsArray() {
					t.Errorf("create with flow_json answered %s", a.body)
				}
				if string(f.Asset) != validFlowJSON {
					t.Errorf("flow JSON reached Gupshup as %s", f.Asset)
				}
			} else if a.json("success").Exists() {
				t.Errorf("create without flow_json answered %s, want only the id", a.body)
			}
		})
	}

	// Metadata update as a form: name and endpoint_uri.
	id := w.createFlow(t, "Before", false)
	a := w.flowPost(t, tokenA, id, "application/x-www-form-urlencoded",
		url.Values{"name": {"After"}, "endpoint_uri": {"https://example.com/flow-endpoint"}, "categories": {`["SHOPPING"]`}}.Encode())
	if a.status != http.StatusOK || string(a.body) != `{"success":true}` {
		t.Fatalf("update: HTTP %d %s", a.status, a.body)
	}
	if f, _ := w.sim.Flow(appA, id); f.Name != "After" || f.EndpointURI != "https://example.com/flow-endpoint" || f.Categories[0] != "SHOPPING" {
		t.Errorf("after the update Gupshup has %+v", f)
	}
	g := w.call(t, http.MethodGet, "/v23.0/"+id+"?fields=name,endpoint_uri,data_channel_uri,whatsapp_business_account,unknown_field", "", tokenA, nil)
	if g.status != http.StatusOK || g.json("name").Str != "After" || g.json("endpoint_uri").Str != "https://example.com/flow-endpoint" ||
		g.json("id").Str != id || g.json("unknown_field").Exists() {
		t.Errorf("get with fields: HTTP %d %s", g.status, g.body)
	}
}

// TestFlowsErrors pins the errors of the Flows calls: bad parameters and
// unknown WABAs before Gupshup is called, illegal state changes and names
// from Gupshup, and flow ids that belong to another tenant or to nobody.
func TestFlowsErrors(t *testing.T) {
	w := newWorld(t, worldOptions{})
	draft := w.createFlow(t, "Draft flow", false)
	published := w.createFlow(t, "Published flow", true)
	if a := w.flowPost(t, tokenA, published+"/publish", "", ""); a.status != http.StatusOK || string(a.body) != `{"success":true}` {
		t.Fatalf("publish: HTTP %d %s", a.status, a.body)
	}
	before := len(flowCalls(w, appA))

	local := []struct {
		name, method, path, contentType, body, token string
		status                                       int
		code, subcode                                int64
	}{
		{"clone_flow_id is not offered", "POST", wabaA + "/flows", "application/json", `{"name":"Clone","categories":["OTHER"],"clone_flow_id":"` + draft + `"}`, tokenA, 400, 100, 0},
		{"name missing", "POST", wabaA + "/flows", "application/json", `{"categories":["OTHER"]}`, tokenA, 400, 100, 0},
		{"categories missing", "POST", wabaA + "/flows", "application/json", `{"name":"No categories"}`, tokenA, 400, 100, 0},
		{"unknown category", "POST", wabaA + "/flows", "application/json", `{"name":"Bad","categories":["PARTY"]}`, tokenA, 400, 100, 0},
		{"malformed JSON", "POST", wabaA + "/flows", "application/json", `{"name":`, tokenA, 400, 100, 0},
		{"a WABA the tenant does not have", "GET", "999999999999999/flows", "", "", tokenA, 400, 100, 33},
		{"another tenant's WABA", "POST", wabaB + "/flows", "application/json", `{"name":"X","categories":["OTHER"]}`, tokenA, 400, 100, 33},
		{"another tenant's flow: get", "GET", draft, "", "", tokenB, 400, 100, 33},
		{"another tenant's flow: update", "POST", draft, "application/json", `{"name":"Stolen"}`, tokenB, 400, 100, 33},
		{"another tenant's flow: assets", "GET", draft + "/assets", "", "", tokenB, 400, 100, 33},
		{"another tenant's flow: publish", "POST", draft + "/publish", "", "", tokenB, 400, 100, 33},
		{"another tenant's flow: deprecate", "POST", published + "/deprecate", "", "", tokenB, 400, 100, 33},
		{"another tenant's flow: delete", "DELETE", draft, "", "", tokenB, 400, 100, 33},
		{"an unknown flow: publish", "POST", "1234567890123456/publish", "", "", tokenA, 400, 100, 33},
		{"a bad token", "GET", draft, "", "", "EAAG-nobody", 401, 190, 0},
		{"asset upload that is not multipart", "POST", draft + "/assets", "application/json", `{"name":"flow.json"}`, tokenA, 400, 100, 0},
		{"asset upload of another type", "POST", draft + "/assets", "", "", tokenA, 400, 100, 0},
	}
	for _, tc := range local {
		t.Run(tc.name, func(t *testing.T) {
			body, ct := tc.body, tc.contentType
			if tc.name == "asset upload of another type" {
				var b []byte
				ct, b = multipartBody(t, field("name", "flow.json"), field("asset_type", "IMAGE"), filePart("flow.json", "application/json", []byte(validFlowJSON)))
				body = string(b)
			}
			a := w.call(t, tc.method, "/v23.0/"+tc.path, ct, tc.token, []byte(body))
			assertMetaError(t, a, tc.status, tc.code)
			if got := a.json("error.error_subcode").Int(); got != tc.subcode {
				t.Errorf("error_subcode %d, want %d: %s", got, tc.subcode, a.body)
			}
		})
	}
	if n := len(flowCalls(w, appA)) - before; n != 0 {
		t.Errorf("%d flow calls reached Gupshup for requests the proxy must refuse, want 0", n)
	}
	if n := len(flowCalls(w, appB)); n != 0 {
		t.Errorf("%d flow calls for app B, want 0", n)
	}

	upstream := []struct {
		name, method, path, contentType, body string
		details                               string
	}{
		{"publish a draft without flow JSON", "POST", draft + "/publish", "", "", "Flow has validation errors, it cannot be published"},
		{"deprecate a draft", "POST", draft + "/deprecate", "", "", "Flow was never published, it cannot be deprecated"},
		{"publish a published flow", "POST", published + "/publish", "", "", "Flow is already published"},
		{"rename a published flow", "POST", published, "application/json", `{"name":"Renamed"}`, "Flow is published, it cannot be updated"},
		{"delete a published flow", "DELETE", published, "", "", "Only draft flows can be deleted"},
		{"a name another flow has", "POST", draft, "application/json", `{"name":"Published flow"}`, "Flow name already exists"},
		{"an endpoint_uri that is not a URL", "POST", draft, "application/json", `{"endpoint_uri":"not a url"}`, "endpoint_uri is missing/invalid"},
	}
	for _, tc := range upstream {
		t.Run(tc.name, func(t *testing.T) {
			a := w.call(t, tc.method, "/v23.0/"+tc.path, tc.contentType, tokenA, []byte(tc.body))
			assertMetaError(t, a, http.StatusBadRequest, 100)
			if d := a.json("error.error_data.details").Str; !strings.Contains(d, tc.details) {
				t.Errorf("details %q, want Gupshup's %q", d, tc.details)
			}
		})
	}
	if f, _ := w.sim.Flow(appA, published); f.Status != gupshupsim.FlowPublished || f.Name != "Published flow" {
		t.Errorf("refused changes changed the flow: %+v", f)
	}

	// A flow deleted behind the proxy's back: Gupshup's "Invalid flow id"
	// is Graph's unknown object.
	req, _ := http.NewRequest(http.MethodDelete, w.simTS.URL+"/partner/app/"+appA+"/flows/"+draft, nil)
	req.Header.Set("Authorization", appTokA)
	if a := roundTrip(t, req); a.status != http.StatusOK {
		t.Fatalf("deleting at the simulator: HTTP %d %s", a.status, a.body)
	}
	a := w.call(t, http.MethodGet, "/v23.0/"+draft, "", tokenA, nil)
	assertMetaError(t, a, http.StatusBadRequest, 100)
	if a.json("error.error_subcode").Int() != 33 {
		t.Errorf("a vanished flow: %s", a.body)
	}
}

// TestFlowsListTeachesOwnership pins that a flow made at Gupshup directly
// (its console, another tool) is unknown to the proxy until the tenant
// lists its WABA's flows, and is then the tenant's, not another's.
func TestFlowsListTeachesOwnership(t *testing.T) {
	w := newWorld(t, worldOptions{})
	req, _ := http.NewRequest(http.MethodPost, w.simTS.URL+"/partner/app/"+appA+"/flows",
		strings.NewReader(`{"name":"Made at Gupshup","categories":["OTHER"]}`))
	req.Header.Set("Authorization", appTokA)
	req.Header.Set("Content-Type", "application/json")
	made := roundTrip(t, req)
	id := made.json("id").Str
	if made.status != http.StatusOK || id == "" {
		t.Fatalf("creating at the simulator: HTTP %d %s", made.status, made.body)
	}
	a := w.call(t, http.MethodGet, "/v23.0/"+id, "", tokenA, nil)
	assertMetaError(t, a, http.StatusBadRequest, 100)

	list := w.call(t, http.MethodGet, "/v23.0/"+wabaA+"/flows", "", tokenA, nil)
	if list.status != http.StatusOK || list.json("data.#").Int() != 1 || list.json("data.0.id").Str != id ||
		list.json("data.0.name").Str != "Made at Gupshup" || list.json("data.0.status").Str != "DRAFT" ||
		!list.json("paging.cursors").IsObject() {
		t.Fatalf("list: HTTP %d %s", list.status, list.body)
	}
	a = w.call(t, http.MethodGet, "/v23.0/"+id+"?fields=name,status", "", tokenA, nil)
	if a.status != http.StatusOK || string(a.body) != `{"name":"Made at Gupshup","status":"DRAFT","id":"`+id+`"}` {
		t.Errorf("get after the list: HTTP %d %s", a.status, a.body)
	}
	a = w.call(t, http.MethodGet, "/v23.0/"+id, "", tokenB, nil)
	assertMetaError(t, a, http.StatusBadRequest, 100)
}

// TestFlowsAssetDownload pins GET /{flow-id}/assets: Graph's list shape with
// a download_url on the proxy that serves the uploaded flow JSON, byte for
// byte, to a plain fetch, and refuses a tampered token and another tenant.
func TestFlowsAssetDownload(t *testing.T) {
	w := newWorld(t, worldOptions{})
	id := w.createFlow(t, "Assets", false)
	empty := w.call(t, http.MethodGet, "/v23.0/"+id+"/assets", "", tokenA, nil)
	if empty.status != http.StatusOK || empty.json("data.#").Int() != 0 || !empty.json("data").IsArray() {
		t.Fatalf("assets before an upload: HTTP %d %s", empty.status, empty.body)
	}
	flowJSON := []byte("{\n  \"version\": \"6.0\",\n  \"screens\": [{\"id\": \"Ü\", \"terminal\": true}]\n}\n")
	ct, body := multipartBody(t, filePart("flow.json", "application/json", flowJSON), field("name", "flow.json"), field("asset_type", "FLOW_JSON"))
	up := w.call(t, http.MethodPost, "/v23.0/"+id+"/assets", ct, tokenA, body)
	if up.status != http.StatusOK || string(up.body) != `{"success":true,"validation_errors":[]}` {
		t.Fatalf("asset upload: HTTP %d %s", up.status, up.body)
	}
	a := w.call(t, http.MethodGet, "/v23.0/"+id+"/assets", "", tokenA, nil)
	item := a.json("data.0")
	if a.status != http.StatusOK || a.json("data.#").Int() != 1 || item.Get("name").Str != "flow.json" || item.Get("asset_type").Str != "FLOW_JSON" {
		t.Fatalf("assets: HTTP %d %s", a.status, a.body)
	}
	dl := item.Get("download_url").Str
	if !strings.HasPrefix(dl, w.proxy.URL+"/waproxy/flows/"+id+"/flow.json?token=") {
		t.Fatalf("download_url %q does not point at the proxy", dl)
	}
	got := fetch(t, dl, "")
	if got.status != http.StatusOK || !bytes.Equal(got.body, flowJSON) || !strings.HasPrefix(got.header.Get("Content-Type"), "application/json") {
		t.Errorf("download: HTTP %d %q %s", got.status, got.header.Get("Content-Type"), got.body)
	}
	if got := fetch(t, w.proxy.URL+"/waproxy/flows/"+id+"/flow.json", tokenA); got.status != http.StatusOK || !bytes.Equal(got.body, flowJSON) {
		t.Errorf("download with the owner's bearer: HTTP %d %s", got.status, got.body)
	}
	assertMetaError(t, fetch(t, dl+"x", ""), http.StatusUnauthorized, 190)
	assertMetaError(t, fetch(t, w.proxy.URL+"/waproxy/flows/"+id+"/flow.json", tokenB), http.StatusBadRequest, 100)
	// The token is for this flow only.
	other := w.createFlow(t, "Other", true)
	u, _ := url.Parse(dl)
	assertMetaError(t, fetch(t, w.proxy.URL+"/waproxy/flows/"+other+"/flow.json?"+u.RawQuery, ""), http.StatusUnauthorized, 190)
}

// TestFlowReplyThroughRelay sends a published flow through /messages, lets
// the simulated user complete it (Gupshup's nfm_reply, which only a
// FLOWS_MESSAGE subscription gets) and checks the tenant's webhook receives
// it as Meta's interactive nfm_reply, signed so that three SDKs accept it,
// replying to the id /messages returned.
func TestFlowReplyThroughRelay(t *testing.T) {
	rc := startNodeReceiver(t, metaSecretA, "")
	w := newWorld(t, worldOptions{
		webhookA:  &tenantWebhook{url: rc.url, appSecret: metaSecretA},
		subscribe: true,
	})
	subs := w.sim.Subscriptions(appA)
	if len(subs) != 1 || !subs[0].Has("FLOWS_MESSAGE") || subs[0].Version != 3 {
		t.Fatalf("the proxy's subscription lacks FLOWS_MESSAGE: %+v", subs)
	}
	id := w.createFlow(t, "Feedback", true)
	if a := w.flowPost(t, tokenA, id+"/publish", "", ""); a.status != http.StatusOK {
		t.Fatalf("publish: HTTP %d %s", a.status, a.body)
	}
	send := w.send(t, tokenA, phoneA, `{"messaging_product":"whatsapp","to":"15551234567","type":"interactive","interactive":{"type":"flow",
		"body":{"text":"Tell us"},"action":{"name":"flow","parameters":{"flow_message_version":"3","flow_token":"tok-42","flow_id":"`+id+`","flow_cta":"Open"}}}}`)
	msgID := send.json("messages.0.id").Str
	if send.status != http.StatusOK || msgID == "" {
		t.Fatalf("send: HTTP %d %s", send.status, send.body)
	}
	const response = `{"flow_token":"tok-42","rating":"★★★★★","comment":"très bien"}`
	replyID, err := w.sim.Inbound(appA, gupshupsim.Inbound{From: userNumber, Type: "nfm_reply", Text: response, ContextGsID: msgID})
	if err != nil {
		t.Fatal(err)
	}
	var reply gjson.Result
	pollUntil(t, 15*time.Second, "the flow reply webhook", func() bool {
		for _, p := range rc.posts() {
			if p.Get("message.id").Str == replyID {
				reply = p
				return true
			}
		}
		return false
	})
	assertSDKsAccepted(t, reply, "kapso", "wajs", "great", "ascii", "content_length", "json")
	if reply.Get("message.type").Str != "interactive" || reply.Get("message.from").Str != userNumber {
		t.Errorf("Kapso parsed %s", reply.Get("message").Raw)
	}
	m := gjson.Get(reply.Get("body").Str, "entry.0.changes.0.value.messages.0")
	if m.Get("interactive.type").Str != "nfm_reply" || m.Get("interactive.nfm_reply.name").Str != "flow" ||
		m.Get("interactive.nfm_reply.response_json").Str != response || m.Get("context.id").Str != msgID {
		t.Errorf("flow reply webhook message: %s", m.Raw)
	}
	if m.Get("context.gs_id").Exists() || m.Get("context.meta_msg_id").Exists() {
		t.Errorf("Gupshup's context fields were relayed: %s", m.Raw)
	}
}
