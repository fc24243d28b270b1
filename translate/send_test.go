package translate

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// renderSend is the golden form of a translation: the exact form body
// Gupshup receives, then each field decoded for review; or the Meta error.
func renderSend(s Send, e *Error) []byte {
	var b bytes.Buffer
	if e != nil {
		fmt.Fprintf(&b, "error http=%d\n%s\n", e.HTTPStatus, e.Body("TRACE"))
		return b.Bytes()
	}
	fmt.Fprintf(&b, "to=%q type=%q status=%q message_id=%q\n", s.To, s.Type, s.Status, s.MessageID)
	fmt.Fprintf(&b, "form:\n%s\n\nfields:\n", s.Form)
	for _, kv := range strings.Split(string(s.Form), "&") {
		k, v, _ := strings.Cut(kv, "=")
		dk, _ := url.QueryUnescape(k)
		dv, _ := url.QueryUnescape(v)
		fmt.Fprintf(&b, "  %s = %s\n", dk, dv)
	}
	return b.Bytes()
}

// TestSendGolden pins the translation of every fixture under
// testdata/send: each Meta request body becomes exactly the golden form
// body (or the golden Meta error).
func TestSendGolden(t *testing.T) {
	for in, golden := range fixtures(t, "send") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			body, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			s, e := SendToForm(nil, body, SendOptions{NormalizeTemplateButtons: true})
			checkGolden(t, golden, renderSend(s, e))
			if e == nil {
				assertFormRoundTrip(t, body, s.Form, true)
			}
		})
	}
}

// assertFormRoundTrip checks the form invariants independently of the
// golden files: every top-level member of the request appears once, with
// its last value when the body repeats the name (Graph's reading), strings
// as their value and everything else as its exact JSON bytes.
func assertFormRoundTrip(t *testing.T, body, form []byte, normalized bool) {
	t.Helper()
	vals, err := url.ParseQuery(string(form))
	if err != nil {
		t.Fatalf("form does not parse: %v", err)
	}
	last := map[string]gjson.Result{}
	var order []string
	gjson.ParseBytes(body).ForEach(func(k, v gjson.Result) bool {
		if _, seen := last[k.Str]; !seen {
			order = append(order, k.Str)
		}
		last[k.Str] = v
		return true
	})
	for _, k := range order {
		v := last[k]
		if v.Type == gjson.Null {
			if _, ok := vals[k]; ok {
				t.Errorf("null member %q was forwarded", k)
			}
			continue
		}
		if n := len(vals[k]); n != 1 {
			t.Errorf("field %q forwarded %d times", k, n)
		}
		got := vals.Get(k)
		want := v.Raw
		if v.Type == gjson.String {
			want = v.Str
		}
		if k == "template" && normalized {
			continue // normalized: checked by the golden file
		}
		if got != want {
			t.Errorf("field %q = %q, want %q", k, got, want)
		}
	}
}

func TestSendToFormValidation(t *testing.T) {
	cases := []struct {
		name, body string
		http, code int
		msg        string
	}{
		{"not json", `hello`, 400, 100, "(#100) Invalid parameter"},
		{"json array", `[{"messaging_product":"whatsapp"}]`, 400, 100, "(#100) Invalid parameter"},
		{"truncated object", `{"messaging_product":"whatsapp","to":"1"`, 400, 100, "(#100) Invalid parameter"},
		{"no messaging_product", `{"to":"1","type":"text","text":{"body":"x"}}`, 400, 100, "(#100) The parameter messaging_product is required."},
		{"messaging_product not whatsapp", `{"messaging_product":"sms","to":"1","text":{"body":"x"}}`, 400, 100, "(#100) Invalid parameter"},
		{"no recipient", `{"messaging_product":"whatsapp","type":"text","text":{"body":"x"}}`, 400, 100, "(#100) The parameter to is required."},
		{"empty to", `{"messaging_product":"whatsapp","to":"","type":"text","text":{"body":"x"}}`, 400, 100, "(#100) The parameter to is required."},
		{"type object missing", `{"messaging_product":"whatsapp","to":"1","type":"image"}`, 400, 100, "(#100) The parameter image is required."},
		{"type object is a string", `{"messaging_product":"whatsapp","to":"1","type":"text","text":"hi"}`, 400, 100, "(#100) Invalid parameter"},
		{"type not a string", `{"messaging_product":"whatsapp","to":"1","type":5,"text":{"body":"x"}}`, 400, 100, "(#100) Invalid parameter"},
		{"no type and no text", `{"messaging_product":"whatsapp","to":"1"}`, 400, 100, "(#100) The parameter text is required."},
		{"empty status is not a status update", `{"messaging_product":"whatsapp","status":"","message_id":"wamid.X"}`, 400, 100, "(#100) The parameter to is required."},
		{"object status is not a status update", `{"messaging_product":"whatsapp","status":{},"message_id":"wamid.X"}`, 400, 100, "(#100) The parameter to is required."},
		{"status without message_id", `{"messaging_product":"whatsapp","status":"read"}`, 400, 100, "(#100) The parameter message_id is required."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, e := SendToForm(nil, []byte(c.body), SendOptions{})
			if e == nil {
				t.Fatal("accepted")
			}
			if e.HTTPStatus != c.http || e.Code != c.code || e.message() != c.msg {
				t.Errorf("got http=%d code=%d msg=%q", e.HTTPStatus, e.Code, e.message())
			}
			body := e.Body("T")
			if !gjson.ValidBytes(body) || gjson.GetBytes(body, "error.fbtrace_id").Str != "T" ||
				gjson.GetBytes(body, "error.type").Str != "OAuthException" {
				t.Errorf("bad envelope %s", body)
			}
		})
	}
}

func TestSendToFormAccepts(t *testing.T) {
	cases := []struct {
		name, body, wantForm string
	}{
		{"recipient instead of to", `{"messaging_product":"whatsapp","recipient":"US.1","type":"text","text":{"body":"x"}}`,
			`messaging_product=whatsapp&recipient=US.1&type=text&text=%7B%22body%22%3A%22x%22%7D`},
		{"type defaults to text", `{"messaging_product":"whatsapp","to":"1","text":{"body":"x"}}`,
			`messaging_product=whatsapp&to=1&text=%7B%22body%22%3A%22x%22%7D&type=text`},
		{"numeric to keeps its digits", `{"messaging_product":"whatsapp","to":919876543210123456789,"type":"text","text":{"body":"x"}}`,
			`messaging_product=whatsapp&to=919876543210123456789&type=text&text=%7B%22body%22%3A%22x%22%7D`},
		{"null members are dropped", `{"messaging_product":"whatsapp","to":"1","context":null,"type":"text","text":{"body":"x"}}`,
			`messaging_product=whatsapp&to=1&type=text&text=%7B%22body%22%3A%22x%22%7D`},
		{"status update needs no recipient", `{"messaging_product":"whatsapp","status":"read","message_id":"wamid.X"}`,
			`messaging_product=whatsapp&status=read&message_id=wamid.X`},
		{"unknown members pass through", `{"messaging_product":"whatsapp","to":"1","type":"text","text":{"body":"x"},"future_flag":true,"future_obj":{"n":1.50}}`,
			`messaging_product=whatsapp&to=1&type=text&text=%7B%22body%22%3A%22x%22%7D&future_flag=true&future_obj=%7B%22n%22%3A1.50%7D`},
		{"messaging_product any case", `{"messaging_product":"WhatsApp","to":"1","type":"text","text":{"body":"x"}}`,
			`messaging_product=WhatsApp&to=1&type=text&text=%7B%22body%22%3A%22x%22%7D`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, e := SendToForm(nil, []byte(c.body), SendOptions{})
			if e != nil {
				t.Fatalf("rejected: %v", e)
			}
			if string(s.Form) != c.wantForm {
				t.Errorf("form\n got %s\nwant %s", s.Form, c.wantForm)
			}
		})
	}
}

func TestNormalizeTemplateButtons(t *testing.T) {
	in := `{"name":"t","components":[{"type":"button","sub_type":"QUICK_REPLY","index":0,"parameters":[{"type":"payload","payload":"A"}]},` +
		`{"type":"carousel","cards":[{"card_index":0,"components":[{"type":"button","sub_type":"Url","index":1,"parameters":[]}]}]},` +
		`{"type":"button","sub_type":"url","index":"2","parameters":[]}]}`
	want := `{"name":"t","components":[{"type":"button","sub_type":"quick_reply","index":"0","parameters":[{"type":"payload","payload":"A"}]},` +
		`{"type":"carousel","cards":[{"card_index":0,"components":[{"type":"button","sub_type":"url","index":"1","parameters":[]}]}]},` +
		`{"type":"button","sub_type":"url","index":"2","parameters":[]}]}`
	if got := normalizeTemplate(in); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got := normalizeTemplate(want); got != want {
		t.Errorf("canonical input changed: %s", got)
	}
	tests := []struct{ name, in, want string }{
		{"sub_type before index, whitespace kept",
			`{"components": [ {"sub_type" : "COPY_CODE", "index" : 10 , "type":"button"} ]}`,
			`{"components": [ {"sub_type" : "copy_code", "index" : "10" , "type":"button"} ]}`},
		{"a non-ASCII sub_type keeps its bytes",
			`{"components":[{"type":"button","sub_type":"ÜRL","index":"0"}]}`,
			`{"components":[{"type":"button","sub_type":"ÜRL","index":"0"}]}`},
		{"index as a float literal becomes its string",
			`{"components":[{"type":"button","index":1.0}]}`,
			`{"components":[{"type":"button","index":"1.0"}]}`},
		{"two carousel cards, each normalised",
			`{"components":[{"type":"carousel","cards":[{"components":[{"index":0,"sub_type":"QUICK_REPLY"}]},{"components":[{"index":0,"sub_type":"URL"}]}]}]}`,
			`{"components":[{"type":"carousel","cards":[{"components":[{"index":"0","sub_type":"quick_reply"}]},{"components":[{"index":"0","sub_type":"url"}]}]}]}`},
		{"no components", `{"name":"x","language":{"code":"en"}}`, `{"name":"x","language":{"code":"en"}}`},
	}
	for _, tc := range tests {
		if got := normalizeTemplate(tc.in); got != tc.want {
			t.Errorf("%s:\n got  %s\n want %s", tc.name, got, tc.want)
		}
	}
}

func TestAppendQueryEscapeMatchesNetURL(t *testing.T) {
	for _, s := range []string{"", "abc", "a b+c&d=e", `{"x":"ü 😀/\n"}`, "~._-", "\x00\xff"} {
		if got := string(appendQueryEscape(nil, s)); got != url.QueryEscape(s) {
			t.Errorf("%q: got %q want %q", s, got, url.QueryEscape(s))
		}
	}
}

func FuzzAppendQueryEscape(f *testing.F) {
	f.Add("héllo wörld & {\"a\":1}")
	f.Fuzz(func(t *testing.T, s string) {
		if got := string(appendQueryEscape(nil, s)); got != url.QueryEscape(s) {
			t.Fatalf("%q: got %q want %q", s, got, url.QueryEscape(s))
		}
	})
}
