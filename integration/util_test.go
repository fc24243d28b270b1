package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"waproxy/gupshupsim"
)

func sha256hex(s string) string {
	d := sha256.Sum256([]byte(s))
	return hex.EncodeToString(d[:])
}

func gupshupsim401() gupshupsim.Fault {
	return gupshupsim.Fault{PathSuffix: "/v3/message", Status: 401, Body: `{"status":"error","message":"Authentication Failed"}`}
}
