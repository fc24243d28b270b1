package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"waproxy/internal/testpki"
)

// tlsYAML renders a tls block (keys left out when empty) before minimal.
func tlsYAML(listen, cert, key string) string {
	var b strings.Builder
	b.WriteString("tls:\n")
	for _, kv := range [][2]string{{"listen", listen}, {"cert_file", cert}, {"key_file", key}} {
		if kv[1] != "" {
			b.WriteString("  " + kv[0] + ": " + `"` + kv[1] + `"` + "\n")
		}
	}
	return b.String() + minimal
}

func TestParseTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pki := testpki.New(t)
	cert, key := pki.CertFile, pki.KeyFile
	missing := filepath.Join(dir, "missing.pem")
	ok := []struct {
		name string
		raw  string
		want TLSConfig
	}{
		{"off by default", minimal, TLSConfig{}},
		{"empty block is off", "tls: {}\n" + minimal, TLSConfig{}},
		{"loopback port", tlsYAML("127.0.0.1:8443", cert, key), TLSConfig{Listen: "127.0.0.1:8443", CertFile: cert, KeyFile: key}},
		{"all interfaces 443", tlsYAML(":443", cert, key), TLSConfig{Listen: ":443", CertFile: cert, KeyFile: key}},
		{"ipv6", tlsYAML("[::1]:8443", cert, key), TLSConfig{Listen: "[::1]:8443", CertFile: cert, KeyFile: key}},
		{"from the environment", "tls: {listen: '${TLS_LISTEN:-}', cert_file: '${TLS_CERT:-}', key_file: '${TLS_KEY:-}'}\n" + minimal,
			TLSConfig{}},
	}
	for _, tt := range ok {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := mustParse(t, tt.raw, noEnv)
			if cfg.TLS != tt.want {
				t.Errorf("tls = %+v, want %+v", cfg.TLS, tt.want)
			}
			if cfg.TLS.Enabled() != (tt.want.Listen != "") {
				t.Errorf("Enabled() = %v", cfg.TLS.Enabled())
			}
		})
	}
	bad := []struct {
		name string
		raw  string
		want []string
	}{
		{"listen without cert_file", tlsYAML(":8443", "", key), []string{"tls.cert_file", "required with tls.listen"}},
		{"listen without key_file", tlsYAML(":8443", cert, ""), []string{"tls.key_file", "required with tls.listen"}},
		{"listen without either", tlsYAML(":8443", "", ""), []string{"tls.cert_file", "required"}},
		{"cert_file does not exist", tlsYAML(":8443", missing, key), []string{"tls.cert_file", missing, "no such file"}},
		{"key_file does not exist", tlsYAML(":8443", cert, missing), []string{"tls.key_file", missing, "no such file"}},
		{"cert_file is a directory", tlsYAML(":8443", dir, key), []string{"tls.cert_file", "directory"}},
		{"files without listen", tlsYAML("", cert, key), []string{"tls.listen", "required with tls.cert_file"}},
		{"cert_file alone", tlsYAML("", cert, ""), []string{"tls.listen"}},
		{"listen without port", tlsYAML("127.0.0.1", cert, key), []string{"tls.listen", `"127.0.0.1"`}},
		{"listen port out of range", tlsYAML("127.0.0.1:65536", cert, key), []string{"tls.listen", "port"}},
		{"listen port not a number", tlsYAML("127.0.0.1:https", cert, key), []string{"tls.listen", "port"}},
		{"listen same as plain listen", "listen: 127.0.0.1:9000\n" + tlsYAML("127.0.0.1:9000", cert, key),
			[]string{"tls.listen", "its own address"}},
		{"unknown key", "tls:\n  listen: :8443\n  ca_file: x\n" + minimal, []string{"tls.ca_file"}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wantErrContains(t, parseErr(t, tt.raw, noEnv), tt.want...)
		})
	}
}

// TestLoadTLSKeyPair: Parse only checks that the files exist; Load also
// checks that they form a key pair.
func TestLoadTLSKeyPair(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := testpki.New(t)
	certA, keyA := a.CertFile, a.KeyFile
	keyB := testpki.New(t).KeyFile
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not PEM\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		cert, key string
		want      []string // nil: loads
	}{
		{"matching pair", certA, keyA, nil},
		{"key of another certificate", certA, keyB, []string{"tls.cert_file, tls.key_file", "not a valid key pair", "does not match"}},
		{"cert and key swapped", keyA, certA, []string{"tls.cert_file, tls.key_file", "not a valid key pair"}},
		{"cert not PEM", garbage, keyA, []string{"tls.cert_file, tls.key_file", garbage}},
		{"key not PEM", certA, garbage, []string{"tls.cert_file, tls.key_file", garbage}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			raw := tlsYAML("127.0.0.1:8443", tt.cert, tt.key)
			mustParse(t, raw, noEnv) // the files exist: Parse accepts them
			p := filepath.Join(dir, "cfg"+string(rune('0'+i))+".yaml")
			if err := os.WriteFile(p, []byte(raw), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := Load(p)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				c, err := cfg.TLS.Certificate()
				if err != nil || c.Leaf == nil || c.Leaf.Subject.CommonName != "localhost" {
					t.Fatalf("Certificate() = %+v, %v", c.Leaf, err)
				}
				return
			}
			if err == nil {
				t.Fatal("Load succeeded, want a key pair error")
			}
			wantErrContains(t, err, append(tt.want, p)...)
		})
	}
}
