package config

import (
	"strings"
	"testing"
)

// headCase is a config whose head (YAML before the minimal tenants) is
// valid (want "") or fails with an error starting with want (the key).
type headCase struct {
	name string
	head string
	want string
}

func runHeadCases(t *testing.T, tests []headCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tt.head+minimal), noEnv)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Parse: %v", err)
			case tt.want != "" && err == nil:
				t.Fatal("Parse succeeded, want an error")
			case tt.want != "" && !strings.HasPrefix(err.Error(), tt.want):
				t.Errorf("error %q does not start with %q", err, tt.want)
			}
		})
	}
}

func TestParseValidatesListenAddresses(t *testing.T) {
	t.Parallel()
	tests := []headCase{
		{"host and port", "listen: 127.0.0.1:8080\n", ""},
		{"all interfaces, port only", "listen: :8080\n", ""},
		{"ipv6", "listen: '[::1]:8080'\n", ""},
		{"host name", "listen: localhost:8080\n", ""},
		{"port 0", "listen: 127.0.0.1:0\n", ""},
		{"port 65535", "listen: 127.0.0.1:65535\n", ""},
		{"no port", "listen: nonsense\n", "listen: "},
		{"port out of range", "listen: 127.0.0.1:65536\n", "listen: "},
		{"named port", "listen: 127.0.0.1:http\n", "listen: "},
		{"empty port", "listen: '127.0.0.1:'\n", "listen: "},
		{"negative port", "listen: 127.0.0.1:-1\n", "listen: "},
		{"ipv6 without brackets", "listen: ::1:8080\n", "listen: "},
		{"tls listen", "tls:\n  listen: nonsense\n  cert_file: c\n  key_file: k\n", "tls.listen: "},
		{"tls listen port out of range", "tls:\n  listen: :99999\n  cert_file: c\n  key_file: k\n", "tls.listen: "},
		{"pprof listen", "debug:\n  pprof_listen: nonsense\n", "debug.pprof_listen: "},
		{"pprof listen without port", "debug:\n  pprof_listen: '127.0.0.1:'\n", "debug.pprof_listen: "},
		{"pprof on the API's address", "listen: 127.0.0.1:8080\ndebug:\n  pprof_listen: 127.0.0.1:8080\n", "debug.pprof_listen: "},
	}
	runHeadCases(t, tests)
}

func TestParseValidatesURLs(t *testing.T) {
	t.Parallel()
	tests := []headCase{
		{"public url https", "public_url: https://wa.example.com/base\n", ""},
		{"public url http with port", "public_url: http://10.0.0.1:8080\n", ""},
		{"public url without scheme", "public_url: wa.example.com\n", "public_url: "},
		{"public url other scheme", "public_url: ftp://wa.example.com\n", "public_url: "},
		{"public url without host", "public_url: 'https:///x'\n", "public_url: "},
		{"public url relative", "public_url: /media\n", "public_url: "},
		{"public url port only", "public_url: 'http://:8080'\n", "public_url: "},
		{"base url embedded", "gupshup:\n  base_url: embedded\n", ""},
		{"base url https", "gupshup:\n  base_url: https://partner.gupshup.io\n", ""},
		{"base url without host", "gupshup:\n  base_url: 'https://'\n", "gupshup.base_url: "},
		{"base url without scheme", "gupshup:\n  base_url: partner.gupshup.io\n", "gupshup.base_url: "},
		{"base url unparsable", "gupshup:\n  base_url: 'http://[::1'\n", "gupshup.base_url: "},
	}
	runHeadCases(t, tests)
	t.Run("tenant webhook url", func(t *testing.T) {
		t.Parallel()
		for _, u := range []string{"example.com/hook", "ftp://example.com/hook", "https://", "/hook"} {
			raw := `
tenants:
  - name: acme
    tokens: [tok]
    webhook: {url: "` + u + `", app_secret: s}
    phone_numbers: [{id: "111", app_id: app-1, app_token: sk_1, callback_secret: c}]
`
			wantErrContains(t, parseErr(t, raw, noEnv), "tenants[0].webhook.url: ")
		}
	})
}

// With a real Gupshup, a listen address on every interface names no host
// for the media URLs the proxy hands out: public_url is required. With a
// simulated one, it defaults to a loopback URL.
func TestParsePublicURLWhenListenBindsAllInterfaces(t *testing.T) {
	t.Parallel()
	const real = "gupshup:\n  base_url: https://partner.gupshup.io\n"
	tests := []struct {
		name    string
		head    string
		want    string // the public url, or
		wantErr bool   // public_url required
	}{
		{"embedded, 0.0.0.0", "listen: 0.0.0.0:8080\n", "http://127.0.0.1:8080", false},
		{"embedded, empty host", "listen: :8080\n", "http://127.0.0.1:8080", false},
		{"embedded, ::", "listen: '[::]:8080'\n", "http://127.0.0.1:8080", false},
		{"simulator on loopback, 0.0.0.0", "listen: 0.0.0.0:8080\ngupshup:\n  base_url: http://127.0.0.1:9090\n", "http://127.0.0.1:8080", false},
		{"real, 0.0.0.0", "listen: 0.0.0.0:8080\n" + real, "", true},
		{"real, empty host", "listen: :8080\n" + real, "", true},
		{"real, ::", "listen: '[::]:8080'\n" + real, "", true},
		{"real, public_url empty from the environment", "listen: :8080\npublic_url: ${PROXY_PUBLIC_URL:-}\n" + real, "", true},
		{"real, 0.0.0.0 with public_url", "listen: 0.0.0.0:8080\npublic_url: https://wa.example.com\n" + real, "https://wa.example.com", false},
		{"real, specific host", "listen: 10.1.2.3:8080\n" + real, "http://10.1.2.3:8080", false},
		{"real, loopback", "listen: 127.0.0.1:8080\n" + real, "http://127.0.0.1:8080", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := Parse([]byte(tt.head+minimal), noEnv)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Parse succeeded with public_url %q, want an error", cfg.PublicURL)
				}
				if !strings.HasPrefix(err.Error(), "public_url: required when listen") {
					t.Errorf("error %q does not ask for public_url", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if cfg.PublicURL != tt.want {
				t.Errorf("PublicURL = %q, want %q", cfg.PublicURL, tt.want)
			}
		})
	}
}

func TestSimulated(t *testing.T) {
	t.Parallel()
	tests := []struct {
		base string
		want bool
	}{
		{Embedded, true},
		{"http://127.0.0.1:9090", true},
		{"http://127.1.2.3:9090", true},
		{"http://localhost:9090", true},
		{"http://LOCALHOST", true},
		{"http://[::1]:9090", true},
		{"https://partner.gupshup.io", false},
		{"http://10.0.0.5:9090", false},
		{"http://localhost.example.com", false},
		{"http://0.0.0.0:9090", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := (GupshupConfig{BaseURL: tt.base}).Simulated(); got != tt.want {
			t.Errorf("Simulated(%q) = %v, want %v", tt.base, got, tt.want)
		}
	}
}

func TestLocalURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		listen, want string
		wantErr      bool
	}{
		{"127.0.0.1:8080", "http://127.0.0.1:8080", false},
		{"0.0.0.0:8080", "http://127.0.0.1:8080", false},
		{":8080", "http://127.0.0.1:8080", false},
		{"[::]:8080", "http://127.0.0.1:8080", false},
		{"[::1]:8080", "http://[::1]:8080", false},
		{"proxy.internal:80", "http://proxy.internal:80", false},
		{"127.0.0.1:0", "", true},
		{"nonsense", "", true},
	}
	for _, tt := range tests {
		got, err := LocalURL(tt.listen)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("LocalURL(%q) = %q, %v; want %q (error %v)", tt.listen, got, err, tt.want, tt.wantErr)
		}
	}
}
