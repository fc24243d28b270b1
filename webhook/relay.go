// Package webhook relays Gupshup's callbacks to tenants' Meta webhooks.
//
// Intake (ServeIntake) authenticates a callback by its app and secret
// header, translates it into Meta webhook bodies (package translate), drops
// duplicates and stores the bodies durably (package store) before it
// answers 200. Delivery (Start) leases due events per tenant, signs each
// body with the tenant's Meta app secret and POSTs it to the tenant's
// webhook, with bounded concurrency per tenant, exponential backoff with
// jitter, Retry-After, a retry horizon and dead letters. The package also
// runs Meta's verification handshake against tenants' endpoints and creates
// Gupshup subscriptions pointing at the intake.
package webhook

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"waproxy/metrics"
	"waproxy/store"
	"waproxy/translate"
)

// Target is a tenant's webhook endpoint.
type Target struct {
	// Tenant names the tenant (and its delivery queue).
	Tenant string
	// URL is where Meta webhooks are POSTed.
	URL string
	// AppSecret signs the bodies (X-Hub-Signature-256, X-Hub-Signature).
	AppSecret string
	// VerifyToken is the hub.verify_token of the handshake; "" skips it.
	VerifyToken string
	// Concurrency bounds deliveries in flight to this endpoint. Default 4.
	Concurrency int
}

// Source is a Gupshup app whose callbacks the intake accepts.
type Source struct {
	// AppID is the Gupshup app id, the last segment of the intake path.
	AppID string
	// Tenant receives the app's events.
	Tenant string
	// Secret is the value expected in the secret header.
	Secret string
	// Phone describes the app's number for the translation.
	Phone translate.PhoneMeta
}

// Options configure a Relay. Zero durations take the documented defaults.
type Options struct {
	// Queue stores events. Required.
	Queue store.Queue
	// Targets are the tenants' endpoints.
	Targets []Target
	// Sources are the apps whose callbacks are accepted.
	Sources []Source
	// SecretHeader carries the source secret. Default "X-Waproxy-Secret".
	SecretHeader string
	// AllowIPs restricts the intake's peers; empty allows any.
	AllowIPs []*net.IPNet
	// Translate holds StatusIDFromGsID and ForwardFields (Phone is taken
	// from each Source).
	Translate translate.WebhookOptions
	// MaxBodyBytes caps a callback body. Default 3 MiB (Meta's webhook cap).
	MaxBodyBytes int64
	// AttemptTimeout bounds one delivery attempt. Default 10s.
	AttemptTimeout time.Duration
	// Horizon is how long an event is retried before it is dead-lettered.
	// Default 7 days.
	Horizon time.Duration
	// BackoffBase is the first retry delay, doubled per attempt. Default 1s.
	BackoffBase time.Duration
	// BackoffMax caps the delay. Default 1h.
	BackoffMax time.Duration
	// PollInterval is how often each tenant's queue is checked for due
	// retries when nothing wakes it. Default 250ms.
	PollInterval time.Duration
	// Client sends deliveries and handshakes. Default: NewDeliveryClient.
	// A client given here is used with its redirects turned off (a 3xx is
	// a failed attempt, as at Meta).
	Client *http.Client
	// Logger, default no logging.
	Logger *zap.Logger
	// Metrics, default a fresh registry.
	Metrics *metrics.Metrics
	// Now is the wall clock, default time.Now. The relay reads it once, in
	// New, and advances its own clock from there by the monotonic clock
	// (see steadyClock): delivery and retry times do not move when the
	// wall clock drifts or steps.
	Now func() time.Time
	// Jitter returns a number in [0,1) that spreads retry delays, default
	// math/rand.
	Jitter func() float64
	// Media, when set, learns inbound media ids (owner tenant and app,
	// type, hash, Gupshup's URL) so clients can look them up and download
	// them. An id already owned by another tenant or app is not taken
	// over (see store.Bolt.ClaimMedia).
	Media MediaClaimer
}

// MediaClaimer records a media id for its first owner only: claimed is
// false, and nothing changes, when owner is another tenant's or app's.
type MediaClaimer interface {
	ClaimMedia(ctx context.Context, m store.Media) (owner store.Media, claimed bool, err error)
}

// Relay accepts callbacks and delivers webhooks.
type Relay struct {
	opt    Options
	wall   func() time.Time // Options.Now as given: HTTP dates are wall-clock
	q      store.Queue
	log    *zap.Logger
	m      *metrics.Metrics
	routes atomic.Pointer[routes] // replaced by Update

	verifyMu sync.Mutex
	verified map[string]string

	runMu   sync.Mutex
	runCtx  context.Context // set by Start; parent of every dispatcher's
	cancel  context.CancelFunc
	loops   sync.WaitGroup
	flights sync.WaitGroup
}

// New checks the options and builds a Relay; Start begins delivery.
func New(opt Options) (*Relay, error) {
	if opt.Queue == nil {
		return nil, errors.New("webhook: a queue is required")
	}
	if opt.SecretHeader == "" {
		opt.SecretHeader = "X-Waproxy-Secret"
	}
	if opt.MaxBodyBytes <= 0 {
		opt.MaxBodyBytes = 3 << 20
	}
	setDur(&opt.AttemptTimeout, 10*time.Second)
	setDur(&opt.Horizon, 7*24*time.Hour)
	setDur(&opt.BackoffBase, time.Second)
	setDur(&opt.BackoffMax, time.Hour)
	setDur(&opt.PollInterval, 250*time.Millisecond)
	if opt.Client == nil {
		opt.Client = NewDeliveryClient(opt.AttemptTimeout)
	} else {
		opt.Client = withDeliveryPolicy(opt.Client)
	}
	if opt.Logger == nil {
		opt.Logger = zap.NewNop()
	}
	if opt.Metrics == nil {
		opt.Metrics = metrics.New()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	wall := opt.Now
	opt.Now = steadyClock(wall)
	if opt.Jitter == nil {
		opt.Jitter = rand.Float64
	}
	r := &Relay{opt: opt, wall: wall, q: opt.Queue, log: opt.Logger, m: opt.Metrics, verified: map[string]string{}}
	rt, err := buildRoutes(opt.Targets, opt.Sources, nil)
	if err != nil {
		return nil, err
	}
	for _, t := range rt.targets {
		if t.VerifyToken != "" {
			r.verified[t.Tenant] = "unverified"
		}
	}
	r.routes.Store(rt)
	return r, nil
}

// unknownAppSecret stands in for the secret of an app that is not
// configured (see ServeIntake). Its value does not matter: such a callback
// is refused whatever it sends.
const unknownAppSecret = "unknown-app-secret-placeholder-32b"

func setDur(d *time.Duration, v time.Duration) {
	if *d <= 0 {
		*d = v
	}
}

// ServeIntake handles one Gupshup callback for app. It answers 200 with an
// empty body once the translated events are stored, 400 for a body that is
// not JSON, 403 (no body) for a peer outside the allow-list, and 503 when
// the store fails (Gupshup retries).
//
// Whether an app is configured is told only to callers holding its
// secret: a callback for an app that is not configured gets the answer of
// a wrong secret, 401 with no body, and so does a GET or HEAD carrying a
// secret header that does not match. A GET or HEAD without the secret
// header (a reachability check) gets 200 with no body for any app; with
// the app's secret, 200 too. The metric tells them apart (unauthorized,
// unknown_app, check).
//
// It returns fields for the request's log line: ids and counts, never
// content.
func (r *Relay) ServeIntake(w http.ResponseWriter, req *http.Request, app string) []zap.Field {
	fields := []zap.Field{zap.String("app_id", app)}
	reject := func(status int, result string) []zap.Field {
		r.m.WebhookIntake(result)
		w.WriteHeader(status)
		return append(fields, zap.String("intake", result))
	}
	if !r.allowed(req.RemoteAddr) {
		return reject(http.StatusForbidden, "forbidden")
	}
	src, known := r.routes.Load().sources[app]
	// A reachability check (Gupshup checks the URL when a subscription is
	// created with doCheck, perhaps without the meta headers) is answered
	// without reading or storing anything.
	check := req.Method == http.MethodGet || req.Method == http.MethodHead
	if check && len(req.Header.Values(r.opt.SecretHeader)) == 0 {
		if !known {
			return reject(http.StatusOK, "unknown_app")
		}
		return reject(http.StatusOK, "check")
	}
	got := []byte(req.Header.Get(r.opt.SecretHeader))
	if !known {
		// Compared all the same, so the answer does not come sooner.
		subtle.ConstantTimeCompare(got, []byte(unknownAppSecret))
		return reject(http.StatusUnauthorized, "unknown_app")
	}
	fields = append(fields, zap.String("tenant", src.Tenant))
	if subtle.ConstantTimeCompare(got, []byte(src.Secret)) != 1 {
		return reject(http.StatusUnauthorized, "unauthorized")
	}
	if check {
		return reject(http.StatusOK, "check")
	}
	body, result := r.readBody(w, req)
	if result != "" {
		return reject(intakeStatus[result], result)
	}
	topt := r.opt.Translate
	topt.Phone = src.Phone
	res, err := translate.GupshupWebhook(body, topt)
	switch {
	case errors.Is(err, translate.ErrNotJSON):
		r.log.Warn("malformed Gupshup callback", zap.String("app_id", app), zap.Int("bytes", len(body)))
		return reject(http.StatusBadRequest, "malformed")
	case errors.Is(err, translate.ErrUnknownCallback):
		// Valid JSON of a kind we do not know (a platform check, a new
		// event family): acknowledged so Gupshup does not retry it.
		return reject(http.StatusOK, "unknown_shape")
	case err != nil:
		return reject(http.StatusBadRequest, "malformed")
	}
	fields = append(fields, zap.Int("callback_version", res.Version), zap.Int("events", len(res.Events)))
	if len(res.Dropped) > 0 {
		fields = append(fields, zap.Strings("dropped", res.Dropped))
	}
	if len(res.IDs) > 0 {
		r.learn(req.Context(), res.IDs)
	}
	if len(res.Events) > 0 {
		r.learnMedia(req.Context(), src, res.Events)
		dups, err := r.store(req.Context(), src.Tenant, res.Events)
		if err != nil {
			r.log.Error("storing webhook events failed", zap.String("app_id", app), zap.Error(err))
			return reject(http.StatusServiceUnavailable, "store_error")
		}
		if dups > 0 {
			r.m.WebhookDedup(dups)
			fields = append(fields, zap.Int("duplicates", dups))
		}
		r.wake(src.Tenant)
	}
	r.m.WebhookIntake("accepted")
	w.WriteHeader(http.StatusOK)
	return fields
}

// learn records id pairs revealed by callbacks that deliver nothing (an
// enqueued status). A lost pair only costs a translation: errors are logged.
func (r *Relay) learn(ctx context.Context, ids []translate.IDPair) {
	pairs := make([]store.IDPair, len(ids))
	for i, p := range ids {
		pairs[i] = store.IDPair{GsID: p.GsID, WAMID: p.WAMID}
	}
	if err := r.q.PutIDs(ctx, pairs); err != nil {
		r.log.Warn("id map update failed", zap.Error(err))
	}
}

// learnMedia records the media of inbound messages before their webhook
// can reach the tenant (which may look them up at once), for the app the
// callback came for. A media id owned by another tenant or app keeps its
// owner and URL: a callback never moves an id (the event is still
// delivered, and its tenant's lookups of the id are refused as unknown).
func (r *Relay) learnMedia(ctx context.Context, src *Source, evs []translate.WebhookEvent) {
	if r.opt.Media == nil {
		return
	}
	for _, e := range evs {
		for _, m := range e.Media {
			if m.ID == "" {
				continue
			}
			rec := store.Media{ID: m.ID, Tenant: src.Tenant, AppID: src.AppID, MimeType: m.MimeType,
				SHA256: m.SHA256, Size: -1, URL: m.URL}
			owner, claimed, err := r.opt.Media.ClaimMedia(ctx, rec)
			if err != nil {
				r.log.Warn("recording inbound media failed", zap.String("media_id", m.ID), zap.Error(err))
				continue
			}
			if !claimed {
				r.m.WebhookMediaConflict()
				r.log.Warn("a callback named a media id owned by another app; its owner is kept",
					zap.String("media_id", m.ID), zap.String("app_id", src.AppID), zap.String("tenant", src.Tenant),
					zap.String("owner_app_id", owner.AppID), zap.String("owner_tenant", owner.Tenant))
			}
		}
	}
}

// store enqueues the events and records the id pairs they revealed. It
// returns how many were duplicates.
func (r *Relay) store(ctx context.Context, tenant string, evs []translate.WebhookEvent) (int, error) {
	now := r.opt.Now()
	items := make([]store.Event, len(evs))
	var pairs []store.IDPair
	for i, e := range evs {
		items[i] = store.Event{Tenant: tenant, Key: e.Key, Body: e.Body, Created: now, NextAt: now}
		if e.GsID != "" && e.WAMID != "" && e.GsID != e.WAMID {
			pairs = append(pairs, store.IDPair{GsID: e.GsID, WAMID: e.WAMID})
		}
	}
	// The id map is durable with the events (one write): a client that
	// sees the status may reply to it at once.
	dup, err := r.q.EnqueueWithIDs(ctx, items, pairs)
	if err != nil {
		return 0, fmt.Errorf("enqueue: %w", err)
	}
	n := 0
	for _, d := range dup {
		if d {
			n++
		}
	}
	return n, nil
}

func (r *Relay) allowed(remote string) bool {
	if len(r.opt.AllowIPs) == 0 {
		return true
	}
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	for _, n := range r.opt.AllowIPs {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

func (r *Relay) wake(tenant string) {
	if t, ok := r.routes.Load().target(tenant); ok {
		select {
		case t.wake <- struct{}{}:
		default:
		}
	}
}

// Now reads the relay's clock, which due times in its queue are measured
// on (see Options.Now). Whoever makes events due "now" in the running
// relay (a replay of dead letters) should take the time from here: after a
// wall-clock step time.Now would be off by the step.
func (r *Relay) Now() time.Time { return r.opt.Now() }

// WAMID looks a Gupshup message id up in the id map (for outbound
// context/reaction/mark-as-read ids).
func (r *Relay) WAMID(ctx context.Context, gsID string) (string, bool) {
	w, ok, err := r.q.WAMID(ctx, gsID)
	if err != nil {
		return "", false
	}
	return w, ok
}

// ParseAllowList turns IPs and CIDRs into networks.
func ParseAllowList(entries []string) ([]*net.IPNet, error) {
	var nets []*net.IPNet
	for _, e := range entries {
		if _, n, err := net.ParseCIDR(e); err == nil {
			nets = append(nets, n)
			continue
		}
		ip := net.ParseIP(e)
		if ip == nil {
			return nil, fmt.Errorf("webhook: %q is neither an IP nor a CIDR", e)
		}
		bits := 128
		if ip4 := ip.To4(); ip4 != nil {
			ip, bits = ip4, 32
		}
		nets = append(nets, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
	}
	return nets, nil
}
