package webhook

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// network is an in-process HTTP network: a RoundTripper that serves each
// request with the handler registered for its host. Unlike loopback
// sockets it keeps every goroutine inside a synctest bubble, so delivery
// tests run on the bubble's fake clock.
type network struct {
	mu    sync.Mutex
	hosts map[string]http.Handler
}

func newNetwork() *network { return &network{hosts: map[string]http.Handler{}} }

// listen registers h and returns its base URL.
func (n *network) listen(host string, h http.Handler) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.hosts[host] = h
	return "http://" + host
}

func (n *network) RoundTrip(req *http.Request) (*http.Response, error) {
	n.mu.Lock()
	h := n.hosts[req.URL.Host]
	n.mu.Unlock()
	if h == nil {
		return nil, fmt.Errorf("dial %s: connection refused", req.URL.Host)
	}
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		body = b
	}
	in := req.Clone(req.Context())
	in.Body = io.NopCloser(bytes.NewReader(body))
	in.RequestURI = req.URL.RequestURI()
	if req.ContentLength >= 0 && req.Body != nil {
		// A net/http server keeps the header a fixed-length body came with.
		in.Header.Set("Content-Length", strconv.FormatInt(req.ContentLength, 10))
	}
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.ServeHTTP(rec, in)
	}()
	select {
	case <-done:
		return rec.Result(), nil
	case <-req.Context().Done():
		return nil, req.Context().Err()
	}
}

// client is an HTTP client on the network.
func (n *network) client() *http.Client { return &http.Client{Transport: n} }

// settle lets d of the bubble's fake time pass and returns once every
// goroutine in the bubble is blocked again: whatever was due within d has
// happened. Call it only inside synctest.Test.
func settle(d time.Duration) {
	tm := time.NewTimer(d)
	<-tm.C
	synctest.Wait()
}

// waitFor waits, on the bubble's fake clock, until cond holds; it fails
// the test after a minute of fake time. cond is evaluated only while the
// bubble is quiescent. Call it only inside synctest.Test.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		synctest.Wait()
		if cond() {
			return
		}
		if !time.Now().Before(deadline) {
			t.Fatalf("timed out waiting for %s (a minute of fake time)", what)
		}
		settle(time.Millisecond)
	}
}
