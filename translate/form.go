package translate

// appendQueryEscape appends s escaped for an application/x-www-form-urlencoded
// body, byte for byte what net/url.QueryEscape produces (space as '+',
// everything but unreserved characters percent-encoded with upper-case hex),
// without the intermediate string.
func appendQueryEscape(dst []byte, s string) []byte {
	const upperHex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '~':
			dst = append(dst, c)
		case c == ' ':
			dst = append(dst, '+')
		default:
			dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return dst
}

// appendFormName appends "name=" to a form that starts at dst[start], with
// "&" before it unless it is the form's first field.
func appendFormName(dst []byte, start int, name string) []byte {
	if len(dst) > start {
		dst = append(dst, '&')
	}
	dst = appendQueryEscape(dst, name)
	return append(dst, '=')
}

// appendFormField appends "name=value" (see appendFormName).
func appendFormField(dst []byte, start int, name, value string) []byte {
	return appendQueryEscape(appendFormName(dst, start, name), value)
}
