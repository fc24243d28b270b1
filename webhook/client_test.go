package webhook

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"waproxy/metrics"
)

// A tenant endpoint that redirects is a failed attempt, retried like a 5xx:
// the redirect is never followed (Meta does not follow it, and following
// it would hand the signed body, or a bodiless GET answered 2xx, to
// whatever host the Location names).
func TestRedirectIsAFailedAttempt(t *testing.T) {
	t.Parallel()
	for _, code := range []int{301, 302, 303, 307, 308} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				nw := newNetwork()
				thief := newReceiver(nw, "thief.test", nil)
				rc := newReceiver(nw, "tenant-a.test", func(_ int, w http.ResponseWriter) {
					w.Header().Set("Location", "http://thief.test/steal?token=s3cret")
					w.WriteHeader(code)
				})
				m := metrics.New()
				f := newRelay(t, nw, []Target{{Tenant: "a", URL: rc.URL, AppSecret: appSec}}, func(o *Options) {
					o.Metrics = m
				})
				f.relay.Start()
				if got := f.post(t, appA, secretA, statusCallback("gs-9", "sent")); got != 200 {
					t.Fatalf("intake = %d", got)
				}
				waitFor(t, "a second attempt or the event leaving the queue", func() bool {
					return rc.count.Load() >= 2 || f.pending(t) == 0
				})
				if n := thief.count.Load(); n != 0 {
					t.Errorf("the Location's host got %d requests, want none", n)
				}
				if n := f.pending(t); n != 1 {
					t.Fatalf("pending = %d, want the event still queued", n)
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				if err := f.relay.Stop(ctx); err != nil {
					t.Fatal(err)
				}
				evs, err := f.q.Lease(ctx, "a", time.Now().Add(time.Hour), 10)
				if err != nil || len(evs) != 1 {
					t.Fatalf("lease = %v, %v", evs, err)
				}
				want := "HTTP " + strconv.Itoa(code) + " redirect to thief.test"
				if evs[0].Attempts < 2 || evs[0].LastError != want {
					t.Errorf("attempts %d, last error %q; want >= 2 and %q", evs[0].Attempts, evs[0].LastError, want)
				}
				if s := scrape(t, m); !strings.Contains(s, `result="http_3xx"`) || strings.Contains(s, `result="ok"`) {
					t.Errorf("deliveries metric lacks http_3xx or counts ok:\n%s", grepLines(s, "waproxy_webhook_deliveries_total"))
				}
			})
		})
	}
}

// An endpoint that streams an endless-looking answer does not hold the
// attempt: at most maxAnswerDrain bytes are read, then the connection is
// closed, and the 2xx counts.
func TestHugeAnswerIsNotBuffered(t *testing.T) {
	t.Parallel()
	const total = 100 << 20
	var written atomic.Int64
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Length", strconv.Itoa(total))
		w.WriteHeader(http.StatusOK)
		chunk := make([]byte, 32<<10)
		for written.Load() < total {
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	f := newRelay(t, nil, []Target{{Tenant: "a", URL: srv.URL + "/hook", AppSecret: appSec}}, func(o *Options) {
		o.AttemptTimeout = 30 * time.Second
	})
	f.relay.Start()
	if got := f.post(t, appA, secretA, statusCallback("gs-5", "sent")); got != 200 {
		t.Fatalf("intake = %d", got)
	}
	deadline := time.After(20 * time.Second)
	select {
	case <-done:
	case <-deadline:
		t.Fatal("the endpoint's handler did not end")
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for f.pending(t) != 0 {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatal("the event was not acknowledged")
		}
	}
	if n := written.Load(); n >= total {
		t.Errorf("the endpoint wrote its whole %d-byte answer: it was read to the end", n)
	}
}

func TestVerifyEndpointRefusesRedirects(t *testing.T) {
	t.Parallel()
	var echoed atomic.Int32
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		echoed.Add(1)
		_, _ = io.WriteString(w, r.URL.Query().Get("hub.challenge"))
	}))
	defer echo.Close()
	for _, code := range []int{301, 302, 303, 307, 308} {
		redir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, echo.URL+"/hook?"+r.URL.RawQuery, code)
		}))
		// A client given by the caller gets the same policy: even one
		// that follows redirects does not here.
		for name, c := range map[string]*http.Client{"default": nil, "given": http.DefaultClient} {
			err := VerifyEndpoint(context.Background(), c, redir.URL+"/hook", "vt", 5*time.Second)
			if err == nil || !strings.Contains(err.Error(), "redirect") {
				t.Errorf("%d, %s client: err = %v, want a redirect failure", code, name, err)
			}
		}
		redir.Close()
	}
	if n := echoed.Load(); n != 0 {
		t.Errorf("the Location was requested %d times", n)
	}
}

// TestDeliveryClientPolicy pins the transport every delivery and handshake
// uses: pooled, with bounded dial, TLS and header waits, no overall
// timeout (the attempt's context bounds it) and no redirects, also for a
// client given in Options.
func TestDeliveryClientPolicy(t *testing.T) {
	t.Parallel()
	c := NewDeliveryClient(7 * time.Second)
	tr, ok := c.Transport.(*http.Transport)
	if !ok {
		t.Fatalf("transport %T", c.Transport)
	}
	if tr.TLSHandshakeTimeout != tlsHandshakeTimeout || tr.ResponseHeaderTimeout != 7*time.Second ||
		tr.IdleConnTimeout != idleConnTimeout || tr.MaxIdleConnsPerHost != maxIdleConnsPerHost ||
		tr.DialContext == nil || c.Timeout != 0 {
		t.Errorf("transport %+v, client timeout %v", tr, c.Timeout)
	}
	given := &http.Client{Timeout: time.Minute}
	f := newRelay(t, nil, nil, func(o *Options) { o.Client = given })
	for name, c := range map[string]*http.Client{"default": NewDeliveryClient(time.Second), "given": f.relay.opt.Client} {
		req := httptest.NewRequest(http.MethodPost, "http://x.test/", nil)
		if c.CheckRedirect == nil || c.CheckRedirect(req, []*http.Request{req}) != http.ErrUseLastResponse {
			t.Errorf("%s client follows redirects", name)
		}
	}
	if given.CheckRedirect != nil || f.relay.opt.Client.Timeout != time.Minute {
		t.Error("the given client was changed in place, or its settings were lost")
	}
}

func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return w.Body.String()
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
