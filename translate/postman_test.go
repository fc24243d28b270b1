package translate

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// postmanPath is Meta's Postman collection for the WhatsApp Cloud API. The
// collection is not part of the repository: the corpus tests read the
// requests they use from fixtures extracted from it once
// (testdata/postman/<set>.json). Given a path, the tests extract their
// requests from the collection again and check that the fixtures hold
// exactly those; with -update they rewrite the fixtures instead.
var postmanPath = flag.String("postman", "", "path of Meta's Postman collection: re-extract testdata/postman from it (with -update: rewrite)")

// corpusRequest is one request of the Postman collection as the corpus
// tests use it. Bodies, URLs and form values are as written in the
// collection, {{Variable}} placeholders included.
type corpusRequest struct {
	Folder   []string          `json:"folder"` // enclosing folder names, outermost first
	Name     string            `json:"name"`
	Method   string            `json:"method"`
	URL      string            `json:"url,omitempty"`
	Body     string            `json:"body,omitempty"`     // raw body
	Form     []corpusFormField `json:"form,omitempty"`     // form-data text fields (files are left out)
	Response string            `json:"response,omitempty"` // body of the first saved response
}

// corpusFormField is one text field of a form-data body.
type corpusFormField struct {
	Key      string `json:"key"`
	Value    string `json:"value"`
	Disabled bool   `json:"disabled,omitempty"` // switched off in the collection
}

// postmanSets are the fixture sets: for each, what a request of the
// collection contributes to it (false: not part of the set).
var postmanSets = map[string]func(item postmanItem) (corpusRequest, bool){
	"messages": func(it postmanItem) (corpusRequest, bool) {
		body, ok := messagesRequest(it.request)
		return it.base(body), ok
	},
	"webhooks": func(it postmanItem) (corpusRequest, bool) {
		body, ok := webhookSample(it.request)
		return it.base(body), ok
	},
	"flows": func(it postmanItem) (corpusRequest, bool) {
		r := it.base("")
		if flowCorpusOp(r.Method, r.URL) == "" {
			return r, false
		}
		it.request.Get("body.formdata").ForEach(func(_, f gjson.Result) bool {
			if f.Get("type").Str != "file" {
				r.Form = append(r.Form, corpusFormField{Key: f.Get("key").Str, Value: f.Get("value").Str, Disabled: f.Get("disabled").Bool()})
			}
			return true
		})
		if resp := it.response; resp.Type == gjson.String {
			r.Response = resp.Str
		}
		return r, true
	},
}

// postmanItem is one request of the collection with where it sits.
type postmanItem struct {
	folder   []string
	name     string
	request  gjson.Result
	response gjson.Result // body of the first saved response
}

// base is the request's folder, name, method, URL and the given body.
func (it postmanItem) base(body string) corpusRequest {
	return corpusRequest{Folder: it.folder, Name: it.name, Method: it.request.Get("method").Str, URL: corpusURL(it.request), Body: body}
}

// readCorpus returns the requests of fixture set (a key of postmanSets) in
// collection order: from testdata/postman/<set>.json, or, with -postman,
// extracted from the collection and checked against (with -update written
// to) that file.
func readCorpus(t *testing.T, set string) []corpusRequest {
	t.Helper()
	path := filepath.Join("testdata", "postman", set+".json")
	if *postmanPath != "" {
		reqs := extractPostman(t, *postmanPath, postmanSets[set])
		b := encodeCorpus(t, reqs)
		if *update {
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
		} else if old, err := os.ReadFile(path); err != nil || !bytes.Equal(old, b) {
			t.Errorf("%s does not hold what %s gives (rerun with -update): %v", path, *postmanPath, err)
		}
		return reqs
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("missing fixture %s (extract it from Meta's Postman collection: go test ./translate -run Corpus -postman PATH -update): %v", path, err)
	}
	var reqs []corpusRequest
	if err := json.Unmarshal(data, &reqs); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(reqs) == 0 {
		t.Fatalf("%s lists no requests", path)
	}
	return reqs
}

// encodeCorpus is the fixture file's text: indented JSON, one request per
// array element, HTML characters left as they are.
func encodeCorpus(t *testing.T, reqs []corpusRequest) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(reqs); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// extractPostman reads Meta's Postman collection at path and returns what
// keep makes of its requests, in collection order.
func extractPostman(t *testing.T, path string, keep func(postmanItem) (corpusRequest, bool)) []corpusRequest {
	t.Helper()
	if keep == nil {
		t.Fatal("unknown fixture set")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the Postman collection: %v", err)
	}
	if !gjson.ValidBytes(data) {
		t.Fatalf("%s is not valid JSON", path)
	}
	var reqs []corpusRequest
	var walk func(items gjson.Result, folder []string)
	walk = func(items gjson.Result, folder []string) {
		items.ForEach(func(_, it gjson.Result) bool {
			name := it.Get("name").String()
			if sub := it.Get("item"); sub.IsArray() {
				walk(sub, append(folder[:len(folder):len(folder)], name))
				return true
			}
			item := postmanItem{folder: folder, name: name, request: it.Get("request"), response: it.Get("response.0.body")}
			if r, ok := keep(item); ok {
				if r.Folder == nil {
					r.Folder = []string{}
				}
				reqs = append(reqs, r)
			}
			return true
		})
	}
	walk(gjson.GetBytes(data, "item"), nil)
	return reqs
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

// TestPostmanFixtures checks every fixture set is there and its requests
// carry what the corpus tests read: a name, a URL (but for webhook
// samples, which have none) and a body (but for Flows requests, which send
// form fields or nothing).
func TestPostmanFixtures(t *testing.T) {
	for set := range postmanSets {
		t.Run(set, func(t *testing.T) {
			for _, r := range readCorpus(t, set) {
				if r.Name == "" || (r.URL == "") != (set == "webhooks") || (r.Body == "") != (set == "flows") {
					t.Errorf("incomplete request %q: url %q, body %d bytes", r.Name, r.URL, len(r.Body))
				}
			}
		})
	}
}
