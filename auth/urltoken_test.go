package auth_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"waproxy/auth"
)

var (
	testURLKey  = bytes.Repeat([]byte{0x5a}, 32)
	otherURLKey = bytes.Repeat([]byte{0xa5}, 32)
	signTime    = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
)

func newSigner(t testing.TB, key []byte) *auth.URLSigner {
	t.Helper()
	s, err := auth.NewURLSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestNewURLSignerKeyLength pins the minimum key length and that the key is
// copied.
func TestNewURLSignerKeyLength(t *testing.T) {
	cases := []struct {
		name string
		n    int
		ok   bool
	}{
		{"nil key refused", 0, false},
		{"31 bytes refused", 31, false},
		{"32 bytes accepted", 32, true},
		{"64 bytes accepted", 64, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var key []byte
			if c.n > 0 {
				key = bytes.Repeat([]byte{1}, c.n)
			}
			s, err := auth.NewURLSigner(key)
			if (err == nil) != c.ok || (s != nil) != c.ok {
				t.Errorf("NewURLSigner(%d bytes) = %v, %v", c.n, s, err)
			}
		})
	}

	key := bytes.Clone(testURLKey)
	s := newSigner(t, key)
	tok := s.Sign("acme", "m1", signTime.Add(time.Minute))
	key[0] ^= 0xff // the caller reusing its buffer must not change the signer
	if _, err := s.Verify(tok, "m1", signTime); err != nil {
		t.Errorf("signer shares the caller's key buffer: %v", err)
	}
}

// TestURLTokenRoundTrip pins that a fresh token verifies and yields its
// tenant, for tenant names and media ids of any shape.
func TestURLTokenRoundTrip(t *testing.T) {
	s := newSigner(t, testURLKey)
	cases := []struct{ name, tenant, media string }{
		{"plain", "acme", "1852559851913765"},
		{"empty tenant", "", "1"},
		{"empty media id", "acme", ""},
		{"unicode tenant", "café ☕", "m"},
		{"tenant with dots and slashes", "a.b/c", "x.y"},
		{"long tenant", strings.Repeat("t", 1000), "m"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok := s.Sign(c.tenant, c.media, signTime.Add(5*time.Minute))
			got, err := s.Verify(tok, c.media, signTime)
			if err != nil || got != c.tenant {
				t.Errorf("Verify = %q, %v; want %q", got, err, c.tenant)
			}
			if again := s.Sign(c.tenant, c.media, signTime.Add(5*time.Minute)); again != tok {
				t.Errorf("Sign not deterministic: %s vs %s", tok, again)
			}
		})
	}
}

// TestURLTokenExpiry pins the expiry boundary: valid strictly before,
// expired at and after, to the second.
func TestURLTokenExpiry(t *testing.T) {
	s := newSigner(t, testURLKey)
	exp := signTime.Add(5 * time.Minute)
	tok := s.Sign("acme", "m1", exp)
	cases := []struct {
		name    string
		now     time.Time
		wantErr error
	}{
		{"long before", signTime, nil},
		{"one nanosecond before", exp.Add(-time.Nanosecond), nil},
		{"exactly at expiry is expired", exp, auth.ErrTokenExpired},
		{"after expiry", exp.Add(time.Second), auth.ErrTokenExpired},
		{"a year after", exp.AddDate(1, 0, 0), auth.ErrTokenExpired},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := s.Verify(tok, "m1", c.now)
			if !errors.Is(err, c.wantErr) || (err == nil) != (c.wantErr == nil) {
				t.Fatalf("Verify = %q, %v; want %v", got, err, c.wantErr)
			}
			if err != nil && (got != "" || errors.Is(err, auth.ErrTokenInvalid)) {
				t.Errorf("expired token: tenant %q, err %v", got, err)
			}
		})
	}

	// Sub-second expiries round down: the token never outlives the request.
	frac := s.Sign("acme", "m1", exp.Add(900*time.Millisecond))
	if _, err := s.Verify(frac, "m1", exp); !errors.Is(err, auth.ErrTokenExpired) {
		t.Errorf("fractional expiry rounded up: %v", err)
	}
	// An expiry in the past signs a token that is already expired.
	past := s.Sign("acme", "m1", signTime.Add(-time.Hour))
	if _, err := s.Verify(past, "m1", signTime); !errors.Is(err, auth.ErrTokenExpired) {
		t.Errorf("past expiry: %v", err)
	}
}

// TestURLTokenRejects pins that every alteration of a token, or its use for
// another media id or with another key, is invalid (not expired).
func TestURLTokenRejects(t *testing.T) {
	s := newSigner(t, testURLKey)
	exp := signTime.Add(5 * time.Minute)
	tok := s.Sign("acme", "m1", exp)
	payloadPart, macPart, _ := strings.Cut(tok, ".")
	payload, err := base64.RawURLEncoding.DecodeString(payloadPart)
	if err != nil {
		t.Fatal(err)
	}
	reencode := func(p []byte) string { return base64.RawURLEncoding.EncodeToString(p) + "." + macPart }
	withTenant := func(tenant string) string {
		return reencode(append(bytes.Clone(payload[:8]), tenant...))
	}
	laterExpiry := bytes.Clone(payload)
	laterExpiry[7]++
	flipMAC := []byte(macPart)
	if flipMAC[0] == 'A' {
		flipMAC[0] = 'B'
	} else {
		flipMAC[0] = 'A'
	}
	other := newSigner(t, otherURLKey)

	cases := []struct{ name, token, media string }{
		{"wrong media id", tok, "m2"},
		{"media id prefix", tok, "m"},
		{"media id extended", tok, "m1x"},
		{"tenant swapped", withTenant("evil"), "m1"},
		{"tenant extended", withTenant("acmex"), "m1"},
		{"tenant truncated", withTenant("acm"), "m1"},
		{"expiry extended", reencode(laterExpiry), "m1"},
		{"mac altered", payloadPart + "." + string(flipMAC), "m1"},
		{"mac truncated", payloadPart + "." + macPart[:len(macPart)-2], "m1"},
		{"mac extended", payloadPart + "." + macPart + "AA", "m1"},
		{"mac missing", payloadPart + ".", "m1"},
		{"payload missing", "." + macPart, "m1"},
		{"separator missing", payloadPart + macPart, "m1"},
		{"two separators", tok + ".x", "m1"},
		{"padding added", payloadPart + "=." + macPart, "m1"},
		{"standard base64 alphabet", strings.NewReplacer("-", "+", "_", "/").Replace(tok) + "+", "m1"},
		{"signed with another key", other.Sign("acme", "m1", exp), "m1"},
		{"empty", "", "m1"},
		{"only a dot", ".", "m1"},
		{"garbage", "not a token at all", "m1"},
		{"payload shorter than the expiry", base64.RawURLEncoding.EncodeToString([]byte{1, 2, 3}) + "." + macPart, "m1"},
		{"over the length bound", strings.Repeat("A", 5000) + "." + macPart, "m1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := s.Verify(c.token, c.media, signTime)
			if !errors.Is(err, auth.ErrTokenInvalid) || errors.Is(err, auth.ErrTokenExpired) || got != "" {
				t.Errorf("Verify(%q) = %q, %v; want ErrTokenInvalid", c.token, got, err)
			}
		})
	}
}

// TestURLTokenNonCanonicalBase64 pins that a token has one spelling: a MAC
// re-encoded with different trailing bits is refused.
func TestURLTokenNonCanonicalBase64(t *testing.T) {
	s := newSigner(t, testURLKey)
	tok := s.Sign("acme", "m1", signTime.Add(time.Minute))
	// 32 MAC bytes encode to 43 characters; the last carries 2 unused bits.
	last := tok[len(tok)-1]
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, last)
	alt := tok[:len(tok)-1] + string(alphabet[i^1])
	if _, err := s.Verify(alt, "m1", signTime); !errors.Is(err, auth.ErrTokenInvalid) {
		t.Errorf("non-canonical spelling accepted: %v", err)
	}
}

// TestURLTokenAlphabet pins that tokens need no escaping in a URL and hide
// everything but the tenant and expiry.
func TestURLTokenAlphabet(t *testing.T) {
	s := newSigner(t, testURLKey)
	for _, tenant := range []string{"acme", "", "ünïcødé/?&=#+ %", strings.Repeat("\xff", 40)} {
		for _, media := range []string{"1852559851913765", "a/b?c", ""} {
			tok := s.Sign(tenant, media, signTime)
			if strings.Count(tok, ".") != 1 {
				t.Errorf("token %q has %d separators", tok, strings.Count(tok, "."))
			}
			for _, r := range tok {
				if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
					t.Errorf("token %q has URL-unsafe %q", tok, r)
				}
			}
			if media != "" && strings.Contains(tok, media) {
				t.Errorf("token %q carries the media id in clear", tok)
			}
		}
	}
}

// FuzzURLTokenVerify pins that Verify never panics and never accepts a
// token that is not the one Sign made. The seeds run with plain go test.
func FuzzURLTokenVerify(f *testing.F) {
	s := newSigner(f, testURLKey)
	good := s.Sign("acme", "m1", signTime.Add(time.Hour))
	for _, seed := range []string{
		"", ".", "..", "a.b", "=.=", "\x00", "\xff\xfe.\xff", good, good + "=", good[:len(good)-1],
		strings.Repeat("A", 11) + "." + strings.Repeat("A", 43),
		"AAAAAAAAAAA", "AAAAAAAAAAA.", "-_-_.-_-_", "%2E", " " + good, good + " ",
	} {
		f.Add(seed, "m1")
	}
	f.Fuzz(func(t *testing.T, token, media string) {
		tenant, err := s.Verify(token, media, signTime)
		if err == nil {
			if token != good || media != "m1" || tenant != "acme" {
				t.Fatalf("accepted forged token %q for %q: tenant %q", token, media, tenant)
			}
			return
		}
		if tenant != "" {
			t.Fatalf("tenant %q returned with error %v", tenant, err)
		}
		if !errors.Is(err, auth.ErrTokenInvalid) && !errors.Is(err, auth.ErrTokenExpired) {
			t.Fatalf("error %v wraps neither sentinel", err)
		}
	})
}
