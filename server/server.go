// Package server is the HTTP face of the proxy: gin routes in Graph API
// shape, request ids, body limits, one log line per request, metrics, and the
// handlers that tie auth, translate and upstream together.
package server

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"waproxy/auth"
	"waproxy/mediacache"
	"waproxy/metrics"
	"waproxy/store"
	"waproxy/templates"
	"waproxy/translate"
	"waproxy/upstream"
)

// Sender is what the handlers need from the Gupshup client.
type Sender interface {
	SendMessage(ctx context.Context, appID, appToken string, form []byte) (*upstream.Response, error)
	SendEvent(ctx context.Context, appID, appToken string, message []byte) (*upstream.Response, error)
}

// TokenSource hands out and refreshes Gupshup app tokens.
type TokenSource interface {
	Token(ctx context.Context, p *auth.Phone) (string, error)
	Refresh(ctx context.Context, p *auth.Phone, rejected string) (string, bool, error)
}

// Intake accepts Gupshup callbacks for an app (the webhook relay). It
// returns fields for the request's log line.
type Intake interface {
	ServeIntake(w http.ResponseWriter, r *http.Request, app string) []zap.Field
	// MaxBodyBytes is the largest callback body it takes (it refuses a
	// larger one itself, before reading it).
	MaxBodyBytes() int64
}

// IDMap translates Gupshup message ids into wamids where known.
type IDMap interface {
	WAMID(ctx context.Context, gsID string) (string, bool)
}

// DeadLetters is what the admin endpoints need from the queue.
type DeadLetters interface {
	DeadLetters(ctx context.Context, limit int) ([]store.Event, error)
	Replay(ctx context.Context, ids []uint64, at time.Time) (int, error)
}

// Options configures the handler.
type Options struct {
	Directory *auth.Directory
	Tokens    TokenSource
	Upstream  Sender
	Logger    *zap.Logger      // default: no logging
	Metrics   *metrics.Metrics // default: a fresh registry
	// MetricsElsewhere leaves /metrics off the API routes (it answers
	// Graph's unknown-path error) because the registry is served on a
	// listener of its own (config metrics.listen).
	MetricsElsewhere bool
	// MaxBodyBytes caps request bodies. Default 1 MiB.
	MaxBodyBytes int64
	// Limits bound requests in flight and request bytes buffered (see
	// limits.go); zero: unlimited.
	Limits Limits
	// Translate options for sends.
	Translate translate.SendOptions
	// Intake serves POST /gupshup/callbacks/{app}; nil: not served.
	Intake Intake
	// IDs maps Gupshup ids in outbound context/reaction/read ids to
	// wamids; nil: ids pass unchanged.
	IDs IDMap
	// Readiness adds detail to /readyz (e.g. webhook verification
	// results); nil: none.
	Readiness func() map[string]string
	// DeadLetters backs /admin/deadletters; AdminToken guards it. Both
	// needed, else the admin routes answer 404.
	DeadLetters DeadLetters
	AdminToken  string
	// ReplayNow is the clock replayed dead letters are made due by: the
	// relay's (webhook.Relay.Now), so they are due at once in the running
	// relay whatever the wall clock did since it started. Default time.Now.
	ReplayNow func() time.Time
	// Media enables upload, lookup, download and delete of media; nil:
	// those routes answer Graph's unknown-path error.
	Media *MediaOptions
	// Flows enables Meta's Flows API; nil: not served.
	Flows *FlowOptions
	// V2 enables template sends on send_api v2 numbers (Gupshup's
	// template/msg); nil: those numbers answer a configuration error.
	V2 *V2Options
}

// Server is the proxy's http.Handler.
type Server struct {
	opt       Options
	templates *templates.Cache // with Options.V2
	engine    *gin.Engine
	ready     atomic.Bool
	bufs      sync.Pool
	routes    map[string]*route // gin's registered path → route; read-only after New
	unmatched *route
	limits    *limiter
}

var versionRe = regexp.MustCompile(`^v[0-9]+(\.[0-9]+)?$`)

// New builds the router.
func New(opt Options) *Server {
	if opt.Logger == nil {
		opt.Logger = zap.NewNop()
	}
	if opt.Metrics == nil {
		opt.Metrics = metrics.New()
	}
	if opt.ReplayNow == nil {
		opt.ReplayNow = time.Now
	}
	if opt.MaxBodyBytes <= 0 {
		opt.MaxBodyBytes = 1 << 20
	}
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.HandleMethodNotAllowed = true
	// A trailing slash is an unknown path (Graph's 2500 in JSON), never gin's
	// 301/307 redirect with an empty or HTML body.
	e.RedirectTrailingSlash = false
	e.ContextWithFallback = true
	s := &Server{opt: opt, engine: e, limits: newLimiter(opt.Limits, opt.Metrics, opt.MaxBodyBytes)}
	s.bufs.New = func() any { b := make([]byte, 0, 2048); return &b }
	s.ready.Store(true)
	if opt.V2 != nil {
		s.templates = templates.New(newTemplateLister(s), opt.V2.Cache)
	}

	e.Use(s.observe, s.recover, s.admit)
	e.GET("/healthz", func(c *gin.Context) { c.Data(200, jsonType, []byte(`{"status":"ok"}`)) })
	e.GET("/readyz", s.readyz)
	if opt.MetricsElsewhere {
		// Registered so that it is not taken for a Graph object id.
		e.GET("/metrics", func(c *gin.Context) { s.fail(c, translate.UnknownPath(c.Request.Method, c.Request.URL.Path)) })
	} else {
		e.GET("/metrics", gin.WrapH(opt.Metrics.Handler()))
	}

	// Graph paths come with a version (/v23.0/{id}/messages) or without
	// (/{id}/messages); both are served.
	for _, m := range []string{http.MethodPost, http.MethodPut} {
		e.Handle(m, "/:p1/messages", s.messages)
		e.Handle(m, "/:p1/:p2/messages", s.messages)
	}
	if m := opt.Media; m != nil {
		if m.Cache == nil {
			m.Cache = mediacache.New(mediacache.Options{})
		}
		if m.URLTTL <= 0 {
			m.URLTTL = 5 * time.Minute
		}
		if m.TransferTimeout <= 0 {
			m.TransferTimeout = 10 * time.Minute
		}
		e.POST("/:p1/media", s.upload)
		e.POST("/:p1/:p2/media", s.upload)
		for _, p := range []string{"/:p1/media", "/:p1/:p2/media"} {
			s.limits.policies[p] = bodyPolicy{max: maxUploadBody, streamed: true}
		}
		e.GET(downloadPath+":id", s.download)
	}
	if f := opt.Flows; f != nil {
		if f.URLTTL <= 0 {
			f.URLTTL = 5 * time.Minute
		}
		for _, p := range []string{"/:p1", "/:p1/:p2"} {
			e.POST(p+"/flows", s.createFlow)
			e.GET(p+"/flows", s.listFlows)
			e.POST(p, s.updateFlow)
			e.GET(p+"/assets", s.flowAssets)
			e.POST(p+"/assets", s.uploadFlowAsset)
			e.POST(p+"/publish", s.flowAction("publish"))
			e.POST(p+"/deprecate", s.flowAction("deprecate"))
		}
		e.GET(flowDownloadPath+":id/flow.json", s.flowJSONDownload)
	}
	if opt.Media != nil || opt.Flows != nil {
		// Graph object ids: a flow or a media id.
		for _, p := range []string{"/:p1", "/:p1/:p2"} {
			e.GET(p, s.objectRoute(s.getFlow, s.mediaInfo))
			e.DELETE(p, s.objectRoute(s.deleteFlow, s.deleteMedia))
		}
	}
	if opt.Intake != nil {
		e.POST("/gupshup/callbacks/:app", s.intake)
		e.GET("/gupshup/callbacks/:app", s.intake)
		e.HEAD("/gupshup/callbacks/:app", s.intake)
		s.limits.policies[intakePath] = bodyPolicy{max: opt.Intake.MaxBodyBytes(), handlerRefuses: true}
	}
	if opt.DeadLetters != nil && opt.AdminToken != "" {
		e.GET("/admin/deadletters", s.adminAuth, s.listDeadLetters)
		e.POST("/admin/deadletters/replay", s.adminAuth, s.replayDeadLetters)
		s.limits.policies["/admin/deadletters/replay"] = bodyPolicy{max: maxReplayBody}
	}
	e.NoRoute(func(c *gin.Context) { s.fail(c, translate.UnknownPath(c.Request.Method, c.Request.URL.Path)) })
	e.NoMethod(func(c *gin.Context) { s.fail(c, translate.UnknownPath(c.Request.Method, c.Request.URL.Path)) })
	s.mapRoutes()
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.engine.ServeHTTP(w, r) }

// SetReady flips /readyz; main sets it false when draining.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

func (s *Server) readyz(c *gin.Context) {
	if !s.ready.Load() {
		c.Data(http.StatusServiceUnavailable, jsonType, []byte(`{"status":"draining"}`))
		return
	}
	if s.opt.Readiness == nil {
		c.Data(http.StatusOK, jsonType, []byte(`{"status":"ready"}`))
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready", "webhooks": s.opt.Readiness()})
}

const jsonType = "application/json; charset=UTF-8"

// Context keys for what a handler tells the log line.
const (
	keyLog = "waproxy.log"
)

// reqLog collects what the request's single log line reports. Only ids,
// types and codes: never tokens, secrets or message content.
type reqLog struct {
	trace          string // fbtrace_id and X-Fb-Trace-Id
	tenant         string
	phoneID        string
	to             string // masked
	msgType        string
	upstreamStatus int
	upstreamTime   time.Duration
	metaCode       int
	rule           string
	operator       bool
	retried        bool
	idsMapped      int
	extra          []zap.Field // from the webhook intake: ids and counts
	err            string      // a short reason, never content
	// refused: answered 503 by a limit (limits.go); logged as a warning,
	// not an error, so an overload does not flood the error log.
	refused bool
}

func logOf(c *gin.Context) *reqLog {
	if v, ok := c.Get(keyLog); ok {
		return v.(*reqLog)
	}
	l := &reqLog{}
	c.Set(keyLog, l)
	return l
}

// newIDs returns two 23-character URL-safe ids like Graph's fbtrace_id
// (the trace id and the request id), from one allocation.
func newIDs() (string, string) {
	var b [40]byte
	for i := 0; i < len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], rand.Uint64())
	}
	var out [2 * 23]byte
	base64.RawURLEncoding.Encode(out[:23], b[:17])
	base64.RawURLEncoding.Encode(out[23:], b[18:35])
	both := string(out[:])
	return both[:23], both[23:]
}

// observe sets the id headers, then writes the log line and metrics once
// the request is done. The request id is the client's X-Request-Id when
// usable (see requestID), else the X-Fb-Request-Id made here; Graph's
// trace id (X-Fb-Trace-Id, an error's fbtrace_id) is always made here.
func (s *Server) observe(c *gin.Context) {
	start := time.Now()
	trace, fbReqID := newIDs()
	reqID, ok := requestID(c.Request.Header["X-Request-Id"])
	if !ok {
		reqID = fbReqID
	}
	tp, hasTP := parseTraceParent(c.Request.Header["Traceparent"])
	h := c.Writer.Header()
	// Canonical keys set directly (no canonicalisation per request), the
	// three values in one allocation.
	vals := &[3]string{trace, fbReqID, reqID}
	h["X-Fb-Trace-Id"] = vals[0:1:1]
	h["X-Fb-Request-Id"] = vals[1:2:2]
	h["X-Request-Id"] = vals[2:3:3]
	l := logOf(c)
	l.trace = trace
	c.Next()

	rt := s.routeOf(c)
	status := c.Writer.Status()
	latency := time.Since(start)
	rt.Observe(c.Request.Method, status, latency)
	if l.metaCode != 0 {
		s.opt.Metrics.MetaError(l.metaCode)
	}
	if rt.quiet {
		return
	}
	lvl := levelOf(status)
	if l.refused {
		lvl = zap.WarnLevel
	}
	ce := s.opt.Logger.Check(lvl, "request")
	if ce == nil {
		return
	}
	var buf [24]zap.Field
	fields := append(buf[:0],
		zap.String("request_id", reqID),
		zap.String("fbtrace_id", trace),
		zap.String("method", c.Request.Method),
		zap.String("route", rt.Template()),
		zap.Int("status", status),
		zap.Duration("latency", latency),
	)
	if hasTP {
		fields = append(fields, zap.String("trace_id", tp.traceID), zap.String("parent_span_id", tp.parentID))
	}
	if l.tenant != "" {
		fields = append(fields, zap.String("tenant", l.tenant))
	}
	if l.phoneID != "" {
		fields = append(fields, zap.String("phone_number_id", l.phoneID))
	}
	if l.to != "" {
		fields = append(fields, zap.String("to", l.to))
	}
	if l.msgType != "" {
		fields = append(fields, zap.String("message_type", l.msgType))
	}
	if l.upstreamStatus != 0 || l.upstreamTime != 0 {
		fields = append(fields, zap.Int("upstream_status", l.upstreamStatus), zap.Duration("upstream_latency", l.upstreamTime))
	}
	if l.metaCode != 0 {
		fields = append(fields, zap.Int("meta_code", l.metaCode), zap.String("rule", l.rule))
	}
	if l.operator {
		fields = append(fields, zap.Bool("operator_action_needed", true))
	}
	if l.retried {
		fields = append(fields, zap.Bool("token_refreshed", true))
	}
	if l.idsMapped != 0 {
		fields = append(fields, zap.Int("ids_mapped", l.idsMapped))
	}
	fields = append(fields, l.extra...)
	if l.err != "" {
		fields = append(fields, zap.String("error", l.err))
	}
	ce.Write(fields...)
}

// levelOf is the log level of a request's line: errors for 5xx answers.
func levelOf(status int) zapcore.Level {
	if status >= 500 {
		return zap.ErrorLevel
	}
	return zap.InfoLevel
}

// recover turns a panic into Meta's generic error instead of a dropped
// connection; the log line records it.
func (s *Server) recover(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			if r == http.ErrAbortHandler {
				panic(r)
			}
			logOf(c).err = "panic"
			s.opt.Logger.Error("panic in handler", zap.Any("panic", r), zap.Stack("stack"))
			if !c.Writer.Written() {
				s.fail(c, translate.Internal("The request could not be processed."))
			}
			c.Abort()
		}
	}()
	c.Next()
}

// fail writes a Meta error answer.
func (s *Server) fail(c *gin.Context, e *translate.Error) {
	l := logOf(c)
	l.metaCode = e.Code
	l.rule = e.Rule
	l.operator = e.Operator
	if e.RetryAfter != "" {
		c.Header("Retry-After", e.RetryAfter)
	}
	c.Data(e.HTTPStatus, jsonType, e.Body(logOf(c).trace))
	c.Abort()
}

func (s *Server) getBuf() *[]byte { return s.bufs.Get().(*[]byte) }
func (s *Server) putBuf(b *[]byte) {
	if cap(*b) <= 64<<10 {
		*b = (*b)[:0]
		s.bufs.Put(b)
	}
}

// maxMaskedPhone bounds the bytes of a recipient a log line shows.
const maxMaskedPhone = 32

// maskPhone keeps the first two and last two characters of a phone number
// and masks the digits between. A recipient longer than maxMaskedPhone
// bytes (no phone number is) shows only its first maxMaskedPhone bytes,
// every digit after the first two masked, then "…" and its length.
func maskPhone(p string) string {
	if len(p) <= 4 {
		return "****"
	}
	long := len(p) > maxMaskedPhone
	b := []byte(p)
	end := len(b) - 2
	if long {
		// The last whole character within the bound (a byte that is not
		// UTF-8 counts as one).
		cut := 0
		for cut < len(p) {
			_, size := utf8.DecodeRuneInString(p[cut:])
			if cut+size > maxMaskedPhone {
				break
			}
			cut += size
		}
		b, end = b[:cut], cut
	}
	for i := 2; i < end; i++ {
		if b[i] >= '0' && b[i] <= '9' {
			b[i] = '*'
		}
	}
	if long {
		b = append(b, "…("...)
		b = strconv.AppendInt(b, int64(len(p)), 10)
		b = append(b, " bytes)"...)
	}
	return string(b)
}
