package translate

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

func TestSignWebhookKnownVector(t *testing.T) {
	// RFC 4231 test case 2 / RFC 2202 test case 2.
	s256, s1 := SignWebhook([]byte("what do ya want for nothing?"), "Jefe")
	if s256 != "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" {
		t.Errorf("sha256: %s", s256)
	}
	if s1 != "sha1=effcdf6ae5eb2fa2d27416d5f184df9c259a7c79" {
		t.Errorf("sha1: %s", s1)
	}
}

// TestWebhookEscapingAndSignature translates an inbound text full of
// non-ASCII text and a URL, checks the body byte for byte against Meta's
// documented escaped form, and that the signature is the HMAC of exactly
// those bytes — which a raw UTF-8 body would not match.
func TestWebhookEscapingAndSignature(t *testing.T) {
	in := `{"object":"whatsapp_business_account","gs_app_id":"app","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{` +
		`"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"x"},` +
		`"contacts":[{"profile":{"name":"Zoë"},"wa_id":"16315551234"}],` +
		`"messages":[{"from":"16315551234","id":"wamid.E1","timestamp":"1705575400","type":"text",` +
		`"text":{"body":"😀 äöå नमस्ते مرحبا 你好"},"referral":{"source_url":"https://fb.me/3cr4Wqqkv"}}]}}]}]}`
	res, err := GupshupWebhook([]byte(in), WebhookOptions{StatusIDFromGsID: true, Phone: fixturePhone()})
	if err != nil || len(res.Events) != 1 {
		t.Fatalf("%v %+v", err, res)
	}
	body := res.Events[0].Body

	// Meta's documented form: non-ASCII as \uXXXX with lowercase hex,
	// surrogate pairs above the BMP, "/" as "\/".
	want := `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{` +
		`"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},` +
		`"contacts":[{"profile":{"name":"Zo\u00eb"},"wa_id":"16315551234"}],` +
		`"messages":[{"from":"16315551234","id":"wamid.E1","timestamp":"1705575400","type":"text",` +
		`"text":{"body":"\ud83d\ude00 \u00e4\u00f6\u00e5 \u0928\u092e\u0938\u094d\u0924\u0947 \u0645\u0631\u062d\u0628\u0627 \u4f60\u597d"},` +
		`"referral":{"source_url":"https:\/\/fb.me\/3cr4Wqqkv"}}]},"field":"messages"}]}]}`
	if string(body) != want {
		t.Fatalf("body\n got %s\nwant %s", body, want)
	}
	for i, c := range body {
		if c >= 0x80 {
			t.Fatalf("non-ASCII byte %#x at %d", c, i)
		}
	}

	const secret = "test-app-secret"
	m256 := hmac.New(sha256.New, []byte(secret))
	m256.Write([]byte(want))
	m1 := hmac.New(sha1.New, []byte(secret))
	m1.Write([]byte(want))
	s256, s1 := SignWebhook(body, secret)
	if s256 != "sha256="+hex.EncodeToString(m256.Sum(nil)) {
		t.Errorf("X-Hub-Signature-256 %s does not match the HMAC of the escaped body", s256)
	}
	if s1 != "sha1="+hex.EncodeToString(m1.Sum(nil)) {
		t.Errorf("X-Hub-Signature %s does not match the HMAC of the escaped body", s1)
	}
	if s256 != strings.ToLower(s256) || len(s256) != len("sha256=")+64 || len(s1) != len("sha1=")+40 {
		t.Errorf("headers not lowercase hex of the right length: %s %s", s256, s1)
	}

	// The same JSON sent as raw UTF-8 signs differently: a client verifying
	// against the escaped form (Meta's) would reject it.
	raw := strings.NewReplacer(`Zo\u00eb`, "Zoë",
		`\ud83d\ude00 \u00e4\u00f6\u00e5 \u0928\u092e\u0938\u094d\u0924\u0947 \u0645\u0631\u062d\u0628\u0627 \u4f60\u597d`, "😀 äöå नमस्ते مرحبا 你好",
		`https:\/\/fb.me\/3cr4Wqqkv`, "https://fb.me/3cr4Wqqkv").Replace(want)
	if raw == want {
		t.Fatal("replacement failed")
	}
	if r256, r1 := SignWebhook([]byte(raw), secret); r256 == s256 || r1 == s1 {
		t.Errorf("raw UTF-8 body signs like the escaped one")
	}
}
