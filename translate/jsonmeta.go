package translate

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// AppendMetaJSON appends raw, one JSON value, to dst re-encoded compactly
// the way Graph writes JSON: insignificant whitespace removed, every string
// (keys included) unescaped and written again by AppendMetaString (non-ASCII
// as \uXXXX with lowercase hex, "/" as "\/"), numbers, true, false and null
// copied as their exact bytes, member order kept. For valid JSON the result
// is pure ASCII.
//
// raw should be valid JSON (check with gjson.ValidBytes). Other input is
// re-encoded on a best-effort basis and never makes it panic.
func AppendMetaJSON(dst, raw []byte) []byte {
	return appendMetaJSON(dst, string(raw))
}

// appendMetaJSON is AppendMetaJSON on a string (gjson's Raw values).
func appendMetaJSON(dst []byte, raw string) []byte {
	for i := 0; i < len(raw); {
		switch c := raw[i]; c {
		case ' ', '\t', '\n', '\r':
			i++
		case '"':
			end, closed := jsonStringEnd(raw, i)
			content := raw[i+1 : end]
			if closed {
				end++
			}
			dst = appendMetaUnescaped(dst, content)
			i = end
		default:
			j := i + 1
			for j < len(raw) && !isSpaceOrQuote(raw[j]) {
				j++
			}
			dst = append(dst, raw[i:j]...)
			i = j
		}
	}
	return dst
}

func isSpaceOrQuote(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '"'
}

// jsonStringEnd returns the index of the quote closing the JSON string that
// opens at raw[start], or len(raw) (closed false) when it is unterminated.
func jsonStringEnd(raw string, start int) (end int, closed bool) {
	for j := start + 1; j < len(raw); j++ {
		switch raw[j] {
		case '\\':
			j++
		case '"':
			return j, true
		}
	}
	return len(raw), false
}

// appendMetaUnescaped appends the JSON string whose content (between the
// quotes, escapes still in place) is s, re-escaped like AppendMetaString.
func appendMetaUnescaped(dst []byte, s string) []byte {
	if strings.IndexByte(s, '\\') < 0 {
		return AppendMetaString(dst, s)
	}
	dst = append(dst, '"')
	for len(s) > 0 {
		k := strings.IndexByte(s, '\\')
		if k < 0 {
			dst = appendMetaInner(dst, s)
			break
		}
		if k > 0 {
			dst = appendMetaInner(dst, s[:k])
		}
		r, n := decodeJSONEscape(s[k:])
		dst = appendMetaRune(dst, r)
		s = s[k+n:]
	}
	return append(dst, '"')
}

// decodeJSONEscape decodes the escape sequence at the start of s (s[0] is a
// backslash) and returns the rune and the number of bytes it took. A UTF-16
// surrogate pair written as two \u escapes is one rune; a lone surrogate or a
// malformed escape decodes to U+FFFD.
func decodeJSONEscape(s string) (rune, int) {
	if len(s) < 2 {
		return utf8.RuneError, len(s)
	}
	switch s[1] {
	case 'b':
		return '\b', 2
	case 'f':
		return '\f', 2
	case 'n':
		return '\n', 2
	case 'r':
		return '\r', 2
	case 't':
		return '\t', 2
	case 'u':
		r, ok := hex4(s[2:])
		if !ok {
			return utf8.RuneError, 2
		}
		if utf16.IsSurrogate(r) {
			if r < 0xdc00 && len(s) >= 12 && s[6] == '\\' && s[7] == 'u' {
				if lo, ok := hex4(s[8:]); ok {
					if c := utf16.DecodeRune(r, lo); c != utf8.RuneError {
						return c, 12
					}
				}
			}
			return utf8.RuneError, 6
		}
		return r, 6
	default: // \" \\ \/ and, leniently, any other escaped byte
		return rune(s[1]), 2
	}
}

// hex4 parses the four hex digits at the start of s.
func hex4(s string) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for i := 0; i < 4; i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// appendMetaRune appends one rune escaped like AppendMetaString, without
// quotes.
func appendMetaRune(dst []byte, r rune) []byte {
	var b [utf8.UTFMax]byte
	n := utf8.EncodeRune(b[:], r)
	return appendMetaInner(dst, string(b[:n]))
}

// appendMetaInner appends s escaped by AppendMetaString without the
// surrounding quotes.
func appendMetaInner(dst []byte, s string) []byte {
	n := len(dst)
	dst = AppendMetaString(dst, s)
	copy(dst[n:], dst[n+1:len(dst)-1])
	return dst[:len(dst)-2]
}

// appendClean appends v re-encoded with Meta's escaping, leaving out every
// object member whose name starts with "gs_" (Gupshup's additions to Meta's
// payloads), at any depth. A missing value is written as null.
func appendClean(dst []byte, v gjson.Result) []byte {
	switch {
	case !v.Exists():
		return append(dst, "null"...)
	case v.Type == gjson.String:
		return AppendMetaString(dst, v.Str)
	case (v.IsObject() || v.IsArray()) && !strings.Contains(v.Raw, `"gs_`):
		return appendMetaJSON(dst, v.Raw)
	case v.IsObject():
		return appendObject(dst, v, cleanMember)
	case v.IsArray():
		return appendArray(dst, v, appendClean)
	default: // numbers, true, false, null: their exact bytes
		return append(dst, v.Raw...)
	}
}

// isGupshupMember reports whether an object member name is one of Gupshup's
// additions ("gs_id", "gs_app_id", "gs_template_id", …).
func isGupshupMember(name string) bool {
	return strings.HasPrefix(name, "gs_")
}

// appendObject appends the object o without Gupshup's members (see
// isGupshupMember), in input order; value writes each kept member's value
// after its key.
func appendObject(dst []byte, o gjson.Result, value func(dst []byte, name string, v gjson.Result) []byte) []byte {
	dst = append(dst, '{')
	start := len(dst)
	o.ForEach(func(k, v gjson.Result) bool {
		if !isGupshupMember(k.Str) {
			dst = value(appendMemberKey(dst, start, k.Str), k.Str, v)
		}
		return true
	})
	return append(dst, '}')
}

// appendCleanMember appends the member name: v re-encoded by appendClean
// (with a leading comma when needed, see appendMemberKey), nothing for one
// of Gupshup's members.
func appendCleanMember(dst []byte, start int, name string, v gjson.Result) []byte {
	if isGupshupMember(name) {
		return dst
	}
	return appendClean(appendMemberKey(dst, start, name), v)
}

// cleanMember is appendObject's value writer for appendClean.
func cleanMember(dst []byte, _ string, v gjson.Result) []byte { return appendClean(dst, v) }

// appendArray appends the array a, each element written by elem.
func appendArray(dst []byte, a gjson.Result, elem func(dst []byte, e gjson.Result) []byte) []byte {
	dst = append(dst, '[')
	start := len(dst)
	a.ForEach(func(_, e gjson.Result) bool {
		if len(dst) > start {
			dst = append(dst, ',')
		}
		dst = elem(dst, e)
		return true
	})
	return append(dst, ']')
}

// appendMemberKey appends `"name":`, preceded by a comma unless the object
// opened at start has no member yet.
func appendMemberKey(dst []byte, start int, name string) []byte {
	if len(dst) > start {
		dst = append(dst, ',')
	}
	dst = AppendMetaString(dst, name)
	return append(dst, ':')
}

// appendStringMember appends `"name":"value"` (with a leading comma when
// needed, see appendMemberKey).
func appendStringMember(dst []byte, start int, name, value string) []byte {
	return AppendMetaString(appendMemberKey(dst, start, name), value)
}

// appendUnixSeconds appends a timestamp given as a number or a string of
// digits as Meta writes it: a JSON string of Unix seconds. Thirteen digits or
// more mean milliseconds; the last three digits are dropped (string
// arithmetic, no float). Anything else (placeholders, fractions, null) is
// kept as it was.
func appendUnixSeconds(dst []byte, v gjson.Result) []byte {
	var s string
	switch v.Type {
	case gjson.Number:
		s = v.Raw
	case gjson.String:
		s = v.Str
	default:
		return appendClean(dst, v)
	}
	if !isDigits(s) {
		return appendClean(dst, v)
	}
	return AppendMetaString(dst, unixSeconds(s))
}

// unixSeconds turns a string of digits holding seconds or milliseconds
// (13+ digits) into seconds.
func unixSeconds(digits string) string {
	if len(digits) >= 13 {
		return digits[:len(digits)-3]
	}
	return digits
}

// isDigits reports whether s is a non-empty run of ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isJSONNumber reports whether s is a number literal by JSON's grammar, so
// it can be written as raw bytes.
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		i = skipDigits(s, i)
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		if i = skipDigits(s, i+1); i < 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i = skipDigits(s, i); i < 0 {
			return false
		}
	}
	return i == len(s)
}

// skipDigits returns the index in s after the run of ASCII digits that
// starts at i, or -1 when there is none.
func skipDigits(s string, i int) int {
	d := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == d {
		return -1
	}
	return i
}

// appendNumberish appends v as a JSON number when it is one or is a string
// holding one (its digits copied, never parsed), else re-encoded as it is.
func appendNumberish(dst []byte, v gjson.Result) []byte {
	if v.Type == gjson.String && isJSONNumber(v.Str) {
		return append(dst, v.Str...)
	}
	return appendClean(dst, v)
}

// scalarString is the text of a string or number value ("" otherwise), for
// ids that some payloads write as numbers.
func scalarString(v gjson.Result) string {
	switch v.Type {
	case gjson.String:
		return v.Str
	case gjson.Number:
		return v.Raw
	}
	return ""
}
