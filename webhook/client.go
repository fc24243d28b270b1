package webhook

import (
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// The delivery client's transport limits. AttemptTimeout bounds a whole
// attempt; these bound its phases so a stuck dial or handshake fails fast
// and a silent endpoint cannot hold a connection past the attempt.
const (
	dialTimeout         = 10 * time.Second
	tlsHandshakeTimeout = 10 * time.Second
	idleConnTimeout     = 90 * time.Second
	maxIdleConns        = 256
	maxIdleConnsPerHost = 64
	// maxAnswerDrain is how much of an endpoint's answer is read (and
	// discarded) so its connection can be reused; a longer answer closes
	// the connection instead of being read.
	maxAnswerDrain = 64 << 10
)

// NewDeliveryClient is the client policy of every webhook delivery and
// verification handshake: redirects are never followed (Meta does not
// follow them: a 3xx is a failed attempt, and a signed body must not be
// sent on to another host), connections are pooled, and dial, TLS
// handshake and response headers are bounded, the last by attemptTimeout.
// It has no overall timeout: each attempt carries its own deadline.
func NewDeliveryClient(attemptTimeout time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = tlsHandshakeTimeout
	t.ResponseHeaderTimeout = attemptTimeout
	t.IdleConnTimeout = idleConnTimeout
	t.MaxIdleConns = maxIdleConns
	t.MaxIdleConnsPerHost = maxIdleConnsPerHost
	return &http.Client{Transport: t, CheckRedirect: noRedirects}
}

// withDeliveryPolicy returns a copy of c (its transport shared) that does
// not follow redirects, whatever c did.
func withDeliveryPolicy(c *http.Client) *http.Client {
	cp := *c
	cp.CheckRedirect = noRedirects
	return &cp
}

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// drainAnswer reads at most maxAnswerDrain bytes of an answer and closes
// it: never buffered, never read to the end of an endless stream.
func drainAnswer(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, maxAnswerDrain))
	_ = body.Close()
}

// defaultVerifyClient is VerifyEndpoint's client when none is given.
var defaultVerifyClient = sync.OnceValue(func() *http.Client { return NewDeliveryClient(0) })
