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

// isMessagesURL reports whether the URL's path ends in /messages.
func isMessagesURL(u string) bool {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	return strings.HasSuffix(strings.TrimRight(u, "/"), "/messages")
}

// runCorpus runs check as a subtest named by its slug for every request
// whose body is valid JSON after {{var}} substitution, and returns the slugs
// it ran.
func runCorpus(t *testing.T, reqs []corpusRequest, check func(t *testing.T, slug string, body []byte)) map[string]bool {
	t.Helper()
	slugs := corpusSlugs(reqs)
	ran := make(map[string]bool, len(reqs))
	for i, r := range reqs {
		body := []byte(substituteCorpusVars(r.Body))
		if !gjson.ValidBytes(body) {
			t.Logf("skipping %q (%s): body is not valid JSON after substitution", r.Name, strings.Join(r.Folder, "/"))
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
		count[corpusSlug(r.Name)]++
	}
	slugs := make([]string, len(reqs))
	used := make(map[string]bool, len(reqs))
	for i, r := range reqs {
		s := corpusSlug(r.Name)
		if count[s] > 1 {
			s = corpusSlug(append(append([]string(nil), r.Folder...), r.Name)...)
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
// collection (testdata/postman/messages.json) and pins the result under
// testdata/corpus.
func TestCorpusSendGolden(t *testing.T) {
	reqs := readCorpus(t, "messages")
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
		{Folder: []string{"Payments API - SG"}, Name: "Send Order Details Message"},
		{Folder: []string{"Messages"}, Name: "Send Text Message"},
		{Folder: []string{"Payments API - IN"}, Name: "Send Order Details Message"},
		{Folder: []string{"A"}, Name: "x"},
		{Folder: []string{"A"}, Name: "x"},
	}
	got := strings.Join(corpusSlugs(reqs), " ")
	want := "payments-api-sg-send-order-details-message send-text-message payments-api-in-send-order-details-message a-x a-x-2"
	if got != want {
		t.Errorf("slugs: %s", got)
	}
}
