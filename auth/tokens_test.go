package auth_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"waproxy/auth"
	"waproxy/config"
)

const (
	testEmail  = "partner@example.com"
	testSecret = "s3cret"
	waitLimit  = 2 * time.Second
)

// statusError is an upstream error that only exposes its HTTP status.
type statusError struct{ code int }

func (e *statusError) Error() string   { return fmt.Sprintf("HTTP %d", e.code) }
func (e *statusError) HTTPStatus() int { return e.code }

type loginCall struct{ email, secret string }

type fetchCall struct{ partnerToken, appID string }

// fakeAPI is a PartnerAPI that records calls. Login answers "pt-<n>" and
// AppToken "<appID>-tok-<n>" (n counts calls), unless an error is queued.
type fakeAPI struct {
	mu        sync.Mutex
	logins    []loginCall
	fetches   []fetchCall
	loginErrs []error // consumed one per Login call; nil = success
	fetchErrs []error // consumed one per AppToken call; nil = success
	sameToken string  // when set, every AppToken answer is this token
	block     chan struct{}
	fetchCtx  []error // ctx.Err() each AppToken saw when it answered

	entered  chan struct{} // one value per AppToken call, at its start
	answered chan struct{} // one value per AppToken call, when it answers
}

func newFakeAPI() *fakeAPI {
	return &fakeAPI{entered: make(chan struct{}, 1000), answered: make(chan struct{}, 1000)}
}

func (f *fakeAPI) Login(ctx context.Context, email, secret string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logins = append(f.logins, loginCall{email, secret})
	if len(f.loginErrs) > 0 {
		err := f.loginErrs[0]
		f.loginErrs = f.loginErrs[1:]
		if err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("pt-%d", len(f.logins)), nil
}

func (f *fakeAPI) AppToken(ctx context.Context, partnerToken, appID string) (string, error) {
	f.mu.Lock()
	f.fetches = append(f.fetches, fetchCall{partnerToken, appID})
	n := len(f.fetches)
	var err error
	if len(f.fetchErrs) > 0 {
		err = f.fetchErrs[0]
		f.fetchErrs = f.fetchErrs[1:]
	}
	block, same := f.block, f.sameToken
	f.mu.Unlock()

	f.entered <- struct{}{}
	if block != nil {
		<-block
	}
	f.mu.Lock()
	f.fetchCtx = append(f.fetchCtx, ctx.Err())
	f.mu.Unlock()
	defer func() { f.answered <- struct{}{} }()
	if err != nil {
		return "", err
	}
	if same != "" {
		return same, nil
	}
	return fmt.Sprintf("%s-tok-%d", appID, n), nil
}

// blockFetches makes AppToken calls wait until the returned func is called.
func (f *fakeAPI) blockFetches() (release func()) {
	ch := make(chan struct{})
	f.mu.Lock()
	f.block = ch
	f.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { close(ch) }) }
}

func (f *fakeAPI) counts() (logins, fetches int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.logins), len(f.fetches)
}

func (f *fakeAPI) partnerTokensUsed() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.fetches {
		out = append(out, c.partnerToken)
	}
	return out
}

func (f *fakeAPI) wantCounts(t *testing.T, logins, fetches int) {
	t.Helper()
	if l, a := f.counts(); l != logins || a != fetches {
		t.Errorf("logins=%d app-token fetches=%d, want %d and %d", l, a, logins, fetches)
	}
}

func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitLimit):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// phones returns the static phone "1001" (app "app-static", token
// "sk_static") and partner phones "1002" (app "app-p1") and "1003"
// (app "app-p2").
func phones(t *testing.T) (static, p1, p2 *auth.Phone) {
	t.Helper()
	d, err := auth.NewDirectory([]config.Tenant{{
		Name:   "alpha",
		Tokens: []string{"tok"},
		PhoneNumbers: []config.PhoneNumber{
			{ID: "1001", AppID: "app-static", AppToken: "sk_static"},
			{ID: "1002", AppID: "app-p1"},
			{ID: "1003", AppID: "app-p2"},
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	tenant := d.Authenticate("tok")
	var ok1, ok2, ok3 bool
	static, ok1 = tenant.Phone("1001")
	p1, ok2 = tenant.Phone("1002")
	p2, ok3 = tenant.Phone("1003")
	if !ok1 || !ok2 || !ok3 {
		t.Fatal("test phones missing")
	}
	return static, p1, p2
}

const testTTL = 10 * time.Hour

func newPartnerTokens(api *fakeAPI, clk *fakeClock) *auth.Tokens {
	return auth.NewTokens(api, auth.TokensConfig{
		Email: testEmail, Secret: testSecret,
		AppTokenTTL: testTTL, PartnerTokenTTL: testTTL,
		Now: clk.Now,
	})
}

func mustToken(t *testing.T, tk *auth.Tokens, p *auth.Phone) string {
	t.Helper()
	tok, err := tk.Token(context.Background(), p)
	if err != nil {
		t.Fatalf("Token(%s): %v", p.ID, err)
	}
	return tok
}

func TestTokensStaticToken(t *testing.T) {
	t.Parallel()
	static, _, _ := phones(t)
	tests := []struct {
		name string
		api  *fakeAPI
		cfg  auth.TokensConfig
	}{
		{"with partner api and credentials", newFakeAPI(), auth.TokensConfig{Email: testEmail, Secret: testSecret}},
		{"without partner api", nil, auth.TokensConfig{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tk := newTokensWith(tt.api, tt.cfg)
			ctx := context.Background()
			for range 3 {
				tok, err := tk.Token(ctx, static)
				if err != nil || tok != "sk_static" {
					t.Fatalf("Token = %q, %v; want sk_static", tok, err)
				}
			}
			tok, ok, err := tk.Refresh(ctx, static, "sk_static")
			if tok != "" || ok || err != nil {
				t.Errorf("Refresh = %q, %v, %v; want \"\", false, nil", tok, ok, err)
			}
			if tt.api != nil {
				tt.api.wantCounts(t, 0, 0)
			}
		})
	}
}

func TestTokensPartnerFlowFetchesOnceThenCaches(t *testing.T) {
	t.Parallel()
	api, clk := newFakeAPI(), newFakeClock()
	tk := newPartnerTokens(api, clk)
	_, p1, p2 := phones(t)

	if got := mustToken(t, tk, p1); got != "app-p1-tok-1" {
		t.Fatalf("first Token = %q, want app-p1-tok-1", got)
	}
	api.wantCounts(t, 1, 1)
	api.mu.Lock()
	login, fetch := api.logins[0], api.fetches[0]
	api.mu.Unlock()
	if login != (loginCall{testEmail, testSecret}) {
		t.Errorf("Login got %+v, want %s / %s", login, testEmail, testSecret)
	}
	if fetch != (fetchCall{"pt-1", "app-p1"}) {
		t.Errorf("AppToken got %+v, want partner token pt-1 for app-p1", fetch)
	}

	clk.Advance(time.Hour)
	for range 5 {
		if got := mustToken(t, tk, p1); got != "app-p1-tok-1" {
			t.Fatalf("cached Token = %q, want app-p1-tok-1", got)
		}
	}
	api.wantCounts(t, 1, 1)

	// A second app reuses the partner login.
	if got := mustToken(t, tk, p2); got != "app-p2-tok-2" {
		t.Fatalf("Token(p2) = %q, want app-p2-tok-2", got)
	}
	api.wantCounts(t, 1, 2)
	if got := mustToken(t, tk, p1); got != "app-p1-tok-1" {
		t.Errorf("Token(p1) after p2 = %q, want app-p1-tok-1", got)
	}
}

func TestTokensAppTokenLifetime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		age         time.Duration
		wantToken   string
		wantFetches int
	}{
		{"fresh token from cache", 0, "app-p1-tok-1", 1},
		{"half-way from cache", testTTL / 2, "app-p1-tok-1", 1},
		{"at nine tenths from cache without refresh", testTTL - testTTL/10, "app-p1-tok-1", 1},
		{"at expiry fetched anew", testTTL, "app-p1-tok-2", 2},
		{"long expired fetched anew", 3 * testTTL, "app-p1-tok-2", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				api, clk := newFakeAPI(), newFakeClock()
				tk := newPartnerTokens(api, clk)
				_, p1, _ := phones(t)
				mustToken(t, tk, p1)
				clk.Advance(tt.age)
				if got := mustToken(t, tk, p1); got != tt.wantToken {
					t.Errorf("Token after %v = %q, want %q", tt.age, got, tt.wantToken)
				}
				// Once every goroutine is blocked, a refresh that should
				// not happen would have been made.
				synctest.Wait()
				if _, f := api.counts(); f != tt.wantFetches {
					t.Errorf("fetches = %d, want %d", f, tt.wantFetches)
				}
			})
		})
	}
}

func TestTokensDefaultTTLs(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		api, clk := newFakeAPI(), newFakeClock()
		tk := auth.NewTokens(api, auth.TokensConfig{Email: testEmail, Secret: testSecret, Now: clk.Now})
		_, p1, _ := phones(t)
		mustToken(t, tk, p1)

		clk.Advance(19 * time.Hour) // before the last tenth of 22h
		if got := mustToken(t, tk, p1); got != "app-p1-tok-1" {
			t.Errorf("Token at 19h = %q, want cached app-p1-tok-1", got)
		}
		synctest.Wait() // no background refresh started
		api.wantCounts(t, 1, 1)

		clk.Advance(3 * time.Hour) // 22h: both the app token and the login expired
		if got := mustToken(t, tk, p1); got != "app-p1-tok-2" {
			t.Errorf("Token at 22h = %q, want app-p1-tok-2", got)
		}
		api.wantCounts(t, 2, 2)
	})
}

func TestTokensRefreshAheadInLastTenth(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		api, clk := newFakeAPI(), newFakeClock()
		tk := newPartnerTokens(api, clk)
		_, p1, _ := phones(t)
		mustToken(t, tk, p1)
		waitFor(t, api.entered, "first fetch")
		waitFor(t, api.answered, "first fetch")

		clk.Advance(testTTL - testTTL/20)
		release := api.blockFetches()
		defer release()

		ctx, cancel := context.WithCancel(context.Background())
		start := time.Now()
		got, err := tk.Token(ctx, p1)
		cancel() // the caller leaving must not stop the refresh
		if err != nil || got != "app-p1-tok-1" {
			t.Fatalf("Token in last tenth = %q, %v; want cached app-p1-tok-1", got, err)
		}
		// The bubble's clock moves only when every goroutine waits: a
		// Token that had waited for the blocked refresh would show it.
		if d := time.Since(start); d != 0 {
			t.Errorf("Token in last tenth waited %v while the refresh was blocked", d)
		}
		waitFor(t, api.entered, "background refresh")

		// More callers while the refresh runs still get the cached token and
		// join the refresh in flight.
		for range 10 {
			if got := mustToken(t, tk, p1); got != "app-p1-tok-1" {
				t.Fatalf("Token during refresh = %q, want app-p1-tok-1", got)
			}
		}
		release()
		waitFor(t, api.answered, "background refresh answer")

		synctest.Wait() // the refresh has stored its token
		if got := mustToken(t, tk, p1); got != "app-p1-tok-2" {
			t.Fatalf("Token after the refresh = %q, want app-p1-tok-2", got)
		}
		synctest.Wait()
		api.wantCounts(t, 1, 2)
		api.mu.Lock()
		fetchCtx := slices.Clone(api.fetchCtx)
		api.mu.Unlock()
		if fetchCtx[1] != nil {
			t.Errorf("background refresh saw context error %v", fetchCtx[1])
		}
	})
}

// newTokensWith builds Tokens on api, passing a nil *fakeAPI as a nil
// interface (no partner API at all).
func newTokensWith(api *fakeAPI, cfg auth.TokensConfig) *auth.Tokens {
	if api == nil {
		return auth.NewTokens(nil, cfg)
	}
	return auth.NewTokens(api, cfg)
}

// inRefreshWindowWithFailingFetches caches p1's token, makes every later
// fetch fail with a 500 and moves the clock into the last tenth of the TTL.
func inRefreshWindowWithFailingFetches(t *testing.T) (*fakeAPI, *fakeClock, *auth.Tokens, *auth.Phone) {
	t.Helper()
	api, clk := newFakeAPI(), newFakeClock()
	boom := &statusError{500}
	api.fetchErrs = []error{nil, boom, boom, boom}
	tk := newPartnerTokens(api, clk)
	_, p1, _ := phones(t)
	mustToken(t, tk, p1)
	waitFor(t, api.answered, "first fetch")
	clk.Advance(testTTL - testTTL/20)
	return api, clk, tk, p1
}

func TestTokensFailedRefreshAheadKeepsCachedToken(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		api, clk, tk, p1 := inRefreshWindowWithFailingFetches(t)
		if got := mustToken(t, tk, p1); got != "app-p1-tok-1" {
			t.Fatalf("Token in last tenth = %q, want cached app-p1-tok-1", got)
		}
		waitFor(t, api.answered, "failed background refresh")
		if got := mustToken(t, tk, p1); got != "app-p1-tok-1" {
			t.Fatalf("Token after failed refresh = %q, want cached app-p1-tok-1", got)
		}

		clk.Advance(testTTL / 10)
		_, err := tk.Token(context.Background(), p1)
		var se interface{ HTTPStatus() int }
		if !errors.As(err, &se) || se.HTTPStatus() != 500 {
			t.Fatalf("Token after expiry with upstream failing = %v, want the 500", err)
		}
	})
}

func TestTokensColdCacheSingleflight(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		api, clk := newFakeAPI(), newFakeClock()
		tk := newPartnerTokens(api, clk)
		_, p1, _ := phones(t)
		release := api.blockFetches()
		defer release()

		const n = 100
		var started, done sync.WaitGroup
		tokens := make([]string, n)
		errs := make([]error, n)
		for i := range n {
			started.Add(1)
			done.Add(1)
			go func() {
				defer done.Done()
				started.Done()
				tokens[i], errs[i] = tk.Token(context.Background(), p1)
			}()
		}
		started.Wait()
		waitFor(t, api.entered, "the fetch")
		synctest.Wait() // every caller is waiting on the shared fetch
		release()
		done.Wait()

		for i := range n {
			if errs[i] != nil || tokens[i] != "app-p1-tok-1" {
				t.Fatalf("caller %d got %q, %v; want app-p1-tok-1", i, tokens[i], errs[i])
			}
		}
		api.wantCounts(t, 1, 1)
	})
}

func TestTokensRefresh(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		prime       bool   // fetch a token with Token first
		sameToken   string // upstream always answers this token
		rejected    []string
		wantToken   string
		wantOK      bool
		wantFetches int
	}{
		{
			name:     "rejected cached token is replaced",
			prime:    true,
			rejected: []string{"app-p1-tok-1"}, wantToken: "app-p1-tok-2", wantOK: true, wantFetches: 2,
		},
		{
			name:     "second refresh of an already replaced token uses the cache",
			prime:    true,
			rejected: []string{"app-p1-tok-1", "app-p1-tok-1"}, wantToken: "app-p1-tok-2", wantOK: true, wantFetches: 2,
		},
		{
			name:     "rejected token unknown to a cold cache is fetched",
			rejected: []string{"sk_old"}, wantToken: "app-p1-tok-1", wantOK: true, wantFetches: 1,
		},
		{
			name:  "upstream answering the rejected token again still allows one retry",
			prime: true, sameToken: "sk_same",
			rejected: []string{"sk_same"}, wantToken: "sk_same", wantOK: true, wantFetches: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api, clk := newFakeAPI(), newFakeClock()
			api.sameToken = tt.sameToken
			tk := newPartnerTokens(api, clk)
			_, p1, _ := phones(t)
			if tt.prime {
				mustToken(t, tk, p1)
			}
			var (
				tok string
				ok  bool
				err error
			)
			for _, r := range tt.rejected {
				tok, ok, err = tk.Refresh(context.Background(), p1, r)
				if err != nil {
					t.Fatalf("Refresh(%q): %v", r, err)
				}
			}
			if tok != tt.wantToken || ok != tt.wantOK {
				t.Errorf("Refresh = %q, %v; want %q, %v", tok, ok, tt.wantToken, tt.wantOK)
			}
			api.wantCounts(t, 1, tt.wantFetches)
			if got := mustToken(t, tk, p1); got != tt.wantToken {
				t.Errorf("Token after Refresh = %q, want %q", got, tt.wantToken)
			}
		})
	}
}

func TestTokensConcurrentRefreshSharesOneFetch(t *testing.T) {
	t.Parallel()
	for _, n := range []int{2, 20} {
		t.Run(fmt.Sprintf("%d callers", n), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				api, clk := newFakeAPI(), newFakeClock()
				tk := newPartnerTokens(api, clk)
				_, p1, _ := phones(t)
				rejected := mustToken(t, tk, p1)
				waitFor(t, api.entered, "priming fetch")
				release := api.blockFetches()
				defer release()

				type result struct {
					tok string
					ok  bool
					err error
				}
				results := make(chan result, n)
				for range n {
					go func() {
						tok, ok, err := tk.Refresh(context.Background(), p1, rejected)
						results <- result{tok, ok, err}
					}()
				}
				waitFor(t, api.entered, "refresh fetch")
				synctest.Wait() // every caller is waiting on the shared fetch
				release()
				for range n {
					r := <-results
					if r.err != nil || !r.ok || r.tok != "app-p1-tok-2" {
						t.Errorf("Refresh = %q, %v, %v; want app-p1-tok-2, true, nil", r.tok, r.ok, r.err)
					}
				}
				api.wantCounts(t, 1, 2)
			})
		})
	}
}

func TestTokensUnauthorizedAppTokenRelogsInOnce(t *testing.T) {
	t.Parallel()
	errLogin := errors.New("login refused")
	tests := []struct {
		name           string
		fetchErrs      []error
		loginErrs      []error
		wantToken      string
		wantStatus     int   // HTTPStatus of the error; 0 = no status error
		wantErrIs      error // nil = not checked
		wantLogins     int
		wantFetches    int
		wantPartnerTok []string
	}{
		{
			name:      "401 then success after one re-login",
			fetchErrs: []error{&statusError{401}},
			wantToken: "app-p1-tok-2", wantLogins: 2, wantFetches: 2,
			wantPartnerTok: []string{"pt-1", "pt-2"},
		},
		{
			name:       "401 twice gives up after one re-login",
			fetchErrs:  []error{&statusError{401}, &statusError{401}},
			wantStatus: 401, wantLogins: 2, wantFetches: 2,
			wantPartnerTok: []string{"pt-1", "pt-2"},
		},
		{
			name:       "403 does not re-login",
			fetchErrs:  []error{&statusError{403}},
			wantStatus: 403, wantLogins: 1, wantFetches: 1,
			wantPartnerTok: []string{"pt-1"},
		},
		{
			name:      "wrapped 401 is recognised",
			fetchErrs: []error{fmt.Errorf("transport: %w", &statusError{401})},
			wantToken: "app-p1-tok-2", wantLogins: 2, wantFetches: 2,
			wantPartnerTok: []string{"pt-1", "pt-2"},
		},
		{
			name:      "re-login failing after 401",
			fetchErrs: []error{&statusError{401}},
			loginErrs: []error{nil, errLogin},
			wantErrIs: errLogin, wantLogins: 2, wantFetches: 1,
			wantPartnerTok: []string{"pt-1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api, clk := newFakeAPI(), newFakeClock()
			api.fetchErrs, api.loginErrs = tt.fetchErrs, tt.loginErrs
			tk := newPartnerTokens(api, clk)
			_, p1, _ := phones(t)
			tok, err := tk.Token(context.Background(), p1)
			wantErr := tt.wantStatus != 0 || tt.wantErrIs != nil
			if (err != nil) != wantErr {
				t.Fatalf("Token = %q, %v; want error %v", tok, err, wantErr)
			}
			if !wantErr && tok != tt.wantToken {
				t.Errorf("Token = %q, want %q", tok, tt.wantToken)
			}
			if tt.wantStatus != 0 {
				var se interface{ HTTPStatus() int }
				if !errors.As(err, &se) || se.HTTPStatus() != tt.wantStatus {
					t.Errorf("error %v does not carry HTTP %d", err, tt.wantStatus)
				}
			}
			if tt.wantErrIs != nil && !errors.Is(err, tt.wantErrIs) {
				t.Errorf("error %v does not wrap %v", err, tt.wantErrIs)
			}
			api.wantCounts(t, tt.wantLogins, tt.wantFetches)
			if got := api.partnerTokensUsed(); !slices.Equal(got, tt.wantPartnerTok) {
				t.Errorf("partner tokens used = %q, want %q", got, tt.wantPartnerTok)
			}
		})
	}
}

func TestTokensNewLoginAfter401IsReusedByOtherApps(t *testing.T) {
	t.Parallel()
	api, clk := newFakeAPI(), newFakeClock()
	api.fetchErrs = []error{&statusError{401}}
	tk := newPartnerTokens(api, clk)
	_, p1, p2 := phones(t)
	mustToken(t, tk, p1)
	mustToken(t, tk, p2)
	api.wantCounts(t, 2, 3)
	if got, want := api.partnerTokensUsed(), []string{"pt-1", "pt-2", "pt-2"}; !slices.Equal(got, want) {
		t.Errorf("partner tokens used = %q, want %q", got, want)
	}
}

func TestTokensLoginFailure(t *testing.T) {
	t.Parallel()
	errDown := errors.New("connection refused")
	tests := []struct {
		name  string
		cause error
	}{
		{"plain error", errDown},
		{"status error", &statusError{401}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api, clk := newFakeAPI(), newFakeClock()
			api.loginErrs = []error{tt.cause}
			tk := newPartnerTokens(api, clk)
			_, p1, _ := phones(t)
			tok, err := tk.Token(context.Background(), p1)
			if !errors.Is(err, tt.cause) {
				t.Fatalf("Token = %q, %v; want error wrapping %v", tok, err, tt.cause)
			}
			api.wantCounts(t, 1, 0)

			// Failures are not cached: the next call logs in again.
			if got := mustToken(t, tk, p1); got != "app-p1-tok-1" {
				t.Errorf("Token after recovery = %q, want app-p1-tok-1", got)
			}
			api.wantCounts(t, 2, 1)
		})
	}
}

func TestTokensWithoutCredentials(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		api  *fakeAPI
		cfg  auth.TokensConfig
	}{
		{"no api and no email", nil, auth.TokensConfig{}},
		{"api but no email", newFakeAPI(), auth.TokensConfig{Secret: testSecret}},
		{"email but no api", nil, auth.TokensConfig{Email: testEmail, Secret: testSecret}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tk := newTokensWith(tt.api, tt.cfg)
			static, p1, _ := phones(t)
			ctx := context.Background()
			if _, err := tk.Token(ctx, p1); !errors.Is(err, auth.ErrNoCredentials) {
				t.Errorf("Token err = %v, want ErrNoCredentials", err)
			}
			if _, ok, err := tk.Refresh(ctx, p1, "x"); ok || !errors.Is(err, auth.ErrNoCredentials) {
				t.Errorf("Refresh = ok %v, err %v; want ErrNoCredentials", ok, err)
			}
			if tok, err := tk.Token(ctx, static); err != nil || tok != "sk_static" {
				t.Errorf("static Token = %q, %v", tok, err)
			}
			if tt.api != nil {
				tt.api.wantCounts(t, 0, 0)
			}
		})
	}
}

func TestTokensPartnerLoginExpiry(t *testing.T) {
	t.Parallel()
	api, clk := newFakeAPI(), newFakeClock()
	tk := auth.NewTokens(api, auth.TokensConfig{
		Email: testEmail, Secret: testSecret,
		AppTokenTTL: 40 * time.Minute, PartnerTokenTTL: time.Hour,
		Now: clk.Now,
	})
	_, p1, _ := phones(t)
	steps := []struct {
		advance     time.Duration
		wantToken   string
		wantLogins  int
		wantPartner string
	}{
		{0, "app-p1-tok-1", 1, "pt-1"},
		{41 * time.Minute, "app-p1-tok-2", 1, "pt-1"}, // app token expired, login still valid
		{41 * time.Minute, "app-p1-tok-3", 2, "pt-2"}, // login older than 1h
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		if got := mustToken(t, tk, p1); got != s.wantToken {
			t.Fatalf("step %d: Token = %q, want %q", i, got, s.wantToken)
		}
		if l, _ := api.counts(); l != s.wantLogins {
			t.Errorf("step %d: logins = %d, want %d", i, l, s.wantLogins)
		}
		used := api.partnerTokensUsed()
		if got := used[len(used)-1]; got != s.wantPartner {
			t.Errorf("step %d: fetched with partner token %q, want %q", i, got, s.wantPartner)
		}
	}
}

func TestTokensSharedFetchSurvivesCallerGivingUp(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		api, clk := newFakeAPI(), newFakeClock()
		tk := newPartnerTokens(api, clk)
		_, p1, _ := phones(t)
		release := api.blockFetches()
		defer release()

		ctx, cancel := context.WithCancel(context.Background())
		first := make(chan error, 1)
		go func() {
			_, err := tk.Token(ctx, p1)
			first <- err
		}()
		waitFor(t, api.entered, "the fetch")
		second := make(chan string, 1)
		go func() {
			tok, _ := tk.Token(context.Background(), p1)
			second <- tok
		}()
		cancel()
		// The first caller has left and the second waits on the fetch.
		if err := <-first; !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled caller err = %v, want context.Canceled", err)
		}
		synctest.Wait()
		release()
		select {
		case tok := <-second:
			if tok != "app-p1-tok-1" {
				t.Errorf("other caller got %q, want app-p1-tok-1", tok)
			}
		case <-time.After(waitLimit):
			t.Fatal("other caller never answered")
		}
		api.mu.Lock()
		defer api.mu.Unlock()
		if len(api.fetchCtx) != 1 || api.fetchCtx[0] != nil {
			t.Errorf("fetch contexts = %v, want one uncancelled fetch", api.fetchCtx)
		}
	})
}

func TestTokensWaitingCallerHonoursOwnDeadline(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		call func(ctx context.Context, tk *auth.Tokens, p *auth.Phone) error
	}{
		{"Token", func(ctx context.Context, tk *auth.Tokens, p *auth.Phone) error {
			_, err := tk.Token(ctx, p)
			return err
		}},
		{"Refresh", func(ctx context.Context, tk *auth.Tokens, p *auth.Phone) error {
			_, _, err := tk.Refresh(ctx, p, "sk_rejected")
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				api, clk := newFakeAPI(), newFakeClock()
				tk := newPartnerTokens(api, clk)
				_, p1, _ := phones(t)
				release := api.blockFetches()
				defer release()
				stop := time.AfterFunc(time.Second, release)
				defer stop.Stop()

				ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
				defer cancel()
				start := time.Now()
				err := tt.call(ctx, tk, p1)
				// On the bubble's clock the caller returns exactly when its
				// context ends, while the fetch is held for a second.
				if elapsed := time.Since(start); elapsed != 50*time.Millisecond {
					t.Errorf("%s returned after %v, want 50ms (its context's deadline)", tt.name, elapsed)
				}
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("%s err = %v, want context.DeadlineExceeded", tt.name, err)
				}
			})
		})
	}
}

// TestTokensFailedRefreshAheadIsSpaced pins that a failing background
// refresh is not retried on every request: within 30 s of an attempt no new
// one starts.
func TestTokensFailedRefreshAheadIsSpaced(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		api, clk, tk, p1 := inRefreshWindowWithFailingFetches(t)
		for i := 0; i < 20; i++ {
			mustToken(t, tk, p1)
		}
		waitFor(t, api.answered, "failed background refresh")
		synctest.Wait() // any other refresh would have started by now
		if _, fetches := api.counts(); fetches != 2 {
			t.Fatalf("%d fetches after 20 requests in the refresh window, want 2 (one early refresh)", fetches)
		}
		clk.Advance(31 * time.Second)
		mustToken(t, tk, p1)
		waitFor(t, api.answered, "second background refresh")
		if _, fetches := api.counts(); fetches != 3 {
			t.Fatalf("%d fetches after the spacing interval, want 3", fetches)
		}
	})
}
