package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// noEnv is an environment in which nothing is set.
func noEnv(string) (string, bool) { return "", false }

// env returns a lookup over m.
func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func sha256Hex(s string) string {
	d := sha256.Sum256([]byte(s))
	return hex.EncodeToString(d[:])
}

// minimal is the smallest valid file: one tenant, one static-token phone.
const minimal = `
tenants:
  - name: acme
    tokens: [tok-acme]
    phone_numbers:
      - id: "111"
        app_id: app-1
        app_token: sk_1
`

func mustParse(t *testing.T, raw string, lookup func(string) (string, bool)) *Config {
	t.Helper()
	cfg, err := Parse([]byte(raw), lookup)
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, raw)
	}
	return cfg
}

func parseErr(t *testing.T, raw string, lookup func(string) (string, bool)) error {
	t.Helper()
	cfg, err := Parse([]byte(raw), lookup)
	if err == nil {
		t.Fatalf("Parse succeeded (%+v), want error\n%s", cfg, raw)
	}
	return err
}

func wantErrContains(t *testing.T, err error, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not contain %q", err, p)
		}
	}
}

func TestParseExpandsEnvironment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		raw   string
		env   map[string]string
		check func(*Config) (got, want any)
	}{
		{
			name: "set variable replaces whole value",
			raw: `
tenants:
  - name: acme
    tokens: ["${TOK}"]
    phone_numbers: [{id: "111", app_id: app-1, app_token: sk_1}]
`,
			env:   map[string]string{"TOK": "secret-token"},
			check: func(c *Config) (any, any) { return c.Tenants[0].Tokens[0], "secret-token" },
		},
		{
			name:  "unset variable takes the default",
			raw:   "listen: ${LISTEN:-0.0.0.0:9090}\n" + minimal,
			check: func(c *Config) (any, any) { return c.Listen, "0.0.0.0:9090" },
		},
		{
			name:  "set variable wins over the default",
			raw:   "listen: ${LISTEN:-0.0.0.0:9090}\n" + minimal,
			env:   map[string]string{"LISTEN": "10.0.0.1:80"},
			check: func(c *Config) (any, any) { return c.Listen, "10.0.0.1:80" },
		},
		{
			name:  "empty variable takes the default",
			raw:   "listen: ${LISTEN:-0.0.0.0:9090}\n" + minimal,
			env:   map[string]string{"LISTEN": ""},
			check: func(c *Config) (any, any) { return c.Listen, "0.0.0.0:9090" },
		},
		{
			name:  "empty default expands to nothing",
			raw:   "public_url: http://h${SUFFIX:-}/p\n" + minimal,
			check: func(c *Config) (any, any) { return c.PublicURL, "http://h/p" },
		},
		{
			name:  "reference inside a longer string",
			raw:   "public_url: https://${HOST}:8443/base/\n" + minimal,
			env:   map[string]string{"HOST": "proxy.example"},
			check: func(c *Config) (any, any) { return c.PublicURL, "https://proxy.example:8443/base" },
		},
		{
			name:  "several references in one value",
			raw:   "public_url: ${SCHEME:-http}://${HOST}:${PORT:-80}\n" + minimal,
			env:   map[string]string{"HOST": "h", "PORT": "81"},
			check: func(c *Config) (any, any) { return c.PublicURL, "http://h:81" },
		},
		{
			name: "default may hold colons and slashes",
			raw: `
gupshup:
  base_url: ${GUPSHUP_URL:-https://partner.gupshup.io/}
` + minimal,
			check: func(c *Config) (any, any) { return c.Gupshup.BaseURL, "https://partner.gupshup.io" },
		},
		{
			name: "expanded value is not expanded again",
			raw: `
tenants:
  - name: acme
    tokens: ["t-${A}"]
    phone_numbers: [{id: "111", app_id: app-1, app_token: sk_1}]
`,
			env:   map[string]string{"A": "${B}", "B": "wrong"},
			check: func(c *Config) (any, any) { return c.Tenants[0].Tokens[0], "t-${B}" },
		},
		{
			name:  "dollar without braces is literal",
			raw:   "public_url: http://h/$HOME/a$\n" + minimal,
			env:   map[string]string{"HOME": "wrong"},
			check: func(c *Config) (any, any) { return c.PublicURL, "http://h/$HOME/a$" },
		},
		{
			name: "numeric-looking value stays a string",
			raw: `
tenants:
  - name: ${NAME}
    tokens:
      - ${TOK}
    phone_numbers:
      - id: ${PHONE}
        app_id: ${APP}
        app_token: sk_1
`,
			env: map[string]string{"NAME": "true", "TOK": "0012", "PHONE": "15550001111", "APP": "1e3"},
			check: func(c *Config) (any, any) {
				return []string{c.Tenants[0].Name, c.Tenants[0].Tokens[0], c.Tenants[0].PhoneNumbers[0].ID, c.Tenants[0].PhoneNumbers[0].AppID},
					[]string{"true", "0012", "15550001111", "1e3"}
			},
		},
		{
			name: "quoted numeric-looking value stays a string",
			raw: `
tenants:
  - name: "${NAME}"
    tokens: ["${TOK}"]
    phone_numbers: [{id: "${PHONE}", app_id: '${APP}', app_token: sk_1}]
`,
			env: map[string]string{"NAME": "yes", "TOK": "0x1F", "PHONE": "+15550001111", "APP": "12.50"},
			check: func(c *Config) (any, any) {
				return []string{c.Tenants[0].Name, c.Tenants[0].Tokens[0], c.Tenants[0].PhoneNumbers[0].ID, c.Tenants[0].PhoneNumbers[0].AppID},
					[]string{"yes", "0x1F", "+15550001111", "12.50"}
			},
		},
		{
			name: "quoted reference stays a string even for null-like text",
			raw: `
tenants:
  - name: "${NAME}"
    tokens: ["${TOK}"]
    phone_numbers: [{id: "111", app_id: "${APP}", app_token: sk_1}]
`,
			env: map[string]string{"NAME": "null", "TOK": "~", "APP": "false"},
			check: func(c *Config) (any, any) {
				return []string{c.Tenants[0].Name, c.Tenants[0].Tokens[0], c.Tenants[0].PhoneNumbers[0].AppID},
					[]string{"null", "~", "false"}
			},
		},
		{
			name: "value with yaml syntax characters stays one string",
			raw: `
gupshup:
  partner:
    email: ${EMAIL}
    secret: ${SECRET}
` + minimal,
			env: map[string]string{"EMAIL": "a@b.c", "SECRET": `x: y # "z" [1, {2}] *a &b`},
			check: func(c *Config) (any, any) {
				return c.Gupshup.Partner, PartnerConfig{Email: "a@b.c", Secret: `x: y # "z" [1, {2}] *a &b`}
			},
		},
		{
			name: "duration from the environment",
			raw: `
gupshup:
  timeout: ${UPSTREAM_TIMEOUT:-250ms}
` + minimal,
			check: func(c *Config) (any, any) { return c.Gupshup.Timeout, 250 * time.Millisecond },
		},
		{
			name:  "integer from the environment",
			raw:   "max_body_bytes: ${MAX_BODY:-2048}\n" + minimal,
			check: func(c *Config) (any, any) { return c.MaxBodyBytes, int64(2048) },
		},
		{
			name: "integer from a set variable",
			raw: `
gupshup:
  max_conns_per_host: ${MAX_CONNS}
` + minimal,
			env:   map[string]string{"MAX_CONNS": "64"},
			check: func(c *Config) (any, any) { return c.Gupshup.MaxConnsPerHost, 64 },
		},
		{
			name: "boolean from the environment",
			raw: `
translate:
  normalize_template_buttons: ${NORMALIZE:-false}
` + minimal,
			check: func(c *Config) (any, any) { return c.Translate.NormalizeTemplateButtonsOrDefault(), false },
		},
		{
			name: "sequence items are expanded",
			raw: `
tenants:
  - name: acme
    tokens: ["${T1}", "${T2:-second}"]
    phone_numbers: [{id: "111", app_id: app-1, app_token: sk_1}]
`,
			env:   map[string]string{"T1": "first"},
			check: func(c *Config) (any, any) { return c.Tenants[0].Tokens, []string{"first", "second"} },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := Parse([]byte(tt.raw), env(tt.env))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got, want := tt.check(cfg)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %#v, want %#v", got, want)
			}
		})
	}
}

func TestParseUnsetVariableNamesKeyAndVariable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		raw      string
		env      map[string]string
		wantKey  string
		wantVar  string
		wantLine string
	}{
		{
			name:     "top-level key",
			raw:      "listen: ${LISTEN_ADDR}\n" + minimal,
			wantKey:  "listen",
			wantVar:  "LISTEN_ADDR",
			wantLine: "line 1",
		},
		{
			name: "nested mapping key",
			raw: `gupshup:
  partner:
    email: p@example.com
    secret: ${PARTNER_SECRET}
` + minimal,
			wantKey:  "gupshup.partner.secret",
			wantVar:  "PARTNER_SECRET",
			wantLine: "line 4",
		},
		{
			name: "token in a tenant's sequence",
			raw: `tenants:
  - name: acme
    tokens:
      - "${ACME_TOKEN}"
    phone_numbers: [{id: "111", app_id: app-1, app_token: sk_1}]
`,
			wantKey:  "tenants[0].tokens[0]",
			wantVar:  "ACME_TOKEN",
			wantLine: "line 4",
		},
		{
			name: "second token of second tenant",
			raw: `tenants:
  - name: a
    tokens: [ta]
    phone_numbers: [{id: "1", app_id: x, app_token: sk}]
  - name: b
    tokens: [tb, "${B_TOKEN_2}"]
    phone_numbers: [{id: "2", app_id: y, app_token: sk}]
`,
			wantKey:  "tenants[1].tokens[1]",
			wantVar:  "B_TOKEN_2",
			wantLine: "line 6",
		},
		{
			name: "phone number app token",
			raw: `tenants:
  - name: a
    tokens: [ta]
    phone_numbers:
      - id: "1"
        app_id: x
        app_token: sk
      - id: "2"
        app_id: y
        app_token: ${APP_TOKEN_2}
`,
			wantKey:  "tenants[0].phone_numbers[1].app_token",
			wantVar:  "APP_TOKEN_2",
			wantLine: "line 10",
		},
		{
			name:     "unset variable inside a longer string",
			raw:      "public_url: https://${PUBLIC_HOST}/x\n" + minimal,
			wantKey:  "public_url",
			wantVar:  "PUBLIC_HOST",
			wantLine: "line 1",
		},
		{
			name:     "first unset variable of several is named",
			raw:      "public_url: ${SCHEME:-http}://${HOST_A}${HOST_B}\n" + minimal,
			wantKey:  "public_url",
			wantVar:  "HOST_A",
			wantLine: "line 1",
		},
		{
			name:     "variable set to empty without default",
			raw:      "listen: ${LISTEN_ADDR}\n" + minimal,
			env:      map[string]string{"LISTEN_ADDR": ""},
			wantKey:  "listen",
			wantVar:  "LISTEN_ADDR",
			wantLine: "line 1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := parseErr(t, tt.raw, env(tt.env))
			if !strings.HasPrefix(err.Error(), tt.wantKey+" ") {
				t.Errorf("error %q does not start with key %q", err, tt.wantKey)
			}
			wantErrContains(t, err, "environment variable "+tt.wantVar+" is not set", tt.wantLine)
		})
	}
}

func TestParseRejectsUnknownKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		raw  string
		key  string
		line string
	}{
		{"top level", "lissten: x\n" + minimal, "lissten", "line 1"},
		{"server", "server:\n  read_timout: 5s\n" + minimal, "server.read_timout", "line 2"},
		{"gupshup", "gupshup:\n  baseurl: http://x\n" + minimal, "gupshup.baseurl", "line 2"},
		{"gupshup partner", "gupshup:\n  partner:\n    password: x\n" + minimal, "gupshup.partner.password", "line 3"},
		{"translate", "translate:\n  normalize_buttons: true\n" + minimal, "translate.normalize_buttons", "line 2"},
		{"tenant", `
tenants:
  - name: acme
    token: [x]
    tokens: [tok]
    phone_numbers: [{id: "1", app_id: a, app_token: sk}]
`, "tenants[0].token", "line 4"},
		{"phone number of second tenant", `
tenants:
  - name: acme
    tokens: [tok]
    phone_numbers: [{id: "1", app_id: a, app_token: sk}]
  - name: beta
    tokens: [tok2]
    phone_numbers:
      - id: "2"
        app_id: b
        apptoken: sk
`, "tenants[1].phone_numbers[0].apptoken", "line 11"},
		{"unknown key whose value uses the environment", "extra: ${NOPE:-x}\n" + minimal, "extra", "line 1"},
		{"unknown key after comments and blank lines", "\n\n# comment\n\nlisten: x\n\n\nbogus: 1\n" + minimal, "bogus", "line 8"},
		{"key of a wrong case", "Listen: x\n" + minimal, "Listen", "line 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := parseErr(t, tt.raw, noEnv)
			wantErrContains(t, err, `"`+tt.key+`"`, tt.line)
		})
	}
}

// Type errors must point at the line of the file the operator wrote, like
// the environment errors do, even when blank lines and comments precede it.
func TestParseDecodeErrorsReportSourceLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		raw      string
		wantLine string
	}{
		{
			name:     "bad duration after blank lines",
			raw:      "listen: x\n\n\n\ngupshup:\n\n  timeout: soon\n" + minimal,
			wantLine: "line 7:",
		},
		{
			name:     "bad integer in a tenant after comments",
			raw:      "# head\n\nmax_body_bytes: lots\n" + minimal,
			wantLine: "line 3:",
		},
		{
			name:     "expanded value of the wrong type",
			raw:      "\n\ngupshup:\n  max_conns_per_host: ${CONNS:-unlimited}\n" + minimal,
			wantLine: "line 4:",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := parseErr(t, tt.raw, noEnv)
			wantErrContains(t, err, tt.wantLine)
		})
	}
}

func TestParseRequiresValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		raw  string
		want string
	}{
		{"empty file", "", "tenants: at least one tenant is required"},
		{"comments only", "# nothing\n", "tenants: at least one tenant is required"},
		{"no tenants key", "listen: 127.0.0.1:1\n", "tenants: at least one tenant is required"},
		{"empty tenants list", "tenants: []\n", "tenants: at least one tenant is required"},
		{"tenant name", `
tenants:
  - tokens: [t]
    phone_numbers: [{id: "1", app_id: a, app_token: sk}]
`, "tenants[0].name: required"},
		{"tenant name of second tenant", `
tenants:
  - name: a
    tokens: [t]
    phone_numbers: [{id: "1", app_id: a, app_token: sk}]
  - name: ""
    tokens: [u]
    phone_numbers: [{id: "2", app_id: a, app_token: sk}]
`, "tenants[1].name: required"},
		{"tokens", `
tenants:
  - name: a
    phone_numbers: [{id: "1", app_id: a, app_token: sk}]
`, "tenants[0].tokens: at least one token is required"},
		{"empty tokens list", `
tenants:
  - name: a
    tokens: []
    phone_numbers: [{id: "1", app_id: a, app_token: sk}]
`, "tenants[0].tokens: at least one token is required"},
		{"empty token", `
tenants:
  - name: a
    tokens: [t, ""]
    phone_numbers: [{id: "1", app_id: a, app_token: sk}]
`, "tenants[0].tokens[1]: empty token"},
		{"token expanding to the empty default", `
tenants:
  - name: a
    tokens: ["${T:-}"]
    phone_numbers: [{id: "1", app_id: a, app_token: sk}]
`, "tenants[0].tokens[0]: empty token"},
		{"phone_numbers", `
tenants:
  - name: a
    tokens: [t]
`, "tenants[0].phone_numbers: at least one phone number is required"},
		{"phone id", `
tenants:
  - name: a
    tokens: [t]
    phone_numbers: [{id: "1", app_id: a, app_token: sk}, {app_id: a, app_token: sk}]
`, "tenants[0].phone_numbers[1].id: required"},
		{"app_id", `
tenants:
  - name: a
    tokens: [t]
    phone_numbers: [{id: "1", app_token: sk}]
`, "tenants[0].phone_numbers[0].app_id: required"},
		{"app_token without partner credentials", `
tenants:
  - name: a
    tokens: [t]
    phone_numbers: [{id: "1", app_id: a}]
`, "tenants[0].phone_numbers[0].app_token: required unless gupshup.partner.email and gupshup.partner.secret are set"},
		{"app_token with partner email only", `
gupshup:
  partner:
    email: p@example.com
tenants:
  - name: a
    tokens: [t]
    phone_numbers: [{id: "1", app_id: a}]
`, "tenants[0].phone_numbers[0].app_token: required"},
		{"app_token with partner secret only", `
gupshup:
  partner:
    secret: s
tenants:
  - name: a
    tokens: [t]
    phone_numbers: [{id: "1", app_id: a}]
`, "tenants[0].phone_numbers[0].app_token: required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := parseErr(t, tt.raw, noEnv)
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error %q, want prefix %q", err, tt.want)
			}
		})
	}
}

func TestParsePartnerCredentialsReplaceAppToken(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, `
gupshup:
  partner:
    email: p@example.com
    secret: s
tenants:
  - name: a
    tokens: [t]
    phone_numbers: [{id: "1", app_id: app-a}]
`, noEnv)
	if got := cfg.Tenants[0].PhoneNumbers[0]; got != (PhoneNumber{ID: "1", AppID: "app-a", SendAPI: "v3", CallbackVersion: 3}) {
		t.Errorf("phone = %+v", got)
	}
	if got := cfg.Gupshup.Partner; got != (PartnerConfig{Email: "p@example.com", Secret: "s"}) {
		t.Errorf("partner = %+v", got)
	}
}

func TestParseRejectsBadWebhookSettings(t *testing.T) {
	t.Parallel()
	tenant := func(webhook, phoneExtra string) string {
		return "tenants:\n  - name: a\n    tokens: [t1]\n" + webhook +
			"    phone_numbers: [{id: \"1\", app_id: a, app_token: sk" + phoneExtra + "}]\n"
	}
	tests := []struct {
		name string
		raw  string
		want string
	}{
		{"webhook url without app secret",
			tenant("    webhook: {url: \"https://h.example.com/wa\"}\n", ", callback_secret: s"),
			"tenants[0].webhook.app_secret: required with url"},
		{"webhook url not absolute",
			tenant("    webhook: {url: \"/wa\", app_secret: x}\n", ", callback_secret: s"),
			`tenants[0].webhook.url: "/wa" must be an absolute http(s) URL`},
		{"webhook url with another scheme",
			tenant("    webhook: {url: \"ftp://h/wa\", app_secret: x}\n", ", callback_secret: s"),
			"must be an absolute http(s) URL"},
		{"phone without callback secret when the tenant has a webhook",
			tenant("    webhook: {url: \"https://h.example.com/wa\", app_secret: x}\n", ""),
			"tenants[0].phone_numbers[0].callback_secret: required when the tenant has a webhook url"},
		{"negative tenant concurrency",
			tenant("    webhook: {url: \"https://h.example.com/wa\", app_secret: x, concurrency: -1}\n", ", callback_secret: s"),
			"tenants[0].webhook.concurrency: must be positive"},
		{"allow_ips entry that is no address",
			"webhooks: {allow_ips: [\"10.0.0.0/8\", \"gupshup\"]}\n" + tenant("", ""),
			`webhooks.allow_ips[1]: "gupshup" is neither an IP nor a CIDR`},
		{"secret header with a space",
			"webhooks: {secret_header: \"X Secret\"}\n" + tenant("", ""),
			`webhooks.secret_header: "X Secret" is not a valid header name`},
		{"media url key too short",
			"media: {url_key: short}\n" + tenant("", ""),
			"media.url_key: must be at least 32 characters"},
		{"backoff max below base",
			"webhooks: {backoff_base: 1m, backoff_max: 1s}\n" + tenant("", ""),
			"webhooks.backoff_max: must not be below backoff_base"},
		{"one app behind two numbers", `
tenants:
  - name: a
    tokens: [t1]
    phone_numbers: [{id: "1", app_id: same, app_token: sk}, {id: "2", app_id: same, app_token: sk}]
`, "tenants[0].phone_numbers[1].app_id: app same is already mapped to phone number 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := parseErr(t, tt.raw, noEnv)
			wantErrContains(t, err, tt.want)
		})
	}
}

func TestParseRejectsDuplicates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		raw  string
		want string
	}{
		{"tenant names", `
tenants:
  - name: acme
    tokens: [t1]
    phone_numbers: [{id: "1", app_id: a, app_token: sk}]
  - name: acme
    tokens: [t2]
    phone_numbers: [{id: "2", app_id: a, app_token: sk}]
`, `tenants[1].name: duplicate tenant "acme"`},
		{"phone id across tenants", `
tenants:
  - name: a
    tokens: [t1]
    phone_numbers: [{id: "100", app_id: a, app_token: sk}]
  - name: b
    tokens: [t2]
    phone_numbers: [{id: "200", app_id: b, app_token: sk}, {id: "100", app_id: c, app_token: sk}]
`, `tenants[1].phone_numbers[1].id: phone number 100 already belongs to tenant "a"`},
		{"phone id within one tenant", `
tenants:
  - name: a
    tokens: [t1]
    phone_numbers: [{id: "100", app_id: a, app_token: sk}, {id: "100", app_id: b, app_token: sk}]
`, `tenants[0].phone_numbers[1].id: phone number 100 already belongs to tenant "a"`},
		{"same plain token in two tenants", `
tenants:
  - name: a
    tokens: [shared]
    phone_numbers: [{id: "1", app_id: a, app_token: sk}]
  - name: b
    tokens: [own, shared]
    phone_numbers: [{id: "2", app_id: b, app_token: sk}]
`, `tenants[1].tokens[1]: token already used by tenant "a"`},
		{"plain token and its sha256 in two tenants", `
tenants:
  - name: a
    tokens: [shared]
    phone_numbers: [{id: "1", app_id: a, app_token: sk}]
  - name: b
    tokens: ["sha256:` + sha256Hex("shared") + `"]
    phone_numbers: [{id: "2", app_id: b, app_token: sk}]
`, `tenants[1].tokens[0]: token already used by tenant "a"`},
		{"sha256 then plain in two tenants", `
tenants:
  - name: a
    tokens: ["sha256:` + strings.ToUpper(sha256Hex("shared")) + `"]
    phone_numbers: [{id: "1", app_id: a, app_token: sk}]
  - name: b
    tokens: [shared]
    phone_numbers: [{id: "2", app_id: b, app_token: sk}]
`, `tenants[1].tokens[0]: token already used by tenant "a"`},
		{"same token twice in one tenant", `
tenants:
  - name: a
    tokens: [t, t]
    phone_numbers: [{id: "1", app_id: a, app_token: sk}]
`, `tenants[0].tokens[1]: token already used by tenant "a"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := parseErr(t, tt.raw, noEnv)
			if err.Error() != tt.want {
				t.Errorf("error %q, want %q", err, tt.want)
			}
		})
	}
}

func TestParseRejectsBadValues(t *testing.T) {
	t.Parallel()
	tokenCfg := func(tok string) string {
		return `
tenants:
  - name: a
    tokens: ["` + tok + `"]
    phone_numbers: [{id: "1", app_id: a, app_token: sk}]
`
	}
	phoneCfg := func(extra string) string {
		return `
tenants:
  - name: a
    tokens: [t]
    phone_numbers: [{id: "1", app_id: a, app_token: sk, ` + extra + `}]
`
	}
	tests := []struct {
		name string
		raw  string
		want []string
	}{
		{"sha256 token not hex", tokenCfg("sha256:" + strings.Repeat("zz", 32)),
			[]string{"tenants[0].tokens[0]", "64 hex digits"}},
		{"sha256 token too short", tokenCfg("sha256:" + sha256Hex("x")[:62]),
			[]string{"tenants[0].tokens[0]", "64 hex digits"}},
		{"sha256 token too long", tokenCfg("sha256:" + sha256Hex("x") + "00"),
			[]string{"tenants[0].tokens[0]", "64 hex digits"}},
		{"sha256 token empty digest", tokenCfg("sha256:"),
			[]string{"tenants[0].tokens[0]", "64 hex digits"}},
		{"log level unknown", "log_level: verbose\n" + minimal,
			[]string{"log_level", `"verbose"`}},
		{"log level upper case", "log_level: INFO\n" + minimal,
			[]string{"log_level", `"INFO"`}},
		{"base url without scheme", "gupshup:\n  base_url: partner.gupshup.io\n" + minimal,
			[]string{"gupshup.base_url", `"partner.gupshup.io"`}},
		{"base url other scheme", "gupshup:\n  base_url: ftp://partner.gupshup.io\n" + minimal,
			[]string{"gupshup.base_url", `"ftp://partner.gupshup.io"`}},
		{"base url Embedded in other case", "gupshup:\n  base_url: Embedded\n" + minimal,
			[]string{"gupshup.base_url"}},
		{"media host with a scheme", "gupshup:\n  media_hosts: [\"https://filemanager.gupshup.io\"]\n" + minimal,
			[]string{"gupshup.media_hosts[0]", `"https://filemanager.gupshup.io"`}},
		{"media host bare wildcard", "gupshup:\n  media_hosts: [filemanager.gupshup.io, \"*\"]\n" + minimal,
			[]string{"gupshup.media_hosts[1]", `"*"`}},
		{"media host wildcard on a top-level domain", "gupshup:\n  media_hosts: [\"*.io\"]\n" + minimal,
			[]string{"gupshup.media_hosts[0]"}},
		{"media host with a port", "gupshup:\n  media_hosts: [\"filemanager.gupshup.io:443\"]\n" + minimal,
			[]string{"gupshup.media_hosts[0]"}},
		{"negative shutdown delay", "server:\n  shutdown_delay: -1s\n" + minimal,
			[]string{"server.shutdown_delay", "negative"}},
		{"negative max body", "max_body_bytes: -1\n" + minimal,
			[]string{"max_body_bytes"}},
		{"negative max in flight", "server:\n  max_in_flight: -1\n" + minimal,
			[]string{"server.max_in_flight"}},
		{"buffered bytes below max body", "max_body_bytes: 8388608\nserver:\n  max_buffered_bytes: 4194304\n" + minimal,
			[]string{"server.max_buffered_bytes", "max_body_bytes (8388608)"}},
		{"buffered bytes below a callback", "server:\n  max_buffered_bytes: 1048576\n" + minimal,
			[]string{"server.max_buffered_bytes", "3145728"}},
		{"duration without unit", "gupshup:\n  timeout: 15\n" + minimal,
			[]string{"time.Duration"}},
		{"duration in words", "server:\n  read_timeout: 15 seconds\n" + minimal,
			[]string{"time.Duration"}},
		{"integer field given text", "gupshup:\n  max_idle_conns_per_host: many\n" + minimal,
			[]string{"many"}},
		{"malformed yaml", "listen: [unclosed\n" + minimal,
			[]string{"yaml"}},
		{"tenants not a list", "tenants: acme\n",
			[]string{"acme", "[]config.Tenant"}},
		{"send_api unknown", phoneCfg("send_api: v4, display_phone_number: '919999999999', app_name: A"),
			[]string{"tenants[0].phone_numbers[0].send_api", `"v4"`}},
		{"send_api v2 without the sending number", phoneCfg("send_api: v2, app_name: A"),
			[]string{"tenants[0].phone_numbers[0].display_phone_number", "required with send_api v2"}},
		{"send_api v2 with a number too short to have a country code", phoneCfg("send_api: v2, app_name: A, display_phone_number: '+91 12'"),
			[]string{"tenants[0].phone_numbers[0].display_phone_number"}},
		{"send_api v2 without the app name", phoneCfg("send_api: v2, display_phone_number: '919999999999'"),
			[]string{"tenants[0].phone_numbers[0].app_name", "src.name"}},
		{"callback version 1", phoneCfg("callback_version: 1"),
			[]string{"tenants[0].phone_numbers[0].callback_version", "1"}},
		{"v2 button params unknown", "translate:\n  v2_button_params: drop\n" + minimal,
			[]string{"translate.v2_button_params", `"drop"`}},
		{"negative template cache ttl", "templates:\n  cache_ttl: -1s\n" + minimal,
			[]string{"templates.cache_ttl"}},
		{"pprof address without a port", "debug:\n  pprof_listen: localhost\n" + minimal,
			[]string{"debug.pprof_listen", "host:port"}},
		{"pprof on the API's address", "listen: 127.0.0.1:9000\ndebug:\n  pprof_listen: 127.0.0.1:9000\n" + minimal,
			[]string{"debug.pprof_listen", "already the API's address"}},
		{"metrics address without a port", "metrics:\n  listen: localhost\n" + minimal,
			[]string{"metrics.listen", "host:port"}},
		{"metrics address with a port out of range", "metrics:\n  listen: 127.0.0.1:65536\n" + minimal,
			[]string{"metrics.listen", "port number from 0 to 65535"}},
		{"metrics address with a named port", "metrics:\n  listen: 127.0.0.1:http\n" + minimal,
			[]string{"metrics.listen", "port number from 0 to 65535"}},
		{"metrics on the API's address", "listen: 127.0.0.1:9000\nmetrics:\n  listen: 127.0.0.1:9000\n" + minimal,
			[]string{"metrics.listen", "already the API's address"}},
		{"metrics on the default API address", "metrics:\n  listen: 127.0.0.1:8080\n" + minimal,
			[]string{"metrics.listen", "already the API's address"}},
		{"metrics on pprof's address", "debug:\n  pprof_listen: 127.0.0.1:6060\nmetrics:\n  listen: 127.0.0.1:6060\n" + minimal,
			[]string{"metrics.listen", "debug.pprof_listen"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := parseErr(t, tt.raw, noEnv)
			wantErrContains(t, err, tt.want...)
		})
	}
}

func TestParseAppliesDocumentedDefaults(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, minimal, noEnv)
	want := Config{
		Listen:       "127.0.0.1:8080",
		PublicURL:    "http://127.0.0.1:8080",
		LogLevel:     "info",
		MaxBodyBytes: 1048576,
		Server: ServerConfig{
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      60 * time.Second,
			IdleTimeout:       120 * time.Second,
			ShutdownGrace:     20 * time.Second,
			MaxInFlight:       1024,
			MaxBufferedBytes:  64 << 20,
		},
		Gupshup: GupshupConfig{
			BaseURL:             Embedded,
			Timeout:             15 * time.Second,
			DialTimeout:         5 * time.Second,
			MaxConnsPerHost:     0,
			MaxIdleConnsPerHost: 256,
			AppTokenTTL:         22 * time.Hour,
			PartnerTokenTTL:     22 * time.Hour,
			MediaHosts:          []string{"filemanager.gupshup.io"},
		},
		Webhooks: WebhooksConfig{
			StorePath:         "waproxy.db",
			SecretHeader:      "X-Waproxy-Secret",
			DedupWindow:       24 * time.Hour,
			IDMapTTL:          7 * 24 * time.Hour,
			AttemptTimeout:    10 * time.Second,
			Horizon:           7 * 24 * time.Hour,
			BackoffBase:       time.Second,
			BackoffMax:        time.Hour,
			Concurrency:       16,
			PollInterval:      250 * time.Millisecond,
			SubscriptionTag:   "waproxy",
			SubscriptionModes: []string{"MESSAGE", "FLOWS_MESSAGE", "ENQUEUED", "SENT", "DELIVERED", "READ", "FAILED", "DELETED"},
		},
		Media: MediaConfig{URLTTL: 5 * time.Minute, CacheBytes: 64 << 20, CacheItemBytes: 16 << 20, CacheTTL: 10 * time.Minute,
			TransferTimeout: 10 * time.Minute},
		Translate: TranslateConfig{V2ButtonParams: "append"},
		Templates: TemplatesConfig{CacheTTL: 10 * time.Minute, NegativeTTL: time.Minute, MinRefresh: 6 * time.Second},
		Tenants: []Tenant{{
			Name:         "acme",
			Tokens:       []string{"tok-acme"},
			PhoneNumbers: []PhoneNumber{{ID: "111", AppID: "app-1", AppToken: "sk_1", SendAPI: "v3", CallbackVersion: 3}},
		}},
	}
	if !reflect.DeepEqual(*cfg, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", *cfg, want)
	}
	if !cfg.Translate.NormalizeTemplateButtonsOrDefault() {
		t.Error("NormalizeTemplateButtonsOrDefault() = false, want true by default")
	}
	if !cfg.Webhooks.StatusIDFromGsIDOrDefault() || !cfg.Webhooks.VerifyOnStartOrDefault() {
		t.Error("status_id_from_gs_id and verify_on_start must default to true")
	}
}

func TestParseMetricsListen(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ raw, want string }{
		{minimal, ""}, // default: /metrics on the API's listeners
		{"metrics:\n  listen: 127.0.0.1:9090\n" + minimal, "127.0.0.1:9090"},
		{"metrics:\n  listen: \":9090\"\n" + minimal, ":9090"},
		{"metrics:\n  listen: \"[::1]:0\"\n" + minimal, "[::1]:0"},
		// Any free port for both: no collision.
		{"listen: 127.0.0.1:0\nmetrics:\n  listen: 127.0.0.1:0\n" + minimal, "127.0.0.1:0"},
	} {
		if got := mustParse(t, tc.raw, noEnv).Metrics.Listen; got != tc.want {
			t.Errorf("metrics.listen = %q, want %q", got, tc.want)
		}
	}
}

func TestParseKeepsExplicitValues(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, `
listen: 0.0.0.0:9000
public_url: https://wa.example.com/
log_level: debug
max_body_bytes: 4096
server:
  read_header_timeout: 1s
  read_timeout: 2s
  write_timeout: 3s
  idle_timeout: 4s
  shutdown_grace: 1m30s
  shutdown_delay: 10s
  max_in_flight: 7
  max_buffered_bytes: 4194304
gupshup:
  base_url: https://partner.gupshup.io/
  timeout: 250ms
  dial_timeout: 100ms
  max_conns_per_host: 10
  max_idle_conns_per_host: 20
  partner:
    email: p@example.com
    secret: s
  app_token_ttl: 1h
  partner_token_ttl: 2h
  media_hosts: ["filemanager.gupshup.io", "*.gupshup.io"]
translate:
  normalize_template_buttons: false
  v2_button_params: reject
webhooks:
  store_path: /var/lib/waproxy/q.db
  secret_header: X-Cb-Secret
  allow_ips: ["10.0.0.0/8", "192.0.2.7"]
  status_id_from_gs_id: false
  forward_fields: [billing-event]
  dedup_window: 1h
  id_map_ttl: 2h
  attempt_timeout: 3s
  horizon: 48h
  backoff_base: 2s
  backoff_max: 10m
  concurrency: 9
  poll_interval: 1s
  verify_on_start: false
  subscription_tag: mine
  subscription_modes: [MESSAGE, SENT]
admin:
  token: adm
media:
  url_key: 0123456789abcdef0123456789abcdef
  url_ttl: 1m
  cache_bytes: 1000
  cache_item_bytes: 100
  cache_ttl: 1h
  spool_dir: /var/tmp
  transfer_timeout: 1m
templates:
  cache_ttl: 2m
  negative_ttl: 5s
  min_refresh: 30s
tenants:
  - name: acme
    tokens: [tok]
    webhook:
      url: https://hooks.example.com/wa
      app_secret: shh
      verify_token: vt
      concurrency: 2
    phone_numbers:
      - id: "111"
        app_id: app-1
        app_name: Acme
        callback_secret: cbs
        waba_id: "222"
        display_phone_number: "15550001111"
        send_api: v2
        sandbox: true
        callback_version: 2
`, noEnv)
	f := false
	want := Config{
		Listen:       "0.0.0.0:9000",
		PublicURL:    "https://wa.example.com",
		LogLevel:     "debug",
		MaxBodyBytes: 4096,
		Server: ServerConfig{
			ReadHeaderTimeout: time.Second,
			ReadTimeout:       2 * time.Second,
			WriteTimeout:      3 * time.Second,
			IdleTimeout:       4 * time.Second,
			ShutdownGrace:     90 * time.Second,
			ShutdownDelay:     10 * time.Second,
			MaxInFlight:       7,
			MaxBufferedBytes:  4 << 20,
		},
		Gupshup: GupshupConfig{
			BaseURL:             "https://partner.gupshup.io",
			Timeout:             250 * time.Millisecond,
			DialTimeout:         100 * time.Millisecond,
			MaxConnsPerHost:     10,
			MaxIdleConnsPerHost: 20,
			Partner:             PartnerConfig{Email: "p@example.com", Secret: "s"},
			AppTokenTTL:         time.Hour,
			PartnerTokenTTL:     2 * time.Hour,
			MediaHosts:          []string{"filemanager.gupshup.io", "*.gupshup.io"},
		},
		Translate: TranslateConfig{NormalizeTemplateButtons: &f, V2ButtonParams: "reject"},
		Templates: TemplatesConfig{CacheTTL: 2 * time.Minute, NegativeTTL: 5 * time.Second, MinRefresh: 30 * time.Second},
		Webhooks: WebhooksConfig{
			StorePath:         "/var/lib/waproxy/q.db",
			SecretHeader:      "X-Cb-Secret",
			AllowIPs:          []string{"10.0.0.0/8", "192.0.2.7"},
			StatusIDFromGsID:  &f,
			ForwardFields:     []string{"billing-event"},
			DedupWindow:       time.Hour,
			IDMapTTL:          2 * time.Hour,
			AttemptTimeout:    3 * time.Second,
			Horizon:           48 * time.Hour,
			BackoffBase:       2 * time.Second,
			BackoffMax:        10 * time.Minute,
			Concurrency:       9,
			PollInterval:      time.Second,
			VerifyOnStart:     &f,
			SubscriptionTag:   "mine",
			SubscriptionModes: []string{"MESSAGE", "SENT"},
		},
		Admin: AdminConfig{Token: "adm"},
		Media: MediaConfig{URLKey: "0123456789abcdef0123456789abcdef", URLTTL: time.Minute,
			CacheBytes: 1000, CacheItemBytes: 100, CacheTTL: time.Hour, SpoolDir: "/var/tmp", TransferTimeout: time.Minute},
		Tenants: []Tenant{{
			Name:    "acme",
			Tokens:  []string{"tok"},
			Webhook: TenantWebhook{URL: "https://hooks.example.com/wa", AppSecret: "shh", VerifyToken: "vt", Concurrency: 2},
			PhoneNumbers: []PhoneNumber{{ID: "111", AppID: "app-1", AppName: "Acme",
				CallbackSecret: "cbs", WABAID: "222", DisplayPhoneNumber: "15550001111", SendAPI: "v2", Sandbox: true, CallbackVersion: 2}},
		}},
	}
	if !reflect.DeepEqual(*cfg, want) {
		t.Errorf("explicit values:\n got %+v\nwant %+v", *cfg, want)
	}
}

func TestParseDurations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"15s", 15 * time.Second},
		{"250ms", 250 * time.Millisecond},
		{"1m30s", 90 * time.Second},
		{"2h", 2 * time.Hour},
		{"1h0m0.5s", time.Hour + 500*time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			t.Parallel()
			cfg := mustParse(t, "server:\n  idle_timeout: "+tt.value+"\ngupshup:\n  app_token_ttl: "+tt.value+"\n"+minimal, noEnv)
			if cfg.Server.IdleTimeout != tt.want || cfg.Gupshup.AppTokenTTL != tt.want {
				t.Errorf("idle_timeout=%v app_token_ttl=%v, want %v", cfg.Server.IdleTimeout, cfg.Gupshup.AppTokenTTL, tt.want)
			}
		})
	}
}

func TestParsePublicURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		head string
		want string
	}{
		{"derived from default listen", "", "http://127.0.0.1:8080"},
		{"all interfaces with the simulator: loopback", "listen: 0.0.0.0:9999\n", "http://127.0.0.1:9999"},
		{"derived from explicit listen", "listen: 10.1.2.3:9999\n", "http://10.1.2.3:9999"},
		{"explicit wins over listen", "listen: 0.0.0.0:9999\npublic_url: https://wa.example.com\n", "https://wa.example.com"},
		{"trailing slash trimmed", "public_url: https://wa.example.com/\n", "https://wa.example.com"},
		{"several trailing slashes trimmed", "public_url: https://wa.example.com/proxy///\n", "https://wa.example.com/proxy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := mustParse(t, tt.head+minimal, noEnv)
			if cfg.PublicURL != tt.want {
				t.Errorf("PublicURL = %q, want %q", cfg.PublicURL, tt.want)
			}
		})
	}
}

func TestParseBaseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value string
		want  string
	}{
		{"embedded", Embedded},
		{"http://127.0.0.1:9000", "http://127.0.0.1:9000"},
		{"https://partner.gupshup.io/", "https://partner.gupshup.io"},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			t.Parallel()
			cfg := mustParse(t, "gupshup:\n  base_url: "+tt.value+"\n"+minimal, noEnv)
			if cfg.Gupshup.BaseURL != tt.want {
				t.Errorf("BaseURL = %q, want %q", cfg.Gupshup.BaseURL, tt.want)
			}
		})
	}
}

// TestParseMediaHosts: left out, the documented Gupshup media host; an
// explicit empty list means base_url's host only.
func TestParseMediaHosts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, raw string
		want      []string
	}{
		{"default", minimal, []string{"filemanager.gupshup.io"}},
		{"empty list", "gupshup:\n  media_hosts: []\n" + minimal, []string{}},
		{"entries kept as written", "gupshup:\n  media_hosts: [\"*.gupshup.io\", media.example.com]\n" + minimal,
			[]string{"*.gupshup.io", "media.example.com"}},
	}
	for _, tt := range tests {
		got := mustParse(t, tt.raw, noEnv).Gupshup.MediaHosts
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: media_hosts = %#v, want %#v", tt.name, got, tt.want)
		}
	}
}

func TestParseLogLevels(t *testing.T) {
	t.Parallel()
	for _, level := range []string{"debug", "info", "warn", "error"} {
		t.Run(level, func(t *testing.T) {
			t.Parallel()
			if got := mustParse(t, "log_level: "+level+"\n"+minimal, noEnv).LogLevel; got != level {
				t.Errorf("LogLevel = %q, want %q", got, level)
			}
		})
	}
}

func TestNormalizeTemplateButtons(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		head    string
		wantPtr bool
		want    bool
	}{
		{"absent defaults to true", "", false, true},
		{"explicit true", "translate:\n  normalize_template_buttons: true\n", true, true},
		{"explicit false", "translate:\n  normalize_template_buttons: false\n", true, false},
		{"empty translate section defaults to true", "translate: {}\n", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := mustParse(t, tt.head+minimal, noEnv)
			if (cfg.Translate.NormalizeTemplateButtons != nil) != tt.wantPtr {
				t.Errorf("NormalizeTemplateButtons set = %v, want %v", cfg.Translate.NormalizeTemplateButtons != nil, tt.wantPtr)
			}
			if got := cfg.Translate.NormalizeTemplateButtonsOrDefault(); got != tt.want {
				t.Errorf("NormalizeTemplateButtonsOrDefault() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTokenDigest(t *testing.T) {
	t.Parallel()
	plain := sha256.Sum256([]byte("tok"))
	tests := []struct {
		name    string
		token   string
		want    [32]byte
		wantErr bool
	}{
		{"plain token is hashed", "tok", plain, false},
		{"sha256 form is decoded", "sha256:" + sha256Hex("tok"), plain, false},
		{"sha256 form accepts upper-case hex", "sha256:" + strings.ToUpper(sha256Hex("tok")), plain, false},
		{"prefix only matches lower case", "SHA256:" + sha256Hex("tok"), sha256.Sum256([]byte("SHA256:" + sha256Hex("tok"))), false},
		{"odd number of hex digits", "sha256:" + sha256Hex("tok")[:63], [32]byte{}, true},
		{"31 bytes", "sha256:" + sha256Hex("tok")[:62], [32]byte{}, true},
		{"non-hex", "sha256:" + strings.Repeat("g", 64), [32]byte{}, true},
		{"empty digest", "sha256:", [32]byte{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := TokenDigest(tt.token)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("digest = %x, want %x", got, tt.want)
			}
		})
	}
}

func TestParseRepoConfigWithEmptyEnvironment(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse(raw, noEnv)
	if err != nil {
		t.Fatalf("Parse(../config.yaml): %v", err)
	}
	if cfg.Gupshup.BaseURL != Embedded {
		t.Errorf("BaseURL = %q, want %q", cfg.Gupshup.BaseURL, Embedded)
	}
	if cfg.Listen != "127.0.0.1:8080" || cfg.PublicURL != "http://127.0.0.1:8080" || cfg.LogLevel != "info" {
		t.Errorf("listen=%q public_url=%q log_level=%q", cfg.Listen, cfg.PublicURL, cfg.LogLevel)
	}
	if cfg.Gupshup.Partner != (PartnerConfig{Email: "partner@example.com", Secret: "sim-secret"}) {
		t.Errorf("partner = %+v", cfg.Gupshup.Partner)
	}
	if len(cfg.Tenants) != 1 || cfg.Tenants[0].Name != "demo" {
		t.Fatalf("tenants = %+v", cfg.Tenants)
	}
	if got := cfg.Tenants[0].Tokens; !reflect.DeepEqual(got, []string{"demo-token"}) {
		t.Errorf("tokens = %q", got)
	}
	want := PhoneNumber{ID: "100000000000001", AppID: "sim-app-1", AppName: "SimApp", AppToken: "sk_sim_app_token_1",
		CallbackSecret: "demo-callback-secret", WABAID: "200000000000001", SendAPI: "v3", CallbackVersion: 3}
	if len(cfg.Tenants[0].PhoneNumbers) != 1 || cfg.Tenants[0].PhoneNumbers[0] != want {
		t.Errorf("phone_numbers = %+v, want [%+v]", cfg.Tenants[0].PhoneNumbers, want)
	}
	// Without DEMO_WEBHOOK_URL the demo tenant has no webhook, so the
	// quick start runs no relay and creates no store file.
	if wh := cfg.Tenants[0].Webhook; wh.URL != "" || wh.AppSecret != "demo-app-secret" {
		t.Errorf("webhook = %+v", wh)
	}
	if !cfg.Translate.NormalizeTemplateButtonsOrDefault() {
		t.Error("normalize_template_buttons = false")
	}
}

// Load reads the process environment, so these subtests cannot run in
// parallel (t.Setenv).
func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}

	t.Run("expands from the process environment", func(t *testing.T) {
		t.Setenv("WAPROXY_TEST_TOKEN", "from-env")
		p := write("env.yaml", `
tenants:
  - name: a
    tokens: ["${WAPROXY_TEST_TOKEN}"]
    phone_numbers: [{id: "1", app_id: a, app_token: sk}]
`)
		cfg, err := Load(p)
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if got := cfg.Tenants[0].Tokens[0]; got != "from-env" {
			t.Errorf("token = %q, want from-env", got)
		}
	})
	t.Run("repo config with a real base url from the environment", func(t *testing.T) {
		t.Setenv("GUPSHUP_BASE_URL", "https://partner.gupshup.io/")
		_, err := Load("../config.yaml")
		if err == nil {
			t.Fatal("Load succeeded with the demo values and a real Gupshup")
		}
		wantErrContains(t, err, "gupshup.base_url https://partner.gupshup.io", "tenants[0].tokens[0]")
	})
	t.Run("repo config derives public url from listen in the environment", func(t *testing.T) {
		t.Setenv("PROXY_LISTEN", "0.0.0.0:9999")
		t.Setenv("PROXY_PUBLIC_URL", "")
		cfg, err := Load("../config.yaml")
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if cfg.Listen != "0.0.0.0:9999" || cfg.PublicURL != "http://127.0.0.1:9999" {
			t.Errorf("listen=%q public_url=%q, want 0.0.0.0:9999 and http://127.0.0.1:9999", cfg.Listen, cfg.PublicURL)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		_, err := Load(filepath.Join(dir, "nope.yaml"))
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("err = %v, want fs.ErrNotExist", err)
		}
	})
	t.Run("invalid file names the path", func(t *testing.T) {
		p := write("bad.yaml", "log_level: loud\n"+minimal)
		_, err := Load(p)
		if err == nil {
			t.Fatal("Load succeeded, want error")
		}
		wantErrContains(t, err, p, "log_level")
	})
}
