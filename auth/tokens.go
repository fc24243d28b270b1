package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"waproxy/upstream"
)

// PartnerAPI is what token management needs from the Gupshup client.
type PartnerAPI interface {
	// Login exchanges partner credentials for a partner token.
	Login(ctx context.Context, email, secret string) (string, error)
	// AppToken fetches the app token of appID with a partner token.
	AppToken(ctx context.Context, partnerToken, appID string) (string, error)
}

// ErrNoCredentials is returned for a phone number without a static token
// when no partner credentials are configured. It is an ErrRejected.
var ErrNoCredentials = errors.New("auth: no app token and no partner credentials")

// Every error Token and Refresh return matches exactly one of ErrTransient
// and ErrRejected (errors.Is), besides wrapping its cause.
var (
	// ErrTransient marks a fetch that failed for a reason that may pass:
	// Gupshup's login or token call could not be reached, did not answer
	// in time, or answered 5xx, 408 or 429; or the caller's context ended.
	ErrTransient = errors.New("auth: Gupshup token service temporarily unavailable")
	// ErrRejected marks a fetch only the operator can fix: Gupshup
	// answered another 4xx (bad partner credentials, an unknown app), or a
	// 2xx without a token, or no partner credentials are configured.
	ErrRejected = errors.New("auth: Gupshup refused the token request")
)

// TokensConfig configures Tokens.
type TokensConfig struct {
	// Email and Secret are the partner credentials ("" disables login).
	Email, Secret string
	// AppTokenTTL is how long a fetched app token is used. Default 22h.
	AppTokenTTL time.Duration
	// PartnerTokenTTL is how long a partner login is used. Default 22h.
	PartnerTokenTTL time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Tokens hands out the Gupshup app token for each phone number: the static
// one from config, or one fetched with partner credentials
// (POST /partner/account/login → GET /partner/app/{appId}/token), cached,
// refreshed in the background during the last tenth of its lifetime, and
// fetched by one caller at a time per app (singleflight).
type Tokens struct {
	api PartnerAPI
	now func() time.Time

	group singleflight.Group

	mu      sync.Mutex
	cfg     TokensConfig // replaced by Update
	gen     uint64       // counts Update and Invalidate calls
	partner cached
	apps    map[string]cached
	early   map[string]time.Time // last background refresh attempt per app
}

type cached struct {
	token   string
	fetched time.Time
}

// NewTokens returns a token source. api may be nil when every phone number
// has a static token.
func NewTokens(api PartnerAPI, cfg TokensConfig) *Tokens {
	if cfg.AppTokenTTL <= 0 {
		cfg.AppTokenTTL = 22 * time.Hour
	}
	if cfg.PartnerTokenTTL <= 0 {
		cfg.PartnerTokenTTL = 22 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Tokens{api: api, now: cfg.Now, cfg: cfg, apps: map[string]cached{}, early: map[string]time.Time{}}
}

// Update replaces the partner credentials and the token lifetimes (a
// config reload; Now is kept). When the credentials change, every cached
// token is dropped: they were obtained with the old ones. A fetch under way
// when Update is called does not fill the cache.
func (t *Tokens) Update(cfg TokensConfig) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if cfg.AppTokenTTL <= 0 {
		cfg.AppTokenTTL = 22 * time.Hour
	}
	if cfg.PartnerTokenTTL <= 0 {
		cfg.PartnerTokenTTL = 22 * time.Hour
	}
	cfg.Now = t.now
	if cfg.Email != t.cfg.Email || cfg.Secret != t.cfg.Secret {
		t.partner = cached{}
		clear(t.apps)
		clear(t.early)
	}
	t.cfg = cfg
	t.gen++
}

// Invalidate drops the cached tokens of the given apps, so the next call
// fetches a new one (an app whose settings changed in a config reload). A
// fetch under way does not fill the cache.
func (t *Tokens) Invalidate(appIDs ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, id := range appIDs {
		delete(t.apps, id)
		delete(t.early, id)
	}
	t.gen++
}

// settings returns the current configuration and generation.
func (t *Tokens) settings() (TokensConfig, uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cfg, t.gen
}

// Token returns the app token to inject for p. A failed fetch matches
// ErrTransient or ErrRejected.
func (t *Tokens) Token(ctx context.Context, p *Phone) (string, error) {
	if p.appToken != "" {
		return p.appToken, nil
	}
	now := t.now()
	t.mu.Lock()
	c, ok := t.apps[p.AppID]
	ttl := t.cfg.AppTokenTTL
	t.mu.Unlock()
	if ok {
		age := now.Sub(c.fetched)
		if age < ttl {
			if age > ttl-ttl/10 && t.startEarlyRefresh(p.AppID, now) {
				// Refresh ahead of expiry without making this caller wait.
				go func() {
					_, _ = t.fetchApp(context.WithoutCancel(ctx), p.AppID, c.token)
				}()
			}
			return c.token, nil
		}
	}
	return t.fetchApp(ctx, p.AppID, c.token)
}

// earlyRefreshEvery spaces background refresh attempts of one app, so a
// failing refresh is not retried on every request.
const earlyRefreshEvery = 30 * time.Second

// startEarlyRefresh reports whether a background refresh of appID may start
// now, and records the attempt.
func (t *Tokens) startEarlyRefresh(appID string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if last, ok := t.early[appID]; ok && now.Sub(last) < earlyRefreshEvery {
		return false
	}
	t.early[appID] = now
	return true
}

// Refresh is called after Gupshup rejected token for p with 401. It returns
// the token to retry that call with once (freshly fetched, or fetched by a
// concurrent caller meanwhile), or ok=false when there is none: static
// tokens cannot be refreshed. Concurrent callers that saw the same rejected
// token share one fetch. A failed fetch matches ErrTransient or
// ErrRejected.
func (t *Tokens) Refresh(ctx context.Context, p *Phone, rejected string) (token string, ok bool, err error) {
	if p.appToken != "" {
		return "", false, nil
	}
	tok, err := t.fetchApp(ctx, p.AppID, rejected)
	if err != nil {
		return "", false, err
	}
	return tok, true, nil
}

// fetchApp fetches a new app token unless the cache already holds one that
// differs from stale (another caller refreshed it meanwhile).
func (t *Tokens) fetchApp(ctx context.Context, appID, stale string) (string, error) {
	cfg, gen := t.settings()
	if t.api == nil || cfg.Email == "" {
		return "", classify(ErrNoCredentials)
	}
	// The fetch is shared by every waiting caller, so one caller giving up
	// must not cancel it; the upstream client bounds it with its timeout.
	// Callers after an Update or Invalidate do not join a fetch started
	// before it (the key carries the generation).
	shared := context.WithoutCancel(ctx)
	v, err := t.do(ctx, fmt.Sprintf("app:%s@%d", appID, gen), func() (any, error) {
		ctx := shared
		t.mu.Lock()
		c, ok := t.apps[appID]
		t.mu.Unlock()
		if ok && c.token != stale && t.now().Sub(c.fetched) < cfg.AppTokenTTL-cfg.AppTokenTTL/10 {
			// Another caller refreshed it meanwhile.
			return c.token, nil
		}
		pt, err := t.partnerToken(ctx, cfg, gen, "")
		if err != nil {
			return "", err
		}
		tok, err := t.api.AppToken(ctx, pt, appID)
		if isUnauthorized(err) {
			// The partner token was rejected: log in again once.
			if pt, err = t.partnerToken(ctx, cfg, gen, pt); err != nil {
				return "", err
			}
			tok, err = t.api.AppToken(ctx, pt, appID)
		}
		if err != nil {
			return "", fmt.Errorf("auth: app token for %s: %w", appID, err)
		}
		t.mu.Lock()
		if t.gen == gen {
			t.apps[appID] = cached{token: tok, fetched: t.now()}
		}
		t.mu.Unlock()
		return tok, nil
	})
	if err != nil {
		return "", classify(err)
	}
	return v.(string), nil
}

// partnerToken returns a valid partner token for the credentials of cfg
// (generation gen), logging in when there is none, it is old, or it equals
// rejected.
func (t *Tokens) partnerToken(ctx context.Context, cfg TokensConfig, gen uint64, rejected string) (string, error) {
	t.mu.Lock()
	c := t.partner
	t.mu.Unlock()
	if c.token != "" && c.token != rejected && t.now().Sub(c.fetched) < cfg.PartnerTokenTTL {
		return c.token, nil
	}
	shared := context.WithoutCancel(ctx)
	v, err := t.do(ctx, fmt.Sprintf("partner@%d", gen), func() (any, error) {
		ctx := shared
		t.mu.Lock()
		c := t.partner
		t.mu.Unlock()
		if c.token != "" && c.token != rejected && t.now().Sub(c.fetched) < cfg.PartnerTokenTTL {
			return c.token, nil
		}
		tok, err := t.api.Login(ctx, cfg.Email, cfg.Secret)
		if err != nil {
			return "", fmt.Errorf("auth: partner login: %w", err)
		}
		t.mu.Lock()
		if t.gen == gen {
			t.partner = cached{token: tok, fetched: t.now()}
		}
		t.mu.Unlock()
		return tok, nil
	})
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

// do runs fn once per key among concurrent callers; each caller waits only
// as long as its own context allows, while the shared fetch goes on for the
// others.
func (t *Tokens) do(ctx context.Context, key string, fn func() (any, error)) (any, error) {
	ch := t.group.DoChan(key, fn)
	select {
	case r := <-ch:
		return r.Val, r.Err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// fetchError is a failed token fetch, classified. Its text is the cause's.
type fetchError struct {
	err       error
	transient bool
}

func (e *fetchError) Error() string { return e.err.Error() }

func (e *fetchError) Unwrap() []error {
	if e.transient {
		return []error{e.err, ErrTransient}
	}
	return []error{e.err, ErrRejected}
}

// classify wraps err so that it matches ErrTransient or ErrRejected.
func classify(err error) error {
	if errors.Is(err, ErrTransient) || errors.Is(err, ErrRejected) {
		return err
	}
	return &fetchError{err: err, transient: isTransient(err)}
}

// isTransient reports whether a failed fetch may succeed later.
func isTransient(err error) bool {
	var s interface{ HTTPStatus() int }
	if errors.As(err, &s) {
		st := s.HTTPStatus()
		return st >= 500 || st == http.StatusRequestTimeout || st == http.StatusTooManyRequests
	}
	if errors.Is(err, upstream.ErrNotSent) || errors.Is(err, upstream.ErrNoAnswer) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// isUnauthorized reports whether err carries HTTP status 401.
func isUnauthorized(err error) bool {
	var s interface{ HTTPStatus() int }
	return errors.As(err, &s) && s.HTTPStatus() == 401
}
