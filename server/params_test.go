package server

import (
	"bytes"
	"mime/multipart"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParamsJSON(t *testing.T) {
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	_ = mw.WriteField("messaging_product", "whatsapp")
	_ = mw.WriteField("access_token", "tok-mp")
	_ = mw.WriteField("text", `{"body":"a&b"}`)
	fw, _ := mw.CreateFormFile("file", "x.bin")
	_, _ = fw.Write([]byte("binary"))
	_ = mw.Close()

	cases := []struct {
		name, ct, body   string
		wantJSON, wantTo string
		wantErr          bool
	}{
		{"json kept byte for byte", "application/json", `{"a":1.50}`, `{"a":1.50}`, "", false},
		{"json with a charset kept byte for byte", "application/json; charset=utf-8", `{"a":1.50}`, `{"a":1.50}`, "", false},
		{"json with an upper-case charset", "application/json; charset=UTF-8", `{"b":2}`, `{"b":2}`, "", false},
		{"json with other parameters goes through the parser", "application/json; charset=utf-8; x=1", `{"c":3}`, `{"c":3}`, "", false},
		{"json without content type", "", ` {"a":1}`, ` {"a":1}`, "", false},
		{"text/plain holding json", "text/plain", `{"a":1}`, `{"a":1}`, "", false},
		{"urlencoded in order, JSON values embedded, token taken out", "application/x-www-form-urlencoded",
			`to=%2B1+555&access_token=tok&text=%7B%22body%22%3A%22hi%22%7D`, `{"to":"+1 555","text":{"body":"hi"}}`, "tok", false},
		{"json labelled as a form", "application/x-www-form-urlencoded", `{"messaging_product":"whatsapp"}`,
			`{"messaging_product":"whatsapp"}`, "", false},
		{"multipart fields in order, files skipped", mw.FormDataContentType(), mp.String(),
			`{"messaging_product":"whatsapp","text":{"body":"a&b"}}`, "tok-mp", false},
		{"bad percent escape", "application/x-www-form-urlencoded", `a=%zz`, "", "", true},
		{"xml", "application/xml", `<a/>`, "", "", true},
		{"empty", "application/json", `  `, "", "", true},
		{"plain text", "text/plain", `hello`, "", "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, tok, e := paramsJSON(c.ct, []byte(c.body))
			if c.wantErr {
				if e == nil || e.Code != 100 || e.HTTPStatus != 400 {
					t.Fatalf("want a code 100 error, got %v", e)
				}
				return
			}
			if e != nil {
				t.Fatal(e)
			}
			if string(got) != c.wantJSON || tok != c.wantTo {
				t.Errorf("got %s token %q", got, tok)
			}
		})
	}
}

func TestBearer(t *testing.T) {
	cases := map[string]string{
		"Bearer abc": "abc", "bearer abc": "abc", "BEARER  abc ": "abc", "OAuth abc": "abc",
		"Basic abc": "", "Bearer": "", "": "", "abc": "",
	}
	for h, want := range cases {
		r := httptest.NewRequest("POST", "/", nil)
		if h != "" {
			r.Header.Set("Authorization", h)
		}
		if got := bearer(r); got != want {
			t.Errorf("%q: got %q want %q", h, got, want)
		}
	}
}

func TestMaskPhone(t *testing.T) {
	cases := map[string]string{
		"919876543210":      "91********10",
		"+1 (631) 555-1234": "+1 (***) ***-**34",
		"1234":              "****",
		"US.13491208655302": "US.************02",
		// 32 bytes: still whole.
		"12345678901234567890123456789012": "12****************************12",
		// Longer: the first 32 bytes, every digit after the first two
		// masked, and the length.
		"123456789012345678901234567890123":       "12******************************…(33 bytes)",
		strings.Repeat("9", 900_000):              "99******************************…(900000 bytes)",
		"+1" + strings.Repeat("é", 20) + "555":    "+1" + strings.Repeat("é", 15) + "…(45 bytes)",
		"ab" + strings.Repeat("x", 28) + "12é456": "ab" + strings.Repeat("x", 28) + "**…(37 bytes)",
		// Bytes that are not UTF-8 count one each.
		"00" + strings.Repeat("\xab", 31): "00" + strings.Repeat("\xab", 30) + "…(33 bytes)",
	}
	for in, want := range cases {
		got := maskPhone(in)
		if got != want {
			t.Errorf("%.40q: got %q want %q", in, got, want)
		}
		if len(got) > maxMaskedPhone+len("…(900000 bytes)") || utf8.ValidString(in) && !utf8.ValidString(got) {
			t.Errorf("%.40q: %d bytes, valid UTF-8 %v", in, len(got), utf8.ValidString(got))
		}
	}
}
