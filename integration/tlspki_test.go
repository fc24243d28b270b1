package integration

import (
	"testing"

	"waproxy/internal/testpki"
)

// testPKI is a throwaway CA and a server certificate (see testpki.PKI).
type testPKI = testpki.PKI

// newTestPKI creates one (see testpki.New).
func newTestPKI(t testing.TB) testPKI { return testpki.New(t) }
