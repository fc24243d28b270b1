// Package auth answers two questions: who is calling (a client bearer token →
// tenant, compared in constant time) and which Gupshup app token the proxy
// injects for a phone number (static from config, or obtained with partner
// credentials, cached and refreshed).
package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"sync/atomic"

	"waproxy/config"
)

// Tenant is one business served by the proxy.
type Tenant struct {
	Name   string
	phones map[string]*Phone
}

// Phone is one Meta phone-number-id and the Gupshup app behind it.
type Phone struct {
	ID      string
	Tenant  *Tenant
	AppID   string
	AppName string
	// WABAID is the WhatsApp Business Account id clients use for
	// account-level calls (Flows); "" when not configured.
	WABAID string
	// SendAPI is "v3" (the passthrough) or "v2" (template/msg, templates
	// only).
	SendAPI string
	// Source is the sending number in digits (template/msg's "source").
	Source string
	// Sandbox is template/msg's sandbox flag.
	Sandbox  bool
	appToken string // static app token; "" = partner login
}

// Directory resolves client tokens and phone numbers.
//
// Tokens are kept as SHA-256 digests only. A lookup hashes the presented
// token, finds the candidate by digest and confirms it with
// subtle.ConstantTimeCompare, so neither the map nor the comparison leaks
// timing about the secret itself (an attacker cannot choose digests).
//
// The tenants can be replaced while requests are served (Replace): every
// lookup reads one immutable snapshot, and a Tenant or Phone a request
// holds keeps the settings of the snapshot it came from until the request
// ends.
type Directory struct {
	cur atomic.Pointer[snapshot]
}

// snapshot is one generation of the directory; it is never modified once
// published.
type snapshot struct {
	byDigest map[[32]byte]tokenEntry
	phones   map[string]*Phone
	byApp    map[string]*Phone
	tenants  map[string]*Tenant
}

type tokenEntry struct {
	digest [32]byte
	tenant *Tenant
}

// NewDirectory builds the directory from validated config.
func NewDirectory(tenants []config.Tenant) (*Directory, error) {
	s, err := newSnapshot(tenants)
	if err != nil {
		return nil, err
	}
	d := &Directory{}
	d.cur.Store(s)
	return d, nil
}

// Replace makes d serve next's tenants, at once: lookups that start
// afterwards see only the new tenants, lookups under way finish with the
// old ones. Build next with NewDirectory (which checks the tenants) before
// anything else changes.
func (d *Directory) Replace(next *Directory) { d.cur.Store(next.cur.Load()) }

func newSnapshot(tenants []config.Tenant) (*snapshot, error) {
	d := &snapshot{byDigest: map[[32]byte]tokenEntry{}, phones: map[string]*Phone{}, byApp: map[string]*Phone{},
		tenants: map[string]*Tenant{}}
	for _, tc := range tenants {
		t := &Tenant{Name: tc.Name, phones: map[string]*Phone{}}
		d.tenants[t.Name] = t
		for _, tok := range tc.Tokens {
			dg, err := config.TokenDigest(tok)
			if err != nil {
				return nil, err
			}
			d.byDigest[dg] = tokenEntry{digest: dg, tenant: t}
		}
		for _, pc := range tc.PhoneNumbers {
			p := &Phone{ID: pc.ID, Tenant: t, AppID: pc.AppID, AppName: pc.AppName, WABAID: pc.WABAID,
				SendAPI: pc.SendAPI, Source: config.Digits(pc.DisplayPhoneNumber), Sandbox: pc.Sandbox, appToken: pc.AppToken}
			if p.SendAPI == "" {
				p.SendAPI = "v3"
			}
			t.phones[p.ID] = p
			d.phones[p.ID] = p
			d.byApp[p.AppID] = p
		}
	}
	return d, nil
}

// Authenticate returns the tenant a client token belongs to, or nil.
func (d *Directory) Authenticate(token string) *Tenant {
	if token == "" {
		return nil
	}
	dg := sha256.Sum256([]byte(token))
	e, ok := d.cur.Load().byDigest[dg]
	if !ok || subtle.ConstantTimeCompare(e.digest[:], dg[:]) != 1 {
		return nil
	}
	return e.tenant
}

// Phone returns the tenant's phone number with the given id. A number that
// does not exist and one that belongs to another tenant look the same.
func (t *Tenant) Phone(id string) (*Phone, bool) {
	p, ok := t.phones[id]
	return p, ok
}

// Tenant returns the tenant with that name, or nil (for credentials that
// name a tenant, like signed media URLs).
func (d *Directory) Tenant(name string) *Tenant { return d.cur.Load().tenants[name] }

// PhoneOfApp returns the phone number a Gupshup app serves, in any tenant.
func (d *Directory) PhoneOfApp(appID string) (*Phone, bool) {
	p, ok := d.cur.Load().byApp[appID]
	return p, ok
}

// PhoneOfApp returns the tenant's phone number served by a Gupshup app.
func (t *Tenant) PhoneOfApp(appID string) (*Phone, bool) {
	for _, p := range t.phones {
		if p.AppID == appID {
			return p, true
		}
	}
	return nil, false
}

// PhoneOfWABA returns a tenant's phone number in the given WhatsApp
// Business Account (the one with the lowest phone-number-id when several
// share it, so the choice is stable).
func (t *Tenant) PhoneOfWABA(wabaID string) (*Phone, bool) {
	var best *Phone
	for _, p := range t.phones {
		if wabaID != "" && p.WABAID == wabaID && (best == nil || p.ID < best.ID) {
			best = p
		}
	}
	return best, best != nil
}

// Phones lists every phone number in the directory.
func (d *Directory) Phones() []*Phone {
	phones := d.cur.Load().phones
	out := make([]*Phone, 0, len(phones))
	for _, p := range phones {
		out = append(out, p)
	}
	return out
}
