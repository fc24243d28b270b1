package translate

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/tidwall/gjson"
)

func TestAppendMetaJSON(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"compact", "{ \"a\" : [ 1 , 2 ] ,\n\t\"b\" : { } }", `{"a":[1,2],"b":{}}`},
		{"order kept", `{"z":1,"a":2,"m":3}`, `{"z":1,"a":2,"m":3}`},
		{"literals", `[true, false, null]`, `[true,false,null]`},
		{"numbers as written", `[12345678901234567890, 1.0e+30, -0.0, 1E-7, 3.10]`, `[12345678901234567890,1.0e+30,-0.0,1E-7,3.10]`},
		{"non-ASCII", `"äöå"`, `"\u00e4\u00f6\u00e5"`},
		{"astral", `{"e":"😀"}`, `{"e":"\ud83d\ude00"}`},
		{"slash", `"https://a.b/c"`, `"https:\/\/a.b\/c"`},
		{"escaped slash kept", `"a\/b"`, `"a\/b"`},
		{"uppercase escapes lowered", `"\u00C4\uD83D\uDE00"`, `"\u00c4\ud83d\ude00"`},
		{"needless escapes dropped", `"\u0041\u0062"`, `"Ab"`},
		{"control escapes", `"\b\f\n\r\t\u0001\u007f"`, `"\b\f\n\r\t\u0001\u007f"`},
		{"quote and backslash", `"q\"b\\"`, `"q\"b\\"`},
		{"keys escaped too", `{"ключ":"значение"}`, `{"\u043a\u043b\u044e\u0447":"\u0437\u043d\u0430\u0447\u0435\u043d\u0438\u0435"}`},
		{"lone surrogate", `"\ud83d!"`, `"\ufffd!"`},
		{"html not escaped", `"<a href=\"x\">&amp;</a>"`, `"<a href=\"x\">&amp;<\/a>"`},
		{"mixed", "{\"text\":{\"body\":\"line1\\nline2 – ok ✓\"}}", `{"text":{"body":"line1\nline2 \u2013 ok \u2713"}}`},
		{"empty string", `""`, `""`},
		{"scalar", ` 42 `, `42`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := string(AppendMetaJSON([]byte("prefix:"), []byte(c.in)))
			if got != "prefix:"+c.want {
				t.Errorf("got %s want %s", got, c.want)
			}
			// The output means the same as the input.
			var a, b any
			if json.Unmarshal([]byte(c.in), &a) == nil {
				if err := json.Unmarshal([]byte(c.want), &b); err != nil {
					t.Fatalf("output not JSON: %v", err)
				}
				ja, _ := json.Marshal(a)
				jb, _ := json.Marshal(b)
				if !bytes.Equal(ja, jb) && c.name != "lone surrogate" {
					t.Errorf("meaning changed: %s vs %s", ja, jb)
				}
			}
		})
	}
}

// TestAppendMetaJSONMalformed checks that bad input does not panic.
func TestAppendMetaJSONMalformed(t *testing.T) {
	for _, in := range []string{``, `"`, `"abc`, `"a\`, `"\u12`, `"\ud83d\u`, `{"a":`, `}`, "\"\\\xff\""} {
		_ = AppendMetaJSON(nil, []byte(in))
	}
}

func FuzzAppendMetaJSON(f *testing.F) {
	for _, s := range []string{`{"a":"äöå😀/","b":[1,2.5e3,true,null]}`, `"\ud83d\ude00\u00e9"`, `[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		out := AppendMetaJSON(nil, raw)
		if !gjson.ValidBytes(raw) {
			return
		}
		if !gjson.ValidBytes(out) {
			t.Fatalf("invalid output %s for %s", out, raw)
		}
		for _, c := range out {
			if c >= 0x80 {
				t.Fatalf("non-ASCII output %s", out)
			}
		}
		if again := AppendMetaJSON(nil, out); !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %s → %s", out, again)
		}
	})
}

func TestTimestampsAndNumbers(t *testing.T) {
	for in, want := range map[string]string{
		`1710930461`:       `"1710930461"`,
		`"1710930461"`:     `"1710930461"`,
		`1710941393420`:    `"1710941393"`,
		`"1710941393420"`:  `"1710941393"`,
		`1710941393420123`: `"1710941393420"`,
		`"TIMESTAMP"`:      `"TIMESTAMP"`,
		`1.7e9`:            `1.7e9`,
		`null`:             `null`,
		`"-5"`:             `"-5"`,
	} {
		if got := string(appendUnixSeconds(nil, gjson.Parse(in))); got != want {
			t.Errorf("appendUnixSeconds(%s) = %s, want %s", in, got, want)
		}
	}
	for s, want := range map[string]bool{
		"0": true, "-0": true, "12.9716": true, "-122.4194155": true, "1e5": true, "1.0E+30": true,
		"": false, "-": false, "01": false, "1.": false, ".5": false, "1e": false, "12.97 ": false, "0x10": false, "NaN": false,
	} {
		if isJSONNumber(s) != want {
			t.Errorf("isJSONNumber(%q) = %v", s, !want)
		}
	}
	for u, want := range map[string]string{
		"https://filemanager.gupshup.io/wa/app/wa/media/1751740922668458?download=false": "1751740922668458",
		"https://filemanager.gupshup.io/fm/wamedia/DemoApp/9e2a6e4c?fileName=":           "9e2a6e4c",
		"https://x.example/a/b/":   "b",
		"https://x.example/a#frag": "a",
		"plain":                    "plain",
		"":                         "",
	} {
		if got := mediaIDFromURL(u); got != want {
			t.Errorf("mediaIDFromURL(%q) = %q, want %q", u, got, want)
		}
	}
}
