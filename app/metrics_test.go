package app

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.uber.org/zap"

	"waproxy/config"
)

// Secrets and client input in the config and requests below: none may
// show in a metric.
const (
	tokAcme        = "tok-acme-SECRET"
	appTokenAcme   = "sk_app_token_SECRET"
	callbackSecret = "callback-SECRET"
	appSecret      = "app-secret-SECRET"
	verifyToken    = "verify-SECRET"
	partnerSecret  = "partner-SECRET"
	hookPath       = "/hook-SECRET-path"
	rawPathSegment = "raw-client-SEGMENT"
)

func metricsConfig(t *testing.T, hookURL, metricsListen string) *config.Config {
	t.Helper()
	yml := fmt.Sprintf(`
gupshup:
  base_url: embedded
  partner: {email: partner@example.com, secret: %q}
webhooks:
  store_path: %q
  verify_on_start: false
metrics:
  listen: %q
media:
  spool_dir: %q
tenants:
  - name: acme
    tokens: [%q]
    webhook: {url: %q, app_secret: %q, verify_token: %q}
    phone_numbers:
      - {id: "555000111", app_id: app-1, app_name: AppOne, app_token: %q, callback_secret: %q}
  - name: globex
    tokens: [tok-globex-SECRET]
    phone_numbers:
      - {id: "200", app_id: app-2, app_name: AppTwo, app_token: sk_two_SECRET}
`, partnerSecret, filepath.Join(t.TempDir(), "waproxy.db"), metricsListen, t.TempDir(),
		tokAcme, hookURL+hookPath, appSecret, verifyToken, appTokenAcme, callbackSecret)
	cfg, err := config.Parse([]byte(yml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

var tenantLabel = regexp.MustCompile(`tenant="([^"]*)"`)

// TestMetricLabelsAreConfigNames pins the audit of label values: every
// tenant label is a configured tenant's name, and no secret, token, URL or
// raw request path of the config or of the requests shows in /metrics.
func TestMetricLabelsAreConfigNames(t *testing.T) {
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer hook.Close()
	a, err := Build(metricsConfig(t, hook.URL, ""), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for _, r := range []struct{ method, path, token string }{
		{"POST", "/v23.0/555000111/messages", tokAcme},
		{"POST", "/v23.0/" + rawPathSegment + "/messages", tokAcme},
		{"GET", "/" + rawPathSegment, "Bearer-" + rawPathSegment},
		{"POST", "/gupshup/callbacks/" + rawPathSegment, ""},
		{"GET", "/v23.0/" + rawPathSegment + "/" + rawPathSegment + "/x", ""},
	} {
		req := httptest.NewRequest(r.method, r.path, strings.NewReader(
			`{"messaging_product":"whatsapp","to":"919970123444","type":"text","text":{"body":"hi"}}`))
		req.Header.Set("Authorization", "Bearer "+r.token)
		req.Header.Set("X-Request-Id", rawPathSegment)
		a.Handler.ServeHTTP(httptest.NewRecorder(), req)
	}
	w := httptest.NewRecorder()
	a.Handler.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	body := w.Body.String()
	if w.Code != 200 || !strings.Contains(body, `waproxy_webhook_queue_depth{tenant="acme"}`) {
		t.Fatalf("GET /metrics: HTTP %d, no acme queue depth:\n%.2000s", w.Code, body)
	}
	for _, m := range tenantLabel.FindAllStringSubmatch(body, -1) {
		if m[1] != "acme" && m[1] != "globex" {
			t.Errorf("tenant label %q is not a configured tenant's name", m[1])
		}
	}
	for _, never := range []string{"SECRET", "SEGMENT", hook.URL, "app-1", "555000111"} {
		if strings.Contains(body, never) {
			t.Errorf("/metrics shows %q: %s", never, regexp.MustCompile(".*"+regexp.QuoteMeta(never)+".*").FindString(body))
		}
	}
}

// TestMetricsListenMovesMetrics pins the wiring of metrics.listen: the
// API handler no longer serves /metrics (Graph's unknown-path error) and
// App.Metrics does.
func TestMetricsListenMovesMetrics(t *testing.T) {
	a, err := Build(metricsConfig(t, "http://127.0.0.1:1", "127.0.0.1:0"), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	w := httptest.NewRecorder()
	a.Handler.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if w.Code != 400 || !strings.Contains(w.Body.String(), "Unknown path components") {
		t.Errorf("API GET /metrics: HTTP %d %s", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	a.Metrics.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if w.Code != 200 || !strings.Contains(w.Body.String(), `waproxy_requests_total{route="/metrics",status="400"} 1`) {
		t.Errorf("metrics handler: HTTP %d %.500s", w.Code, w.Body)
	}
}
