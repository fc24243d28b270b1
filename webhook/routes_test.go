package webhook

import (
	"net/http"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"waproxy/store"
	"waproxy/translate"
)

// signedWith reports whether a delivered body carries the signature of
// secret.
func signedWith(body []byte, h http.Header, secret string) bool {
	sig, _ := translate.SignWebhook(body, secret)
	return h.Get("X-Hub-Signature-256") == sig
}

// TestUpdateAddsChangesAndRemovesTenants pins what Update does to a running
// relay: an added tenant's app is accepted and delivered, a changed
// endpoint gets the next events with its new secret, a removed tenant's
// app is refused and its queued events wait (not lost) until it returns.
func TestUpdateAddsChangesAndRemovesTenants(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		nw := newNetwork()
		recvA := newReceiver(nw, "tenant-a.test", nil)
		recvA2 := newReceiver(nw, "tenant-a2.test", nil)
		recvB := newReceiver(nw, "tenant-b.test", nil)
		f := newRelay(t, nw, []Target{{Tenant: "a", URL: recvA.URL, AppSecret: appSec}}, nil)
		f.relay.Start()
		sources := []Source{
			{AppID: appA, Tenant: "a", Secret: secretA, Phone: translate.PhoneMeta{PhoneNumberID: "100000000000001"}},
			{AppID: "app-b", Tenant: "b", Secret: "cb-secret-b", Phone: translate.PhoneMeta{PhoneNumberID: "100000000000002"}},
		}
		if got := f.post(t, "app-b", "cb-secret-b", statusCallback("gs-b0", "sent")); got != http.StatusUnauthorized {
			t.Fatalf("app-b before it has a webhook: HTTP %d, want 401", got)
		}

		// Add tenant b with a verify token; change a's endpoint and secret.
		reverify, err := f.relay.Update([]Target{
			{Tenant: "a", URL: recvA2.URL, AppSecret: "rotated-secret"},
			{Tenant: "b", URL: recvB.URL, AppSecret: "secret-b", VerifyToken: "vt"},
		}, sources)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(reverify, []string{"b"}) || f.relay.VerifyStatus()["b"] != "unverified" {
			t.Errorf("reverify %v, status %v; want [b] unverified", reverify, f.relay.VerifyStatus())
		}
		if got := f.relay.Tenants(); !slices.Equal(got, []string{"a", "b"}) {
			t.Errorf("Tenants() = %v", got)
		}
		if got := f.post(t, "app-b", "cb-secret-b", statusCallback("gs-b1", "sent")); got != http.StatusOK {
			t.Fatalf("app-b after the update: HTTP %d", got)
		}
		if got := f.post(t, appA, secretA, statusCallback("gs-a1", "sent")); got != http.StatusOK {
			t.Fatalf("app-a after the update: HTTP %d", got)
		}
		waitFor(t, "b's delivery", func() bool { return len(recvB.bodies()) == 1 })
		waitFor(t, "a's delivery to its new endpoint", func() bool { return len(recvA2.bodies()) == 1 })
		recvB.mu.Lock()
		okB := signedWith(recvB.got[0], recvB.headers[0], "secret-b")
		recvB.mu.Unlock()
		recvA2.mu.Lock()
		okA := signedWith(recvA2.got[0], recvA2.headers[0], "rotated-secret")
		recvA2.mu.Unlock()
		if !okB || !okA {
			t.Errorf("signatures with the new secrets: b %v, a %v", okB, okA)
		}
		if n := len(recvA.bodies()); n != 0 {
			t.Errorf("the old endpoint of a got %d deliveries after the update", n)
		}

		// Remove a: its app is refused, an event queued for it waits.
		if _, err := f.relay.Update([]Target{{Tenant: "b", URL: recvB.URL, AppSecret: "secret-b", VerifyToken: "vt"}}, sources); err != nil {
			t.Fatal(err)
		}
		if got := f.post(t, appA, secretA, statusCallback("gs-a2", "sent")); got != http.StatusUnauthorized {
			t.Errorf("app-a after its tenant was removed: HTTP %d, want 401", got)
		}
		if _, ok := f.relay.VerifyStatus()["a"]; ok {
			t.Error("a removed tenant is still in the verification status")
		}
		now := time.Now()
		held := store.Event{Tenant: "a", Key: "held-for-a", Body: []byte(`{"held":true}`), Created: now, NextAt: now}
		if _, err := f.q.Enqueue(t.Context(), []store.Event{held}); err != nil {
			t.Fatal(err)
		}
		// b keeps being delivered meanwhile; a's event stays queued.
		if got := f.post(t, "app-b", "cb-secret-b", statusCallback("gs-b2", "sent")); got != http.StatusOK {
			t.Fatalf("app-b: HTTP %d", got)
		}
		waitFor(t, "b's second delivery", func() bool { return len(recvB.bodies()) == 2 })
		if got := f.pending(t); got != 1 {
			t.Errorf("pending after a's removal = %d, want its 1 event kept", got)
		}

		// a returns: the held event is delivered.
		if _, err := f.relay.Update([]Target{{Tenant: "a", URL: recvA2.URL, AppSecret: "rotated-secret"}}, sources); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the held event's delivery", func() bool { return len(recvA2.bodies()) == 2 })
		waitFor(t, "an empty queue", func() bool { return f.pending(t) == 0 })
	})
}

func TestUpdateRefusesBadTargetsAndKeepsTheOld(t *testing.T) {
	t.Parallel()
	f := newRelay(t, nil, []Target{{Tenant: "a", URL: "http://127.0.0.1:1/hook", AppSecret: appSec}}, nil)
	tests := []struct {
		name    string
		targets []Target
		sources []Source
	}{
		{"target without a secret", []Target{{Tenant: "a", URL: "http://x"}}, nil},
		{"target without a url", []Target{{Tenant: "a", AppSecret: "s"}}, nil},
		{"tenant twice", []Target{{Tenant: "a", URL: "http://x", AppSecret: "s"}, {Tenant: "a", URL: "http://y", AppSecret: "s"}}, nil},
		{"source without a secret", []Target{{Tenant: "a", URL: "http://x", AppSecret: "s"}},
			[]Source{{AppID: appA, Tenant: "a"}}},
	}
	for _, tt := range tests {
		if err := CheckRoutes(tt.targets, tt.sources); err == nil {
			t.Errorf("%s: CheckRoutes accepted", tt.name)
		}
		if _, err := f.relay.Update(tt.targets, tt.sources); err == nil {
			t.Errorf("%s: accepted", tt.name)
		}
	}
	if got := f.post(t, appA, secretA, statusCallback("gs-1", "sent")); got != http.StatusOK {
		t.Errorf("the old source after refused updates: HTTP %d", got)
	}
}
