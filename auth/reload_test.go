package auth_test

import (
	"context"
	"testing"

	"waproxy/auth"
	"waproxy/config"
)

// TestDirectoryReplace pins what a reload changes: new tokens and numbers
// are found, removed ones are not, and a Tenant obtained before the swap
// keeps the numbers (and settings) it had.
func TestDirectoryReplace(t *testing.T) {
	t.Parallel()
	d := newTestDirectory(t)
	before := d.Authenticate("tok-alpha")
	next := testTenants()
	next[0].PhoneNumbers[0].AppToken = "sk_a1_rotated"
	next[1].Tokens = []string{"tok-beta-new"} // tok-beta removed
	next = append(next, config.Tenant{Name: "gamma", Tokens: []string{"tok-gamma"},
		PhoneNumbers: []config.PhoneNumber{{ID: "3001", AppID: "app-g1", AppToken: "sk_g1"}}})
	nd, err := auth.NewDirectory(next)
	if err != nil {
		t.Fatal(err)
	}
	d.Replace(nd)
	tests := []struct {
		name, token, tenant string // tenant "" = refused
	}{
		{"unchanged token", "tok-alpha", "alpha"},
		{"added tenant's token", "tok-gamma", "gamma"},
		{"token added to a tenant", "tok-beta-new", "beta"},
		{"removed token", "tok-beta", ""},
	}
	for _, tt := range tests {
		got := d.Authenticate(tt.token)
		switch {
		case tt.tenant == "" && got != nil:
			t.Errorf("%s: authenticated as %q", tt.name, got.Name)
		case tt.tenant != "" && (got == nil || got.Name != tt.tenant):
			t.Errorf("%s: got %v, want %q", tt.name, got, tt.tenant)
		}
	}
	if p, ok := d.PhoneOfApp("app-g1"); !ok || p.ID != "3001" || p.Tenant.Name != "gamma" {
		t.Errorf("PhoneOfApp(app-g1) = %v, %v", p, ok)
	}
	if d.Tenant("gamma") == nil || len(d.Phones()) != 4 {
		t.Errorf("Tenant(gamma)=%v, %d phones", d.Tenant("gamma"), len(d.Phones()))
	}
	// The tenant a request authenticated before the swap is unchanged.
	old, _ := before.Phone("1001")
	cur, _ := d.Authenticate("tok-alpha").Phone("1001")
	tk := auth.NewTokens(nil, auth.TokensConfig{})
	if got := mustToken(t, tk, old); got != "sk_a1" {
		t.Errorf("old snapshot's static token %q, want sk_a1", got)
	}
	if got := mustToken(t, tk, cur); got != "sk_a1_rotated" {
		t.Errorf("new snapshot's static token %q, want sk_a1_rotated", got)
	}
}

// TestTokensUpdateAndInvalidate pins which cached tokens a reload drops.
func TestTokensUpdateAndInvalidate(t *testing.T) {
	t.Parallel()
	_, p1, p2 := phones(t)
	tests := []struct {
		name string
		do   func(tk *auth.Tokens)
		// fetched: the apps whose token is fetched again afterwards;
		// relogin: whether the partner logs in again.
		fetched []string
		relogin bool
		email   string // the email of the last login
	}{
		{"same credentials keep everything", func(tk *auth.Tokens) {
			tk.Update(auth.TokensConfig{Email: testEmail, Secret: testSecret, AppTokenTTL: testTTL})
		}, nil, false, testEmail},
		{"invalidated app is fetched again", func(tk *auth.Tokens) { tk.Invalidate("app-p1") },
			[]string{"app-p1"}, false, testEmail},
		{"new credentials drop every token", func(tk *auth.Tokens) {
			tk.Update(auth.TokensConfig{Email: "other@example.com", Secret: testSecret})
		}, []string{"app-p1", "app-p2"}, true, "other@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI()
			tk := newPartnerTokens(api, newFakeClock())
			first1, first2 := mustToken(t, tk, p1), mustToken(t, tk, p2)
			api.wantCounts(t, 1, 2)
			tt.do(tk)
			got1, got2 := mustToken(t, tk, p1), mustToken(t, tk, p2)
			refetched := map[string]bool{"app-p1": got1 != first1, "app-p2": got2 != first2}
			for app, re := range refetched {
				want := false
				for _, a := range tt.fetched {
					want = want || a == app
				}
				if re != want {
					t.Errorf("%s fetched again: %v, want %v", app, re, want)
				}
			}
			logins := 1
			if tt.relogin {
				logins = 2
			}
			api.wantCounts(t, logins, 2+len(tt.fetched))
			api.mu.Lock()
			last := api.logins[len(api.logins)-1].email
			api.mu.Unlock()
			if last != tt.email {
				t.Errorf("last login as %q, want %q", last, tt.email)
			}
		})
	}
}

// TestTokensFetchDuringInvalidateIsNotCached: a token fetched by a fetch
// that started before Invalidate is handed to its caller but not kept.
func TestTokensFetchDuringInvalidateIsNotCached(t *testing.T) {
	t.Parallel()
	_, p1, _ := phones(t)
	api := newFakeAPI()
	tk := newPartnerTokens(api, newFakeClock())
	release := api.blockFetches()
	done := make(chan string, 1)
	go func() {
		tok, _ := tk.Token(context.Background(), p1)
		done <- tok
	}()
	waitFor(t, api.entered, "the fetch to start")
	tk.Invalidate("app-p1")
	release()
	stale := <-done
	if got := mustToken(t, tk, p1); got == stale {
		t.Errorf("the token fetched across Invalidate was cached: %q", got)
	}
	api.wantCounts(t, 1, 2)
}
