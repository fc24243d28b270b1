package gupshupsim

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Default partner credentials, used when Options leaves them empty.
const (
	DefaultPartnerEmail  = "partner@example.com"
	DefaultPartnerSecret = "sim-secret"
)

// MaxBodyBytes is the largest request body the simulator accepts (media
// uploads are streamed and have their own limit, MaxMediaBytes).
const MaxBodyBytes = 16 << 20

// Rate limits enforced by the simulator (Gupshup's documented values).
const (
	LoginRateLimit    = 10 // logins per RateLimitWindow
	AppTokenRateLimit = 10 // app token requests per RateLimitWindow per app
	RateLimitWindow   = 60 * time.Second
)

// App is a Gupshup app known to the simulator.
type App struct {
	ID    string // Gupshup app id (uuid-like)
	Name  string // app name
	Token string // the app token (sk_...) accepted on app-level calls; if empty New generates one

	// The business number behind the app, as v3 callbacks report it
	// (metadata.phone_number_id, metadata.display_phone_number, entry[].id).
	// Empty fields get values derived deterministically from ID.
	PhoneNumberID      string
	DisplayPhoneNumber string
	WABAID             string

	// NotCAPI marks an app that is not on Meta's Cloud API: media uploads
	// answer 400 "Only CAPI apps allowed to generate media ID".
	NotCAPI bool
}

// Options configures a Sim.
type Options struct {
	Apps          []App
	PartnerEmail  string // login credentials; login answers 401 for anything else (default DefaultPartnerEmail)
	PartnerSecret string // (default DefaultPartnerSecret)

	// DisableRateLimits turns off the login and app token rate limits (and
	// the media ones, even when MediaRateLimits is set).
	DisableRateLimits bool
	// MediaRateLimits turns on Gupshup's documented media limits, off by
	// default because they are very low: MediaDownloadRateLimit downloads
	// and MediaDeleteRateLimit deletes per app per MediaRateLimitWindow.
	MediaRateLimits bool

	// DisableCallbacks turns callback emission off: no status callbacks
	// after sends, and Inbound and EmitRaw deliver nothing.
	DisableCallbacks bool
	// StatusSequence is the statuses emitted after a successful v3 send, in
	// order. Known names: enqueued, sent, delivered, read, failed. Default
	// enqueued, sent, delivered. New panics on an unknown name.
	StatusSequence []string
	// CallbackInterval spaces the statuses of one message (the first comes
	// one interval after the send). Default 20ms.
	CallbackInterval time.Duration
	// CallbackTimeout bounds one callback attempt; an attempt not answered
	// 2xx within it failed. Default 10s.
	CallbackTimeout time.Duration
	// CallbackRetryDelay is the wait before retrying a failed callback.
	// Default 10s.
	CallbackRetryDelay time.Duration
	// CallbackRetries is how many times a failed callback is retried after
	// the first attempt. 0 means the default 3; negative means never.
	CallbackRetries int
	// CallbackTransport replaces the transport callbacks are posted with
	// (for example to trust a test TLS server). Default: a private
	// http.Transport.
	CallbackTransport http.RoundTripper
	// MediaBaseURL prefixes the media urls of simulated inbound media
	// ("<MediaBaseURL>/wa/<appId>/wa/media/<id>?download=false"); the Sim
	// serves those paths itself. Default https://filemanager.gupshup.io.
	// When set it also prefixes flow asset download URLs
	// ("<MediaBaseURL>/sim/flows/<flowId>/flow.json?sig=…"), which otherwise
	// use the scheme and Host of the request listing the assets.
	MediaBaseURL string
	// OnCallback, when set, is called after every callback attempt (from the
	// delivering goroutine), e.g. to log it.
	OnCallback func(Callback)

	// Templates are the apps' Gupshup templates (GET
	// /partner/app/{appId}/templates, POST …/template/msg); see Template
	// for the defaults. New panics on a template of an unknown app, without
	// ElementName, or with an ID the app already has. Sim.AddTemplate and
	// Sim.SetTemplateStatus change them at run time.
	Templates []Template

	// Fast turns on the load-test mode: every POST to
	// /partner/app/{appId}/v3/message, and to Meta's
	// /{version}/{phone}/messages (so that the same request can be sent
	// untranslated), is answered 200 with one canned Meta-shaped body
	// (FastMessageID, FastRecipient) without authentication, recording,
	// faults, magic destinations or callbacks. Other requests are served
	// as usual.
	Fast bool
}

// Request is one request received by the simulator.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte     // raw body bytes exactly as received; nil for media uploads (see BodySize)
	Form   url.Values // parsed form (urlencoded) when the body is form-encoded, else nil
	Time   time.Time

	// BodySize is the body's length: len(Body), or for a media upload
	// (POST /partner/app/{appId}/media, whose body is streamed and not kept)
	// the number of bytes the simulator has read of it: the whole body
	// unless it answered early (413, an error found before the file, a
	// fault).
	BodySize int64

	read *atomic.Int64 // bytes read of a streamed (media upload) body
}

// size returns BodySize, reading the live count of a streamed body.
func (r *Request) size() int64 {
	if r.read != nil {
		return r.read.Load()
	}
	return r.BodySize
}

// Fault makes the next matching request(s) misbehave. Faults are consumed in
// FIFO order: a request is affected by the oldest queued fault whose
// PathSuffix matches it.
//
// Delay is applied first (a request whose context ends during the delay is
// dropped without an answer). Then, if Reset is set, the connection is reset;
// otherwise, if Status is non-zero, Status and Body are sent; otherwise the
// request is answered normally. Header is added to the answer in both of the
// latter cases.
type Fault struct {
	PathSuffix string            // match requests whose URL path ends with this; "" matches all
	Times      int               // how many requests it applies to; 0 means 1
	Delay      time.Duration     // sleep before answering (respect request context cancellation)
	Status     int               // if non-zero, answer this status with Body
	Body       string            // body to send with Status (Content-Type application/json)
	Header     map[string]string // extra response headers (e.g. Retry-After)
	Reset      bool              // hijack the connection and close it with SO_LINGER=0 (TCP RST) without answering
}

type appState struct {
	App
	authoriserID string
	requestorID  string
	createdOn    int64 // ms
	modifiedOn   int64 // ms
}

type queuedFault struct {
	Fault
	left int
}

// Sim is a simulated Gupshup Partner API. It implements http.Handler.
type Sim struct {
	email     string
	secret    string
	rateLimit bool
	fast      bool
	now       func() time.Time

	mu            sync.Mutex
	apps          map[string]*appState
	partnerTokens map[string]struct{}
	requests      []Request
	faults        []*queuedFault
	logins        []time.Time
	appTokenCalls map[string][]time.Time

	cb       callbackConfig
	subs     []*Subscription     // every app's subscriptions, in creation order
	subSeq   int                 // last subscription id issued
	messages map[string]*sentMsg // by Gupshup message id
	msgOrder []string            // ids in messages, oldest first
	media    map[string]bool     // media ids handed out in inbound messages
	records  []Callback

	store  *mediaStore // uploaded media (media.go)
	events [][]byte    // message JSON of accepted v1 events (event.go)
	flows  *flowStore  // every app's flows (flows.go)

	templates *templateStore // every app's templates and template sends (templates.go)

	cbCtx    context.Context // canceled by Reset and Close
	cbCancel context.CancelFunc
	cbWG     sync.WaitGroup
	cbActive int           // callback goroutines running (see WaitCallbacks)
	cbIdle   chan struct{} // closed while cbActive is 0
	closed   bool
}

// New returns a simulator serving the given apps. It panics if an app has an
// empty or duplicate ID, or a template is invalid (see Options.Templates).
func New(opts Options) *Sim {
	s := &Sim{
		email:         opts.PartnerEmail,
		secret:        opts.PartnerSecret,
		rateLimit:     !opts.DisableRateLimits,
		fast:          opts.Fast,
		now:           time.Now,
		apps:          make(map[string]*appState, len(opts.Apps)),
		partnerTokens: make(map[string]struct{}),
		appTokenCalls: make(map[string][]time.Time),
		cb:            newCallbackConfig(opts),
		messages:      make(map[string]*sentMsg),
		media:         make(map[string]bool),
		store:         newMediaStore(opts),
		flows:         newFlowStore(opts),
		templates:     newTemplateStore(),
	}
	s.cbCtx, s.cbCancel = context.WithCancel(context.Background())
	s.cbIdle = make(chan struct{})
	close(s.cbIdle)
	if s.email == "" {
		s.email = DefaultPartnerEmail
	}
	if s.secret == "" {
		s.secret = DefaultPartnerSecret
	}
	for _, a := range opts.Apps {
		if err := s.addApp(a); err != nil {
			panic(err.Error())
		}
	}
	s.addOptionTemplates(opts.Templates)
	return s
}

// AddApp adds an app to a running simulator (as if it had been created in
// the partner portal), with the defaults New gives. It fails for an empty
// or known ID.
func (s *Sim) AddApp(a App) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addApp(a)
}

// addApp adds a with New's defaults; s.mu is held or s is not shared yet.
func (s *Sim) addApp(a App) error {
	if a.ID == "" {
		return errors.New("gupshupsim: app with empty ID")
	}
	if _, dup := s.apps[a.ID]; dup {
		return fmt.Errorf("gupshupsim: duplicate app ID %q", a.ID)
	}
	if a.Token == "" {
		a.Token = newAppToken()
	}
	if a.PhoneNumberID == "" {
		a.PhoneNumberID = derivedDigits(a.ID, "phone-number-id", "1", 15)
	}
	if a.DisplayPhoneNumber == "" {
		a.DisplayPhoneNumber = derivedDigits(a.ID, "display-phone-number", "919", 12)
	}
	if a.WABAID == "" {
		a.WABAID = derivedDigits(a.ID, "waba-id", "2", 15)
	}
	created := s.now().UnixMilli()
	s.apps[a.ID] = &appState{
		App:          a,
		authoriserID: randomHex(16),
		requestorID:  randomHex(16),
		createdOn:    created,
		modifiedOn:   created,
	}
	return nil
}

// SetAppToken makes token the app's only valid token (as RotateAppToken,
// with a token of the caller's choosing). It reports false for an unknown
// app or an empty token.
func (s *Sim) SetAppToken(appID, token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[appID]
	if !ok || token == "" {
		return false
	}
	a.Token = token
	a.modifiedOn = s.now().UnixMilli()
	return true
}

// SetPartnerCredentials replaces the credentials login accepts; partner
// tokens already issued stay valid.
func (s *Sim) SetPartnerCredentials(email, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.email, s.secret = email, secret
}

// App returns the app as the simulator knows it (current token, derived
// phone fields filled in), and whether it exists.
func (s *Sim) App(appID string) (App, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.apps[appID]; ok {
		return a.App, true
	}
	return App{}, false
}

// AppToken returns the app's currently valid token, or "" for an unknown app.
func (s *Sim) AppToken(appID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.apps[appID]; ok {
		return a.Token
	}
	return ""
}

// RotateAppToken issues a new token for the app and returns it. The previous
// token is rejected (401) from now on, and GET /partner/app/{id}/token returns
// the new one. It returns "" for an unknown app.
func (s *Sim) RotateAppToken(appID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[appID]
	if !ok {
		return ""
	}
	a.Token = newAppToken()
	a.modifiedOn = s.now().UnixMilli()
	return a.Token
}

// Inject queues a fault.
func (s *Sim) Inject(f Fault) {
	n := f.Times
	if n <= 0 {
		n = 1
	}
	if f.Header != nil {
		f.Header = maps.Clone(f.Header)
	}
	s.mu.Lock()
	s.faults = append(s.faults, &queuedFault{Fault: f, left: n})
	s.mu.Unlock()
}

// Requests returns a copy of every request received, in arrival order.
func (s *Sim) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		out[i] = Request{
			Method:   r.Method,
			Path:     r.Path,
			Header:   r.Header.Clone(),
			Body:     bytes.Clone(r.Body),
			BodySize: r.size(),
			Time:     r.Time,
		}
		if r.Form != nil {
			out[i].Form = cloneValues(r.Form)
		}
	}
	return out
}

// Reset forgets recorded requests, queued faults, subscriptions, callback
// records and accepted events (Events), and cancels pending callbacks
// (without waiting for their goroutines; Close does). Tokens, rate-limit
// windows, message ids (WAMID), uploaded media (with their download
// counts), flows and templates (with TemplateListCalls and what template
// sends left for replies) are kept.
func (s *Sim) Reset() {
	s.mu.Lock()
	s.requests = nil
	s.events = nil
	s.faults = nil
	s.subs = nil
	s.records = nil
	s.cbCancel()
	if !s.closed {
		s.cbCtx, s.cbCancel = context.WithCancel(context.Background())
	}
	s.mu.Unlock()
}

// Count returns the number of recorded requests whose path ends with
// pathSuffix ("" counts all).
func (s *Sim) Count(pathSuffix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if strings.HasSuffix(r.Path, pathSuffix) {
			n++
		}
	}
	return n
}

// ServeHTTP records the request, applies any matching fault and answers it.
// Media uploads are streamed to their handler instead of read first. In
// fast mode (Options.Fast) sends are answered at once, unrecorded.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.fast && r.Method == http.MethodPost && isFastPath(r.URL.Path) {
		serveFast(w, r)
		return
	}
	var body []byte
	var err error
	var read *atomic.Int64
	if isMediaUpload(r) {
		cr := &countingBody{ReadCloser: r.Body}
		r.Body = cr
		read = &cr.n
	} else {
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	}
	tooLarge := err != nil && errors.As(err, new(*http.MaxBytesError))

	rec := Request{
		Method:   r.Method,
		Path:     r.URL.Path,
		Header:   r.Header.Clone(),
		Body:     body,
		BodySize: int64(len(body)),
		read:     read,
	}
	if read == nil && isForm(r.Header.Get("Content-Type")) {
		rec.Form, _ = url.ParseQuery(string(body))
	}

	s.mu.Lock()
	rec.Time = s.now()
	s.requests = append(s.requests, rec)
	f := s.takeFault(rec.Path)
	s.mu.Unlock()

	if f != nil {
		if f.Delay > 0 {
			t := time.NewTimer(f.Delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if f.Reset {
			resetConn(w)
			return
		}
		for k, v := range f.Header {
			w.Header().Set(k, v)
		}
		if f.Status != 0 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(f.Status)
			io.WriteString(w, f.Body)
			return
		}
	}

	if err != nil {
		if tooLarge {
			writeError(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		}
		// Otherwise the client went away mid-body; nobody is listening.
		return
	}
	s.route(w, r, rec)
}

// takeFault consumes one use of the oldest fault matching path. s.mu must be held.
func (s *Sim) takeFault(path string) *Fault {
	for i, q := range s.faults {
		if !strings.HasSuffix(path, q.PathSuffix) {
			continue
		}
		q.left--
		if q.left == 0 {
			s.faults = slices.Delete(s.faults, i, i+1)
		}
		f := q.Fault
		return &f
	}
	return nil
}

// resetConn closes the connection with SO_LINGER=0 so the peer sees a TCP RST.
func resetConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Hijacking is not possible (e.g. HTTP/2): abort the response instead.
		panic(http.ErrAbortHandler)
	}
	nc := conn
	if u, ok := nc.(interface{ NetConn() net.Conn }); ok {
		nc = u.NetConn()
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetLinger(0)
		tc.Close()
		return
	}
	conn.Close()
}

func isForm(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/x-www-form-urlencoded"
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func newAppToken() string     { return "sk_" + randomHex(16) }
func newPartnerToken() string { return "ptk_" + randomHex(24) }

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// derivedDigits returns a string of n digits that starts with prefix and
// continues with digits derived from a hash of salt and id.
func derivedDigits(id, salt, prefix string, n int) string {
	h := sha256.Sum256([]byte(salt + "\x00" + id))
	var b strings.Builder
	b.WriteString(prefix)
	for i := 0; b.Len() < n; i++ {
		b.WriteByte('0' + h[i%len(h)]%10)
	}
	return b.String()
}
