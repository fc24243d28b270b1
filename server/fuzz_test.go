package server

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"waproxy/translate"
)

// checkGraphError fails unless e's body is Graph's error envelope.
func checkGraphError(t *testing.T, e *translate.Error) {
	t.Helper()
	body := e.Body("TRACE")
	r := gjson.ParseBytes(body).Get("error")
	if !json.Valid(body) || !r.IsObject() || r.Get("code").Type != gjson.Number ||
		r.Get("message").Type != gjson.String || e.HTTPStatus < 400 {
		t.Fatalf("not Graph's error envelope (http %d): %q", e.HTTPStatus, body)
	}
}

// FuzzParamsJSON feeds request bodies of any content type through what a
// send request goes through: paramsJSON, then translate.SendToForm.
func FuzzParamsJSON(f *testing.F) {
	f.Add("application/json", []byte(`{"messaging_product":"whatsapp","to":"15551234567","type":"text","text":{"body":"hi"}}`))
	f.Add("application/x-www-form-urlencoded", []byte(`messaging_product=whatsapp&to=1&text=%7B%22body%22%3A%22a%22%7D&access_token=t`))
	f.Add("application/x-www-form-urlencoded", []byte(`{"messaging_product":"whatsapp","to":"1","text":{"body":"x"}}`))
	f.Add("multipart/form-data; boundary=XX", []byte("--XX\r\nContent-Disposition: form-data; name=\"messaging_product\"\r\n\r\nwhatsapp\r\n--XX\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\n1\r\n--XX\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n{\"body\":\"x\"}\r\n--XX--\r\n"))
	f.Add("text/plain", []byte(`{"messaging_product":"whatsapp","messaging_product":"sms","to":"1","to":"2"}`))
	f.Add("", []byte(``))
	f.Add("application/xml", []byte(`<x/>`))
	f.Add("multipart/form-data", []byte(`x`))
	f.Fuzz(func(t *testing.T, contentType string, raw []byte) {
		params, token, perr := paramsJSON(contentType, raw)
		if perr != nil {
			checkGraphError(t, perr)
			return
		}
		if token != "" && strings.Contains(string(params), `"access_token"`) {
			t.Errorf("access_token left in the parameters: %q", params)
		}
		send, e := translate.SendToForm(nil, params, translate.SendOptions{NormalizeTemplateButtons: true})
		if e != nil {
			checkGraphError(t, e)
			return
		}
		if _, err := url.ParseQuery(string(send.Form)); err != nil {
			t.Fatalf("form does not parse: %v", err)
		}
		if send.To != "" {
			if m := maskPhone(send.To); len(m) > 64 {
				t.Errorf("masked recipient of %d bytes", len(m))
			}
		}
	})
}

func FuzzMaskPhone(f *testing.F) {
	for _, s := range []string{"919876543210", "+1 (631) 555-1234", "1234", "", "US.13491208655302",
		strings.Repeat("9", 100), "+1" + strings.Repeat("é", 20), "\xff\xfe12345"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		m := maskPhone(p)
		if len(m) > maxMaskedPhone+len("…(18446744073709551615 bytes)") {
			t.Fatalf("%d bytes out for %d in", len(m), len(p))
		}
		if utf8.ValidString(p) && !utf8.ValidString(m) {
			t.Errorf("invalid UTF-8 out of valid input: %q", m)
		}
		if len(p) <= 4 {
			if m != "****" {
				t.Errorf("short %q → %q", p, m)
			}
			return
		}
		if m[:2] != p[:2] {
			t.Errorf("first two changed: %q → %q", p, m)
		}
		// No digit of the middle survives.
		end := len(p) - 2
		if len(p) > maxMaskedPhone {
			end = min(len(m), maxMaskedPhone)
		}
		for i := 2; i < end && i < len(m); i++ {
			if m[i] >= '0' && m[i] <= '9' && len(p) <= maxMaskedPhone {
				t.Errorf("digit at %d kept: %q → %q", i, p, m)
			}
		}
		if len(p) <= maxMaskedPhone && len(m) != len(p) {
			t.Errorf("length changed: %q → %q", p, m)
		}
	})
}
