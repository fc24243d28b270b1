package translate

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// The spec's example counts, so that a walk that silently finds nothing
// (a renamed path, another example layout) or a translator that starts
// rejecting examples fails: 50 send examples, 49 translated (the spec's
// "Send Reply to List Message" has no type, so Graph reads it as a text
// message without text); 9 of them templates, 7 translated for a v2 number
// (a flow button and a quick reply whose payload the spec writes as a
// boolean are refused); 16 webhook payloads, 13 relayed (the 3 group
// notifications are not).
const (
	minOpenAPISends                   = 50
	minOpenAPISendsTranslated         = 49
	minOpenAPITemplateSends           = 9
	minOpenAPITemplateSendsTranslated = 7
	minOpenAPIWebhooks                = 16
	minOpenAPIWebhooksTranslated      = 13
)

// openAPISendKinds are the kinds of send that must each have at least one
// translated example: every message type the translator forwards, and the
// read receipt (mark-as-read with typing indicator).
var openAPISendKinds = []string{
	"audio", "contacts", "document", "image", "interactive", "location",
	"reaction", "read", "sticker", "template", "text", "video",
}

// sendKind is the kind of a send body: "read" for a status update, else
// its type ("text" when omitted, as Graph reads it).
func sendKind(body []byte) string {
	if gjson.GetBytes(body, "status").Str == "read" {
		return "read"
	}
	if ty := gjson.GetBytes(body, "type"); ty.Type == gjson.String {
		return ty.Str
	}
	return "text"
}

// openAPISendExamples are the request examples of the send operation.
func openAPISendExamples(t *testing.T) []specExample {
	t.Helper()
	op := specOperation(t, "/{Version}/{Phone-Number-ID}/messages", "post")
	return requestExamples(t, op, "application/json")
}

// TestOpenAPISendGolden translates every request example of the spec's
// send operation (POST /{Phone-Number-ID}/messages: text, media, template,
// interactive, reaction, read receipt …) and pins the Gupshup form (or the
// Meta error) under testdata/openapi/send.
func TestOpenAPISendGolden(t *testing.T) {
	exs := openAPISendExamples(t)
	dir := filepath.Join(openAPIDir, "send")
	slugs := exampleSlugs("", exs)
	ran := map[string]bool{}
	translated := map[string]int{}
	for i, ex := range exs {
		slug := slugs[i]
		ran[slug] = true
		t.Run(slug, func(t *testing.T) {
			body := exampleJSON(ex)
			s, e := SendToForm(nil, body, SendOptions{NormalizeTemplateButtons: true})
			checkGolden(t, filepath.Join(dir, slug+".golden"), renderSend(s, e))
			if e == nil {
				translated[sendKind(body)]++
				assertFormRoundTrip(t, body, s.Form, true)
			}
		})
	}
	total := 0
	for _, n := range translated {
		total += n
	}
	t.Logf("openapi: %d send examples, %d translated %v", len(exs), total, translated)
	if len(exs) < minOpenAPISends {
		t.Errorf("only %d send examples in the spec, want at least %d", len(exs), minOpenAPISends)
	}
	if total < minOpenAPISendsTranslated {
		t.Errorf("only %d send examples translated, want at least %d", total, minOpenAPISendsTranslated)
	}
	for _, k := range openAPISendKinds {
		if translated[k] == 0 {
			t.Errorf("no %s send example translated", k)
		}
	}
	checkStaleGoldens(t, dir, ran, "send example of the spec")
}

// TestOpenAPITemplateV2Golden translates every template send example of
// the spec for a v2 number, against the template plausibleV2Template builds
// for it, and pins the template assumed and the form (or the error) under
// testdata/openapi/templatev2.
func TestOpenAPITemplateV2Golden(t *testing.T) {
	var exs []specExample
	for _, ex := range openAPISendExamples(t) {
		if ex.Value.Get("type").Str == "template" {
			exs = append(exs, ex)
		}
	}
	dir := filepath.Join(openAPIDir, "templatev2")
	slugs := exampleSlugs("", exs)
	ran := map[string]bool{}
	translated := 0
	for i, ex := range exs {
		slug := slugs[i]
		ran[slug] = true
		t.Run(slug, func(t *testing.T) {
			if checkV2TemplateGolden(t, filepath.Join(dir, slug+".golden"), slug, exampleJSON(ex)) {
				translated++
			}
		})
	}
	t.Logf("openapi: %d template send examples, %d translated for v2", len(exs), translated)
	if len(exs) < minOpenAPITemplateSends {
		t.Errorf("only %d template send examples, want at least %d", len(exs), minOpenAPITemplateSends)
	}
	if translated < minOpenAPITemplateSendsTranslated {
		t.Errorf("only %d template send examples translated for v2, want at least %d", translated, minOpenAPITemplateSendsTranslated)
	}
	checkStaleGoldens(t, dir, ran, "template send example of the spec")
}

// TestOpenAPIWebhookGolden feeds every webhook payload example of the spec
// (POST /whatsapp/webhooks) to GupshupWebhook as a v3 callback — Gupshup's
// v3 format is Meta's — and pins the result under testdata/openapi/webhook.
// A payload carrying nothing of Gupshup's must come out saying what it
// said.
func TestOpenAPIWebhookGolden(t *testing.T) {
	op := specOperation(t, "/whatsapp/webhooks", "post")
	exs := requestExamples(t, op, "application/json")
	dir := filepath.Join(openAPIDir, "webhook")
	opts := WebhookOptions{StatusIDFromGsID: true}
	slugs := exampleSlugs("", exs)
	ran := map[string]bool{}
	translated := 0
	var fields []string
	for i, ex := range exs {
		slug := slugs[i]
		ran[slug] = true
		if f := ex.Value.Get("entry.0.changes.0.field").Str; !slices.Contains(fields, f) {
			fields = append(fields, f)
		}
		t.Run(slug, func(t *testing.T) {
			if checkV3WebhookGolden(t, filepath.Join(dir, slug+".golden"), opts, exampleJSON(ex)) {
				translated++
			}
		})
	}
	t.Logf("openapi: %d webhook examples (fields %s), %d translated to events", len(exs), strings.Join(fields, ", "), translated)
	if len(exs) < minOpenAPIWebhooks {
		t.Errorf("only %d webhook examples, want at least %d", len(exs), minOpenAPIWebhooks)
	}
	if translated < minOpenAPIWebhooksTranslated {
		t.Errorf("only %d webhook examples translated, want at least %d", translated, minOpenAPIWebhooksTranslated)
	}
	checkStaleGoldens(t, dir, ran, "webhook example of the spec")
}
