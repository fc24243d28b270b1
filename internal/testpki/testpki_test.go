package testpki_test

import (
	"crypto/tls"
	"crypto/x509"
	"testing"

	"waproxy/internal/testpki"
)

// TestServerCertificateVerifies pins what the TLS tests rely on: the pair
// loads, and the leaf verifies against Pool for each of its names.
func TestServerCertificateVerifies(t *testing.T) {
	p := testpki.New(t)
	pair, err := tls.LoadX509KeyPair(p.CertFile, p.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"127.0.0.1", "::1", "localhost"} {
		if _, err := pair.Leaf.Verify(x509.VerifyOptions{Roots: p.Pool, DNSName: name}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := pair.Leaf.Verify(x509.VerifyOptions{Roots: testpki.New(t).Pool, DNSName: "localhost"}); err == nil {
		t.Error("the leaf verified against another CA")
	}
}
