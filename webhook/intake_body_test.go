package webhook

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"waproxy/internal/bodybudget"
)

// watchedBody records whether the intake read it; err, when set, is what
// every read fails with.
type watchedBody struct {
	r    io.Reader
	err  error
	read bool
}

func (b *watchedBody) Read(p []byte) (int, error) {
	b.read = true
	if b.err != nil {
		return 0, b.err
	}
	return b.r.Read(p)
}

func (b *watchedBody) Close() error { return nil }

// TestIntakeBodyReading pins how the intake reads a callback body against
// its limit: a Content-Length over it is refused without reading a byte
// (a sender waiting on "Expect: 100-continue" gets no 100 Continue), a
// longer body of unknown length is refused as read; both close the
// connection. A body the server's memory budget cannot take answers 503
// with Retry-After (Gupshup retries), not 400.
func TestIntakeBodyReading(t *testing.T) {
	t.Parallel()
	f := newRelay(t, nil, []Target{{Tenant: "a", URL: "http://127.0.0.1:1/hook", AppSecret: appSec}},
		func(o *Options) { o.MaxBodyBytes = 1024 })
	small := statusCallback("gs-body-1", "sent")
	for _, tc := range []struct {
		name          string
		body          string
		contentLength int64
		readErr       error
		wantStatus    int
		wantRead      bool
		wantHeader    map[string]string
	}{
		{name: "within the limit", body: small, contentLength: int64(len(small)), wantStatus: http.StatusOK, wantRead: true},
		{name: "Content-Length over the limit", body: strings.Repeat("x", 2048), contentLength: 2048,
			wantStatus: http.StatusRequestEntityTooLarge, wantHeader: map[string]string{"Connection": "close"}},
		{name: "chunked over the limit", body: strings.Repeat("x", 2048), contentLength: -1,
			wantStatus: http.StatusRequestEntityTooLarge, wantRead: true, wantHeader: map[string]string{"Connection": "close"}},
		{name: "over the memory budget", body: small, contentLength: -1, readErr: bodybudget.ErrExhausted,
			wantStatus: http.StatusServiceUnavailable, wantRead: true, wantHeader: map[string]string{"Retry-After": "1"}},
		{name: "unreadable", body: small, contentLength: -1, readErr: errors.New("connection reset"),
			wantStatus: http.StatusBadRequest, wantRead: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := &watchedBody{r: strings.NewReader(tc.body), err: tc.readErr}
			req := httptest.NewRequest(http.MethodPost, "/gupshup/callbacks/"+appA, nil)
			req.Body, req.ContentLength = body, tc.contentLength
			req.RemoteAddr = "192.0.2.10:4000"
			req.Header.Set("X-Waproxy-Secret", secretA)
			w := httptest.NewRecorder()
			f.relay.ServeIntake(w, req, appA)
			if w.Code != tc.wantStatus {
				t.Errorf("status %d, want %d", w.Code, tc.wantStatus)
			}
			if body.read != tc.wantRead {
				t.Errorf("body read: %v, want %v", body.read, tc.wantRead)
			}
			for k, v := range tc.wantHeader {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
		})
	}
}
