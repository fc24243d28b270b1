package config

import (
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
)

// exampleEnv is a complete environment for config.example.yaml.
var exampleEnv = map[string]string{
	"PROXY_PUBLIC_URL":       "https://wa.example.com",
	"PROXY_ADMIN_TOKEN":      "admin-4f1c9a",
	"PROXY_MEDIA_URL_KEY":    "0123456789abcdef0123456789abcdef",
	"GUPSHUP_PARTNER_EMAIL":  "ops@acme.example",
	"GUPSHUP_PARTNER_SECRET": "partner-7d2e",
	"ACME_CLIENT_TOKEN":      "EAAG-acme-client",
	"ACME_PHONE_NUMBER_ID":   "106540352242922",
	"ACME_GUPSHUP_APP_ID":    "bf9ee64c-3d4d-4ac4-8668-732e577007c4",
	"ACME_WABA_ID":           "102290129340398",
	"ACME_WEBHOOK_URL":       "https://hooks.acme.example/whatsapp",
	"ACME_APP_SECRET":        "meta-app-secret-91",
	"ACME_VERIFY_TOKEN":      "verify-3c",
	"ACME_CALLBACK_SECRET":   "callback-e8",
}

// exampleRequired maps each key of config.example.yaml that needs the
// environment to its variable, in file order.
var exampleRequired = [][2]string{
	{"public_url", "PROXY_PUBLIC_URL"},
	{"gupshup.partner.email", "GUPSHUP_PARTNER_EMAIL"},
	{"gupshup.partner.secret", "GUPSHUP_PARTNER_SECRET"},
	{"media.url_key", "PROXY_MEDIA_URL_KEY"},
	{"admin.token", "PROXY_ADMIN_TOKEN"},
	{"tenants[0].tokens[0]", "ACME_CLIENT_TOKEN"},
	{"tenants[0].webhook.url", "ACME_WEBHOOK_URL"},
	{"tenants[0].webhook.app_secret", "ACME_APP_SECRET"},
	{"tenants[0].webhook.verify_token", "ACME_VERIFY_TOKEN"},
	{"tenants[0].phone_numbers[0].id", "ACME_PHONE_NUMBER_ID"},
	{"tenants[0].phone_numbers[0].app_id", "ACME_GUPSHUP_APP_ID"},
	{"tenants[0].phone_numbers[0].callback_secret", "ACME_CALLBACK_SECRET"},
	{"tenants[0].phone_numbers[0].waba_id", "ACME_WABA_ID"},
}

func readExample(t *testing.T) []byte {
	t.Helper()
	raw, err := os.ReadFile("../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestExampleConfigWithItsEnvironment(t *testing.T) {
	t.Parallel()
	cfg, err := Parse(readExample(t), env(exampleEnv))
	if err != nil {
		t.Fatalf("config.example.yaml: %v", err)
	}
	checks := []struct{ key, got, want string }{
		{"gupshup.base_url", cfg.Gupshup.BaseURL, "https://partner.gupshup.io"},
		{"public_url", cfg.PublicURL, "https://wa.example.com"},
		{"listen", cfg.Listen, "127.0.0.1:8080"},
		{"webhooks.store_path", cfg.Webhooks.StorePath, "/var/lib/waproxy/waproxy.db"},
		{"admin.token", cfg.Admin.Token, "admin-4f1c9a"},
		{"media.url_key", cfg.Media.URLKey, exampleEnv["PROXY_MEDIA_URL_KEY"]},
		{"tenants[0].phone_numbers[0].app_token", cfg.Tenants[0].PhoneNumbers[0].AppToken, ""},
		{"debug.pprof_listen", cfg.Debug.PprofListen, ""},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.key, c.got, c.want)
		}
	}
	if keys := cfg.DemoKeys(); len(keys) != 0 {
		t.Errorf("demo values in %q", keys)
	}
}

// The container sets PROXY_LISTEN=0.0.0.0:8080 and PROXY_STORE.
func TestExampleConfigInTheContainer(t *testing.T) {
	t.Parallel()
	e := maps.Clone(exampleEnv)
	e["PROXY_LISTEN"] = "0.0.0.0:8080"
	e["PROXY_STORE"] = "/var/lib/waproxy/waproxy.db"
	cfg, err := Parse(readExample(t), env(e))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "0.0.0.0:8080" || cfg.PublicURL != "https://wa.example.com" {
		t.Errorf("listen %q, public_url %q", cfg.Listen, cfg.PublicURL)
	}
}

// Without its environment the example names every key and variable it
// lacks, in one error; one missing or empty variable names just its key.
func TestExampleConfigWithoutItsEnvironment(t *testing.T) {
	t.Parallel()
	err := parseErr(t, string(readExample(t)), noEnv)
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(exampleRequired) {
		t.Fatalf("%d problems, want %d:\n%s", len(lines), len(exampleRequired), err)
	}
	for i, kv := range exampleRequired {
		if !strings.HasPrefix(lines[i], kv[0]+" (line ") || !strings.Contains(lines[i], "environment variable "+kv[1]+" is not set") {
			t.Errorf("problem %d = %q, want key %s and variable %s", i, lines[i], kv[0], kv[1])
		}
	}
	if got, want := len(exampleEnv), len(exampleRequired); got != want {
		t.Errorf("exampleEnv sets %d variables, the example requires %d", got, want)
	}

	for _, kv := range exampleRequired {
		for _, unset := range []bool{true, false} {
			e := maps.Clone(exampleEnv)
			if unset {
				delete(e, kv[1])
			} else {
				e[kv[1]] = ""
			}
			err := parseErr(t, string(readExample(t)), env(e))
			if !strings.HasPrefix(err.Error(), kv[0]+" (line ") || strings.Contains(err.Error(), "\n") ||
				!strings.Contains(err.Error(), "environment variable "+kv[1]+" is not set") {
				t.Errorf("without %s (unset %v): %v", kv[1], unset, err)
			}
		}
	}
}

// The example's variables are documented in its header.
func TestExampleConfigDocumentsItsVariables(t *testing.T) {
	t.Parallel()
	raw := string(readExample(t))
	header, _, _ := strings.Cut(raw, "\nlisten:")
	for _, v := range slices.Sorted(maps.Keys(exampleEnv)) {
		if !strings.Contains(header, "#   "+v+" ") {
			t.Errorf("the header of config.example.yaml does not list %s", v)
		}
	}
}

// Demo values put into the example's environment are refused too.
func TestExampleConfigRefusesDemoValuesFromTheEnvironment(t *testing.T) {
	t.Parallel()
	e := maps.Clone(exampleEnv)
	e["ACME_CLIENT_TOKEN"] = "demo-token"
	e["GUPSHUP_PARTNER_SECRET"] = "sim-secret"
	err := parseErr(t, string(readExample(t)), env(e))
	if !strings.HasPrefix(err.Error(), "gupshup.partner.secret, tenants[0].tokens[0]: public demo values") {
		t.Errorf("error %q", err)
	}
}
