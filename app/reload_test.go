package app

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"waproxy/config"
)

// reloadConfig renders a config with the embedded simulator, a store in
// dir, tenant "a" (phone 100000000000001, static token) and the extra
// YAML appended under tenants; head goes before the tenants.
func reloadConfig(t *testing.T, dir, head, extraTenants string) *config.Config {
	t.Helper()
	yml := fmt.Sprintf(`
listen: 127.0.0.1:0
%s
gupshup:
  partner: {email: partner@example.com, secret: sim-secret}
webhooks:
  store_path: %q
  verify_on_start: false
tenants:
  - name: a
    tokens: [token-a]
    phone_numbers:
      - {id: "100000000000001", app_id: app-a, app_token: sk_a}
%s`, head, filepath.Join(dir, "store.db"), extraTenants)
	cfg, err := config.Parse([]byte(yml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("%v\n%s", err, yml)
	}
	return cfg
}

const tenantB = `  - name: b
    tokens: [token-b]
    phone_numbers:
      - {id: "100000000000002", app_id: app-b, callback_secret: cb-b}
    webhook: {url: "http://127.0.0.1:1/hook", app_secret: meta-b}
`

func buildForReload(t *testing.T, cfg *config.Config) (*App, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zap.InfoLevel)
	a, err := Build(cfg, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a, logs
}

func send(a *App, token, phone string) int {
	req := httptest.NewRequest(http.MethodPost, "/v23.0/"+phone+"/messages",
		strings.NewReader(`{"messaging_product":"whatsapp","to":"15551234567","type":"text","text":{"body":"hi"}}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	a.Handler.ServeHTTP(w, req)
	return w.Code
}

func intake(a *App, app, secret string) int {
	req := httptest.NewRequest(http.MethodGet, "/gupshup/callbacks/"+app, nil)
	req.Header.Set("X-Waproxy-Secret", secret)
	w := httptest.NewRecorder()
	a.Handler.ServeHTTP(w, req)
	return w.Code
}

// TestReloadAddsAndRemovesTenants runs against the embedded simulator: a
// tenant added by Reload sends at once (the simulator learned its app, its
// token comes from partner login) and its app's callbacks are accepted; a
// removed tenant's token is refused.
func TestReloadAddsAndRemovesTenants(t *testing.T) {
	dir := t.TempDir()
	// Tenant a has a webhook so the relay runs (its phone needs a
	// callback secret then).
	withHook := func(extra string) *config.Config {
		cfg := reloadConfig(t, dir, "", extra)
		cfg.Tenants[0].Webhook = config.TenantWebhook{URL: "http://127.0.0.1:1/hook", AppSecret: "meta-a"}
		cfg.Tenants[0].PhoneNumbers[0].CallbackSecret = "cb-a"
		return cfg
	}
	a, logs := buildForReload(t, withHook(""))
	if got := send(a, "token-b", "100000000000002"); got != http.StatusUnauthorized {
		t.Fatalf("tenant b before the reload: HTTP %d, want 401", got)
	}
	if got := intake(a, "app-b", "cb-b"); got != http.StatusUnauthorized {
		t.Fatalf("app-b's intake before the reload: HTTP %d, want 401", got)
	}
	if err := a.Reload(t.Context(), withHook(tenantB)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name          string
		token, phone  string
		want          int
		app, cbSecret string
		wantIntake    int
	}{
		{"added tenant sends", "token-b", "100000000000002", http.StatusOK, "app-b", "cb-b", http.StatusOK},
		{"old tenant still sends", "token-a", "100000000000001", http.StatusOK, "app-a", "cb-a", http.StatusOK},
		{"a tenant's token on another's number", "token-a", "100000000000002", http.StatusBadRequest, "", "", 0},
	}
	for _, tt := range tests {
		if got := send(a, tt.token, tt.phone); got != tt.want {
			t.Errorf("%s: HTTP %d, want %d", tt.name, got, tt.want)
		}
		if tt.app != "" {
			if got := intake(a, tt.app, tt.cbSecret); got != tt.wantIntake {
				t.Errorf("%s: intake HTTP %d, want %d", tt.name, got, tt.wantIntake)
			}
		}
	}
	line := logs.FilterMessage("config reloaded").All()
	if len(line) != 1 {
		t.Fatalf("%d 'config reloaded' lines", len(line))
	}
	f := line[0].ContextMap()
	if f["tenants"] != int64(2) || f["phone_numbers"] != int64(2) || f["webhook_tenants"] != int64(2) {
		t.Errorf("reload counts %v", f)
	}
	if n := logs.FilterMessage("config changes that need a restart were not applied").Len(); n != 0 {
		t.Errorf("a tenants-only change logged %d restart warnings", n)
	}

	// Remove b again.
	if err := a.Reload(t.Context(), withHook("")); err != nil {
		t.Fatal(err)
	}
	if got := send(a, "token-b", "100000000000002"); got != http.StatusUnauthorized {
		t.Errorf("removed tenant: HTTP %d, want 401", got)
	}
	if got := intake(a, "app-b", "cb-b"); got != http.StatusUnauthorized {
		t.Errorf("removed tenant's intake: HTTP %d, want 401", got)
	}
}

// TestReloadStaticTokenReachesTheSimulator: a rotated static app token is
// what the proxy sends, and the embedded simulator accepts it.
func TestReloadStaticTokenReachesTheSimulator(t *testing.T) {
	dir := t.TempDir()
	a, _ := buildForReload(t, reloadConfig(t, dir, "", ""))
	next := reloadConfig(t, dir, "", "")
	next.Tenants[0].PhoneNumbers[0].AppToken = "sk_a_rotated"
	if err := a.Reload(t.Context(), next); err != nil {
		t.Fatal(err)
	}
	if got := send(a, "token-a", "100000000000001"); got != http.StatusOK {
		t.Errorf("send after the token rotation: HTTP %d", got)
	}
	if got := a.Simulator.AppToken("app-a"); got != "sk_a_rotated" {
		t.Errorf("simulator's token %q", got)
	}
}

// TestReloadLogsWhatNeedsARestart: keys read once at start-up keep their
// running value, are named in a warning, and the tenants still apply.
func TestReloadLogsWhatNeedsARestart(t *testing.T) {
	dir := t.TempDir()
	a, logs := buildForReload(t, reloadConfig(t, dir, "", ""))
	next := reloadConfig(t, dir, "server: {shutdown_grace: 3s}\nmax_body_bytes: 10", tenantB)
	next.Listen = "127.0.0.1:9"
	if err := a.Reload(t.Context(), next); err != nil {
		t.Fatal(err)
	}
	w := logs.FilterMessage("config changes that need a restart were not applied").All()
	if len(w) != 1 {
		t.Fatalf("%d restart warnings", len(w))
	}
	var keys []string
	for _, k := range w[0].ContextMap()["keys"].([]any) {
		keys = append(keys, k.(string))
	}
	// The relay was off at start-up (no tenant had a webhook): b's webhook
	// needs a restart, b's numbers and tokens do not.
	want := []string{"listen", "max_body_bytes", "server.shutdown_grace",
		"tenants[].webhook (the webhook relay was off at start-up)"}
	if !slices.Equal(keys, want) {
		t.Errorf("restart keys %q, want %q", keys, want)
	}
	if a.cfg.Listen != "127.0.0.1:0" || a.cfg.Server.ShutdownGrace != reloadConfig(t, dir, "", "").Server.ShutdownGrace {
		t.Errorf("the config in force took keys that need a restart: listen %s grace %s", a.cfg.Listen, a.cfg.Server.ShutdownGrace)
	}
	if got := send(a, "token-b", "100000000000002"); got != http.StatusOK {
		t.Errorf("b's send after a reload with restart keys: HTTP %d", got)
	}
}

func TestRestartKeys(t *testing.T) {
	base := func() *config.Config {
		return reloadConfig(t, "/tmp/x", "", "")
	}
	tests := []struct {
		name   string
		change func(c *config.Config)
		want   []string
	}{
		{"nothing", func(*config.Config) {}, nil},
		{"tenants and credentials are reloadable", func(c *config.Config) {
			c.Tenants = append(c.Tenants, config.Tenant{Name: "z"})
			c.Gupshup.Partner.Secret = "other"
			c.Gupshup.AppTokenTTL = 1
			c.Gupshup.PartnerTokenTTL = 1
		}, nil},
		{"listeners", func(c *config.Config) { c.TLS.Listen = ":8443"; c.Debug.PprofListen = ":6060" },
			[]string{"tls.listen", "debug.pprof_listen"}},
		{"store and upstream", func(c *config.Config) { c.Webhooks.StorePath = "other.db"; c.Gupshup.BaseURL = "http://x" },
			[]string{"gupshup.base_url", "webhooks.store_path"}},
		{"global webhook settings", func(c *config.Config) { c.Webhooks.AllowIPs = []string{"10.0.0.0/8"} },
			[]string{"webhooks.allow_ips"}},
	}
	for _, tt := range tests {
		next := base()
		tt.change(next)
		if got := restartKeys(base(), next); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestReloadConcurrentWithSends: tenant a sends and gets callbacks while
// the config flips between with and without tenant b; a never fails.
func TestReloadConcurrentWithSends(t *testing.T) {
	dir := t.TempDir()
	// Tenant a has a webhook, so the relay runs and its intake is
	// exercised too.
	cfgWith := func(extra string) *config.Config {
		cfg := reloadConfig(t, dir, "", extra)
		cfg.Tenants[0].Webhook = config.TenantWebhook{URL: "http://127.0.0.1:1/hook", AppSecret: "meta-a"}
		cfg.Tenants[0].PhoneNumbers[0].CallbackSecret = "cb-a"
		return cfg
	}
	a, _ := buildForReload(t, cfgWith(""))
	with, without := cfgWith(tenantB), cfgWith("")
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var failed sync.Map
	for range 3 {
		wg.Go(func() {
			for ctx.Err() == nil {
				if got := send(a, "token-a", "100000000000001"); got != http.StatusOK {
					failed.Store(fmt.Sprint("send ", got), true)
				}
			}
		})
	}
	wg.Go(func() {
		for ctx.Err() == nil {
			if got := intake(a, "app-a", "cb-a"); got != http.StatusOK {
				failed.Store(fmt.Sprint("intake ", got), true)
			}
		}
	})
	for i := range 20 {
		cfg := without
		if i%2 == 0 {
			cfg = with
		}
		if err := a.Reload(t.Context(), cfg); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	wg.Wait()
	failed.Range(func(k, _ any) bool {
		t.Errorf("a request of the unchanged tenant got %v during reloads", k)
		return true
	})
}

// TestReloadNamesNewTenantsInMetrics: the tenant label takes the names of
// the config in force, so a tenant added by a reload gets series of its
// own and a removed one counts as metrics.OtherTenant.
func TestReloadNamesNewTenantsInMetrics(t *testing.T) {
	dir := t.TempDir()
	a, _ := buildForReload(t, reloadConfig(t, dir, "", ""))
	scrape := func() string {
		w := httptest.NewRecorder()
		a.Metrics.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		return w.Body.String()
	}
	steps := []struct {
		name   string
		extra  string
		want   string // a retry series the scrape must show
		absent string
	}{
		{"before the reload b is not a tenant", "", `waproxy_webhook_retries_total{tenant="_other"} 1`, `tenant="b"`},
		{"after adding b its name is a label", tenantB, `waproxy_webhook_retries_total{tenant="b"} 1`, ""},
		{"after removing b it counts as _other again", "", `waproxy_webhook_retries_total{tenant="_other"} 2`, ""},
	}
	for _, st := range steps {
		if err := a.Reload(t.Context(), reloadConfig(t, dir, "", st.extra)); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		a.Metrics.WebhookRetry("b")
		got := scrape()
		if !strings.Contains(got, st.want) {
			t.Errorf("%s: scrape lacks %s", st.name, st.want)
		}
		if st.absent != "" && strings.Contains(got, st.absent) {
			t.Errorf("%s: scrape has %s", st.name, st.absent)
		}
	}
}
