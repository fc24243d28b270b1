package server

import (
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"waproxy/internal/bodybudget"
	"waproxy/metrics"
	"waproxy/translate"
)

// Limits bound what the server holds at once. Zero values mean no limit;
// the configuration supplies the defaults (config: server.max_in_flight,
// server.max_buffered_bytes).
type Limits struct {
	// MaxInFlight bounds requests being handled at once. /healthz, /readyz
	// and /metrics are not counted.
	MaxInFlight int
	// MaxBufferedBytes bounds the request bodies held in memory across
	// requests: a body reserves its Content-Length before it is read (a
	// chunked one grows its reservation as it is read) and gives it back
	// when its request is done. Media uploads, streamed to the spool,
	// reserve only their read buffers.
	MaxBufferedBytes int64
}

// Requests over a limit are answered at once, before their body is read,
// with Meta's transient overload error: HTTP 503, code 2 ("Service
// temporarily unavailable", Graph's answer for temporary downtime or
// overload, which SDKs treat as retryable), Retry-After: 1. The intake
// answers Gupshup 503 with Retry-After and no body, so Gupshup retries.
const overloadRetryAfter = "1"

// streamReserve is what a streamed body (a media upload, spooled to disk)
// reserves: its multipart and copy buffers, not its size.
const streamReserve = 64 << 10

// intakePath is the intake's registered path.
const intakePath = "/gupshup/callbacks/:app"

// bodyPolicy is how a route reads request bodies.
type bodyPolicy struct {
	// max is the largest body the route takes.
	max int64
	// streamed bodies are not held in memory (they reserve streamReserve).
	streamed bool
	// handlerRefuses: a body over max is passed to the handler, which
	// refuses it before reading (the intake answers Gupshup itself).
	handlerRefuses bool
	// none: the route reads no body (probes, unmatched paths).
	none bool
}

// limiter holds the server's admission state.
type limiter struct {
	inFlight chan struct{} // nil: unlimited
	budget   *bodybudget.Budget
	policies map[string]bodyPolicy // by registered path; read-only after New
	def      bodyPolicy
}

func newLimiter(l Limits, m *metrics.Metrics, maxBody int64) *limiter {
	lm := &limiter{budget: bodybudget.New(l.MaxBufferedBytes), policies: map[string]bodyPolicy{},
		def: bodyPolicy{max: maxBody}}
	if l.MaxInFlight > 0 {
		lm.inFlight = make(chan struct{}, l.MaxInFlight)
	}
	lm.budget.OnChange = m.Buffered
	lm.policies[""] = bodyPolicy{none: true} // no route matched: nothing reads the body
	return lm
}

// exempt routes are never refused: probes and scrapes must answer while
// the server is saturated.
func exempt(path string) bool { return path == "/healthz" || path == "/readyz" || path == "/metrics" }

// admit is the middleware that applies the limits: a request over the
// in-flight limit, a body over its route's size limit (by Content-Length)
// or over the buffered-bytes budget is answered before anything reads the
// body, so a client that sent "Expect: 100-continue" never gets
// "100 Continue" for a body that will not be read.
func (s *Server) admit(c *gin.Context) {
	path := c.FullPath()
	if exempt(path) {
		c.Next()
		return
	}
	lm := s.limits
	if lm.inFlight != nil {
		select {
		case lm.inFlight <- struct{}{}:
		default:
			s.overloaded(c, metrics.RejectInFlight)
			return
		}
		s.opt.Metrics.InFlight(1)
		defer func() {
			<-lm.inFlight
			s.opt.Metrics.InFlight(-1)
		}()
	} else {
		s.opt.Metrics.InFlight(1)
		defer s.opt.Metrics.InFlight(-1)
	}

	p, ok := lm.policies[path]
	if !ok {
		p = lm.def
	}
	r := c.Request
	if p.none || r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		c.Next()
		return
	}
	if r.ContentLength > p.max {
		if p.handlerRefuses {
			c.Next()
			return
		}
		s.bodyTooLarge(c, p.max)
		return
	}
	if r.ContentLength > 0 || p.streamed {
		n := r.ContentLength
		if p.streamed && (n < 0 || n > streamReserve) {
			n = streamReserve
		}
		if !lm.budget.Reserve(n) {
			s.overloaded(c, metrics.RejectBufferedBytes)
			return
		}
		defer lm.budget.Release(n)
		c.Next()
		return
	}
	// Chunked: the reservation grows as the body is read; the handler
	// answers the overload error when it cannot (see readError).
	raw := r.Body
	g := bodybudget.NewGrowing(lm.budget, raw)
	r.Body = g
	defer g.Release()
	c.Next()
	if g.Refused() {
		s.opt.Metrics.Rejected(metrics.RejectBufferedBytes)
	}
	if g.Refused() || c.Writer.Status() == http.StatusRequestEntityTooLarge {
		g.Release()
		drainRefused(c, raw)
	}
}

// A body of unknown length refused as it was read (over its size limit or
// the budget) is read on and thrown away after the answer, within these
// bounds, so the client finishes sending and reads the answer before the
// connection closes: closing with unread data makes the kernel reset the
// connection, and the client may lose the answer. A body beyond the
// bounds still gets the reset.
const (
	drainBytes = 16 << 20
	drainTime  = 5 * time.Second
)

// drainRefused sends the answer written so far, then discards up to
// drainBytes of body for up to drainTime. The answer says Connection:
// close, so the connection ends after it.
func drainRefused(c *gin.Context, body io.Reader) {
	rc := http.NewResponseController(c.Writer)
	_ = rc.EnableFullDuplex() // read the body after the answer was sent
	c.Writer.Flush()
	_ = rc.SetReadDeadline(time.Now().Add(drainTime))
	_, _ = io.CopyN(io.Discard, body, drainBytes)
}

// overloaded counts and answers a request refused by a limit.
func (s *Server) overloaded(c *gin.Context, reason string) {
	s.opt.Metrics.Rejected(reason)
	logOf(c).err = "refused: " + reason
	s.answerOverloaded(c)
}

// answerOverloaded writes the answer to a refused request: Meta's overload
// error, or for the intake a bare 503; both with Retry-After.
func (s *Server) answerOverloaded(c *gin.Context) {
	logOf(c).refused = true
	c.Header("Retry-After", overloadRetryAfter)
	if c.FullPath() == intakePath {
		c.Status(http.StatusServiceUnavailable)
		c.Abort()
		return
	}
	s.fail(c, overloadError())
}

// overloadError is Meta's "temporary downtime or overload" error.
func overloadError() *translate.Error {
	return &translate.Error{HTTPStatus: http.StatusServiceUnavailable, Code: translate.CodeService,
		Title:      "Service temporarily unavailable",
		Details:    "The gateway is handling too many requests at once; nothing was sent. Retry after the Retry-After interval.",
		RetryAfter: overloadRetryAfter, Rule: "overloaded"}
}

// readError answers a failed body read: over the size limit (413), over
// the buffered-bytes budget (the overload error; admit counts it) or
// unreadable (400).
func (s *Server) readError(c *gin.Context, err error, limit int64) {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		s.bodyTooLarge(c, limit)
	case errors.Is(err, bodybudget.ErrExhausted):
		logOf(c).err = "refused: " + metrics.RejectBufferedBytes
		c.Header("Connection", "close") // the rest of the body is not read
		s.answerOverloaded(c)
	default:
		logOf(c).err = "reading body failed"
		s.fail(c, translate.InvalidParameter("The request body could not be read."))
	}
}

// bodyTooLarge answers a body over limit, closing the connection: the rest
// of the body is not read.
func (s *Server) bodyTooLarge(c *gin.Context, limit int64) {
	c.Header("Connection", "close")
	s.fail(c, translate.BodyTooLarge(limit))
}
