package translate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// minCorpusWebhooks guards against a corpus walk that silently finds
// nothing: the collection's "Webhook Payload Reference" folder holds about a
// dozen payloads that are valid JSON.
const minCorpusWebhooks = 8

// walkCorpusWebhooks collects the sample webhook payloads of the collection:
// requests whose raw body is a Meta webhook envelope (a root "object" and
// "entry"), in collection order. Whether the body is valid JSON is left to
// the caller.
func walkCorpusWebhooks(items gjson.Result, folder []string, out *[]corpusRequest) {
	items.ForEach(func(_, it gjson.Result) bool {
		name := it.Get("name").String()
		if sub := it.Get("item"); sub.IsArray() {
			walkCorpusWebhooks(sub, append(folder[:len(folder):len(folder)], name), out)
			return true
		}
		body := it.Get("request.body")
		raw := body.Get("raw").String()
		if body.Get("mode").String() != "raw" || !strings.Contains(raw, `"object"`) || !strings.Contains(raw, `"entry"`) {
			return true
		}
		*out = append(*out, corpusRequest{folder: folder, name: name, body: raw})
		return true
	})
}

// TestCorpusWebhookGolden feeds every sample webhook of Meta's Postman
// collection that is valid JSON (after {{var}} substitution) to
// GupshupWebhook as a v3 callback — Gupshup's v3 format is Meta's — and pins
// the result under testdata/webhook/corpus.
func TestCorpusWebhookGolden(t *testing.T) {
	data, err := os.ReadFile(corpusPath)
	if err != nil {
		abs, _ := filepath.Abs(corpusPath)
		t.Fatalf("Meta's Postman collection is required for this test and was not found at %s "+
			"(clone the repository with shared/ beside it): %v", abs, err)
	}
	if !gjson.ValidBytes(data) {
		t.Fatalf("%s is not valid JSON", corpusPath)
	}
	var reqs []corpusRequest
	walkCorpusWebhooks(gjson.GetBytes(data, "item"), nil, &reqs)
	slugs := corpusSlugs(reqs)
	dir := filepath.Join("testdata", "webhook", "corpus")
	opts := WebhookOptions{StatusIDFromGsID: true} // configuration defaults, no phone known

	want := make(map[string]bool, len(reqs))
	translated := 0
	for i, r := range reqs {
		slug := slugs[i]
		body := []byte(substituteCorpusVars(r.body))
		if !gjson.ValidBytes(body) {
			t.Logf("skipping %q (%s): body is not valid JSON after substitution", r.name, strings.Join(r.folder, "/"))
			continue
		}
		want[slug] = true
		t.Run(slug, func(t *testing.T) {
			res, err := GupshupWebhook(body, opts)
			checkGolden(t, filepath.Join(dir, slug+".golden"), renderWebhook(opts, res, err))
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
			if len(res.Events) > 0 {
				translated++
			}
		})
	}
	t.Logf("corpus: %d webhook samples, %d valid JSON, %d translated", len(reqs), len(want), translated)
	if translated < minCorpusWebhooks {
		t.Errorf("only %d corpus webhook samples translated, want at least %d", translated, minCorpusWebhooks)
	}

	goldens, err := filepath.Glob(filepath.Join(dir, "*.golden"))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range goldens {
		if want[strings.TrimSuffix(filepath.Base(g), ".golden")] {
			continue
		}
		if *update {
			if err := os.Remove(g); err != nil {
				t.Error(err)
			}
			continue
		}
		t.Errorf("%s matches no corpus webhook sample (run go test ./translate -run TestCorpusWebhookGolden -update)", g)
	}
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
