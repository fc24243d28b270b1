package server

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"waproxy/auth"
	"waproxy/config"
	"waproxy/translate"
	"waproxy/upstream"
)

// cannedSender answers every send with Gupshup's success body, so the
// benchmark measures the handler alone: routing, auth, body read,
// translation, answer mapping and the log line.
type cannedSender struct{ body []byte }

func (c cannedSender) SendMessage(context.Context, string, string, []byte) (*upstream.Response, error) {
	return &upstream.Response{Status: 200, Body: c.body}, nil
}

func (c cannedSender) SendEvent(context.Context, string, string, []byte) (*upstream.Response, error) {
	return &upstream.Response{Status: 200, Body: []byte(`{"status":"success"}`)}, nil
}

func benchServer(b *testing.B) *Server {
	b.Helper()
	dir, err := auth.NewDirectory([]config.Tenant{{Name: "t", Tokens: []string{"tok"},
		PhoneNumbers: []config.PhoneNumber{{ID: "100", AppID: "app", AppToken: "sk_x"}}}})
	if err != nil {
		b.Fatal(err)
	}
	return New(Options{
		Directory: dir,
		Tokens:    auth.NewTokens(nil, auth.TokensConfig{}),
		Upstream: cannedSender{body: []byte(`{"messages":[{"id":"8b149927-8f3c-40da-b62c-58eeff60903e"}],` +
			`"messaging_product":"whatsapp","contacts":[{"input":"919970123444","wa_id":"919970123444"}]}`)},
		Translate: translate.SendOptions{NormalizeTemplateButtons: true},
	})
}

// BenchmarkHandlerText is the full handler for a text send, in process.
func BenchmarkHandlerText(b *testing.B) {
	s := benchServer(b)
	body := []byte(`{"messaging_product":"whatsapp","recipient_type":"individual","to":"919970123444","type":"text","text":{"preview_url":false,"body":"Hello, your order 1234 has shipped."}}`)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/v23.0/100/messages", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer tok")
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("HTTP %d %s", w.Code, w.Body)
		}
	}
}

// BenchmarkHandlerTextClientIDs is BenchmarkHandlerText with a client's
// X-Request-Id and traceparent, which the log line then carries.
func BenchmarkHandlerTextClientIDs(b *testing.B) {
	s := benchServer(b)
	body := []byte(`{"messaging_product":"whatsapp","recipient_type":"individual","to":"919970123444","type":"text","text":{"preview_url":false,"body":"Hello, your order 1234 has shipped."}}`)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/v23.0/100/messages", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer tok")
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Request-Id", "8b149927-8f3c-40da-b62c-58eeff60903e")
		req.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != 200 || w.Header().Get("X-Request-Id") != "8b149927-8f3c-40da-b62c-58eeff60903e" {
			b.Fatalf("HTTP %d %s", w.Code, w.Body)
		}
	}
}
