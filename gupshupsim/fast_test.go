package gupshupsim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const fastWant = `{"messaging_product":"whatsapp","contacts":[{"input":"15551234567","wa_id":"15551234567"}],"messages":[{"id":"5f3d6c1e-8a2b-4c7d-9e0f-1a2b3c4d5e6f"}]}`

func fastModeOptions() Options {
	o := fastOptions() // short callback intervals, so a stray callback would show
	o.Fast = true
	return o
}

func TestFastAnswersSendsUnchecked(t *testing.T) {
	sim, srv := startSim(t, fastModeOptions())
	t.Cleanup(sim.Close)
	rc := newReceiver(t)
	createSub(t, srv.URL, "url", rc.URL, "tag", "bench", "version", "3", "modes", "ENQUEUED,SENT,DELIVERED,READ")
	sim.Inject(Fault{Status: 500, Body: `{"status":"error"}`}) // faults do not apply to fast sends

	metaJSON := map[string]string{"Content-Type": "application/json"}
	tests := []struct {
		name   string
		path   string
		header map[string]string
		body   string
	}{
		{"v3 form without auth", "/partner/app/" + testAppID + "/v3/message", formHeader,
			formBody("messaging_product", "whatsapp", "to", "919876543210", "type", "text", "text", `{"body":"hi"}`)},
		{"v3 json with a wrong token", "/partner/app/" + testAppID + "/v3/message",
			map[string]string{"Authorization": "sk_wrong", "Content-Type": "application/json"},
			`{"messaging_product":"whatsapp","to":"919876543210","type":"text","text":{"body":"hi"}}`},
		{"v3 unknown app, magic destination", "/partner/app/no-such-app/v3/message", metaJSON,
			`{"messaging_product":"whatsapp","to":"91` + SuffixNotOnWhatsApp + `","type":"text","text":{"body":"hi"}}`},
		{"v3 garbage body", "/partner/app/" + testAppID + "/v3/message", nil, "not json at all"},
		{"v3 empty body", "/partner/app/" + testAppID + "/v3/message", nil, ""},
		{"meta path", "/v23.0/100000000000001/messages", metaJSON,
			`{"messaging_product":"whatsapp","to":"15551234567","type":"text","text":{"body":"hi"}}`},
		{"meta path, any version", "/v99.9/123/messages", metaJSON, `{}`},
		{"large body", "/v23.0/100000000000001/messages", metaJSON, `{"pad":"` + strings.Repeat("x", 1<<20) + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := doRequest(t, nil, "POST", srv.URL+tt.path, tt.header, tt.body)
			r.check(t, 200, fastWant)
			if cl := r.header.Get("Content-Length"); cl != "150" {
				t.Errorf("Content-Length = %q, want 150", cl)
			}
			var a struct {
				MessagingProduct string `json:"messaging_product"`
				Contacts         []struct{ Input, WaID string }
				Messages         []struct{ ID string }
			}
			if err := json.Unmarshal(r.body, &a); err != nil || a.MessagingProduct != "whatsapp" ||
				len(a.Messages) != 1 || a.Messages[0].ID != FastMessageID {
				t.Errorf("answer %s: %v", r.body, err)
			}
		})
	}
	// Only the subscription call was recorded; the fault is still queued,
	// and no callback was emitted.
	if n := sim.Count("/v3/message"); n != 0 {
		t.Errorf("recorded %d v3 sends, want 0", n)
	}
	if n := sim.Count("/messages"); n != 0 {
		t.Errorf("recorded %d Meta sends, want 0", n)
	}
	if n := len(sim.Requests()); n != 1 {
		t.Errorf("recorded %d requests, want 1 (the subscription)", n)
	}
	rc.quiet(t, sim, 0)
	if cbs := sim.Callbacks(); len(cbs) != 0 {
		t.Errorf("callbacks = %d, want 0", len(cbs))
	}
	doRequest(t, nil, "GET", srv.URL+"/healthz", nil, "").check(t, 500, `{"status":"error"}`)
}

func TestFastLeavesOtherRequestsAlone(t *testing.T) {
	sim, srv := startSim(t, fastModeOptions())
	t.Cleanup(sim.Close)
	tests := []struct {
		method, path string
		header       map[string]string
		body         string
		status       int
		want         string
	}{
		// Not POST: the usual routing.
		{"GET", "/partner/app/" + testAppID + "/v3/message", nil, "", 405, errJSON(msgMethodNotAllowed)},
		{"PUT", "/v23.0/100000000000001/messages", nil, "{}", 404, errJSON(msgNotFound)},
		// Not a send path.
		{"POST", "/partner/app/" + testAppID + "/v3/message/extra", nil, "", 404, errJSON(msgNotFound)},
		{"POST", "/partner/app//v3/message", nil, "", 404, errJSON(msgNotFound)},
		{"POST", "/100000000000001/messages", nil, "{}", 404, errJSON(msgNotFound)},
		{"POST", "/a/b/c/messages", nil, "{}", 404, errJSON(msgNotFound)},
		// Other endpoints still authenticate.
		{"POST", "/partner/app/" + testAppID + "/v1/event", nil, "{}", 401, ""},
	}
	for _, tt := range tests {
		r := doRequest(t, nil, tt.method, srv.URL+tt.path, tt.header, tt.body)
		if r.status != tt.status || (tt.want != "" && string(r.body) != tt.want) {
			t.Errorf("%s %s = %d %s, want %d %s", tt.method, tt.path, r.status, r.body, tt.status, tt.want)
		}
	}
	if tok := login(t, srv.URL); tok == "" {
		t.Error("login gave no token")
	}
}

func TestFastOffByDefault(t *testing.T) {
	_, srv := startSim(t, testOptions())
	r := doRequest(t, nil, "POST", srv.URL+"/v23.0/100000000000001/messages",
		map[string]string{"Content-Type": "application/json"}, `{}`)
	if r.status != 404 {
		t.Errorf("Meta path without Fast = %d %s, want 404", r.status, r.body)
	}
	r = doRequest(t, nil, "POST", sendURL(srv.URL, testAppID), formHeader, formBody("to", "919876543210"))
	if r.status != 401 {
		t.Errorf("v3 send without auth and Fast = %d %s, want 401", r.status, r.body)
	}
}

func TestIsFastPath(t *testing.T) {
	for path, want := range map[string]bool{
		"/partner/app/a/v3/message":     true,
		"/partner/app/a/v3/message/":    false,
		"/partner/app/a/b/v3/message":   false,
		"/partner/app//v3/message":      false,
		"/partner/app/a/v1/event":       false,
		"/v23.0/1/messages":             true,
		"/x/y/messages":                 true,
		"/1/messages":                   false,
		"//1/messages":                  false,
		"/v23.0//messages":              false,
		"/v23.0/1/2/messages":           false,
		"/messages":                     false,
		"messages":                      false,
		"/partner/app/a/v3/messages":    false,
		"/partner/app/a/v3/message?x=1": false,
	} {
		if got := isFastPath(path); got != want {
			t.Errorf("isFastPath(%q) = %v, want %v", path, got, want)
		}
	}
}

// discardWriter is a ResponseWriter that keeps nothing but its header map.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

// rewindBody is a request body that can be read again after Reset.
type rewindBody struct{ strings.Reader }

func (*rewindBody) Close() error { return nil }

func TestFastDoesNotAllocate(t *testing.T) {
	sim := New(fastModeOptions())
	t.Cleanup(sim.Close)
	const payload = `{"messaging_product":"whatsapp","to":"15551234567","type":"text","text":{"body":"hi"}}`
	body := &rewindBody{}
	req := httptest.NewRequest("POST", "/partner/app/"+testAppID+"/v3/message", nil)
	req.Body = body
	w := &discardWriter{h: http.Header{}}
	allocs := testing.AllocsPerRun(200, func() {
		body.Reset(payload)
		sim.ServeHTTP(w, req)
	})
	if allocs > 0 {
		t.Errorf("fast send allocates %.1f times, want 0", allocs)
	}
	if got, _ := io.ReadAll(body); len(got) != 0 {
		t.Errorf("body not drained: %d bytes left", len(got))
	}
}

func BenchmarkFastSend(b *testing.B) {
	sim := New(Options{Fast: true, DisableCallbacks: true})
	defer sim.Close()
	const payload = `{"messaging_product":"whatsapp","to":"15551234567","type":"text","text":{"body":"hi"}}`
	body := &rewindBody{}
	req := httptest.NewRequest("POST", "/v23.0/100000000000001/messages", nil)
	req.Body = body
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		body.Reset(payload)
		sim.ServeHTTP(w, req)
	}
}
