package translate

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tidwall/gjson"
	"go.yaml.in/yaml/v3"
)

// openAPIPath is Meta's OpenAPI specification of the WhatsApp Business
// Platform, vendored under its MIT licence.
var openAPIPath = filepath.Join("testdata", "openapi", "meta-business-messaging-api_v23.0.openapi.yaml")

// openAPIDir is where the goldens of the spec's examples live.
var openAPIDir = filepath.Join("testdata", "openapi")

// openAPISpec is the specification converted once to JSON.
var openAPISpec = sync.OnceValues(func() (gjson.Result, error) {
	data, err := os.ReadFile(openAPIPath)
	if err != nil {
		return gjson.Result{}, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return gjson.Result{}, fmt.Errorf("%s: %w", openAPIPath, err)
	}
	js, err := appendYAMLAsJSON(nil, &doc)
	if err != nil {
		return gjson.Result{}, fmt.Errorf("%s: %w", openAPIPath, err)
	}
	if !gjson.ValidBytes(js) {
		return gjson.Result{}, fmt.Errorf("%s: converted to invalid JSON", openAPIPath)
	}
	return gjson.ParseBytes(js), nil
})

// loadOpenAPI returns the specification or fails the test.
func loadOpenAPI(t *testing.T) gjson.Result {
	t.Helper()
	spec, err := openAPISpec()
	if err != nil {
		t.Fatalf("Meta's OpenAPI specification: %v", err)
	}
	return spec
}

// jsonNumber is a number as JSON writes it.
var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// appendYAMLAsJSON appends n as compact JSON: mappings in document order,
// numbers as written when JSON can hold them so (37.758056 stays
// 37.758056), other scalars by their resolved YAML tag.
func appendYAMLAsJSON(dst []byte, n *yaml.Node) ([]byte, error) {
	var err error
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return nil, fmt.Errorf("line %d: document with %d nodes", n.Line, len(n.Content))
		}
		return appendYAMLAsJSON(dst, n.Content[0])
	case yaml.AliasNode:
		return appendYAMLAsJSON(dst, n.Alias)
	case yaml.MappingNode:
		dst = append(dst, '{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				dst = append(dst, ',')
			}
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: mapping key is not a scalar", k.Line)
			}
			dst = appendJSONString(dst, k.Value)
			dst = append(dst, ':')
			if dst, err = appendYAMLAsJSON(dst, n.Content[i+1]); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	case yaml.SequenceNode:
		dst = append(dst, '[')
		for i, c := range n.Content {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = appendYAMLAsJSON(dst, c); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return append(dst, "null"...), nil
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				return nil, err
			}
			return strconv.AppendBool(dst, b), nil
		case "!!int", "!!float":
			if jsonNumber.MatchString(n.Value) {
				return append(dst, n.Value...), nil
			}
			var f float64
			if err := n.Decode(&f); err != nil {
				return nil, err
			}
			if math.IsInf(f, 0) || math.IsNaN(f) {
				return nil, fmt.Errorf("line %d: %s has no JSON form", n.Line, n.Value)
			}
			return strconv.AppendFloat(dst, f, 'g', -1, 64), nil
		default:
			return appendJSONString(dst, n.Value), nil
		}
	}
	return nil, fmt.Errorf("line %d: unexpected YAML node kind %d", n.Line, n.Kind)
}

// appendJSONString appends s as a JSON string, escaping only what JSON
// requires.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

// specPath is the gjson path of the given member names, each escaped.
func specPath(keys ...string) string {
	esc := make([]string, len(keys))
	for i, k := range keys {
		esc[i] = gjson.Escape(k)
	}
	return strings.Join(esc, ".")
}

// specOperation is one operation of the specification: its path item and
// method ("get", "post", …). It fails the test when the spec lacks it.
func specOperation(t *testing.T, path, method string) gjson.Result {
	t.Helper()
	op := loadOpenAPI(t).Get(specPath("paths", path, method))
	if !op.IsObject() {
		t.Fatalf("the specification has no %s %s", strings.ToUpper(method), path)
	}
	return op
}

// specRef resolves a local $ref ("#/components/…"); anything else is
// returned as it is.
func specRef(t *testing.T, r gjson.Result) gjson.Result {
	t.Helper()
	for range 8 {
		ref := r.Get(gjson.Escape("$ref"))
		if ref.Type != gjson.String {
			return r
		}
		ptr, ok := strings.CutPrefix(ref.Str, "#/")
		if !ok {
			t.Fatalf("external $ref %q", ref.Str)
		}
		parts := strings.Split(ptr, "/")
		for i, p := range parts {
			parts[i] = strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~")
		}
		r = loadOpenAPI(t).Get(specPath(parts...))
		if !r.Exists() {
			t.Fatalf("$ref %q names nothing", ref.Str)
		}
	}
	t.Fatal("$ref chain too long")
	return r
}

// specExample is one named example of the specification.
type specExample struct {
	Name  string
	Value gjson.Result
}

// mediaExamples are the examples of a media type object (the value of
// requestBody.content.<type> or responses.<code>.content.<type>): its
// "examples" map (each entry's value, $refs to components/examples
// resolved), or its single "example" (named "example"), or, when it has
// neither, the object made of its schema's property examples (named
// "schema"; properties without an example, such as binary files, are left
// out).
func mediaExamples(t *testing.T, media gjson.Result) []specExample {
	t.Helper()
	var out []specExample
	media.Get("examples").ForEach(func(name, ex gjson.Result) bool {
		ex = specRef(t, ex)
		if v := ex.Get("value"); v.Exists() {
			out = append(out, specExample{Name: name.Str, Value: v})
		}
		return true
	})
	if len(out) > 0 {
		return out
	}
	if v := media.Get("example"); v.Exists() {
		return []specExample{{Name: "example", Value: v}}
	}
	b := []byte{'{'}
	specRef(t, media.Get("schema")).Get("properties").ForEach(func(name, prop gjson.Result) bool {
		if ex := specRef(t, prop).Get("example"); ex.Exists() {
			if len(b) > 1 {
				b = append(b, ',')
			}
			b = append(appendJSONString(b, name.Str), ':')
			b = append(b, ex.Raw...)
		}
		return true
	})
	if len(b) == 1 {
		return nil
	}
	return []specExample{{Name: "schema", Value: gjson.ParseBytes(append(b, '}'))}}
}

// requestExamples are the request body examples of op for content type ct.
func requestExamples(t *testing.T, op gjson.Result, ct string) []specExample {
	t.Helper()
	return mediaExamples(t, specRef(t, op.Get("requestBody")).Get(specPath("content", ct)))
}

// responseExamples are the JSON examples of op's answer with status code.
func responseExamples(t *testing.T, op gjson.Result, code string) []specExample {
	t.Helper()
	return mediaExamples(t, specRef(t, op.Get(specPath("responses", code))).Get(specPath("content", "application/json")))
}

// exampleSlugs names each example after itself, made unique by a counter.
func exampleSlugs(prefix string, exs []specExample) []string {
	slugs := make([]string, len(exs))
	used := map[string]bool{}
	for i, ex := range exs {
		s := corpusSlug(prefix, ex.Name)
		base := s
		for n := 2; used[s]; n++ {
			s = base + "-" + strconv.Itoa(n)
		}
		used[s] = true
		slugs[i] = s
	}
	return slugs
}

// exampleJSON is an example's JSON text with the collection-style
// {{Variable}} placeholders the spec keeps replaced by fixed values.
func exampleJSON(ex specExample) []byte {
	return []byte(substituteCorpusVars(ex.Value.Raw))
}

func TestAppendYAMLAsJSON(t *testing.T) {
	cases := []struct{ yaml, want string }{
		{"a: 1\nb: 37.758056\nc: -122.425332\nd: '0'\ne: true\nf: ~\ng: text", `{"a":1,"b":37.758056,"c":-122.425332,"d":"0","e":true,"f":null,"g":"text"}`},
		{"z: 1\na: 2", `{"z":1,"a":2}`},
		{"- 0x1F\n- 1_000\n- +5\n- 1e3\n- .5", `[31,1000,5,1e3,0.5]`},
		{"s: \"quote \\\" back \\\\ tab \\t nl \\n emoji 😀 <&>\"", `{"s":"quote \" back \\ tab \t nl \n emoji 😀 <&>"}`},
		{"x: &a {k: v}\ny: *a", `{"x":{"k":"v"},"y":{"k":"v"}}`},
		{"True: TRUE\n2: 2024-01-28", `{"True":true,"2":"2024-01-28"}`},
		{"e: []\no: {}", `{"e":[],"o":{}}`},
	}
	for _, c := range cases {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(c.yaml), &n); err != nil {
			t.Fatal(err)
		}
		got, err := appendYAMLAsJSON(nil, &n)
		if err != nil || string(got) != c.want {
			t.Errorf("%q: got %s %v, want %s", c.yaml, got, err, c.want)
		}
	}
	var n yaml.Node
	if err := yaml.Unmarshal([]byte("a: .inf"), &n); err != nil {
		t.Fatal(err)
	}
	if got, err := appendYAMLAsJSON(nil, &n); err == nil {
		t.Errorf(".inf: got %s without an error", got)
	}
}

func TestMediaExamples(t *testing.T) {
	media := gjson.Parse(`{"schema":{"type":"object","properties":{"b":{"type":"string","example":"[\"x\"]"},"file":{"type":"string","format":"binary"},"a":{"example":2}}}}`)
	got := mediaExamples(t, media)
	if len(got) != 1 || got[0].Name != "schema" || got[0].Value.Raw != `{"b":"[\"x\"]","a":2}` {
		t.Errorf("schema examples: %+v", got)
	}
	got = mediaExamples(t, gjson.Parse(`{"example":{"k":1},"schema":{"properties":{"a":{"example":1}}}}`))
	if len(got) != 1 || got[0].Name != "example" || got[0].Value.Raw != `{"k":1}` {
		t.Errorf("single example: %+v", got)
	}
	got = mediaExamples(t, gjson.Parse(`{"examples":{"One":{"value":{"k":1}},"Ext":{"externalValue":"x"},"Two":{"value":[2]}},"example":{"no":1}}`))
	if names := []string{got[0].Name, got[1].Name}; len(got) != 2 || !slices.Equal(names, []string{"One", "Two"}) {
		t.Errorf("named examples: %+v", got)
	}
	if got := mediaExamples(t, gjson.Parse(`{"schema":{"properties":{"file":{"format":"binary"}}}}`)); got != nil {
		t.Errorf("no examples: %+v", got)
	}
	if got := exampleSlugs("op", []specExample{{Name: "A b"}, {Name: "a-B"}, {Name: "c"}}); !slices.Equal(got, []string{"op-a-b", "op-a-b-2", "op-c"}) {
		t.Errorf("slugs: %q", got)
	}
}
