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
	"path/filepath"
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
	wabaA    = "102290129340398"
	wabaB    = "203345678901234"
	sourceA  = "919810012345" // appA's number (display_phone_number)
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
	// app is the wired proxy (Relay, Queue, Upstream… for webhook tests).
	app *app.App
	// cfg is the config it was built from; PublicURL is the proxy's URL.
	cfg *config.Config
	// spoolDir is media.spool_dir, where uploads wait while checked.
	spoolDir string
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

// Webhook identities of the test world: the callback secrets Gupshup's
// subscriptions send for appA/appB, and the admin token.
const (
	cbSecretA  = "cb-secret-app-a"
	cbSecretB  = "cb-secret-app-b"
	adminToken = "admin-token-for-tests"
)

// tenantWebhook is a tenant's webhook endpoint (tenants[].webhook).
type tenantWebhook struct {
	url, appSecret, verifyToken string
	concurrency                 int
}

// worldOptions adjust the config of a world.
type worldOptions struct {
	upstreamURL string        // default: the simulator
	timeout     time.Duration // gupshup.timeout, default 2s
	maxBody     int64
	// maxInFlight and maxBuffered are server.max_in_flight and
	// server.max_buffered_bytes (default: the product's).
	maxInFlight int
	maxBuffered int64

	// webhookA and webhookB give tenant a and b a webhook; with either the
	// relay runs, with fast retries (backoff 20ms..200ms, poll 10ms), its
	// store in t.TempDir() and admin.token adminToken.
	webhookA, webhookB *tenantWebhook
	// horizon is webhooks.horizon (default: the product's, 7 days).
	horizon time.Duration
	// noVerifyOnStart sets webhooks.verify_on_start false.
	noVerifyOnStart bool
	// subscriptionModes is webhooks.subscription_modes (default: the
	// product's).
	subscriptionModes []string
	// subscribe runs App.Subscribe once the proxy listens, pointing the
	// simulator's apps of webhook tenants at the intake (v3).
	subscribe bool

	// Simulator callbacks: StatusSequence (default enqueued, sent,
	// delivered), CallbackInterval (default 5ms), CallbackRetryDelay
	// (default 50ms).
	statusSequence     []string
	callbackInterval   time.Duration
	callbackRetryDelay time.Duration

	// mediaURLTTL is media.url_ttl (default: the product's, 5m).
	mediaURLTTL time.Duration
	// notCAPIA marks appA in the simulator as not on the Cloud API: its
	// media uploads answer 400 "Only CAPI apps allowed to generate media
	// ID".
	notCAPIA bool

	// v2A makes phoneA a send_api v2 number (template/msg, sending number
	// sourceA) with v2 callbacks (callback_version 2).
	v2A bool
	// templates are the simulator's Gupshup templates.
	templates []gupshupsim.Template
}

// webhookYAML renders a tenant's webhook block ("" without one).
func webhookYAML(w *tenantWebhook) string {
	if w == nil {
		return ""
	}
	return fmt.Sprintf("    webhook: {url: %q, app_secret: %q, verify_token: %q, concurrency: %d}\n",
		w.url, w.appSecret, w.verifyToken, w.concurrency)
}

// v2YAML renders phoneA's send_api v2 settings ("" for v3).
func v2YAML(v2 bool) string {
	if !v2 {
		return ""
	}
	return fmt.Sprintf(", send_api: v2, display_phone_number: %q, callback_version: 2", "+"+sourceA)
}

// newWorld starts the simulator and the proxy. Tenant "a" has phoneA on appA
// with a static app token; tenant "b" has phoneB on appB whose token comes
// from partner login.
func newWorld(t *testing.T, o worldOptions) *world {
	t.Helper()
	w := &world{logs: &syncBuffer{}}
	if o.callbackInterval == 0 {
		o.callbackInterval = 5 * time.Millisecond
	}
	if o.callbackRetryDelay == 0 {
		o.callbackRetryDelay = 50 * time.Millisecond
	}
	// The simulator's URL is known before it serves: the media urls of
	// simulated inbound messages point at it.
	w.simTS = httptest.NewUnstartedServer(nil)
	w.sim = gupshupsim.New(gupshupsim.Options{
		Apps: []gupshupsim.App{
			{ID: appA, Name: "AppA", Token: appTokA, NotCAPI: o.notCAPIA, WABAID: wabaA, DisplayPhoneNumber: sourceA},
			{ID: appB, Name: "AppB", WABAID: wabaB},
		},
		Templates:    o.templates,
		PartnerEmail: email, PartnerSecret: secret,
		StatusSequence:     o.statusSequence,
		CallbackInterval:   o.callbackInterval,
		CallbackRetryDelay: o.callbackRetryDelay,
		MediaBaseURL:       "http://" + w.simTS.Listener.Addr().String(),
	})
	w.simTS.Config.Handler = w.sim
	w.simTS.Start()
	t.Cleanup(w.simTS.Close)
	up := o.upstreamURL
	if up == "" {
		up = w.simTS.URL
	}
	if o.timeout == 0 {
		o.timeout = 2 * time.Second
	}
	// The proxy's URL is known before it serves: the config's public_url
	// (the intake URL subscriptions point at) is that URL.
	w.proxy = httptest.NewUnstartedServer(nil)
	publicURL := "http://" + w.proxy.Listener.Addr().String()
	// Every world has its own store file (the media index; with a webhook
	// also the queue).
	relay := fmt.Sprintf(`
webhooks:
  store_path: %q
`, filepath.Join(t.TempDir(), "waproxy.db"))
	if o.webhookA != nil || o.webhookB != nil {
		relay += fmt.Sprintf(`  backoff_base: 20ms
  backoff_max: 200ms
  poll_interval: 10ms
  attempt_timeout: 2s
  verify_on_start: %v
`, !o.noVerifyOnStart)
		if o.horizon != 0 {
			relay += fmt.Sprintf("  horizon: %s\n", o.horizon)
		}
		if len(o.subscriptionModes) > 0 {
			relay += fmt.Sprintf("  subscription_modes: [%s]\n", strings.Join(o.subscriptionModes, ", "))
		}
		relay += fmt.Sprintf("admin: {token: %q}\n", adminToken)
	}
	if o.maxInFlight != 0 || o.maxBuffered != 0 {
		relay += fmt.Sprintf("server: {max_in_flight: %d, max_buffered_bytes: %d}\n", o.maxInFlight, o.maxBuffered)
	}
	// Uploads are spooled in the world's own directory (w.spoolDir).
	w.spoolDir = t.TempDir()
	relay += fmt.Sprintf("media:\n  spool_dir: %q\n", w.spoolDir)
	if o.mediaURLTTL != 0 {
		relay += fmt.Sprintf("  url_ttl: %s\n", o.mediaURLTTL)
	}
	if o.v2A {
		// Short enough for a test to see a refresh, long enough that the
		// few sends a test makes in a row fit in it on a loaded machine.
		relay += "templates: {negative_ttl: 1s, min_refresh: 1s}\n"
	}
	yml := fmt.Sprintf(`
public_url: %q
gupshup:
  base_url: %q
  timeout: %s
  dial_timeout: 500ms
  partner: {email: %q, secret: %q}
max_body_bytes: %d
log_level: debug
%s
tenants:
  - name: a
    tokens: [%q]
%s    phone_numbers:
      - {id: %q, app_id: %q, app_name: AppA, app_token: %q, callback_secret: %q, waba_id: %q%s}
  - name: b
    tokens: ["sha256:%s"]
%s    phone_numbers:
      - {id: %q, app_id: %q, app_name: AppB, callback_secret: %q, waba_id: %q}
`, publicURL, up, o.timeout, email, secret, o.maxBody, relay,
		tokenA, webhookYAML(o.webhookA), phoneA, appA, appTokA, cbSecretA, wabaA, v2YAML(o.v2A),
		sha256hex(tokenB), webhookYAML(o.webhookB), phoneB, appB, cbSecretB, wabaB)
	cfg, err := config.Parse([]byte(yml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("%v\n%s", err, yml)
	}
	w.cfg = cfg
	enc := zap.NewProductionEncoderConfig()
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.AddSync(w.logs), zapcore.DebugLevel))
	a, err := app.Build(cfg, log)
	if err != nil {
		w.proxy.Close()
		t.Fatal(err)
	}
	w.app = a
	t.Cleanup(a.Close)
	w.proxy.Config.Handler = a.Handler
	w.proxy.Start()
	t.Cleanup(w.proxy.Close)
	// Runs first: no callback is posted to a closed proxy.
	t.Cleanup(w.sim.Close)
	if w.proxy.URL != publicURL {
		t.Fatalf("proxy URL %s, public_url %s", w.proxy.URL, publicURL)
	}
	if o.subscribe {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, r := range a.Subscribe(ctx, cfg) {
			if r.Err != nil || r.Action != "created" {
				t.Fatalf("subscribing %s: %s %v", r.AppID, r.Action, r.Err)
			}
		}
	}
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
	return roundTrip(t, req)
}

// roundTrip sends req and reads the whole answer.
func roundTrip(t *testing.T, req *http.Request) answer {
	t.Helper()
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
