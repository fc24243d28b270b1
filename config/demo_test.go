package config

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"waproxy/gupshupsim"
)

func TestIsDemoValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value string
		want  bool
	}{
		{"demo-token", true},
		{"demo-app-secret", true},
		{"demo-callback-secret", true},
		{"sim-secret", true},
		{"partner@example.com", true},
		{"sim-app-1", true},
		{"sim-app-42", true},
		{"sk_sim_app_token_1", true},
		{"sk_sim_anything", true},
		{"sha256:" + sha256Hex("demo-token"), true},
		{"sha256:" + strings.ToUpper(sha256Hex("demo-token")), true},
		{"", false},
		{"demo-token-2", false},
		{"Demo-Token", false},
		{"sk_live_abc", false},
		{"app-sim-app-1", false},
		{"partner@example.org", false},
		{"sha256:" + sha256Hex("real-token"), false},
		{"sha256:zz", false},
	}
	for _, tt := range tests {
		if got := IsDemoValue(tt.value); got != tt.want {
			t.Errorf("IsDemoValue(%q) = %v, want %v", tt.value, got, tt.want)
		}
	}
}

// The simulator's built-in defaults are demo values too.
func TestSimulatorDefaultsAreDemoValues(t *testing.T) {
	t.Parallel()
	for _, v := range []string{gupshupsim.DefaultPartnerEmail, gupshupsim.DefaultPartnerSecret} {
		if !IsDemoValue(v) {
			t.Errorf("gupshupsim default %q is not a demo value", v)
		}
	}
}

// realDemo is a file for a real Gupshup that holds a demo value in every
// key that can hold a secret or an app id.
const realDemo = `
gupshup:
  base_url: https://partner.gupshup.io
  partner: {email: partner@example.com, secret: sim-secret}
admin:
  token: demo-token-for-admin
tenants:
  - name: good
    tokens: [real-token]
    phone_numbers: [{id: "1", app_id: real-app, app_token: sk_real}]
  - name: demo
    tokens: [sk_sim_1, "sha256:` + "%s" + `"]
    webhook: {url: "https://hooks.example.com/wa", app_secret: demo-app-secret, verify_token: demo-callback-secret}
    phone_numbers:
      - {id: "2", app_id: sim-app-1, app_token: sk_sim_app_token_1, callback_secret: demo-callback-secret}
`

func TestParseRefusesDemoValuesWithRealGupshup(t *testing.T) {
	t.Parallel()
	raw := strings.Replace(realDemo, "%s", sha256Hex("demo-token"), 1)
	err := parseErr(t, raw, noEnv)
	keys := []string{
		"gupshup.partner.email", "gupshup.partner.secret",
		"tenants[1].tokens[0]", "tenants[1].tokens[1]",
		"tenants[1].phone_numbers[0].app_id", "tenants[1].phone_numbers[0].app_token",
		"tenants[1].phone_numbers[0].callback_secret",
		"tenants[1].webhook.app_secret", "tenants[1].webhook.verify_token",
	}
	if want := strings.Join(keys, ", ") + ": public demo values with a real Gupshup"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q\ndoes not start with %q", err, want)
	}
	for _, secret := range []string{"sim-secret", "demo-app-secret", "sk_sim_app_token_1", "demo-callback-secret"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error repeats the value %q", secret)
		}
	}
	for _, base := range []string{Embedded, "http://127.0.0.1:9090", "http://localhost:9090"} {
		if _, err := Parse([]byte(strings.Replace(raw, "https://partner.gupshup.io", base, 1)), noEnv); err != nil {
			t.Errorf("base_url %s: %v", base, err)
		}
	}
}

// secretKey reports whether a key path names a value that must not be a
// public default with a real Gupshup.
func secretKey(path string) bool {
	i := strings.LastIndexByte(path, '.')
	last, _, _ := strings.Cut(path[i+1:], "[")
	switch last {
	case "tokens", "token", "app_secret", "verify_token", "app_token", "callback_secret",
		"email", "secret", "url_key", "app_id":
		return true
	}
	return false
}

// The shipped config.yaml runs as is with the embedded simulator, is
// refused with a real Gupshup naming each key that still holds a demo
// value, and every default it gives a secret key is a known demo value: a
// new default secret added to config.yaml without adding it to the demo
// list fails here.
func TestShippedConfigDemoValues(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse(raw, noEnv)
	if err != nil {
		t.Fatalf("empty environment: %v", err)
	}
	var secrets []string
	walkStrings(reflect.ValueOf(cfg).Elem(), "", func(path, s string) {
		if s == "" || !secretKey(path) {
			return
		}
		secrets = append(secrets, path)
		if !IsDemoValue(s) {
			t.Errorf("config.yaml: %s has a default that is not in the demo list (config/demo.go)", path)
		}
	})
	if len(secrets) == 0 {
		t.Fatal("no default secrets found in config.yaml: secretKey is out of date")
	}

	_, err = Parse(raw, env(map[string]string{"GUPSHUP_BASE_URL": "https://partner.gupshup.io"}))
	if err == nil {
		t.Fatal("GUPSHUP_BASE_URL=https://partner.gupshup.io: Parse succeeded with the demo values")
	}
	named, _, ok := strings.Cut(err.Error(), ": public demo values")
	if !ok {
		t.Fatalf("error %q is not the demo values refusal", err)
	}
	if got := strings.Split(named, ", "); !slices.Equal(got, secrets) {
		t.Errorf("refusal names %q, want every default secret %q", got, secrets)
	}
}
