package translate

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// corpusPath is Meta's Postman collection for the WhatsApp Cloud API. It is
// Meta's material and lives beside the repository (shared/corpus), never in
// it; CI clones the repository with shared/ next to it.
const corpusPath = "../../shared/corpus/meta-cloud-api.postman_collection.json"

// minCorpusSends guards against a corpus walk that silently finds nothing:
// the collection holds several dozen /messages samples.
const minCorpusSends = 40

// corpusVars are the values substituted for the collection's {{Variable}}
// placeholders. Unknown variables get their own name, made safe.
var corpusVars = map[string]string{
	"Version":                   "v23.0",
	"Phone-Number-ID":           "106540352242922",
	"WABA-ID":                   "102290129340398",
	"Recipient-Phone-Number":    "15551234567",
	"Recipient-WA-ID":           "15551234567",
	"Recipient-WA-Phone-Number": "15551234567",
	"Flow-ID":                   "1234567890123456",
	"Flow-Name":                 "sample_flow",
	"Media-ID":                  "1479537139650973",
	"Catalog-ID":                "367025965434465",
}

var (
	corpusPlaceholder = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)
	corpusUnsafe      = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)
	corpusSlugUnsafe  = regexp.MustCompile(`[^a-z0-9]+`)
)

// corpusRequest is one /messages request of the collection with a raw body.
type corpusRequest struct {
	folder []string // enclosing folder names, outermost first
	name   string
	body   string // raw body as written in the collection
}

// substituteCorpusVars replaces every {{Variable}} with its fixed value.
func substituteCorpusVars(s string) string {
	return corpusPlaceholder.ReplaceAllStringFunc(s, func(m string) string {
		name := corpusPlaceholder.FindStringSubmatch(m)[1]
		if v, ok := corpusVars[name]; ok {
			return v
		}
		safe := strings.Trim(corpusUnsafe.ReplaceAllString(name, "_"), "_")
		if safe == "" {
			safe = "var"
		}
		return safe
	})
}

func corpusSlug(parts ...string) string {
	s := corpusSlugUnsafe.ReplaceAllString(strings.ToLower(strings.Join(parts, " ")), "-")
	return strings.Trim(s, "-")
}

// corpusURL is the request URL of a Postman v2.1 request: a string, or an
// object with "raw" or with "host" and "path" parts.
func corpusURL(req gjson.Result) string {
	if req.Type == gjson.String {
		return req.Str
	}
	u := req.Get("url")
	if u.Type == gjson.String {
		return u.Str
	}
	if raw := u.Get("raw"); raw.Type == gjson.String {
		return raw.Str
	}
	var parts []string
	u.Get("path").ForEach(func(_, p gjson.Result) bool {
		if p.Type == gjson.String {
			parts = append(parts, p.Str)
		} else {
			parts = append(parts, p.Get("value").String())
		}
		return true
	})
	return "/" + strings.Join(parts, "/")
}

// isMessagesURL reports whether the URL's path ends in /messages.
func isMessagesURL(u string) bool {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	return strings.HasSuffix(strings.TrimRight(u, "/"), "/messages")
}

// readCorpus reads Meta's Postman collection and returns the requests for
// which keep returns a body (the raw body as written), in collection order.
func readCorpus(t *testing.T, keep func(req gjson.Result) (body string, ok bool)) []corpusRequest {
	t.Helper()
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
	walkCorpus(gjson.GetBytes(data, "item"), nil, keep, &reqs)
	return reqs
}

// walkCorpus collects the requests below items that keep accepts.
func walkCorpus(items gjson.Result, folder []string, keep func(gjson.Result) (string, bool), out *[]corpusRequest) {
	items.ForEach(func(_, it gjson.Result) bool {
		name := it.Get("name").String()
		if sub := it.Get("item"); sub.IsArray() {
			walkCorpus(sub, append(folder[:len(folder):len(folder)], name), keep, out)
			return true
		}
		if body, ok := keep(it.Get("request")); ok {
			*out = append(*out, corpusRequest{folder: folder, name: name, body: body})
		}
		return true
	})
}

// messagesRequest keeps the /messages requests with a raw JSON body.
func messagesRequest(req gjson.Result) (string, bool) {
	if !isMessagesURL(corpusURL(req)) {
		return "", false
	}
	body := req.Get("body")
	if body.Get("mode").String() != "raw" || strings.TrimSpace(body.Get("raw").String()) == "" {
		return "", false
	}
	if lang := body.Get("options.raw.language"); lang.Exists() && !strings.EqualFold(lang.String(), "json") {
		return "", false
	}
	return body.Get("raw").String(), true
}

// runCorpus runs check as a subtest named by its slug for every request
// whose body is valid JSON after {{var}} substitution, and returns the slugs
// it ran.
func runCorpus(t *testing.T, reqs []corpusRequest, check func(t *testing.T, slug string, body []byte)) map[string]bool {
	t.Helper()
	slugs := corpusSlugs(reqs)
	ran := make(map[string]bool, len(reqs))
	for i, r := range reqs {
		body := []byte(substituteCorpusVars(r.body))
		if !gjson.ValidBytes(body) {
			t.Logf("skipping %q (%s): body is not valid JSON after substitution", r.name, strings.Join(r.folder, "/"))
			continue
		}
		slug := slugs[i]
		ran[slug] = true
		t.Run(slug, func(t *testing.T) { check(t, slug, body) })
	}
	return ran
}

// checkStaleGoldens fails for every golden file in dir that names no slug
// of ran (what names the samples in the message); with -update it removes
// them.
func checkStaleGoldens(t *testing.T, dir string, ran map[string]bool, what string) {
	t.Helper()
	goldens, err := filepath.Glob(filepath.Join(dir, "*.golden"))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range goldens {
		if ran[strings.TrimSuffix(filepath.Base(g), ".golden")] {
			continue
		}
		if *update {
			if err := os.Remove(g); err != nil {
				t.Error(err)
			}
			continue
		}
		t.Errorf("%s matches no %s (run go test ./translate -run %s -update)", g, what, t.Name())
	}
}

// corpusSlugs names each request after its own name; requests sharing a
// name are told apart by their folders, then by their order.
func corpusSlugs(reqs []corpusRequest) []string {
	count := make(map[string]int, len(reqs))
	for _, r := range reqs {
		count[corpusSlug(r.name)]++
	}
	slugs := make([]string, len(reqs))
	used := make(map[string]bool, len(reqs))
	for i, r := range reqs {
		s := corpusSlug(r.name)
		if count[s] > 1 {
			s = corpusSlug(append(append([]string(nil), r.folder...), r.name)...)
		}
		if s == "" {
			s = "request"
		}
		base := s
		for n := 2; used[s]; n++ {
			s = base + "-" + strconv.Itoa(n)
		}
		used[s] = true
		slugs[i] = s
	}
	return slugs
}

// TestCorpusSendGolden translates every /messages sample of Meta's Postman
// collection and pins the result under testdata/corpus.
func TestCorpusSendGolden(t *testing.T) {
	reqs := readCorpus(t, messagesRequest)
	dir := filepath.Join("testdata", "corpus")
	translated := 0
	ran := runCorpus(t, reqs, func(t *testing.T, slug string, body []byte) {
		s, e := SendToForm(nil, body, SendOptions{NormalizeTemplateButtons: true})
		checkGolden(t, filepath.Join(dir, slug+".golden"), renderSend(s, e))
		if e == nil {
			translated++
			assertFormRoundTrip(t, body, s.Form, true)
		}
	})
	t.Logf("corpus: %d /messages requests with raw bodies, %d checked, %d translated", len(reqs), len(ran), translated)
	if translated < minCorpusSends {
		t.Errorf("only %d corpus requests translated, want at least %d", translated, minCorpusSends)
	}
	checkStaleGoldens(t, dir, ran, "corpus request")
}

func TestCorpusHelpers(t *testing.T) {
	if got := substituteCorpusVars(`{"to":"{{Recipient-Phone-Number}}","x":"{{ My Var/1 }}","y":"{{}}"}`); got != `{"to":"15551234567","x":"My_Var_1","y":"var"}` {
		t.Errorf("substitute: %s", got)
	}
	for u, want := range map[string]bool{
		"https://graph.facebook.com/{{Version}}/{{Phone-Number-ID}}/messages":   true,
		"https://graph.facebook.com/v23.0/1/messages/?access_token=x":           true,
		"https://graph.facebook.com/{{Version}}/{{Phone-Number-ID}}/media":      false,
		"https://graph.facebook.com/{{Version}}/{{WABA-ID}}/message_templates":  false,
		"https://graph.facebook.com/{{Version}}/{{Phone-Number-ID}}/messages_x": false,
	} {
		if isMessagesURL(u) != want {
			t.Errorf("isMessagesURL(%q) = %v", u, !want)
		}
	}
	reqs := []corpusRequest{
		{folder: []string{"Payments API - SG"}, name: "Send Order Details Message"},
		{folder: []string{"Messages"}, name: "Send Text Message"},
		{folder: []string{"Payments API - IN"}, name: "Send Order Details Message"},
		{folder: []string{"A"}, name: "x"},
		{folder: []string{"A"}, name: "x"},
	}
	got := strings.Join(corpusSlugs(reqs), " ")
	want := "payments-api-sg-send-order-details-message send-text-message payments-api-in-send-order-details-message a-x a-x-2"
	if got != want {
		t.Errorf("slugs: %s", got)
	}
}
