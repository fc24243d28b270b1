package translate

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// minCorpusTemplateSends guards the template walk: the collection holds
// nine /messages samples of type template.
const minCorpusTemplateSends = 8

// plausibleV2Template builds the Gupshup template a v2 app would have for a
// Meta template send: its name and language, a header and body text with
// one placeholder per parameter sent ({{n}}, or {{name}} for named ones), a
// button of the sent sub_type at each index, and the template type the
// components imply. The id is derived from slug.
func plausibleV2Template(slug string, body []byte) V2Template {
	name, lang, _ := V2TemplateRef(body)
	tpl := V2Template{ID: "gs-" + slug, Name: name, Language: lang, Status: "APPROVED", Type: "TEXT", Body: "Body text."}
	placeholders := func(prefix string, params gjson.Result) string {
		text := prefix
		params.ForEach(func(i, p gjson.Result) bool {
			ph := strconv.Itoa(int(i.Int()) + 1)
			if n := p.Get("parameter_name"); n.Type == gjson.String {
				ph = n.Str
			}
			text += " {{" + ph + "}}"
			return true
		})
		return text
	}
	gjson.GetBytes(body, "template.components").ForEach(func(_, c gjson.Result) bool {
		params := c.Get("parameters")
		switch strings.ToLower(c.Get("type").String()) {
		case "header":
			switch mt := strings.ToUpper(params.Get("0.type").String()); mt {
			case "IMAGE", "VIDEO", "DOCUMENT", "LOCATION":
				tpl.Type = mt
			default:
				tpl.Header = placeholders("Header", params)
			}
		case "body":
			tpl.Body = placeholders("Body", params)
		case "limited_time_offer":
			tpl.Type = "LTO"
		case "carousel":
			tpl.Type = "CAROUSEL"
		case "button":
			st := strings.ToUpper(c.Get("sub_type").String())
			idx, _ := strconv.Atoi(scalarString(c.Get("index")))
			for len(tpl.Buttons) <= idx {
				tpl.Buttons = append(tpl.Buttons, V2Button{Type: "QUICK_REPLY", Text: "Button " + strconv.Itoa(len(tpl.Buttons))})
			}
			tpl.Buttons[idx].Type = st
			switch st {
			case "CATALOG":
				tpl.Type = "CATALOG"
			case "MPM":
				tpl.Type = "PRODUCT"
			}
		}
		return true
	})
	return tpl
}

// TestTemplateV2CorpusGolden translates every template send of Meta's
// Postman collection (testdata/postman/messages.json) for a v2 number, against the template
// plausibleV2Template builds for it, and pins the template assumed and the
// form (or the error) under testdata/templatev2/corpus.
func TestTemplateV2CorpusGolden(t *testing.T) {
	var reqs []corpusRequest
	for _, r := range readCorpus(t, "messages") {
		if gjson.Get(substituteCorpusVars(r.Body), "type").String() == "template" {
			reqs = append(reqs, r)
		}
	}
	dir := filepath.Join("testdata", "templatev2", "corpus")
	translated := 0
	ran := runCorpus(t, reqs, func(t *testing.T, slug string, body []byte) {
		if checkV2TemplateGolden(t, filepath.Join(dir, slug+".golden"), slug, body) {
			translated++
		}
	})
	t.Logf("corpus: %d template sends, %d checked, %d translated", len(reqs), len(ran), translated)
	if len(ran) < minCorpusTemplateSends {
		t.Errorf("only %d corpus template sends checked, want at least %d", len(ran), minCorpusTemplateSends)
	}
	checkStaleGoldens(t, dir, ran, "corpus template send")
}

func TestPlausibleV2Template(t *testing.T) {
	body := []byte(`{"template":{"name":"n","language":{"code":"en"},"components":[` +
		`{"type":"header","parameters":[{"type":"text","parameter_name":"h","text":"x"}]},` +
		`{"type":"body","parameters":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},` +
		`{"type":"button","sub_type":"mpm","index":"2"}]}}`)
	got := plausibleV2Template("s", body)
	tj, _ := json.Marshal(got)
	want := `{"ID":"gs-s","Name":"n","Language":"en","Status":"APPROVED","Type":"PRODUCT","Header":"Header {{h}}","Body":"Body {{1}} {{2}}",` +
		`"Buttons":[{"Type":"QUICK_REPLY","Text":"Button 0"},{"Type":"QUICK_REPLY","Text":"Button 1"},{"Type":"MPM","Text":"Button 2"}]}`
	if string(tj) != want {
		t.Errorf("got  %s\nwant %s", tj, want)
	}
}

// checkV2TemplateGolden translates a Meta template send for a v2 number
// against a plausible approved template, checks the form, and pins the
// template and the outcome in golden; it reports whether it translated.
func checkV2TemplateGolden(t *testing.T, golden, slug string, body []byte) bool {
	t.Helper()
	tpl := plausibleV2Template(slug, body)
	form, to, e := TemplateV2Form(nil, body, tpl, v2DefaultOptions)
	if e == nil {
		checkV2Form(t, form, to, tpl, v2DefaultOptions)
	}
	var tj bytes.Buffer
	enc := json.NewEncoder(&tj)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(tpl); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, golden, []byte("v2 template: "+tj.String()+renderV2Form(form, to, e)))
	return e == nil
}
