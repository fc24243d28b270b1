package webhook

import (
	"context"
	"fmt"
	"sort"
)

// routes are the relay's endpoints and accepted apps of one configuration.
// A routes value is never modified once published: Update builds a new one
// and swaps it in, so an intake request sees either the old or the new
// apps, never a mix.
type routes struct {
	targets map[string]*target // by tenant
	sources map[string]*Source // by app id
}

// target is a tenant's endpoint and its dispatcher's wake-up channel.
type target struct {
	Target
	wake chan struct{}
	// stop ends this target's dispatcher; set by startTarget.
	stop context.CancelFunc
}

// buildRoutes checks targets and sources and builds their routes. A target
// equal to one in prev is taken over (its dispatcher keeps running).
func buildRoutes(targets []Target, sources []Source, prev *routes) (*routes, error) {
	rt := &routes{targets: map[string]*target{}, sources: map[string]*Source{}}
	for _, t := range targets {
		if t.Tenant == "" || t.URL == "" || t.AppSecret == "" {
			return nil, fmt.Errorf("webhook: target %q needs a url and an app secret", t.Tenant)
		}
		if _, dup := rt.targets[t.Tenant]; dup {
			return nil, fmt.Errorf("webhook: tenant %q has two targets", t.Tenant)
		}
		if t.Concurrency <= 0 {
			t.Concurrency = 4
		}
		if old, ok := prev.target(t.Tenant); ok && old.Target == t {
			rt.targets[t.Tenant] = old
			continue
		}
		rt.targets[t.Tenant] = &target{Target: t, wake: make(chan struct{}, 1)}
	}
	for i := range sources {
		s := sources[i]
		if _, ok := rt.targets[s.Tenant]; !ok {
			continue // the tenant has no webhook: its callbacks are refused
		}
		if s.Secret == "" {
			return nil, fmt.Errorf("webhook: app %s has no callback secret", s.AppID)
		}
		rt.sources[s.AppID] = &s
	}
	return rt, nil
}

// CheckRoutes reports whether New and Update accept targets and sources,
// without changing anything (a config reload checks everything first).
func CheckRoutes(targets []Target, sources []Source) error {
	_, err := buildRoutes(targets, sources, nil)
	return err
}

func (rt *routes) target(tenant string) (*target, bool) {
	if rt == nil {
		return nil, false
	}
	t, ok := rt.targets[tenant]
	return t, ok
}

// Update replaces the relay's targets and sources (a config reload),
// checked like New's; on error nothing changes. From its return on:
//
//   - the intake accepts callbacks of the new sources only (an app no
//     longer listed gets 401, like a wrong secret, as at start-up);
//   - a new tenant gets its own dispatcher, and a tenant whose endpoint
//     changed (URL, app secret, verify token or concurrency) gets a new
//     one that signs and posts with the new settings; attempts already in
//     flight finish with the settings they started with;
//   - a removed tenant's dispatcher stops. Its queued events are kept,
//     not dropped: they stay in the queue (and in the pending metric) and
//     are delivered, subject to the horizon, when a tenant of that name
//     has a webhook again (by a later reload or a restart), or can be
//     inspected with the store stopped.
//
// It reports the tenants whose verification handshake should run again
// (new or changed targets with a verify token).
func (r *Relay) Update(targets []Target, sources []Source) (reverify []string, err error) {
	r.runMu.Lock()
	defer r.runMu.Unlock()
	old := r.routes.Load()
	rt, err := buildRoutes(targets, sources, old)
	if err != nil {
		return nil, err
	}
	r.routes.Store(rt)
	r.verifyMu.Lock()
	for name := range r.verified {
		if t, ok := rt.targets[name]; !ok || t.VerifyToken == "" {
			delete(r.verified, name)
		}
	}
	for name, t := range rt.targets {
		if t.VerifyToken != "" && old.targets[name] != t {
			r.verified[name] = "unverified"
			reverify = append(reverify, name)
		}
	}
	r.verifyMu.Unlock()
	sort.Strings(reverify)
	if r.runCtx == nil {
		return reverify, nil // not started: Start runs the new targets
	}
	for name, t := range old.targets {
		if rt.targets[name] != t {
			t.stop()
		}
	}
	for name, t := range rt.targets {
		if old.targets[name] != t {
			r.startTarget(t)
		}
	}
	return reverify, nil
}

// Tenants lists the tenants with an endpoint, sorted.
func (r *Relay) Tenants() []string {
	rt := r.routes.Load()
	out := make([]string, 0, len(rt.targets))
	for name := range rt.targets {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// startTarget runs t's dispatcher until Stop or until Update replaces or
// removes t. runMu must be held and the relay started.
func (r *Relay) startTarget(t *target) {
	ctx, cancel := context.WithCancel(r.runCtx)
	t.stop = cancel
	r.loops.Add(1)
	go func() {
		defer r.loops.Done()
		r.dispatch(ctx, t)
	}()
}
