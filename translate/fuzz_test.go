package translate

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// Fuzz targets for every function whose output reaches a client or whose
// input comes from a client or from Gupshup. Each asserts that nothing
// panics and that what a client would read is valid JSON in Meta's shape.
// scripts/test runs each for a few seconds; run one longer with
//
//	go test -run '^$' -fuzz '^FuzzSendResponse$' -fuzztime 2m -parallel 1 ./translate/

// seedFiles returns the contents of testdata/<glob>, for fuzz seeds.
func seedFiles(f *testing.F, glob string) [][]byte {
	f.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", glob))
	if err != nil {
		f.Fatal(err)
	}
	var out [][]byte
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// upstreamSeeds are Gupshup answers: the error table's cases and the
// malformed shapes the proxy must survive.
func upstreamSeeds() []string {
	seeds := []string{
		``, `null`, `[]`, `{}`, `"x"`, `{"messages":[{"id":"gs-1"},]}`, `{"error"{"code"0`,
		`{"error":{"code":"100","message":"x"}}`, `{"error":{"code":100.5,"message":"x"}}`,
		`{"error":{"code":100,"message":7}}`, `{"error":{"code":100,"message":"x","error_subcode":"2"}}`,
		`{"messages":[{"id":12345678901234567890123}]}`, `{"messages":[{"id":1e3}]}`,
		`{"status":"error","message":"token sk_0123456789abcdef0123456789abcdef leaked"}`,
		`{"status":"error","message":{"message":{"message":"deep"}},"code":"1002"}`,
		`{"mediaId":1852559851913765,"status":"success"}`, `{"status":"submitted","messageId":123}`,
	}
	for _, c := range upstreamCases {
		seeds = append(seeds, c.body)
	}
	return seeds
}

// checkMetaError fails unless body is Graph's error envelope: valid JSON,
// an object whose "error" object has an integer code, a string message, a
// string type and a string fbtrace_id, and an integer error_subcode when
// there is one.
func checkMetaError(t *testing.T, e *Error) {
	t.Helper()
	if e == nil {
		t.Fatal("nil *Error")
	}
	if e.HTTPStatus < 400 || e.HTTPStatus > 599 {
		t.Errorf("HTTP status %d is not an error status", e.HTTPStatus)
	}
	body := e.Body("TRACE")
	if !json.Valid(body) {
		t.Fatalf("error body is not valid JSON: %q", body)
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		t.Fatalf("error body is not an object: %q", body)
	}
	er := root.Get("error")
	if !er.IsObject() {
		t.Fatalf("no error object: %q", body)
	}
	if !isJSONInt(er.Get("code")) {
		t.Errorf("error.code is not an integer: %q", body)
	}
	if er.Get("message").Type != gjson.String {
		t.Errorf("error.message is not a string: %q", body)
	}
	if er.Get("type").Type != gjson.String {
		t.Errorf("error.type is not a string: %q", body)
	}
	if er.Get("fbtrace_id").Str != "TRACE" {
		t.Errorf("error.fbtrace_id is not ours: %q", body)
	}
	if sc := er.Get("error_subcode"); sc.Exists() && !isJSONInt(sc) {
		t.Errorf("error.error_subcode is not an integer: %q", body)
	}
	if d := er.Get("error_data.details"); d.Exists() && d.Type != gjson.String {
		t.Errorf("error.error_data.details is not a string: %q", body)
	}
}

// checkUpstreamScrubbed fails when the error carries text from upstream
// that the scrubber should have removed: a token-like run or unbounded text.
func checkUpstreamScrubbed(t *testing.T, e *Error) {
	t.Helper()
	er := gjson.ParseBytes(e.Body("TRACE")).Get("error")
	for _, s := range []string{er.Get("message").Str, er.Get("error_data.details").Str} {
		if len(s) > maxUpstreamText+256 {
			t.Errorf("upstream text not bounded: %d bytes", len(s))
		}
		if !utf8.ValidString(s) {
			t.Errorf("upstream text is not UTF-8: %q", s)
		}
		for _, r := range s {
			if r < 0x20 || r == 0x7f {
				t.Errorf("control character %q in %q", r, s)
				break
			}
		}
	}
}

func isJSONInt(v gjson.Result) bool {
	if v.Type != gjson.Number {
		return false
	}
	_, err := strconv.ParseInt(v.Raw, 10, 64)
	return err == nil
}

// checkSendAnswer fails unless body is Meta's send answer:
// {"messaging_product":"whatsapp","contacts":[{"input","wa_id"}…],"messages":[{"id"}…]}
// with string ids.
func checkSendAnswer(t *testing.T, body []byte) {
	t.Helper()
	if !json.Valid(body) {
		t.Fatalf("answer is not valid JSON: %q", body)
	}
	root := gjson.ParseBytes(body)
	if root.Get("messaging_product").Str != "whatsapp" {
		t.Errorf("messaging_product: %q", body)
	}
	contacts := root.Get("contacts")
	if !contacts.IsArray() || len(contacts.Array()) == 0 {
		t.Errorf("contacts is not a non-empty array: %q", body)
	}
	contacts.ForEach(func(_, c gjson.Result) bool {
		if !c.IsObject() || c.Get("input").Type != gjson.String || c.Get("wa_id").Type != gjson.String {
			t.Errorf("contact without string input and wa_id: %q", body)
		}
		return true
	})
	msgs := root.Get("messages")
	if !msgs.IsArray() || len(msgs.Array()) == 0 {
		t.Errorf("messages is not a non-empty array: %q", body)
	}
	msgs.ForEach(func(_, m gjson.Result) bool {
		if !m.IsObject() || m.Get("id").Type != gjson.String || m.Get("id").Str == "" {
			t.Errorf("message without a string id: %q", body)
		}
		return true
	})
}

func FuzzSendResponse(f *testing.F) {
	for _, s := range upstreamSeeds() {
		f.Add([]byte(s), "+1 555 0100")
	}
	f.Add([]byte(`{"messages":[{"id":"gBEGkYiEB1VXAglK1ZEqA1YKPrU","message_status":"accepted"}]}`), "15551234567")
	f.Add([]byte(`{"messaging_product":"whatsapp","contacts":[{"input":"+1","wa_id":"1"}],"messages":[{"id":"x"}]}`), "1")
	f.Add([]byte(`{"contacts":[{"input":1,"wa_id":2}],"messages":[{"id":3}]}`), "\xff")
	f.Fuzz(func(t *testing.T, upstream []byte, to string) {
		out, e := SendResponse([]byte("prefix"), upstream, to)
		if e != nil {
			if string(out) != "prefix" {
				t.Errorf("dst changed on error: %q", out)
			}
			checkMetaError(t, e)
			return
		}
		if !bytes.HasPrefix(out, []byte("prefix")) {
			t.Fatalf("dst not kept: %q", out)
		}
		checkSendAnswer(t, out[len("prefix"):])
	})
}

func FuzzUpstreamError(f *testing.F) {
	for _, c := range upstreamCases {
		f.Add(c.status, []byte(c.body), c.retryAfter)
	}
	for _, s := range upstreamSeeds() {
		f.Add(400, []byte(s), "")
	}
	f.Fuzz(func(t *testing.T, status int, body []byte, retryAfter string) {
		e := UpstreamError(status, body, retryAfter)
		checkMetaError(t, e)
		if e.Rule != "meta_passthrough" {
			checkUpstreamScrubbed(t, e)
		}
	})
}

func FuzzUpstreamFlowError(f *testing.F) {
	for _, s := range upstreamSeeds() {
		f.Add("post", "1234567890", 400, []byte(s))
	}
	f.Add("get", "1", 404, []byte(`{"status":"error","message":"Flow not found"}`))
	f.Add("delete", "1", 400, []byte(`{"status":"error","message":{"message":"Invalid flow id"}}`))
	f.Fuzz(func(t *testing.T, method, id string, status int, body []byte) {
		checkMetaError(t, UpstreamFlowError(method, id, status, body, ""))
	})
}

func FuzzUpstreamMediaError(f *testing.F) {
	for _, s := range upstreamSeeds() {
		f.Add("get", "1852559851913765", 400, []byte(s))
	}
	f.Add("delete", "1", 404, []byte(`{"status":"error","message":"invalid media id"}`))
	f.Fuzz(func(t *testing.T, method, id string, status int, body []byte) {
		checkMetaError(t, UpstreamMediaError(method, id, status, body, ""))
	})
}

func FuzzRewriteMessageIDs(f *testing.F) {
	for _, b := range seedFiles(f, "send/*.json") {
		f.Add(b, "wamid.HBgLMTU1NTEyMzQ1NjcVAgARGBI=")
	}
	f.Add([]byte(`{"messaging_product":"whatsapp","status":"read","message_id":"gs-1"}`), "wamid.\"x\\/\u00e9")
	f.Add([]byte(`{"context":{"message_id":"a"},"reaction":{"message_id":"b"},"message_id":"c"}`), "")
	f.Fuzz(func(t *testing.T, body []byte, wamid string) {
		out, n := RewriteMessageIDs(body, func(string) (string, bool) { return wamid, true })
		if n == 0 {
			if !bytes.Equal(out, body) {
				t.Errorf("nothing replaced but body changed")
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("rewritten body is not valid JSON: %q → %q", body, out)
		}
	})
}

func FuzzFieldsToJSON(f *testing.F) {
	f.Add("messaging_product", "whatsapp", "text", `{"body":"hi"}`, "access_token", "secret")
	f.Add("to", "15551234567", "template", `{"name":"x","language":{"code":"en"}}`, "a", "[1,2")
	f.Add("", "", "\xff", "\x00", "x", " {\"a\":1} ")
	f.Fuzz(func(t *testing.T, n1, v1, n2, v2, n3, v3 string) {
		out := FieldsToJSON([]Field{{n1, v1}, {n2, v2}, {n3, v3}})
		if !json.Valid(out) || !gjson.ParseBytes(out).IsObject() {
			t.Fatalf("not a JSON object: %q", out)
		}
		if strings.Contains(string(out), `"access_token"`) {
			t.Errorf("access_token forwarded: %q", out)
		}
	})
}

func FuzzParseV2Templates(f *testing.F) {
	f.Add([]byte(`{"status":"success","templates":[{"id":"t1","elementName":"hello","languageCode":"en","status":"APPROVED","templateType":"TEXT","containerMeta":"{\"data\":\"Hi {{1}}\",\"buttons\":[{\"type\":\"quick_reply\",\"text\":\"Yes\"}]}"}]}`))
	f.Add([]byte(`[{"id":1,"elementName":"x","containerMeta":{"header":"h","data":"b"}}]`))
	f.Add([]byte(`{"data":[1,"x",{"id":"a"}]}`))
	for _, s := range upstreamSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		tpls, e := ParseV2Templates(body)
		if e != nil {
			checkMetaError(t, e)
			return
		}
		for _, tp := range tpls {
			if tp.ID == "" || tp.Name == "" {
				t.Errorf("template without id or name: %+v", tp)
			}
		}
	})
}

func FuzzTemplateV2Response(f *testing.F) {
	f.Add([]byte(`{"status":"submitted","messageId":"ee4a68a0-1203-4c85-8dc3-49d0b3226a35"}`), "+91 98765 43210")
	for _, s := range upstreamSeeds() {
		f.Add([]byte(s), "15551234567")
	}
	f.Fuzz(func(t *testing.T, body []byte, to string) {
		out, e := TemplateV2Response(nil, body, to)
		if e != nil {
			checkMetaError(t, e)
			return
		}
		checkSendAnswer(t, out)
	})
}

func FuzzV2TemplateRef(f *testing.F) {
	for _, b := range seedFiles(f, "send/template*.json") {
		f.Add(b)
	}
	f.Add([]byte(`{"template":{"name":"x","language":{"code":"en"}}}`))
	f.Add([]byte(`{"template":"x"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		name, lang, e := V2TemplateRef(body)
		if e != nil {
			checkMetaError(t, e)
			return
		}
		if name == "" || lang == "" {
			t.Errorf("no error but name %q lang %q", name, lang)
		}
	})
}

func FuzzGupshupMediaID(f *testing.F) {
	f.Add([]byte(`{"mediaId":"1852559851913765","status":"success"}`))
	for _, s := range upstreamSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		id, ok := GupshupMediaID(body)
		if ok != (id != "") {
			t.Errorf("ok=%v with id %q", ok, id)
		}
		if out := MediaUploadResponse(nil, id); !json.Valid(out) || gjson.GetBytes(out, "id").Str != id && utf8.ValidString(id) {
			t.Errorf("upload answer %q does not carry id %q", out, id)
		}
	})
}

func FuzzCheckMediaUpload(f *testing.F) {
	f.Add("whatsapp", true, "image/jpeg", "", int64(1000))
	f.Add("WhatsApp", true, "application/octet-stream", "image/png", int64(-1))
	f.Add("", false, "", "", int64(0))
	f.Add("whatsapp", true, "video/mp4", "", int64(1<<40))
	f.Fuzz(func(t *testing.T, product string, hasFile bool, fileType, typ string, size int64) {
		mime, _, e := CheckMediaUpload(MediaUpload{MessagingProduct: product, HasFile: hasFile,
			FileType: fileType, Type: typ, Size: size})
		if e != nil {
			checkMetaError(t, e)
			return
		}
		if mime == "" {
			t.Errorf("accepted without a MIME type")
		}
	})
}

func FuzzSendToForm(f *testing.F) {
	for _, b := range seedFiles(f, "send/*.json") {
		f.Add(b)
	}
	f.Add([]byte(`{"messaging_product":"whatsapp","messaging_product":"sms","to":"1","text":{"body":"x"}}`))
	f.Add([]byte(`{"messaging_product":"whatsapp","to":"1","type":"template","template":{"components":[{"index":0}]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, norm := range []bool{false, true} {
			s, e := SendToForm(nil, body, SendOptions{NormalizeTemplateButtons: norm})
			if e != nil {
				checkMetaError(t, e)
				continue
			}
			if s.To == "" && s.Status == "" {
				t.Errorf("accepted without a recipient or status")
			}
			if _, err := url.ParseQuery(string(s.Form)); err != nil {
				t.Fatalf("form does not parse: %v", err)
			}
		}
	})
}

func FuzzLastMembersJSON(f *testing.F) {
	for _, b := range seedFiles(f, "send/*.json") {
		f.Add(b)
	}
	f.Add([]byte(`{"a":1,"a":{"b":2,"b":[{"c":1,"\u0063":2}]},"d":"\"a\":"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		out := LastMembersJSON(body)
		if !json.Valid(body) {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON out of %q: %q", body, out)
		}
		if again := LastMembersJSON(out); !bytes.Equal(again, out) {
			t.Errorf("not idempotent: %q → %q → %q", body, out, again)
		}
		var a, b any
		if json.Unmarshal(body, &a) == nil {
			// encoding/json reads a repeated member last-wins too.
			if err := json.Unmarshal(out, &b); err != nil || !jsonEqual(a, b) {
				t.Errorf("value changed: %q → %q", body, out)
			}
		}
	})
}

func jsonEqual(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}
