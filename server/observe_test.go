package server

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"waproxy/auth"
	"waproxy/config"
	"waproxy/translate"
)

var graphID = regexp.MustCompile(`^[A-Za-z0-9_-]{23}$`)

func TestNewIDsAreDistinctGraphStyleIDs(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		a, b := newIDs()
		if !graphID.MatchString(a) || !graphID.MatchString(b) || a == b || seen[a] || seen[b] {
			t.Fatalf("ids %q %q (seen before: %v %v)", a, b, seen[a], seen[b])
		}
		seen[a], seen[b] = true, true
	}
}

// TestObserveHeadersAndLogLine pins what every answer carries (Graph's
// trace and request ids, the error's fbtrace_id equal to the trace id, an
// X-Request-Id) and the one log line per request (request_id is the
// X-Request-Id, fbtrace_id the trace id; the route template; no message
// content).
func TestObserveHeadersAndLogLine(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	dir, err := auth.NewDirectory([]config.Tenant{{Name: "t", Tokens: []string{"tok"},
		PhoneNumbers: []config.PhoneNumber{{ID: "100", AppID: "app", AppToken: "sk_x"}}}})
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{Directory: dir, Tokens: auth.NewTokens(nil, auth.TokensConfig{}), Logger: zap.New(core),
		Upstream:  cannedSender{body: []byte(`{"messages":[{"id":"gs-1"}]}`)},
		Translate: translate.SendOptions{NormalizeTemplateButtons: true}})
	tests := []struct {
		name, token, body string
		status            int
	}{
		{"a send", "tok", `{"messaging_product":"whatsapp","to":"919970123444","type":"text","text":{"body":"SECRET-CONTENT"}}`, 200},
		{"a bad token", "nope", `{}`, 401},
	}
	for i, tc := range tests {
		req := httptest.NewRequest(http.MethodPost, "/v23.0/100/messages", bytes.NewReader([]byte(tc.body)))
		req.Header.Set("Authorization", "Bearer "+tc.token)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		trace, reqID := w.Header().Get("x-fb-trace-id"), w.Header().Get("x-fb-request-id")
		if w.Code != tc.status || !graphID.MatchString(trace) || !graphID.MatchString(reqID) || trace == reqID {
			t.Fatalf("%s: HTTP %d, trace %q, request id %q", tc.name, w.Code, trace, reqID)
		}
		if got := w.Header().Get("X-Request-Id"); got != reqID {
			t.Errorf("%s: X-Request-Id %q, want the X-Fb-Request-Id %q when the client sent none", tc.name, got, reqID)
		}
		if tc.status != 200 {
			if got := gjson.Get(w.Body.String(), "error.fbtrace_id").Str; got != trace {
				t.Errorf("%s: fbtrace_id %q, header %q", tc.name, got, trace)
			}
		}
		entries := logs.All()
		if len(entries) != i+1 {
			t.Fatalf("%s: %d log lines, want one per request", tc.name, len(entries))
		}
		ctx := entries[i].ContextMap()
		if ctx["request_id"] != reqID || ctx["fbtrace_id"] != trace || ctx["status"] != int64(tc.status) ||
			ctx["route"] != "/{version}/{phone_number_id}/messages" {
			t.Errorf("%s: log line %v", tc.name, ctx)
		}
		for k, v := range ctx {
			if s, ok := v.(string); ok && strings.Contains(s, "SECRET-CONTENT") {
				t.Errorf("%s: message content in the log line's %s", tc.name, k)
			}
		}
	}
}
