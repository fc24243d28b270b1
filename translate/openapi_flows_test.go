package translate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// openAPIOp is one operation of the spec that the package translates, and
// how its examples are run: check writes the golden text for op's examples
// and returns how many it used (request and response examples).
type openAPIOp struct {
	slug         string // golden file name under the group's directory
	path, method string
	check        func(t *testing.T, b *strings.Builder, op gjson.Result) int
}

// runOpenAPIOps runs every operation of a group as a subtest, pins its
// golden file under testdata/openapi/<group>, fails for an operation whose
// examples the walk does not find, and logs the counts.
func runOpenAPIOps(t *testing.T, group string, ops []openAPIOp) {
	dir := filepath.Join(openAPIDir, group)
	ran := map[string]bool{}
	counts := make([]string, 0, len(ops))
	for _, o := range ops {
		ran[o.slug] = true
		t.Run(o.slug, func(t *testing.T) {
			var b strings.Builder
			fmt.Fprintf(&b, "%s %s\n", strings.ToUpper(o.method), o.path)
			n := o.check(t, &b, specOperation(t, o.path, o.method))
			counts = append(counts, o.slug+"="+strconv.Itoa(n))
			if n == 0 {
				t.Errorf("no example of %s %s found in the spec", strings.ToUpper(o.method), o.path)
			}
			checkGolden(t, filepath.Join(dir, o.slug+".golden"), []byte(b.String()))
		})
	}
	t.Logf("openapi: %s examples used per operation: %s", group, strings.Join(counts, " "))
	checkStaleGoldens(t, dir, ran, group+" operation of the spec")
}

// exampleFields are a form-data example's members as the form fields a
// client sends: strings as they are, anything else as its JSON text.
func exampleFields(ex specExample) []Field {
	var fields []Field
	ex.Value.ForEach(func(k, v gjson.Result) bool {
		val := v.Raw
		if v.Type == gjson.String {
			val = v.Str
		}
		fields = append(fields, Field{Name: k.Str, Value: substituteCorpusVars(val)})
		return true
	})
	return fields
}

// forEachParams runs do for each multipart request example of op, with its
// params built as the server builds them and with every value a string.
func forEachParams(t *testing.T, b *strings.Builder, op gjson.Result, do func(params []byte)) int {
	t.Helper()
	exs := requestExamples(t, op, "multipart/form-data")
	for _, ex := range exs {
		fields := exampleFields(ex)
		for _, v := range []struct {
			what   string
			params []byte
		}{
			{"params as the server builds them", FieldsToJSON(fields)},
			{"params with every value a string", stringParams(fields)},
		} {
			fmt.Fprintf(b, "\nrequest example %q, %s: %s\n", ex.Name, v.what, v.params)
			do(v.params)
		}
	}
	return len(exs)
}

// forEachAnswer runs do for each example of op's 200 answer, with the
// example's JSON text.
func forEachAnswer(t *testing.T, b *strings.Builder, op gjson.Result, do func(answer []byte)) int {
	t.Helper()
	exs := responseExamples(t, op, "200")
	for _, ex := range exs {
		answer := exampleJSON(ex)
		fmt.Fprintf(b, "\nMeta's answer %q: %s\n", ex.Name, answer)
		do(answer)
	}
	return len(exs)
}

// canonicalJSON is raw with every object's members sorted and escaping
// undone: the spec lists members alphabetically, Graph in its own order.
func canonicalJSON(t *testing.T, raw []byte) string {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(out.String(), "\n")
}

// sameAsSpec checks that an answer the package builds says what the spec's
// example says (members in any order).
func sameAsSpec(t *testing.T, b *strings.Builder, got, spec []byte) {
	t.Helper()
	if g, w := canonicalJSON(t, got), canonicalJSON(t, spec); g != w {
		t.Errorf("answer %s, the spec's example is %s", g, w)
	}
	fmt.Fprintf(b, "→ the proxy answers %s\n", got)
}

// successAnswers is the check of an operation Meta answers with Success.
func successAnswers(t *testing.T, b *strings.Builder, op gjson.Result) int {
	return forEachAnswer(t, b, op, func(answer []byte) { sameAsSpec(t, b, []byte(Success), answer) })
}

// TestOpenAPIFlowsGolden runs the spec's examples of the Flows API through
// the translations: request parameters (create, update, asset upload) as
// Gupshup bodies, and Meta's example answers — read as if Gupshup had sent
// them (Gupshup passes Meta's shapes on) — as the proxy's answers, which
// must equal the spec's where the proxy builds them itself. Pinned under
// testdata/openapi/flows.
func TestOpenAPIFlowsGolden(t *testing.T) {
	wabaID := corpusVars["WABA-ID"]
	runOpenAPIOps(t, "flows", []openAPIOp{
		{"create", "/{Version}/{WABA-ID}/flows", "post", func(t *testing.T, b *strings.Builder, op gjson.Result) int {
			n := forEachParams(t, b, op, func(params []byte) {
				c, e := FlowCreateRequest(params)
				if e != nil {
					t.Errorf("create rejected: %s", e.Body("T"))
				}
				b.WriteString(renderFlowCreate(t, c, e))
			})
			return n + forEachAnswer(t, b, op, func(answer []byte) {
				id, ok := FlowID(answer)
				if !ok {
					t.Fatalf("no id in %s", answer)
				}
				sameAsSpec(t, b, FlowCreateResponse(nil, id, nil), answer)
			})
		}},
		{"update", "/{Version}/{Flow-ID}", "post", func(t *testing.T, b *strings.Builder, op gjson.Result) int {
			n := forEachParams(t, b, op, func(params []byte) {
				body, e := FlowUpdateRequest(params)
				if e != nil {
					t.Errorf("update rejected: %s", e.Body("T"))
					b.WriteString(renderFlowError(e))
					return
				}
				fmt.Fprintf(b, "gupshup body: %s\n", body)
			})
			return n + successAnswers(t, b, op)
		}},
		{"upload", "/{Version}/{Flow-ID}/assets", "post", func(t *testing.T, b *strings.Builder, op gjson.Result) int {
			n := forEachParams(t, b, op, func(params []byte) {
				name, e := FlowAssetParams(params)
				if e != nil {
					t.Errorf("upload rejected: %s", e.Body("T"))
					b.WriteString(renderFlowError(e))
					return
				}
				fmt.Fprintf(b, "file name: %q\n", name)
			})
			return n + forEachAnswer(t, b, op, func(answer []byte) {
				sameAsSpec(t, b, FlowValidationResponse(nil, answer), answer)
			})
		}},
		{"assets", "/{Version}/{Flow-ID}/assets", "get", func(t *testing.T, b *strings.Builder, op gjson.Result) int {
			return forEachAnswer(t, b, op, func(answer []byte) {
				out, e := FlowAssetsResponse(nil, answer, testAssetRewrite)
				if e != nil {
					t.Fatalf("assets: %s", e.Body("T"))
				}
				checkMetaAnswer(t, out)
				for _, m := range []string{"data.#.name", "data.#.asset_type"} {
					if got, want := gjson.GetBytes(out, m).Raw, gjson.GetBytes(answer, m).Raw; got != want {
						t.Errorf("%s: %s, want %s", m, got, want)
					}
				}
				fmt.Fprintf(b, "→ as Gupshup's assets, the proxy answers %s\n", out)
			})
		}},
		{"list", "/{Version}/{WABA-ID}/flows", "get", func(t *testing.T, b *strings.Builder, op gjson.Result) int {
			return forEachAnswer(t, b, op, func(answer []byte) {
				out, e := FlowListResponse(nil, answer)
				if e != nil {
					t.Fatalf("list: %s", e.Body("T"))
				}
				checkMetaAnswer(t, out)
				for _, m := range []string{"data.#.id", "data.#.name", "data.#.status", "data.#.categories"} {
					if got, want := gjson.GetBytes(out, m).Raw, gjson.GetBytes(answer, m).Raw; got != want {
						t.Errorf("%s: %s, want %s", m, got, want)
					}
				}
				fmt.Fprintf(b, "→ as Gupshup's list, the proxy answers %s\n", out)
			})
		}},
		{"get", "/{Version}/{Flow-ID}", "get", func(t *testing.T, b *strings.Builder, op gjson.Result) int {
			op.Get("parameters").ForEach(func(_, p gjson.Result) bool {
				if p.Get("name").Str == "fields" {
					q := p.Get("schema.example").Str
					f := ParseFlowFields(q)
					fmt.Fprintf(b, "\nfields parameter example %q → names=%q preview=%v invalidate=%v\n", q, f.Names, f.Preview, f.InvalidatePreview)
				}
				return true
			})
			// Each example answer stands for Gupshup's flow object, asked
			// for the fields the example shows.
			return forEachAnswer(t, b, op, func(answer []byte) {
				var names []string
				gjson.ParseBytes(answer).ForEach(func(k, _ gjson.Result) bool {
					names = append(names, k.Str)
					return true
				})
				q := strings.Join(names, ",")
				f := ParseFlowFields(q)
				out, e := FlowGetResponse(nil, answer, nil, f, wabaID)
				if e != nil {
					t.Fatalf("get: %s", e.Body("T"))
				}
				checkMetaAnswer(t, out)
				for _, name := range f.Names {
					want, got := gjson.GetBytes(answer, name), gjson.GetBytes(out, name)
					switch {
					case name == "whatsapp_business_account":
						if got.Get("id").Str != wabaID {
							t.Errorf("whatsapp_business_account: %s", got.Raw)
						}
					case name == "health_status":
					case want.Exists() && canonicalJSON(t, []byte(want.Raw)) != canonicalJSON(t, []byte(got.Raw)):
						t.Errorf("%s: got %s want %s", name, got.Raw, want.Raw)
					}
				}
				fmt.Fprintf(b, "fields %q → as Gupshup's flow, the proxy answers %s\n", q, out)
			})
		}},
		{"publish", "/{Version}/{Flow-ID}/publish", "post", successAnswers},
		{"deprecate", "/{Version}/{Flow-ID}/deprecate", "post", successAnswers},
		{"delete", "/{Version}/{Flow-ID}", "delete", successAnswers},
	})
}

// curlFile reads the curl notation of the spec's media upload examples,
// "@/local/path/file.ogg;type=ogg": whether a file is given and the
// Content-Type its part gets ("" when the notation names none).
func curlFile(v string) (hasFile bool, contentType string) {
	path, opts, _ := strings.Cut(v, ";")
	for _, o := range strings.Split(opts, ";") {
		if t, ok := strings.CutPrefix(strings.TrimSpace(o), "type="); ok {
			contentType = t
		}
	}
	return strings.HasPrefix(path, "@") && len(path) > 1, contentType
}

// TestOpenAPIMediaGolden runs the spec's media examples: each upload
// request (its file given in curl notation) through CheckMediaUpload, and
// the example answers to upload, retrieve and delete against the answers
// the proxy builds. Pinned under testdata/openapi/media.
func TestOpenAPIMediaGolden(t *testing.T) {
	runOpenAPIOps(t, "media", []openAPIOp{
		{"upload", "/{Version}/{Phone-Number-ID}/media", "post", func(t *testing.T, b *strings.Builder, op gjson.Result) int {
			exs := requestExamples(t, op, "application/json")
			for _, ex := range exs {
				hasFile, ct := curlFile(ex.Value.Get("file").Str)
				u := MediaUpload{MessagingProduct: ex.Value.Get("messaging_product").Str, HasFile: hasFile, FileType: ct, Size: -1}
				mime, kind, e := CheckMediaUpload(u)
				fmt.Fprintf(b, "\nrequest example %q: %s\nupload %+v → ", ex.Name, ex.Value.Raw, u)
				if e != nil {
					b.WriteString(renderFlowError(e))
				} else {
					fmt.Fprintf(b, "mime %q kind %s\n", mime, kind.Name)
				}
			}
			return len(exs) + forEachAnswer(t, b, op, func(answer []byte) {
				sameAsSpec(t, b, MediaUploadResponse(nil, gjson.GetBytes(answer, "id").Str), answer)
			})
		}},
		{"retrieve", "/{Version}/{Media-ID}", "get", func(t *testing.T, b *strings.Builder, op gjson.Result) int {
			return forEachAnswer(t, b, op, func(answer []byte) {
				a := gjson.ParseBytes(answer)
				size, err := strconv.ParseInt(a.Get("file_size").String(), 10, 64)
				if err != nil {
					t.Fatalf("file_size: %v", err)
				}
				out := MediaInfo(nil, MediaMeta{ID: a.Get("id").Str, URL: a.Get("url").Str, MimeType: a.Get("mime_type").Str, SHA256: a.Get("sha256").Str, Size: size})
				checkMetaAnswer(t, out)
				got := gjson.ParseBytes(out)
				a.ForEach(func(k, v gjson.Result) bool {
					if g := got.Get(k.Str); g.String() != v.String() {
						t.Errorf("%s: %s, the spec's example has %s", k.Str, g.Raw, v.Raw)
					}
					return true
				})
				fmt.Fprintf(b, "→ the proxy answers %s\n", out)
			})
		}},
		{"delete", "/{Version}/{Media-ID}", "delete", successAnswers},
	})
}

func TestCurlFile(t *testing.T) {
	cases := []struct {
		in   string
		file bool
		ct   string
	}{
		{"@/local/path/file.jpg;type=image/jpeg", true, "image/jpeg"},
		{"@/local/path/file.ogg;type=ogg", true, "ogg"},
		{"@file.pdf", true, ""},
		{"@/a.webp; filename=x.webp ;type=image/webp", true, "image/webp"},
		{"", false, ""},
		{"@", false, ""},
		{"text", false, ""},
	}
	for _, c := range cases {
		if f, ct := curlFile(c.in); f != c.file || ct != c.ct {
			t.Errorf("%q: %v %q", c.in, f, ct)
		}
	}
}
