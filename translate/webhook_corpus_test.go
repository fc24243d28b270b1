package translate

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// minCorpusWebhooks guards against a corpus walk that silently finds
// nothing: the collection's "Webhook Payload Reference" folder holds about a
// dozen payloads that are valid JSON.
const minCorpusWebhooks = 8

// webhookSample keeps the sample webhook payloads of the collection:
// requests whose raw body is a Meta webhook envelope (a root "object" and
// "entry"). Whether the body is valid JSON is left to the caller.
func webhookSample(req gjson.Result) (string, bool) {
	body := req.Get("body")
	raw := body.Get("raw").String()
	if body.Get("mode").String() != "raw" || !strings.Contains(raw, `"object"`) || !strings.Contains(raw, `"entry"`) {
		return "", false
	}
	return raw, true
}

// TestCorpusWebhookGolden feeds every sample webhook of Meta's Postman
// collection (testdata/postman/webhooks.json) that is valid JSON (after {{var}} substitution) to
// GupshupWebhook as a v3 callback — Gupshup's v3 format is Meta's — and pins
// the result under testdata/webhook/corpus.
func TestCorpusWebhookGolden(t *testing.T) {
	reqs := readCorpus(t, "webhooks")
	dir := filepath.Join("testdata", "webhook", "corpus")
	opts := WebhookOptions{StatusIDFromGsID: true} // configuration defaults, no phone known
	translated := 0
	ran := runCorpus(t, reqs, func(t *testing.T, slug string, body []byte) {
		if checkV3WebhookGolden(t, filepath.Join(dir, slug+".golden"), opts, body) {
			translated++
		}
	})
	t.Logf("corpus: %d webhook samples, %d valid JSON, %d translated", len(reqs), len(ran), translated)
	if translated < minCorpusWebhooks {
		t.Errorf("only %d corpus webhook samples translated, want at least %d", translated, minCorpusWebhooks)
	}
	checkStaleGoldens(t, dir, ran, "corpus webhook sample")
}

// assertSameAsSample checks that a Meta sample, which carries nothing of
// Gupshup's, comes out saying what it said: the same status or message item
// (but for the timestamp's type) and the same metadata.
func assertSameAsSample(t *testing.T, sample []byte, ev WebhookEvent) {
	t.Helper()
	out := gjson.GetBytes(ev.Body, "entry.0.changes.0.value")
	in := gjson.GetBytes(sample, "entry.0.changes.0.value")
	if a, b := compactMeta(in.Get("metadata").Raw), out.Get("metadata").Raw; a != b {
		t.Errorf("metadata changed: %s → %s", a, b)
	}
	for _, list := range []string{"statuses", "messages"} {
		o := out.Get(list + ".0")
		if !o.Exists() {
			continue
		}
		var found bool
		in.Get(list).ForEach(func(_, i gjson.Result) bool {
			if i.Get("id").String() == o.Get("id").String() {
				found = true
				for _, k := range []string{"status", "from", "type", "text", "context", "image", "sticker", "reaction", "interactive", "button", "order", "contacts", "location", "errors", "referral", "identity"} {
					if a, b := compactMeta(i.Get(k).Raw), o.Get(k).Raw; a != b {
						t.Errorf("%s.%s changed: %s → %s", list, k, a, b)
					}
				}
				return false
			}
			return true
		})
		if !found {
			t.Errorf("%s item %s not in the sample", list, o.Get("id").Raw)
		}
	}
}

// compactMeta is raw re-encoded the Meta way ("" stays "").
func compactMeta(raw string) string {
	return string(AppendMetaJSON(nil, []byte(raw)))
}

// checkV3WebhookGolden translates a Meta-format payload as a v3 callback,
// pins the result in golden, checks that every event says what the sample
// said, and reports whether any event came out.
func checkV3WebhookGolden(t *testing.T, golden string, opts WebhookOptions, body []byte) bool {
	t.Helper()
	res, err := GupshupWebhook(body, opts)
	checkGolden(t, golden, renderWebhook(opts, res, err))
	if err != nil {
		t.Fatalf("translation failed: %v", err)
	}
	if res.Version != 3 {
		t.Errorf("version %d", res.Version)
	}
	for _, ev := range res.Events {
		assertWebhookEvent(t, ev)
		assertSameAsSample(t, body, ev)
	}
	return len(res.Events) > 0
}
