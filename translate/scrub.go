package translate

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// maxUpstreamText bounds the bytes of Gupshup's own wording that reach a
// client (error message or error_data.details); longer text is cut on a
// UTF-8 boundary and ends in "...".
const maxUpstreamText = 512

const redacted = "[redacted]"

// The patterns scrubUpstreamText removes, applied in this order. RE2
// matches in linear time, so a hostile upstream body cannot stall it.
var (
	// A URL: its userinfo, query and fragment are dropped.
	urlRe = regexp.MustCompile(`(?i)\b[a-z][a-z0-9+.-]{0,31}://[^\s"'<>]+`)
	// "Authorization: Bearer …", "Proxy-Authorization=…": the whole value.
	authHeaderRe = regexp.MustCompile(`(?i)\b((?:proxy-)?authorization["']?\s*[:=]\s*["']?)[^,;"'<>]*`)
	// "Bearer …" / "Basic …" credentials.
	schemeTokenRe = regexp.MustCompile(`(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+`)
	// key=value / "key":"value" for keys that name a secret.
	secretKVRe = regexp.MustCompile(`(?i)\b((?:access_token|token|apikey|api_key|api-key|x-api-key|secret|client_secret|password|passwd|pwd)["']?\s*[:=]\s*["']?)[^\s,;&"'<>]+`)
	// Gupshup app tokens.
	gupshupTokenRe = regexp.MustCompile(`\bsk_[A-Za-z0-9_-]+`)
	// Long hex / base64 / base64url runs: keys, digests, JWT parts.
	longRunRe = regexp.MustCompile(`[A-Za-z0-9+/=_-]{32,}`)
	// E-mail addresses: the partner login is one.
	emailRe = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+`)
	// IPv4 and IPv6 literals: addresses of the upstream's infrastructure.
	ipRe = regexp.MustCompile(`\b(?:\d{1,3}\.){3}\d{1,3}\b|\[[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*\]`)
)

// scrubUpstreamText makes text Gupshup wrote safe to show a client: invalid
// UTF-8 becomes U+FFFD, control characters become spaces, anything that
// looks like a credential (Gupshup sk_ tokens, bearer/basic credentials,
// Authorization values, secret-named key=value pairs, hex or base64 runs of
// 32 characters or more, e-mail addresses, IP address literals, a URL's
// userinfo, query and fragment) becomes
// "[redacted]" or is dropped, and the result is at most maxUpstreamText
// bytes plus a "..." marker.
func scrubUpstreamText(s string) string {
	if s == "" {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	s = urlRe.ReplaceAllStringFunc(s, scrubURL)
	s = authHeaderRe.ReplaceAllString(s, "${1}"+redacted)
	s = schemeTokenRe.ReplaceAllString(s, "${1} "+redacted)
	s = secretKVRe.ReplaceAllString(s, "${1}"+redacted)
	s = gupshupTokenRe.ReplaceAllString(s, redacted)
	s = longRunRe.ReplaceAllString(s, redacted)
	s = emailRe.ReplaceAllString(s, redacted)
	s = ipRe.ReplaceAllString(s, redacted)
	return truncateUTF8(s, maxUpstreamText)
}

// scrubURL drops a URL's userinfo, query and fragment.
func scrubURL(u string) string {
	i := strings.Index(u, "://") + 3
	scheme, rest := u[:i], u[i:]
	if j := strings.IndexAny(rest, "?#"); j >= 0 {
		rest = rest[:j]
	}
	authority := rest
	if j := strings.IndexByte(rest, '/'); j >= 0 {
		authority = rest[:j]
	}
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		rest = rest[at+1:]
	}
	return scheme + rest
}

// truncateUTF8 cuts s to at most n bytes on a rune boundary and marks the
// cut with "...".
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
