// Package templates keeps each Gupshup app's template list in memory, so a
// Meta template send to a number on Gupshup's older template/msg API can
// find the Gupshup template id for a template name and language without
// listing the app's templates every time: Gupshup allows that list call
// only 10 times a minute per app.
//
// A list is used for Config.TTL. A name and language missing from a list
// refreshes it at once (a template approved since), but not more often than
// Config.MinRefresh per app, and a name and language still missing after a
// refresh is answered ErrNotFound without a refresh for Config.NegativeTTL.
// Concurrent lookups of one app share one list call. When a list call fails
// the last list, even an expired one, keeps being used; without one the
// error is returned. No app is listed more often than MinRefresh, failed
// calls included, except right after Invalidate.
package templates

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"waproxy/translate"
)

// Lister fetches an app's approved and other templates (the server
// implements it with upstream.ListTemplates + translate.ParseV2Templates);
// its errors are returned to Lookup's caller unchanged (wrapped with %w, so
// errors.Is and errors.As see them).
type Lister interface {
	List(ctx context.Context, appID string) ([]translate.V2Template, error)
}

// Config configures a Cache. Zero values take the defaults.
type Config struct {
	// TTL is how long a fetched list is used; default 10m.
	TTL time.Duration
	// NegativeTTL is how long a name+language found missing is answered
	// ErrNotFound without a refresh; default 1m.
	NegativeTTL time.Duration
	// MinRefresh spaces list calls: at most one per app this often
	// (Gupshup: 10/min/app), failed ones included; default 6s.
	MinRefresh time.Duration
	// FetchTimeout bounds one List call. The call is shared by every
	// lookup waiting for it, so it does not end when one of them gives up;
	// this keeps a hung one from blocking the app's later refreshes.
	// Default 30s.
	FetchTimeout time.Duration
	// OnFetchError, when set, is called with every failed List call's
	// error, including those a stale list hides from Lookup's caller (for
	// logs and metrics). It runs on the fetching goroutine and must not
	// block.
	OnFetchError func(appID string, err error)
	// Now is the clock; default time.Now (tests).
	Now func() time.Time
}

// ErrNotFound is returned (possibly wrapped; test with errors.Is) when the
// app has no APPROVED template with that name and language.
var ErrNotFound = errors.New("templates: no approved template with that name and language")

// maxMisses bounds the negative entries kept per app.
const maxMisses = 1024

// ListerFunc adapts a function to Lister.
type ListerFunc func(ctx context.Context, appID string) ([]translate.V2Template, error)

// List calls f.
func (f ListerFunc) List(ctx context.Context, appID string) ([]translate.V2Template, error) {
	return f(ctx, appID)
}

// Cache maps an app's template name and language to its Gupshup template.
// It is safe for concurrent use.
type Cache struct {
	l     Lister
	cfg   Config
	group singleflight.Group

	mu   sync.RWMutex
	apps map[string]*app
}

// app is the state of one app; its fields are guarded by Cache.mu.
// Invalidate replaces it: a call started before stores nothing.
type app struct {
	list     *snapshot // the last list fetched; nil for none
	err      error     // the last call's error when it failed (nil after a success)
	called   time.Time // when the last List call started; zero: the next lookup may call
	fetching bool      // a List call is running
	misses   map[missKey]time.Time
}

// snapshot is one fetched list; never modified once stored.
type snapshot struct {
	fetched time.Time
	byName  map[string][]translate.V2Template // every language and status, in list order
}

type missKey struct{ name, lang string } // lang normalized (normLang)

// fetchResult is what a shared fetch hands its waiters.
type fetchResult struct {
	list *snapshot // the list to answer from (nil: none)
	err  error     // the List error (list is then the previous one, if any)
}

// New makes a cache that lists templates with l.
func New(l Lister, cfg Config) *Cache {
	if cfg.TTL <= 0 {
		cfg.TTL = 10 * time.Minute
	}
	if cfg.NegativeTTL <= 0 {
		cfg.NegativeTTL = time.Minute
	}
	if cfg.MinRefresh <= 0 {
		cfg.MinRefresh = 6 * time.Second
	}
	if cfg.FetchTimeout <= 0 {
		cfg.FetchTimeout = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Cache{l: l, cfg: cfg, apps: map[string]*app{}}
}

// Lookup returns the app's APPROVED template with that name and language
// code (language compared case-insensitively with "-" and "_" equal; the
// name exactly). A stale or missing list is fetched; a miss in a list older
// than MinRefresh triggers one refresh; concurrent lookups of one app share
// one fetch; misses are cached NegativeTTL; a fetch error with a usable
// (even stale) list falls back to that list; without one it is returned
// wrapped with %w.
//
// A missing or unapproved template is ErrNotFound (test with errors.Is).
// ctx bounds only the wait for a list call: the call itself goes on for
// the other lookups waiting for it and fills the cache; a cached answer is
// given even with ctx done. The returned template shares its Buttons with
// the cache: callers must not modify it.
func (c *Cache) Lookup(ctx context.Context, appID, name, lang string) (translate.V2Template, error) {
	now := c.cfg.Now()
	c.mu.RLock()
	a := c.apps[appID]
	var cur *snapshot
	if a != nil {
		cur = a.list
	}
	if cur != nil && now.Sub(cur.fetched) < c.cfg.TTL {
		if t, ok, _ := cur.find(name, lang); ok {
			c.mu.RUnlock()
			return t, nil
		}
	}
	c.mu.RUnlock()
	return c.slow(ctx, now, appID, name, lang)
}

// slow is Lookup when the list is missing, expired, or lacks the template.
func (c *Cache) slow(ctx context.Context, now time.Time, appID, name, lang string) (translate.V2Template, error) {
	mk := missKey{name, normLang(lang)}
	c.mu.Lock()
	a := c.apps[appID]
	if a == nil {
		a = &app{}
		c.apps[appID] = a
	}
	cur, lastErr := a.list, a.err
	fresh := cur != nil && now.Sub(cur.fetched) < c.cfg.TTL
	if fresh {
		if t, ok, _ := cur.find(name, lang); ok { // fetched meanwhile
			c.mu.Unlock()
			return t, nil
		}
	}
	mayCall := a.fetching || a.called.IsZero() || now.Sub(a.called) >= c.cfg.MinRefresh
	negative := false
	if at, ok := a.misses[mk]; ok {
		negative = now.Sub(at) < c.cfg.NegativeTTL
	}
	c.mu.Unlock()

	switch {
	case fresh && negative:
		return c.answer(appID, cur, name, lang)
	case cur == nil && !mayCall && lastErr != nil:
		return translate.V2Template{}, c.listErr(appID, lastErr)
	case cur != nil && !mayCall:
		// Listed less than MinRefresh ago (or that call failed): answer
		// from the list there is.
		return c.answer(appID, cur, name, lang)
	}

	if err := ctx.Err(); err != nil {
		return translate.V2Template{}, err
	}
	shared := context.WithoutCancel(ctx)
	ch := c.group.DoChan(appID, func() (any, error) {
		return c.fetch(shared, appID), nil
	})
	var r fetchResult
	select {
	case res := <-ch:
		r = res.Val.(fetchResult)
	case <-ctx.Done():
		return translate.V2Template{}, ctx.Err()
	}
	switch {
	case r.err != nil && cur != nil:
		return c.answer(appID, cur, name, lang)
	case r.err != nil:
		return translate.V2Template{}, c.listErr(appID, r.err)
	}
	// Without an error r.list is set: a successful call has a list.
	t, err := c.answer(appID, r.list, name, lang)
	if err != nil && r.list != cur {
		// Missing from a list fetched while this lookup waited.
		c.recordMiss(appID, mk, r.list)
	}
	return t, err
}

// fetch runs one List call for appID (inside the singleflight group) and
// stores its outcome. When a call ended less than MinRefresh ago (one the
// caller saw running, or one that ran after it looked), its outcome is
// handed on instead of calling again.
func (c *Cache) fetch(ctx context.Context, appID string) fetchResult {
	now := c.cfg.Now()
	c.mu.Lock()
	a := c.apps[appID] // set by slow; apps are replaced, never deleted
	if !a.called.IsZero() && now.Sub(a.called) < c.cfg.MinRefresh && (a.list != nil || a.err != nil) {
		r := fetchResult{list: a.list, err: a.err}
		c.mu.Unlock()
		return r
	}
	a.called = now
	a.fetching = true
	c.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, c.cfg.FetchTimeout)
	defer cancel()
	tpls, err := c.l.List(ctx, appID)
	var s *snapshot
	if err == nil {
		s = newSnapshot(tpls, c.cfg.Now())
	} else if c.cfg.OnFetchError != nil {
		c.cfg.OnFetchError(appID, err)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.apps[appID] != a {
		// Invalidated meanwhile: the waiters that were already here get
		// this answer, the cache keeps nothing of it.
		return fetchResult{list: s, err: err}
	}
	a.fetching = false
	if err != nil {
		a.err = err
		return fetchResult{list: a.list, err: err}
	}
	a.list, a.err = s, nil
	for k, at := range a.misses {
		if s.fetched.Sub(at) >= c.cfg.NegativeTTL {
			delete(a.misses, k)
		}
	}
	return fetchResult{list: s}
}

// recordMiss caches that mk was missing from list s.
func (c *Cache) recordMiss(appID string, mk missKey, s *snapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.apps[appID]
	if a == nil || a.list != s {
		return // invalidated, or replaced by a newer list meanwhile
	}
	now := c.cfg.Now()
	if len(a.misses) >= maxMisses {
		for k, at := range a.misses {
			if now.Sub(at) >= c.cfg.NegativeTTL {
				delete(a.misses, k)
			}
		}
		if len(a.misses) >= maxMisses {
			a.misses = nil // forgotten misses only cost a refresh each
		}
	}
	if a.misses == nil {
		a.misses = map[missKey]time.Time{}
	}
	a.misses[mk] = now
}

// Invalidate drops an app's list (e.g. after Gupshup answered "Invalid
// template id"), its negative entries and its remembered error. The next
// lookup of the app lists it again whatever MinRefresh says; a list call
// already running is not waited for and its answer is not cached.
func (c *Cache) Invalidate(appID string) {
	c.mu.Lock()
	if c.apps[appID] != nil {
		c.apps[appID] = &app{}
	}
	c.group.Forget(appID)
	c.mu.Unlock()
}

// answer looks name and lang up in s.
func (c *Cache) answer(appID string, s *snapshot, name, lang string) (translate.V2Template, error) {
	t, ok, status := s.find(name, lang)
	if ok {
		return t, nil
	}
	if status != "" {
		return translate.V2Template{}, fmt.Errorf("%w: app %s has %q (%s) with status %s", ErrNotFound, appID, name, lang, status)
	}
	return translate.V2Template{}, ErrNotFound
}

func (c *Cache) listErr(appID string, err error) error {
	return fmt.Errorf("templates: listing the templates of app %s: %w", appID, err)
}

func newSnapshot(tpls []translate.V2Template, fetched time.Time) *snapshot {
	s := &snapshot{fetched: fetched, byName: make(map[string][]translate.V2Template, len(tpls))}
	for _, t := range tpls {
		s.byName[t.Name] = append(s.byName[t.Name], t)
	}
	return s
}

// find returns the first APPROVED template named name in language lang;
// when there is none, status is the status of an unapproved one in that
// language ("" for none).
func (s *snapshot) find(name, lang string) (t translate.V2Template, ok bool, status string) {
	for i := range s.byName[name] {
		t := &s.byName[name][i]
		if !sameLang(t.Language, lang) {
			continue
		}
		if strings.EqualFold(t.Status, "APPROVED") {
			return *t, true, ""
		}
		if status == "" {
			status = t.Status
			if status == "" {
				status = `""`
			}
		}
	}
	return translate.V2Template{}, false, status
}

// sameLang compares language codes ASCII case-insensitively with "-" and
// "_" equal ("en_US" = "en-us"), without allocating.
func sameLang(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if langByte(a[i]) != langByte(b[i]) {
			return false
		}
	}
	return true
}

func langByte(b byte) byte {
	switch {
	case b == '-':
		return '_'
	case 'A' <= b && b <= 'Z':
		return b + 'a' - 'A'
	}
	return b
}

// normLang is the form of a language code sameLang compares.
func normLang(lang string) string {
	for i := 0; i < len(lang); i++ {
		if langByte(lang[i]) != lang[i] {
			b := []byte(lang)
			for j := i; j < len(b); j++ {
				b[j] = langByte(b[j])
			}
			return string(b)
		}
	}
	return lang
}
