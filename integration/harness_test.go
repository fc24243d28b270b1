// Package integration runs the proxy end to end: the router built by the
// same wiring as the proxy command, over real sockets, against the simulated
// Gupshup, with real clients (Go's net/http and Meta SDKs from npm).
package integration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"waproxy/app"
	"waproxy/config"
	"waproxy/gupshupsim"
)

// Fixed identities of the test world.
const (
	tokenA   = "EAAG-tenant-a-client-token"
	tokenB   = "EAAG-tenant-b-client-token"
	phoneA   = "106540352242922"
	phoneB   = "207437372456043"
	appA     = "bf9ee64c-3d4d-4ac4-8668-732e577007c4"
	appB     = "0c5d2c5b-1111-4aaa-9bbb-222222222222"
	appTokA  = "sk_app_a_static_token"
	email    = "partner@example.com"
	secret   = "partner-secret"
	textBody = `{"messaging_product":"whatsapp","recipient_type":"individual","to":"+1 (631) 555-1234","type":"text","text":{"preview_url":false,"body":"héllo 😀"}}`
)

// world is one proxy in front of one simulated Gupshup.
type world struct {
	sim   *gupshupsim.Sim
	simTS *httptest.Server
	proxy *httptest.Server
	logs  *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// worldOptions adjust the config of a world.
type worldOptions struct {
	upstreamURL string        // default: the simulator
	timeout     time.Duration // gupshup.timeout, default 2s
	maxBody     int64
}

// newWorld starts the simulator and the proxy. Tenant "a" has phoneA on appA
// with a static app token; tenant "b" has phoneB on appB whose token comes
// from partner login.
func newWorld(t *testing.T, o worldOptions) *world {
	t.Helper()
	w := &world{logs: &syncBuffer{}}
	w.sim = gupshupsim.New(gupshupsim.Options{
		Apps: []gupshupsim.App{
			{ID: appA, Name: "AppA", Token: appTokA},
			{ID: appB, Name: "AppB"},
		},
		PartnerEmail: email, PartnerSecret: secret,
	})
	w.simTS = httptest.NewServer(w.sim)
	t.Cleanup(w.simTS.Close)
	up := o.upstreamURL
	if up == "" {
		up = w.simTS.URL
	}
	if o.timeout == 0 {
		o.timeout = 2 * time.Second
	}
	yml := fmt.Sprintf(`
gupshup:
  base_url: %q
  timeout: %s
  dial_timeout: 500ms
  partner: {email: %q, secret: %q}
max_body_bytes: %d
log_level: debug
tenants:
  - name: a
    tokens: [%q]
    phone_numbers:
      - {id: %q, app_id: %q, app_name: AppA, app_token: %q}
  - name: b
    tokens: ["sha256:%s"]
    phone_numbers:
      - {id: %q, app_id: %q, app_name: AppB}
`, up, o.timeout, email, secret, o.maxBody, tokenA, phoneA, appA, appTokA, sha256hex(tokenB), phoneB, appB)
	cfg, err := config.Parse([]byte(yml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	enc := zap.NewProductionEncoderConfig()
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.AddSync(w.logs), zapcore.DebugLevel))
	a, err := app.Build(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	w.proxy = httptest.NewServer(a.Handler)
	t.Cleanup(w.proxy.Close)
	return w
}

// answer is a proxy response.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(path string) gjson.Result { return gjson.GetBytes(a.body, path) }

// call sends a request to the proxy.
func (w *world) call(t *testing.T, method, path, contentType, auth string, body []byte) answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, w.proxy.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

// send posts a JSON body to /v23.0/{phone}/messages.
func (w *world) send(t *testing.T, token, phone, body string) answer {
	t.Helper()
	return w.call(t, http.MethodPost, "/v23.0/"+phone+"/messages", "application/json", token, []byte(body))
}

// sends returns what the simulator received on the v3 message endpoint.
func (w *world) sends() []gupshupsim.Request {
	var out []gupshupsim.Request
	for _, r := range w.sim.Requests() {
		if strings.HasSuffix(r.Path, "/v3/message") {
			out = append(out, r)
		}
	}
	return out
}

// assertMetaError checks a Graph error answer.
func assertMetaError(t *testing.T, a answer, status int, code int64) {
	t.Helper()
	if a.status != status || a.json("error.code").Int() != code {
		t.Fatalf("got HTTP %d code %d, want HTTP %d code %d: %s", a.status, a.json("error.code").Int(), status, code, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json; charset=UTF-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if tr := a.json("error.fbtrace_id").Str; tr == "" || tr != a.header.Get("x-fb-trace-id") {
		t.Errorf("fbtrace_id %q does not match x-fb-trace-id %q", tr, a.header.Get("x-fb-trace-id"))
	}
	if a.json("error.type").Str == "" || a.json("error.message").Str == "" {
		t.Errorf("incomplete envelope: %s", a.body)
	}
}
