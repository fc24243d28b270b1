package server

// maxRequestID bounds an incoming X-Request-Id.
const maxRequestID = 128

// requestID returns an incoming X-Request-Id when it is usable as is: 1 to
// 128 characters of [A-Za-z0-9._~:+/=-]. Anything else (empty, too long,
// spaces, control or non-ASCII bytes, several headers) is ignored and the
// caller makes a fresh id, so a log line never carries a client's
// arbitrary bytes.
func requestID(vals []string) (string, bool) {
	if len(vals) != 1 {
		return "", false
	}
	v := vals[0]
	if len(v) == 0 || len(v) > maxRequestID {
		return "", false
	}
	for i := 0; i < len(v); i++ {
		if !idChar[v[i]] {
			return "", false
		}
	}
	return v, true
}

var idChar = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "._~:+/=-" {
		t[c] = true
	}
	return t
}()

// traceParent is a W3C Trace Context traceparent header's ids.
type traceParent struct {
	traceID  string // 32 lower-case hex digits, not all zero
	parentID string // 16 lower-case hex digits, not all zero
}

// parseTraceParent parses a traceparent header per W3C Trace Context:
// "version-traceid-parentid-flags" with two, 32, 16 and two lower-case hex
// digits. Version 00 is exactly that; a later version may append
// "-"-separated fields, which are ignored; version ff, upper-case hex,
// all-zero ids or several headers make it invalid (false: ignored).
func parseTraceParent(vals []string) (traceParent, bool) {
	if len(vals) != 1 {
		return traceParent{}, false
	}
	v := vals[0]
	const n = 55 // 2 + 1 + 32 + 1 + 16 + 1 + 2
	if len(v) < n || v[2] != '-' || v[35] != '-' || v[52] != '-' {
		return traceParent{}, false
	}
	ver, trace, parent, flags := v[0:2], v[3:35], v[36:52], v[53:55]
	if !lowerHex(ver) || ver == "ff" || !lowerHex(trace) || !lowerHex(parent) || !lowerHex(flags) {
		return traceParent{}, false
	}
	if ver == "00" && len(v) != n {
		return traceParent{}, false
	}
	if len(v) > n && v[n] != '-' {
		return traceParent{}, false
	}
	if allZero(trace) || allZero(parent) {
		return traceParent{}, false
	}
	return traceParent{traceID: trace, parentID: parent}, true
}

func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func allZero(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '0' {
			return false
		}
	}
	return true
}
