package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"waproxy/auth"
	"waproxy/config"
	"waproxy/metrics"
	"waproxy/translate"
	"waproxy/upstream"
)

// heldSender answers a send only once release is closed, telling held
// when a send arrived.
type heldSender struct {
	held    chan struct{}
	release chan struct{}
}

func (h heldSender) SendMessage(ctx context.Context, _, _ string, _ []byte) (*upstream.Response, error) {
	h.held <- struct{}{}
	select {
	case <-h.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return &upstream.Response{Status: 200, Body: []byte(`{"messages":[{"id":"gs-1"}]}`)}, nil
}

func (h heldSender) SendEvent(context.Context, string, string, []byte) (*upstream.Response, error) {
	return &upstream.Response{Status: 200, Body: []byte(`{"status":"success"}`)}, nil
}

func limitedServer(t *testing.T, up Sender, lim Limits, m *metrics.Metrics) (*Server, *observer.ObservedLogs) {
	t.Helper()
	dir, err := auth.NewDirectory([]config.Tenant{{Name: "t", Tokens: []string{"tok"},
		PhoneNumbers: []config.PhoneNumber{{ID: "100", AppID: "app", AppToken: "sk_x"}}}})
	if err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zap.InfoLevel)
	return New(Options{Directory: dir, Tokens: auth.NewTokens(nil, auth.TokensConfig{}), Logger: zap.New(core),
		Upstream: up, Metrics: m, Limits: lim, Translate: translate.SendOptions{NormalizeTemplateButtons: true}}), logs
}

const smallSend = `{"messaging_product":"whatsapp","to":"919970123444","type":"text","text":{"body":"hi"}}`

func sendReq(body io.Reader) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/v23.0/100/messages", body)
	req.Header.Set("Authorization", "Bearer tok")
	req.Header.Set("Content-Type", "application/json")
	return req
}

// checkOverloaded checks Meta's overload answer: 503, code 2, Retry-After.
func checkOverloaded(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	body := gjson.ParseBytes(w.Body.Bytes())
	if w.Code != http.StatusServiceUnavailable || body.Get("error.code").Int() != 2 ||
		body.Get("error.fbtrace_id").Str == "" || w.Header().Get("Retry-After") != "1" {
		t.Errorf("HTTP %d Retry-After %q %s, want 503 code 2 with Retry-After 1", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
}

// TestInFlightRefusalAndExemptions: with the one allowed request held,
// a send is refused with the overload error (logged as a warning, not an
// error) while the probes and /metrics still answer.
func TestInFlightRefusalAndExemptions(t *testing.T) {
	up := heldSender{held: make(chan struct{}), release: make(chan struct{})}
	s, logs := limitedServer(t, up, Limits{MaxInFlight: 1}, metrics.New())
	first := make(chan *httptest.ResponseRecorder)
	go func() {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, sendReq(strings.NewReader(smallSend)))
		first <- w
	}()
	select {
	case <-up.held:
	case <-time.After(10 * time.Second):
		t.Fatal("the first send never reached the upstream")
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, sendReq(strings.NewReader(smallSend)))
	checkOverloaded(t, w)
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, p, nil))
		if w.Code != http.StatusOK {
			t.Errorf("%s: HTTP %d while saturated", p, w.Code)
		}
	}
	close(up.release)
	if w := <-first; w.Code != http.StatusOK {
		t.Errorf("the held send: HTTP %d %s", w.Code, w.Body)
	}
	refused := logs.FilterField(zap.String("error", "refused: in_flight")).All()
	if len(refused) != 1 || refused[0].Level != zap.WarnLevel {
		t.Errorf("log lines of the refusal: %+v, want one warning", refused)
	}
}

// TestChunkedBodyOverTheBudget: a body without a Content-Length reserves
// as it is read; when the budget runs out the answer is the overload
// error, not a 400 or a 413, and the reservation is given back.
func TestChunkedBodyOverTheBudget(t *testing.T) {
	m := metrics.New()
	s, _ := limitedServer(t, cannedSender{body: []byte(`{"messages":[{"id":"gs-1"}]}`)}, Limits{MaxBufferedBytes: 100 << 10}, m)
	big := `{"messaging_product":"whatsapp","to":"919970123444","type":"text","text":{"body":"` +
		strings.Repeat("a", 200<<10) + `"}}`
	req := sendReq(io.MultiReader(strings.NewReader(big)))
	req.ContentLength = -1 // chunked
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	checkOverloaded(t, w)
	if used := s.limits.budget.Used(); used != 0 {
		t.Errorf("%d bytes still reserved after the request", used)
	}
	w = httptest.NewRecorder()
	req = sendReq(io.MultiReader(bytes.NewReader([]byte(smallSend))))
	req.ContentLength = -1
	s.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		t.Errorf("a small chunked send: HTTP %d %s", w.Code, w.Body)
	}
	mw := httptest.NewRecorder()
	m.Handler().ServeHTTP(mw, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if !strings.Contains(mw.Body.String(), `waproxy_requests_rejected_total{reason="buffered_bytes"} 1`) {
		t.Errorf("rejection not counted once:\n%s", mw.Body)
	}
}
