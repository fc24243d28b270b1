package translate

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// TestScrubUpstreamText pins what of Gupshup's wording may reach a client.
func TestScrubUpstreamText(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"plain text kept", "Invalid Destination", "Invalid Destination"},
		{"gupshup app token", "token sk_4f9a1b2c3d4e5f60718293a4b5c6d7e8 is invalid", "token [redacted] is invalid"},
		{"short gupshup token", "bad key sk_live_abc", "bad key [redacted]"},
		{"bearer token", "header Bearer eyJhbGciOi.J9.x rejected", "header Bearer [redacted] rejected"},
		{"authorization header value", "sent Authorization: Basic dXNlcjpwYXNz, refused", "sent Authorization: [redacted], refused"},
		{"authorization in JSON text", `{"Authorization":"sk_x"}`, `{"Authorization":"[redacted]"}`},
		{"secret-named key=value", "apikey=abc123&x=1 password: hunter2", "apikey=[redacted]&x=1 password: [redacted]"},
		{"long hex run", "digest 0123456789abcdef0123456789abcdef0123 mismatch", "digest [redacted] mismatch"},
		{"long base64 run", "key dGhpcyBpcyBhIHNlY3JldCBrZXkgb2YgbWFueSBieXRlcw== end", "key [redacted] end"},
		{"31 characters kept", "id 0123456789012345678901234567890 ok", "id 0123456789012345678901234567890 ok"},
		{"url query and fragment dropped", "fetch https://cdn.example.com/a.png?sig=abc&exp=1#frag failed", "fetch https://cdn.example.com/a.png failed"},
		{"url userinfo dropped", "GET https://user:pa55@api.example.com/v1/x?t=1", "GET https://api.example.com/v1/x"},
		{"e-mail address", "partner ops.team+wa@acme.example.co is locked", "partner [redacted] is locked"},
		{"IPv4 literal, in a URL too", "upstream 10.0.0.7 at http://10.0.0.7:8080/internal refused", "upstream [redacted] at http://[redacted]:8080/internal refused"},
		{"IPv6 literal in a URL", "dial http://[fd00::7]:8080/x failed", "dial http://[redacted]:8080/x failed"},
		{"version numbers are not addresses", "API v3.1 and 1.2.3 kept", "API v3.1 and 1.2.3 kept"},
		{"control characters become spaces", "line1\nline2\ttab\x00nul\x7fdel\u0085nel", "line1 line2 tab nul del nel"},
		{"invalid UTF-8 replaced", "bad\xffbyte", "bad\uFFFDbyte"},
		{"empty", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := scrubUpstreamText(c.in); got != c.want {
				t.Errorf("scrub(%q)\n got %q\nwant %q", c.in, got, c.want)
			}
		})
	}
}

// TestScrubUpstreamTextBound pins the length bound: at most
// maxUpstreamText bytes, cut on a rune boundary, marked with "...".
func TestScrubUpstreamTextBound(t *testing.T) {
	for _, in := range []string{strings.Repeat("ab ", 400_000), strings.Repeat("é ", 1000), "x" + strings.Repeat("€ ", 1000)} {
		got := scrubUpstreamText(in)
		if len(got) > maxUpstreamText+len("...") || !strings.HasSuffix(got, "...") || !utf8.ValidString(got) {
			t.Errorf("len %d, suffix %q, valid %v", len(got), got[len(got)-5:], utf8.ValidString(got))
		}
	}
	if got := scrubUpstreamText(strings.Repeat("a ", maxUpstreamText/2)); len(got) != maxUpstreamText {
		t.Errorf("text of exactly the bound changed")
	}
}

// TestUpstreamErrorScrubbed pins that Gupshup's text reaches details and a
// passed-through Meta message only scrubbed.
func TestUpstreamErrorScrubbed(t *testing.T) {
	secret := "sk_0123456789abcdef0123456789abcdef"
	cases := []struct{ name, body string }{
		{"unmapped message", `{"status":"error","message":"Auth header Bearer ` + secret + ` invalid"}`},
		{"mapped row with Gupshup's details", `{"status":"error","message":"Flow not found for token ` + secret + `"}`},
		{"message object", `{"status":"error","message":{"code":1010,"message":"Invalid media URL https://x.example/a?key=` + secret + `"}}`},
		{"meta passthrough message and details", `{"error":{"message":"(#100) bad ` + secret + `","type":"OAuthException","code":100,"error_data":{"messaging_product":"whatsapp","details":"Authorization: Bearer ` + secret + `"},"fbtrace_id":"X"}}`},
		{"huge message", `{"status":"error","message":"` + strings.Repeat("z ", 100_000) + `"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := UpstreamError(400, []byte(c.body), "").Body("TRACE")
			if strings.Contains(string(body), "0123456789abcdef") || strings.Contains(string(body), "sk_") {
				t.Errorf("secret reached the client: %s", body)
			}
			for _, p := range []string{"error.message", "error.error_data.details"} {
				if n := len(gjson.GetBytes(body, p).Str); n > maxUpstreamText+64 {
					t.Errorf("%s is %d bytes", p, n)
				}
			}
		})
	}
}

// TestUpstreamErrorWellFormed pins that only a well-formed Meta-style error
// passes through; anything else is mapped by the table, and every answer
// is Graph's envelope.
func TestUpstreamErrorWellFormed(t *testing.T) {
	cases := []struct {
		name       string
		status     int
		body       string
		rule       string
		http, code int
		details    string
	}{
		{"malformed Meta-style error", 400, `{"error"{"code"0`, "unmapped", 500, CodeGeneric, "Gupshup: no message"},
		{"truncated Meta-style error", 400, `{"error":{"code":100,"message":"x"}`, "unmapped", 500, CodeGeneric, "Gupshup: no message"},
		{"string code", 400, `{"error":{"code":"100","message":"Invalid parameter"}}`, "unmapped", 500, CodeGeneric, "Gupshup: Invalid parameter"},
		{"float code", 400, `{"error":{"code":100.5,"message":"x"}}`, "unmapped", 500, CodeGeneric, "Gupshup: x"},
		{"huge code", 400, `{"error":{"code":99999999999999999999,"message":"x"}}`, "unmapped", 500, CodeGeneric, "Gupshup: x"},
		{"string subcode", 400, `{"error":{"code":100,"message":"x","error_subcode":"33"}}`, "unmapped", 500, CodeGeneric, "Gupshup: x"},
		{"message not a string", 400, `{"error":{"code":100,"message":{"a":1}}}`, "unmapped", 500, CodeGeneric, "Gupshup: no message"},
		{"no message", 400, `{"error":{"code":100}}`, "unmapped", 500, CodeGeneric, "Gupshup: no message"},
		{"error_data not an object", 400, `{"error":{"code":100,"message":"x","error_data":"d"}}`, "unmapped", 500, CodeGeneric, "Gupshup: x"},
		{"5xx with a malformed body", 502, `{"error"{"code"0`, "upstream_5xx", 500, CodeGeneric, "Gupshup: no message"},
		{"truncated Gupshup error is not read", 400, `{"status":"error","message":"Invalid Destination"`, "unmapped", 500, CodeGeneric, "Gupshup: no message"},
		{"Gupshup code as a string is not a code", 400, `{"status":"error","message":"x","code":"1002"}`, "unmapped", 500, CodeGeneric, "Gupshup: x"},
		{"Gupshup message as a number is not a message", 400, `{"status":"error","message":1002}`, "unmapped", 500, CodeGeneric, "Gupshup: no message"},
		{"repeated code: the last counts", 400, `{"status":"error","message":"x","code":1,"code":1002}`, "not_on_whatsapp", 400, CodeUndeliverable, "The recipient number does not exist on WhatsApp."},
		{"well-formed passes", 400, `{"error":{"message":"m","type":"OAuthException","code":131009,"error_subcode":2494010,"fbtrace_id":"U"}}`, "meta_passthrough", 400, 131009, ""},
		{"passthrough with a 2xx status answers 400", 200, `{"error":{"message":"m","code":1}}`, "meta_passthrough", 400, 1, ""},
		{"repeated code in passthrough: the last, once", 400, `{"error":{"message":"m","code":"x","code":10}}`, "meta_passthrough", 400, 10, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := UpstreamError(c.status, []byte(c.body), "")
			body := e.Body("TRACE")
			if e.Rule != c.rule || e.HTTPStatus != c.http || e.Code != c.code {
				t.Errorf("rule %s http %d code %d, want %s %d %d: %s", e.Rule, e.HTTPStatus, e.Code, c.rule, c.http, c.code, body)
			}
			r := gjson.ParseBytes(body).Get("error")
			if !gjson.ValidBytes(body) || r.Get("code").Type != gjson.Number || r.Get("code").Int() != int64(c.code) ||
				r.Get("message").Type != gjson.String || r.Get("fbtrace_id").Str != "TRACE" {
				t.Errorf("not Graph's envelope: %s", body)
			}
			if c.details != "" && r.Get("error_data.details").Str != c.details {
				t.Errorf("details %q, want %q", r.Get("error_data.details").Str, c.details)
			}
			if n := strings.Count(string(body), `"code"`); n != 1 {
				t.Errorf("%d code members: %s", n, body)
			}
		})
	}
}

// TestMetaPassthroughMembers pins which members of a Meta-style upstream
// error reach the client.
func TestMetaPassthroughMembers(t *testing.T) {
	in := `{"error":{"message":"m","type":"OAuthException","code":131056,"error_subcode":2494100,"is_transient":true,` +
		`"error_user_title":"T","error_user_msg":7,"error_data":{"messaging_product":"whatsapp","details":"d","debug":"sk_x"},` +
		`"internal":{"host":"10.0.0.1"},"fbtrace_id":"UP"},"trace":"x"}`
	want := `{"error":{"message":"m","type":"OAuthException","code":131056,"error_subcode":2494100,"is_transient":true,` +
		`"error_user_title":"T","error_data":{"messaging_product":"whatsapp","details":"d"},"fbtrace_id":"TRACE"}}`
	e := UpstreamError(400, []byte(in), "")
	if got := string(e.Body("TRACE")); got != want || e.Rule != "meta_passthrough" || e.Subcode != 2494100 {
		t.Errorf("got %s (rule %s)\nwant %s", got, e.Rule, want)
	}
}

// TestMetaPassthroughType pins that a passed-through error without a type
// gets Graph's default, so the envelope is complete.
func TestMetaPassthroughType(t *testing.T) {
	got := string(UpstreamError(400, []byte(`{"error":{"code":0,"message":""}}`), "").Body("TRACE"))
	if want := `{"error":{"code":0,"message":"","type":"OAuthException","fbtrace_id":"TRACE"}}`; got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}
