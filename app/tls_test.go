package app

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"waproxy/config"
	"waproxy/internal/testpki"
)

func tlsConfig(listen, cert, key string) *config.Config {
	return &config.Config{Listen: "127.0.0.1:0", TLS: config.TLSConfig{Listen: listen, CertFile: cert, KeyFile: key}}
}

// TestTLSListener serves over the listener and checks what clients can
// negotiate: h2 and http/1.1 by ALPN, nothing below TLS 1.2.
func TestTLSListener(t *testing.T) {
	t.Parallel()
	pki := testpki.New(t)
	certFile, keyFile := pki.CertFile, pki.KeyFile
	ln, err := TLSListener(tlsConfig("127.0.0.1:0", certFile, keyFile))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, r.Proto)
		}),
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0), // the refused handshakes
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	url := "https://" + ln.Addr().String() + "/"
	pool := pki.Pool

	get := func(tr *http.Transport) (string, error) {
		t.Helper()
		defer tr.CloseIdleConnections()
		c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
		resp, err := c.Get(url)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if string(b) != resp.Proto {
			t.Errorf("handler saw %q, client %q", b, resp.Proto)
		}
		return resp.Proto, err
	}
	t.Run("h2", func(t *testing.T) {
		proto, err := get(&http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true})
		if err != nil || proto != "HTTP/2.0" {
			t.Fatalf("proto %q, err %v; want HTTP/2.0", proto, err)
		}
	})
	t.Run("http/1.1", func(t *testing.T) {
		proto, err := get(&http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}}})
		if err != nil || proto != "HTTP/1.1" {
			t.Fatalf("proto %q, err %v; want HTTP/1.1", proto, err)
		}
	})
	t.Run("h2 on TLS 1.2", func(t *testing.T) {
		proto, err := get(&http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS12}, ForceAttemptHTTP2: true})
		if err != nil || proto != "HTTP/2.0" {
			t.Fatalf("proto %q, err %v; want HTTP/2.0", proto, err)
		}
	})
	t.Run("TLS 1.1 refused", func(t *testing.T) {
		_, err := get(&http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}})
		if err == nil {
			t.Fatal("a TLS 1.1 client was served")
		}
	})
	t.Run("untrusted client refuses", func(t *testing.T) {
		_, err := get(&http.Transport{TLSClientConfig: &tls.Config{RootCAs: x509.NewCertPool()}})
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("err = %v, want a certificate error", err)
		}
	})
}

// TestTLSListenerBadKeyPair: a key that does not belong to the
// certificate is an error naming both keys, and nothing listens.
func TestTLSListenerBadKeyPair(t *testing.T) {
	t.Parallel()
	certA, keyB := testpki.New(t).CertFile, testpki.New(t).KeyFile
	// A fixed free port, to see that nothing was left listening on it.
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := probe.Addr().String()
	probe.Close()
	ln, err := TLSListener(tlsConfig(addr, certA, keyB))
	if err == nil {
		ln.Close()
		t.Fatal("TLSListener accepted a mismatched key pair")
	}
	for _, want := range []string{"tls.cert_file, tls.key_file", certA, keyB, "does not match"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("something listens on %s after the failure", addr)
	}
}

func TestTLSListenerErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pki := testpki.New(t)
	cert, key := pki.CertFile, pki.KeyFile
	if _, err := TLSListener(tlsConfig("", cert, key)); err == nil || !strings.Contains(err.Error(), "tls.listen") {
		t.Errorf("without tls.listen: err = %v", err)
	}
	if _, err := TLSListener(tlsConfig("127.0.0.1:0", filepath.Join(dir, "missing.crt"), key)); err == nil {
		t.Error("a missing certificate file was accepted")
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	if _, err := TLSListener(tlsConfig(busy.Addr().String(), cert, key)); err == nil || !strings.Contains(err.Error(), "tls.listen") {
		t.Errorf("on a busy address: err = %v, want a tls.listen error", err)
	}
}
