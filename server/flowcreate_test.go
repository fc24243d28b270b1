package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"waproxy/auth"
	"waproxy/config"
	"waproxy/gupshupsim"
	"waproxy/upstream"
)

const (
	simApp   = "a1b2c3d4-0000-4000-8000-000000000001"
	simToken = "sk_flowtest"
	simWABA  = "104996122399160"
)

// flowWorld is the server in front of the simulated Gupshup.
type flowWorld struct {
	sim *gupshupsim.Sim
	srv *Server
}

func newFlowWorld(t *testing.T) *flowWorld { return newFlowWorldWrapped(t, nil) }

// newFlowWorldWrapped puts wrap (nil: none) between the server and the
// simulator.
func newFlowWorldWrapped(t *testing.T, wrap func(http.Handler) http.Handler) *flowWorld {
	t.Helper()
	sim := gupshupsim.New(gupshupsim.Options{Apps: []gupshupsim.App{{ID: simApp, Name: "App", Token: simToken, WABAID: simWABA}}})
	var h http.Handler = sim
	if wrap != nil {
		h = wrap(sim)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	dir, err := auth.NewDirectory([]config.Tenant{{Name: "t", Tokens: []string{"tok"},
		PhoneNumbers: []config.PhoneNumber{{ID: "100", AppID: simApp, AppToken: simToken, WABAID: simWABA}}}})
	if err != nil {
		t.Fatal(err)
	}
	up := upstream.New(upstream.Config{BaseURL: ts.URL})
	signer, err := auth.NewURLSigner([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	srv := New(Options{Directory: dir, Tokens: auth.NewTokens(nil, auth.TokensConfig{}),
		Flows: &FlowOptions{API: up, Index: openIndex(t, nil, nil),
			Signer: signer, PublicURL: "http://proxy.example"}})
	return &flowWorld{sim: sim, srv: srv}
}

// do sends one request with the tenant's token.
func (w *flowWorld) do(t *testing.T, method, path, body string) (int, []byte) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer tok")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	w.srv.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

const (
	goodFlowJSON = `{"version":"6.0","screens":[{"id":"ONE","title":"One","terminal":true,"layout":{"type":"SingleColumnLayout","children":[]}}]}`
	// badFlowJSON lacks "screens": Gupshup stores it and answers its
	// validation errors.
	badFlowJSON = `{"version":"6.0"}`
)

// TestCreateFlowSteps pins createFlow's answer for each of its steps
// failing: once Gupshup has created the flow the answer is 200 with its id
// (a retried create would only meet "Flow name already exists"), with what
// failed in validation_errors; publish is attempted only after an upload
// without validation errors, as Meta does.
func TestCreateFlowSteps(t *testing.T) {
	tests := []struct {
		name        string
		flowJSON    string // "" sends no flow_json
		publish     bool
		endpointURI string // "" sends no endpoint_uri
		fault       *gupshupsim.Fault
		refuseMeta  bool     // Gupshup refuses the metadata update
		wantSuccess string   // success member ("" for none)
		wantErrors  []string // validation_errors[].error, in order (nil: no validation_errors member)
		wantPublish int      // publish calls reaching Gupshup
		wantStatus  string   // the flow's status at Gupshup
		wantAsset   bool     // Gupshup holds a flow JSON
		wantURI     string   // the flow's endpoint_uri at Gupshup
	}{
		{name: "endpoint_uri, flow JSON and publish: each step done",
			flowJSON: goodFlowJSON, publish: true, endpointURI: "https://example.com/endpoint",
			wantSuccess: "true", wantErrors: []string{}, wantPublish: 1, wantStatus: gupshupsim.FlowPublished, wantAsset: true,
			wantURI: "https://example.com/endpoint"},
		{name: "endpoint_uri refused: the id and the update failure, no upload or publish attempted",
			flowJSON: goodFlowJSON, publish: true, endpointURI: "https://example.com/endpoint", refuseMeta: true,
			wantSuccess: "false", wantErrors: []string{"FLOW_ENDPOINT_URI_UPDATE_FAILED"}, wantStatus: gupshupsim.FlowDraft},
		{name: "valid flow JSON with publish: created, uploaded, published",
			flowJSON: goodFlowJSON, publish: true,
			wantSuccess: "true", wantErrors: []string{}, wantPublish: 1, wantStatus: gupshupsim.FlowPublished, wantAsset: true},
		{name: "flow JSON with validation errors and publish: a draft with its errors, publish not attempted",
			flowJSON: badFlowJSON, publish: true,
			wantSuccess: "true", wantErrors: []string{"MISSING_REQUIRED_PROPERTY"}, wantStatus: gupshupsim.FlowDraft, wantAsset: true},
		{name: "flow JSON with validation errors without publish: a draft with its errors",
			flowJSON:    badFlowJSON,
			wantSuccess: "true", wantErrors: []string{"MISSING_REQUIRED_PROPERTY"}, wantStatus: gupshupsim.FlowDraft, wantAsset: true},
		{name: "publish without flow JSON: only the id, publish not attempted",
			publish:    true,
			wantStatus: gupshupsim.FlowDraft},
		{name: "upload refused by Gupshup: the id and the upload failure, publish not attempted",
			flowJSON: goodFlowJSON, publish: true,
			fault:       &gupshupsim.Fault{PathSuffix: "/assets", Status: 500, Body: `{"status":"error","message":"Internal server error"}`},
			wantSuccess: "false", wantErrors: []string{"FLOW_JSON_UPLOAD_FAILED"}, wantStatus: gupshupsim.FlowDraft},
		{name: "upload cut by the connection: the id and the upload failure, publish not attempted",
			flowJSON: goodFlowJSON, publish: true,
			fault:       &gupshupsim.Fault{PathSuffix: "/assets", Reset: true},
			wantSuccess: "false", wantErrors: []string{"FLOW_JSON_UPLOAD_FAILED"}, wantStatus: gupshupsim.FlowDraft},
		{name: "publish refused after a valid upload: the id and the publish failure",
			flowJSON: goodFlowJSON, publish: true,
			fault:       &gupshupsim.Fault{PathSuffix: "/publish", Status: 400, Body: `{"status":"error","message":"Flow cannot be published right now"}`},
			wantSuccess: "false", wantErrors: []string{"FLOW_PUBLISH_FAILED"}, wantPublish: 1, wantStatus: gupshupsim.FlowDraft, wantAsset: true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newFlowWorldWrapped(t, func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
					if tc.refuseMeta && r.Method == http.MethodPut && !strings.HasSuffix(r.URL.Path, "/assets") {
						rw.Header().Set("Content-Type", "application/json")
						rw.WriteHeader(http.StatusBadRequest)
						_, _ = rw.Write([]byte(`{"status":"error","message":"endpoint_uri is missing/invalid"}`))
						return
					}
					next.ServeHTTP(rw, r)
				})
			})
			if tc.fault != nil {
				w.sim.Inject(*tc.fault)
			}
			name := "flow " + string(rune('a'+i))
			body := `{"name":"` + name + `","categories":["OTHER"]`
			if tc.endpointURI != "" {
				body += `,"endpoint_uri":"` + tc.endpointURI + `"`
			}
			if tc.flowJSON != "" {
				body += `,"flow_json":` + quoteJSON(tc.flowJSON)
			}
			if tc.publish {
				body += `,"publish":true`
			}
			body += "}"
			status, out := w.do(t, http.MethodPost, "/v23.0/"+simWABA+"/flows", body)
			if status != http.StatusOK {
				t.Fatalf("HTTP %d %s", status, out)
			}
			id := gjson.GetBytes(out, "id").Str
			f, ok := w.sim.Flow(simApp, id)
			if !ok || f.Name != name {
				t.Fatalf("answer %s names no flow the simulator holds", out)
			}
			if got := gjson.GetBytes(out, "success").Raw; got != tc.wantSuccess {
				t.Errorf("success %q, want %q: %s", got, tc.wantSuccess, out)
			}
			ve := gjson.GetBytes(out, "validation_errors")
			if tc.wantErrors == nil {
				if ve.Exists() {
					t.Errorf("validation_errors present: %s", out)
				}
			} else {
				var got []string
				for _, it := range ve.Array() {
					got = append(got, it.Get("error").Str)
					if it.Get("message").Str == "" || it.Get("error_type").Str == "" {
						t.Errorf("item without message or error_type: %s", it.Raw)
					}
				}
				if strings.Join(got, ",") != strings.Join(tc.wantErrors, ",") || !ve.IsArray() {
					t.Errorf("validation_errors %s, want errors %v", ve.Raw, tc.wantErrors)
				}
			}
			if n := w.sim.Count("/publish"); n != tc.wantPublish {
				t.Errorf("%d publish calls reached Gupshup, want %d", n, tc.wantPublish)
			}
			if f.Status != tc.wantStatus || (f.Asset != nil) != tc.wantAsset || f.EndpointURI != tc.wantURI {
				t.Errorf("at Gupshup: status %s, asset %q, endpoint_uri %q", f.Status, f.Asset, f.EndpointURI)
			}
			// The flow is the tenant's: the calls that finish the job work
			// with the id the answer gave.
			if status, out := w.do(t, http.MethodGet, "/v23.0/"+id+"?fields=status", ""); status != http.StatusOK ||
				gjson.GetBytes(out, "status").Str != tc.wantStatus {
				t.Errorf("get: HTTP %d %s", status, out)
			}
		})
	}
}

// TestCreateFlowStepFailureMessage pins what the failed step's item says:
// which step, Graph's error and what to call next.
func TestCreateFlowStepFailureMessage(t *testing.T) {
	w := newFlowWorld(t)
	w.sim.Inject(gupshupsim.Fault{PathSuffix: "/publish", Status: 400, Body: `{"status":"error","message":"Flow cannot be published right now"}`})
	status, out := w.do(t, http.MethodPost, "/v23.0/"+simWABA+"/flows",
		`{"name":"x","categories":["OTHER"],"flow_json":`+quoteJSON(goodFlowJSON)+`,"publish":true}`)
	if status != http.StatusOK {
		t.Fatalf("HTTP %d %s", status, out)
	}
	msg := gjson.GetBytes(out, "validation_errors.0.message").Str
	for _, want := range []string{"was not published", "Flow cannot be published right now", "POST /{flow-id}/publish"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	// The publish the answer points at finishes the job.
	id := gjson.GetBytes(out, "id").Str
	if status, out := w.do(t, http.MethodPost, "/v23.0/"+id+"/publish", ""); status != http.StatusOK {
		t.Fatalf("publish: HTTP %d %s", status, out)
	}
	if f, _ := w.sim.Flow(simApp, id); f.Status != gupshupsim.FlowPublished {
		t.Errorf("status %s after the publish", f.Status)
	}
}

// TestCreateFlowRefusedCreate: a create Gupshup refuses leaves nothing,
// so it stays an error.
func TestCreateFlowRefusedCreate(t *testing.T) {
	w := newFlowWorld(t)
	body := `{"name":"twice","categories":["OTHER"]}`
	if status, out := w.do(t, http.MethodPost, "/v23.0/"+simWABA+"/flows", body); status != http.StatusOK {
		t.Fatalf("first create: HTTP %d %s", status, out)
	}
	status, out := w.do(t, http.MethodPost, "/v23.0/"+simWABA+"/flows", body)
	if status/100 == 2 || !gjson.GetBytes(out, "error.code").Exists() || gjson.GetBytes(out, "id").Exists() {
		t.Errorf("second create: HTTP %d %s", status, out)
	}
}

// TestCreateFlowAnswerWithoutID: when Gupshup creates the flow but its
// answer carries no id, the id is found by the flow's name in the app's
// list and the request carries on; when the list fails too, the error says
// the flow was created.
func TestCreateFlowAnswerWithoutID(t *testing.T) {
	tests := []struct {
		name       string
		listFails  bool
		wantStatus int
	}{
		{"the list names the flow: the id, the upload and the publish", false, http.StatusOK},
		{"the list fails: an error", true, http.StatusInternalServerError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newFlowWorldWrapped(t, func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
					if !strings.HasSuffix(r.URL.Path, "/flows") {
						next.ServeHTTP(rw, r)
						return
					}
					if r.Method == http.MethodGet && tc.listFails {
						rw.WriteHeader(http.StatusBadGateway)
						return
					}
					if r.Method == http.MethodPost {
						// Create it, but answer without the id.
						next.ServeHTTP(httptest.NewRecorder(), r)
						rw.Header().Set("Content-Type", "application/json")
						_, _ = rw.Write([]byte(`{"status":"success"}`))
						return
					}
					next.ServeHTTP(rw, r)
				})
			})
			// Another flow first: the list holds more than one.
			if status, out := w.do(t, http.MethodPost, "/v23.0/"+simWABA+"/flows", `{"name":"other","categories":["OTHER"]}`); status != tc.wantStatus {
				t.Fatalf("first create: HTTP %d %s", status, out)
			}
			status, out := w.do(t, http.MethodPost, "/v23.0/"+simWABA+"/flows",
				`{"name":"named","categories":["OTHER"],"flow_json":`+quoteJSON(goodFlowJSON)+`,"publish":true}`)
			if status != tc.wantStatus {
				t.Fatalf("HTTP %d %s", status, out)
			}
			if tc.listFails {
				return
			}
			var want string
			for _, f := range w.sim.Flows(simApp) {
				if f.Name == "named" {
					want = f.ID
				}
			}
			if id := gjson.GetBytes(out, "id").Str; id == "" || id != want {
				t.Fatalf("id %q, the simulator's flow is %q: %s", id, want, out)
			}
			if f, _ := w.sim.Flow(simApp, want); f.Status != gupshupsim.FlowPublished {
				t.Errorf("status %s", f.Status)
			}
		})
	}
}

func quoteJSON(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}
