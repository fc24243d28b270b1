package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors of URLSigner.Verify. Every failure wraps one of them.
var (
	// ErrTokenExpired is returned for an authentic token whose expiry has
	// passed.
	ErrTokenExpired = errors.New("auth: url token expired")
	// ErrTokenInvalid is returned for a token that is malformed, was not
	// made by this key, or was made for another media id.
	ErrTokenInvalid = errors.New("auth: url token invalid")
)

// MinURLKeyLen is the shortest key NewURLSigner accepts, in bytes.
const MinURLKeyLen = 32

const (
	// urlTokenDomain separates these MACs from any other use of the key.
	urlTokenDomain = "waproxy media url token v1\x00"
	// maxURLTokenLen bounds the work Verify does on hostile input; a token
	// for a tenant name of up to ~3000 bytes fits.
	maxURLTokenLen = 4096
	macLen         = sha256.Size
)

// URLSigner makes and checks short-lived download tokens for media URLs, so
// SDKs that download without a bearer token (or send a foreign Host header)
// are still served. A token is bound to the tenant and the media id, never
// to the host the URL names.
//
// A token is
//
//	base64url(expiry as 8-byte big-endian Unix seconds || tenant) "." base64url(MAC)
//
// with MAC = HMAC-SHA256(key, domain || len(mediaID) || mediaID ||
// len(tenant) || tenant || expiry), lengths as 8-byte big-endian. Only the
// tenant name and the expiry are readable; the media id is not in the token
// but in the URL it is checked against. The alphabet is A–Z a–z 0–9 - _ and
// ".", safe in a URL path or query without escaping.
//
// A URLSigner is safe for concurrent use.
type URLSigner struct {
	key []byte
}

// NewURLSigner returns a signer with a copy of key, which must be at least
// MinURLKeyLen bytes.
func NewURLSigner(key []byte) (*URLSigner, error) {
	if len(key) < MinURLKeyLen {
		return nil, fmt.Errorf("auth: url signing key is %d bytes, need at least %d", len(key), MinURLKeyLen)
	}
	return &URLSigner{key: append([]byte(nil), key...)}, nil
}

// Sign returns a token that lets tenant download mediaID until expires
// (exclusive). The expiry is kept to the second, rounded down, so a token
// never lives longer than asked.
func (s *URLSigner) Sign(tenant, mediaID string, expires time.Time) string {
	exp := expires.Unix()
	payload := make([]byte, 8+len(tenant))
	binary.BigEndian.PutUint64(payload, uint64(exp))
	copy(payload[8:], tenant)
	mac := s.mac(tenant, mediaID, exp)

	enc := base64.RawURLEncoding
	out := make([]byte, 0, enc.EncodedLen(len(payload))+1+enc.EncodedLen(macLen))
	out = enc.AppendEncode(out, payload)
	out = append(out, '.')
	out = enc.AppendEncode(out, mac)
	return string(out)
}

// Verify checks token for mediaID at time now and returns the tenant it was
// made for. It fails with an error wrapping ErrTokenInvalid for anything
// not made by this key for this media id (checked first, comparing MACs in
// constant time), and ErrTokenExpired when now is at or after the expiry.
func (s *URLSigner) Verify(token, mediaID string, now time.Time) (string, error) {
	if token == "" {
		return "", fmt.Errorf("%w: empty", ErrTokenInvalid)
	}
	if len(token) > maxURLTokenLen {
		return "", fmt.Errorf("%w: %d bytes long", ErrTokenInvalid, len(token))
	}
	p, m, ok := strings.Cut(token, ".")
	if !ok {
		return "", fmt.Errorf("%w: no separator", ErrTokenInvalid)
	}
	// Strict: non-canonical trailing bits are refused, so a token has
	// exactly one spelling.
	dec := base64.RawURLEncoding.Strict()
	payload, err := dec.DecodeString(p)
	if err != nil {
		return "", fmt.Errorf("%w: payload: %w", ErrTokenInvalid, err)
	}
	if len(payload) < 8 {
		return "", fmt.Errorf("%w: payload too short", ErrTokenInvalid)
	}
	got, err := dec.DecodeString(m)
	if err != nil {
		return "", fmt.Errorf("%w: mac: %w", ErrTokenInvalid, err)
	}
	exp := int64(binary.BigEndian.Uint64(payload))
	tenant := string(payload[8:])
	if !hmac.Equal(got, s.mac(tenant, mediaID, exp)) {
		return "", fmt.Errorf("%w: bad signature", ErrTokenInvalid)
	}
	if !now.Before(time.Unix(exp, 0)) {
		return "", fmt.Errorf("%w at %s", ErrTokenExpired, time.Unix(exp, 0).UTC().Format(time.RFC3339))
	}
	return tenant, nil
}

// mac is HMAC-SHA256 over the domain, the length-prefixed media id and
// tenant, and the expiry.
func (s *URLSigner) mac(tenant, mediaID string, exp int64) []byte {
	h := hmac.New(sha256.New, s.key)
	var n [8]byte
	h.Write([]byte(urlTokenDomain))
	binary.BigEndian.PutUint64(n[:], uint64(len(mediaID)))
	h.Write(n[:])
	h.Write([]byte(mediaID))
	binary.BigEndian.PutUint64(n[:], uint64(len(tenant)))
	h.Write(n[:])
	h.Write([]byte(tenant))
	binary.BigEndian.PutUint64(n[:], uint64(exp))
	h.Write(n[:])
	return h.Sum(nil)
}
