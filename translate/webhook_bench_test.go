package translate

import (
	"os"
	"testing"
)

func benchWebhookFixture(b *testing.B, path string) []byte {
	b.Helper()
	body, err := os.ReadFile("testdata/webhook/" + path)
	if err != nil {
		b.Fatal(err)
	}
	return body
}

func benchGupshupWebhook(b *testing.B, path string) {
	body := benchWebhookFixture(b, path)
	opts := WebhookOptions{StatusIDFromGsID: true, Phone: PhoneMeta{PhoneNumberID: "106540352242922", DisplayPhoneNumber: "15550783881"}}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		res, err := GupshupWebhook(body, opts)
		if err != nil || len(res.Events) != 1 {
			b.Fatal(err, res)
		}
	}
}

// BenchmarkGupshupWebhookStatus translates a v3 "sent" status with
// conversation and pricing.
func BenchmarkGupshupWebhookStatus(b *testing.B) { benchGupshupWebhook(b, "v3/status_sent.json") }

// BenchmarkGupshupWebhookText translates a v3 inbound text with BSUID fields.
func BenchmarkGupshupWebhookText(b *testing.B) { benchGupshupWebhook(b, "v3/text_bsuid.json") }

// BenchmarkGupshupWebhookV2 translates the seed's v2 quick_reply callback.
func BenchmarkGupshupWebhookV2(b *testing.B) { benchGupshupWebhook(b, "v2/quick_reply_seed.json") }

// BenchmarkSignWebhook signs a typical status body.
func BenchmarkSignWebhook(b *testing.B) {
	res, err := GupshupWebhook(benchWebhookFixture(b, "v3/status_sent.json"), WebhookOptions{StatusIDFromGsID: true})
	if err != nil || len(res.Events) != 1 {
		b.Fatal(err)
	}
	body := res.Events[0].Body
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		SignWebhook(body, "test-app-secret")
	}
}
