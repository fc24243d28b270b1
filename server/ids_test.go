package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestRequestID(t *testing.T) {
	tests := []struct {
		name string
		vals []string
		ok   bool
	}{
		{"a uuid", []string{"8b149927-8f3c-40da-b62c-58eeff60903e"}, true},
		{"every allowed character", []string{"aZ09._~:+/=-"}, true},
		{"one character", []string{"x"}, true},
		{"128 bytes", []string{strings.Repeat("a", 128)}, true},
		{"129 bytes: too long", []string{strings.Repeat("a", 129)}, false},
		{"none", nil, false},
		{"empty", []string{""}, false},
		{"two headers", []string{"a", "b"}, false},
		{"a space", []string{"a b"}, false},
		{"a newline", []string{"a\nb"}, false},
		{"a quote", []string{`a"b`}, false},
		{"a comma", []string{"a,b"}, false},
		{"non-ASCII", []string{"caf\u00e9"}, false},
		{"a NUL", []string{"a\x00"}, false},
	}
	for _, tc := range tests {
		got, ok := requestID(tc.vals)
		if ok != tc.ok || (ok && got != tc.vals[0]) || (!ok && got != "") {
			t.Errorf("%s: requestID(%q) = %q, %v; want ok %v", tc.name, tc.vals, got, ok, tc.ok)
		}
	}
}

func TestParseTraceParent(t *testing.T) {
	const (
		trace  = "4bf92f3577b34da6a3ce929d0e0e4736"
		parent = "00f067aa0ba902b7"
		valid  = "00-" + trace + "-" + parent + "-01"
	)
	tests := []struct {
		name string
		vals []string
		ok   bool
	}{
		{"the spec's example", []string{valid}, true},
		{"flags 00 (not sampled)", []string{"00-" + trace + "-" + parent + "-00"}, true},
		{"a future version, same length", []string{"01-" + trace + "-" + parent + "-01"}, true},
		{"a future version with more fields", []string{"cc-" + trace + "-" + parent + "-01-what-the-future-holds"}, true},
		{"a future version, more without a dash", []string{"cc-" + trace + "-" + parent + "-01x"}, false},
		{"version 00 with more fields", []string{valid + "-extra"}, false},
		{"version ff", []string{"ff-" + trace + "-" + parent + "-01"}, false},
		{"too short", []string{valid[:54]}, false},
		{"upper-case trace id", []string{"00-" + strings.ToUpper(trace) + "-" + parent + "-01"}, false},
		{"upper-case version", []string{"0A-" + trace + "-" + parent + "-01"}, false},
		{"upper-case flags", []string{"00-" + trace + "-" + parent + "-0A"}, false},
		{"all-zero trace id", []string{"00-" + strings.Repeat("0", 32) + "-" + parent + "-01"}, false},
		{"all-zero parent id", []string{"00-" + trace + "-" + strings.Repeat("0", 16) + "-01"}, false},
		{"a non-hex character", []string{"00-" + trace[:31] + "g-" + parent + "-01"}, false},
		{"a wrong separator", []string{"00_" + trace + "-" + parent + "-01"}, false},
		{"a short trace id", []string{"00-" + trace[:31] + "-" + parent + "-01x"}, false},
		{"none", nil, false},
		{"two headers", []string{valid, valid}, false},
		{"empty", []string{""}, false},
	}
	for _, tc := range tests {
		got, ok := parseTraceParent(tc.vals)
		if ok != tc.ok {
			t.Errorf("%s: parseTraceParent(%q) ok %v, want %v", tc.name, tc.vals, ok, tc.ok)
			continue
		}
		if ok && (got.traceID != trace || got.parentID != parent) {
			t.Errorf("%s: ids %+v", tc.name, got)
		}
		if !ok && got != (traceParent{}) {
			t.Errorf("%s: ids %+v from an invalid header", tc.name, got)
		}
	}
}

// TestObserveIncomingIDs pins that a client's X-Request-Id becomes the log
// line's request_id and is echoed, that an unusable one is replaced by a
// fresh id, that a valid traceparent's ids are logged, and that the Meta
// ids stay Graph-shaped whatever the client sent.
func TestObserveIncomingIDs(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	s := New(Options{Logger: zap.New(core)})
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	tests := []struct {
		name, requestID, traceparent string
		wantEcho                     bool // X-Request-Id echoed as sent
		wantTrace                    bool
	}{
		{"a client id and a traceparent", "req-42.abc:def/=", tp, true, true},
		{"a client id alone", "8b149927-8f3c-40da-b62c-58eeff60903e", "", true, false},
		{"an id with a space", "bad id", tp, false, true},
		{"an id too long", strings.Repeat("x", 129), "", false, false},
		{"an invalid traceparent", "", "00-" + strings.Repeat("0", 32) + "-00f067aa0ba902b7-01", false, false},
	}
	for _, tc := range tests {
		logs.TakeAll()
		req := httptest.NewRequest(http.MethodGet, "/v23.0/100/nowhere", nil)
		if tc.requestID != "" {
			req.Header.Set("X-Request-Id", tc.requestID)
		}
		if tc.traceparent != "" {
			req.Header.Set("traceparent", tc.traceparent)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		echo, trace, fbReq := w.Header().Get("X-Request-Id"), w.Header().Get("X-Fb-Trace-Id"), w.Header().Get("X-Fb-Request-Id")
		if !graphID.MatchString(trace) || !graphID.MatchString(fbReq) {
			t.Errorf("%s: Meta ids %q %q not Graph-shaped", tc.name, trace, fbReq)
		}
		want := fbReq
		if tc.wantEcho {
			want = tc.requestID
		}
		if echo != want {
			t.Errorf("%s: X-Request-Id %q, want %q", tc.name, echo, want)
		}
		entries := logs.All()
		if len(entries) != 1 {
			t.Fatalf("%s: %d log lines", tc.name, len(entries))
		}
		ctx := entries[0].ContextMap()
		if ctx["request_id"] != want || ctx["fbtrace_id"] != trace || ctx["route"] != unmatchedRoute {
			t.Errorf("%s: log line %v", tc.name, ctx)
		}
		_, hasTrace := ctx["trace_id"]
		_, hasParent := ctx["parent_span_id"]
		if hasTrace != tc.wantTrace || hasParent != tc.wantTrace {
			t.Errorf("%s: trace fields logged %v %v, want %v", tc.name, hasTrace, hasParent, tc.wantTrace)
		}
		if tc.wantTrace && (ctx["trace_id"] != "4bf92f3577b34da6a3ce929d0e0e4736" || ctx["parent_span_id"] != "00f067aa0ba902b7") {
			t.Errorf("%s: trace fields %v %v", tc.name, ctx["trace_id"], ctx["parent_span_id"])
		}
	}
}
