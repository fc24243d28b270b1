package translate

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"hash"
)

// SignWebhook computes the signature headers Meta sends with every webhook
// POST, over exactly the bytes of body with the app secret as key:
//
//	X-Hub-Signature-256: sha256=<lowercase hex HMAC-SHA256>
//	X-Hub-Signature:     sha1=<lowercase hex HMAC-SHA1>
//
// Meta signs the escaped-unicode form of the payload, which is what
// WebhookEvent.Body holds; sign those bytes and send them unchanged.
func SignWebhook(body []byte, appSecret string) (sha256Header, sha1Header string) {
	key := []byte(appSecret)
	return hmacHeader("sha256=", sha256.New, key, body), hmacHeader("sha1=", sha1.New, key, body)
}

// hmacHeader returns prefix followed by the lowercase hex HMAC of body.
func hmacHeader(prefix string, h func() hash.Hash, key, body []byte) string {
	m := hmac.New(h, key)
	m.Write(body)
	var sum [sha256.Size]byte
	mac := m.Sum(sum[:0])
	out := make([]byte, len(prefix)+hex.EncodedLen(len(mac)))
	copy(out, prefix)
	hex.Encode(out[len(prefix):], mac)
	return string(out)
}

// bodyKey is the deduplication key of an event without ids of its own:
// "body:" and the lowercase hex SHA-256 of the body.
func bodyKey(body []byte) string {
	const prefix = "body:"
	sum := sha256.Sum256(body)
	var out [len(prefix) + 2*sha256.Size]byte
	copy(out[:], prefix)
	hex.Encode(out[len(prefix):], sum[:])
	return string(out[:])
}
