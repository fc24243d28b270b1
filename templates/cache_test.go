package templates_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"waproxy/templates"
	"waproxy/translate"
)

const (
	ttl         = 10 * time.Minute
	negativeTTL = time.Minute
	minRefresh  = 6 * time.Second
	waitLimit   = 10 * time.Second // bounds only a failing wait; fake time inside synctest bubbles
)

var (
	errBoom = errors.New("gupshup: HTTP 503")
	t0      = time.Date(2025, 5, 28, 12, 0, 0, 0, time.UTC)
)

// clock is a fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeLister answers each app's current list, or fail while it is set.
// With block set, every call waits for a value on it (or its ctx).
type fakeLister struct {
	mu      sync.Mutex
	lists   map[string][]translate.V2Template
	fail    error
	calls   map[string]int
	total   int
	block   chan struct{}
	entered chan context.Context // each call's ctx, when it starts
}

func newLister() *fakeLister {
	return &fakeLister{
		lists:   map[string][]translate.V2Template{"app-1": baseList()},
		calls:   map[string]int{},
		entered: make(chan context.Context, 1000),
	}
}

func (f *fakeLister) List(ctx context.Context, appID string) ([]translate.V2Template, error) {
	f.mu.Lock()
	f.calls[appID]++
	f.total++
	list, fail, block := f.lists[appID], f.fail, f.block
	f.mu.Unlock()
	select {
	case f.entered <- ctx:
	default:
	}
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if fail != nil {
		return nil, fail
	}
	return list, nil
}

func (f *fakeLister) set(appID string, list []translate.V2Template) {
	f.mu.Lock()
	f.lists[appID] = list
	f.mu.Unlock()
}

func (f *fakeLister) setFail(err error) {
	f.mu.Lock()
	f.fail = err
	f.mu.Unlock()
}

func (f *fakeLister) setBlock(ch chan struct{}) {
	f.mu.Lock()
	f.block = ch
	f.mu.Unlock()
}

func (f *fakeLister) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.total
}

func tpl(id, name, lang, status string) translate.V2Template {
	return translate.V2Template{ID: id, Name: name, Language: lang, Status: status, Type: "TEXT", Body: "Hi {{1}}"}
}

func baseList() []translate.V2Template {
	return []translate.V2Template{
		tpl("t-hello-en", "hello", "en", "APPROVED"),
		tpl("t-promo-en", "promo", "en", "PENDING"),
	}
}

func with(extra ...translate.V2Template) []translate.V2Template {
	return append(baseList(), extra...)
}

func newCache(l templates.Lister, clk *clock) *templates.Cache {
	return templates.New(l, templates.Config{TTL: ttl, NegativeTTL: negativeTTL, MinRefresh: minRefresh, Now: clk.Now})
}

// step is one action of a scenario, then the List calls made so far.
type step struct {
	advance    time.Duration
	set        []translate.V2Template // the lister answers this list for the step's app from now on
	fail       error                  // the lister fails with it from now on
	heal       bool                   // the lister stops failing
	invalidate bool
	app        string // default app-1
	lookup     string // "name/lang"; "" for none
	wantID     string
	wantErr    error // errors.Is target (and not ErrNotFound unless it is that)
	calls      int
}

func TestLookupScenarios(t *testing.T) {
	t.Parallel()
	scenarios := []struct {
		name  string
		steps []step
	}{
		{"list is used for TTL", []step{
			{lookup: "hello/en", wantID: "t-hello-en", calls: 1},
			{advance: ttl - time.Nanosecond, set: with(tpl("t-hello-2", "hello", "en_US", "APPROVED")), lookup: "hello/en", wantID: "t-hello-en", calls: 1},
			{advance: time.Nanosecond, lookup: "hello/en", wantID: "t-hello-en", calls: 2},
			{lookup: "hello/en-us", wantID: "t-hello-2", calls: 2},
		}},
		{"a miss refreshes only a list older than MinRefresh", []step{
			{lookup: "hello/en", wantID: "t-hello-en", calls: 1},
			{set: with(tpl("t-new", "new", "en", "APPROVED")), lookup: "new/en", wantErr: templates.ErrNotFound, calls: 1},
			{advance: minRefresh - time.Nanosecond, lookup: "new/en", wantErr: templates.ErrNotFound, calls: 1},
			{advance: time.Nanosecond, lookup: "new/en", wantID: "t-new", calls: 2},
			{lookup: "new/en", wantID: "t-new", calls: 2},
		}},
		{"a miss refreshes the list once, then is cached NegativeTTL", []step{
			{lookup: "hello/en", wantID: "t-hello-en", calls: 1},
			{advance: minRefresh, lookup: "nope/en_US", wantErr: templates.ErrNotFound, calls: 2},
			{advance: minRefresh, lookup: "nope/EN-us", wantErr: templates.ErrNotFound, calls: 2},
			{set: with(tpl("t-nope", "nope", "en_US", "APPROVED")), advance: negativeTTL - minRefresh - time.Nanosecond,
				lookup: "nope/en_us", wantErr: templates.ErrNotFound, calls: 2},
			{advance: time.Nanosecond, lookup: "nope/en_US", wantID: "t-nope", calls: 3},
		}},
		{"a miss in a list fetched for the lookup is cached", []step{
			{lookup: "nope/en", wantErr: templates.ErrNotFound, calls: 1},
			{set: with(tpl("t-nope", "nope", "en", "APPROVED")), advance: minRefresh, lookup: "nope/en", wantErr: templates.ErrNotFound, calls: 1},
			{advance: negativeTTL - minRefresh, lookup: "nope/en", wantID: "t-nope", calls: 2},
		}},
		{"a negative entry does not hide a template a newer list has", []step{
			{lookup: "nope/en", wantErr: templates.ErrNotFound, calls: 1},
			{set: with(tpl("t-nope", "nope", "en", "APPROVED")), advance: minRefresh, lookup: "other/en", wantErr: templates.ErrNotFound, calls: 2},
			{lookup: "nope/en", wantID: "t-nope", calls: 2},
		}},
		{"an unapproved template is not found, and refreshed like a missing one", []step{
			{lookup: "hello/en", wantID: "t-hello-en", calls: 1},
			{lookup: "promo/en", wantErr: templates.ErrNotFound, calls: 1},
			{set: []translate.V2Template{tpl("t-hello-en", "hello", "en", "APPROVED"), tpl("t-promo-en", "promo", "en", "APPROVED")},
				advance: minRefresh, lookup: "promo/en", wantID: "t-promo-en", calls: 2},
		}},
		{"a fetch error with a stale list uses the stale list", []step{
			{lookup: "hello/en", wantID: "t-hello-en", calls: 1},
			{fail: errBoom, advance: ttl, lookup: "hello/en", wantID: "t-hello-en", calls: 2},
			{lookup: "nope/en", wantErr: templates.ErrNotFound, calls: 2},
			{advance: minRefresh - time.Nanosecond, lookup: "hello/en", wantID: "t-hello-en", calls: 2},
			{advance: time.Nanosecond, lookup: "hello/en", wantID: "t-hello-en", calls: 3},
			{heal: true, set: []translate.V2Template{tpl("t-hello-3", "hello", "en", "APPROVED")}, lookup: "hello/en", wantID: "t-hello-en", calls: 3},
			{advance: minRefresh, lookup: "hello/en", wantID: "t-hello-3", calls: 4},
			{advance: ttl - time.Nanosecond, lookup: "hello/en", wantID: "t-hello-3", calls: 4},
		}},
		{"a fetch error on a miss answers from the fresh list", []step{
			{lookup: "hello/en", wantID: "t-hello-en", calls: 1},
			{fail: errBoom, advance: minRefresh, lookup: "nope/en", wantErr: templates.ErrNotFound, calls: 2},
			{advance: minRefresh, lookup: "nope/en", wantErr: templates.ErrNotFound, calls: 3},
			{lookup: "hello/en", wantID: "t-hello-en", calls: 3},
		}},
		{"a fetch error without a list is returned, and remembered MinRefresh", []step{
			{fail: errBoom, lookup: "hello/en", wantErr: errBoom, calls: 1},
			{advance: minRefresh - time.Nanosecond, lookup: "hello/en", wantErr: errBoom, calls: 1},
			{advance: time.Nanosecond, lookup: "hello/en", wantErr: errBoom, calls: 2},
			{heal: true, lookup: "hello/en", wantErr: errBoom, calls: 2},
			{advance: minRefresh, lookup: "hello/en", wantID: "t-hello-en", calls: 3},
		}},
		{"Invalidate drops the list and its negative entries, and lists again at once", []step{
			{lookup: "nope/en", wantErr: templates.ErrNotFound, calls: 1},
			{set: []translate.V2Template{tpl("t-hello-2", "hello", "en", "APPROVED")}, invalidate: true, lookup: "hello/en", wantID: "t-hello-2", calls: 2},
			{set: with(tpl("t-nope", "nope", "en", "APPROVED")), advance: minRefresh, lookup: "nope/en", wantID: "t-nope", calls: 3},
			{set: []translate.V2Template{tpl("t-nope-2", "nope", "en", "APPROVED")}, invalidate: true, calls: 3},
			{lookup: "nope/en", wantID: "t-nope-2", calls: 4},
			{lookup: "hello/en", wantErr: templates.ErrNotFound, calls: 4},
		}},
		{"Invalidate drops a remembered error", []step{
			{fail: errBoom, lookup: "hello/en", wantErr: errBoom, calls: 1},
			{heal: true, invalidate: true, lookup: "hello/en", wantID: "t-hello-en", calls: 2},
		}},
		{"Invalidate of an unknown app does nothing", []step{
			{app: "app-9", invalidate: true, calls: 0},
			{lookup: "hello/en", wantID: "t-hello-en", calls: 1},
		}},
		{"apps are cached and rate limited apart", []step{
			{lookup: "hello/en", wantID: "t-hello-en", calls: 1},
			{app: "app-2", set: []translate.V2Template{tpl("t2-hello", "hello", "en", "APPROVED")}, lookup: "hello/en", wantID: "t2-hello", calls: 2},
			{app: "app-3", lookup: "hello/en", wantErr: templates.ErrNotFound, calls: 3},
			{app: "app-2", invalidate: true, calls: 3},
			{lookup: "hello/en", wantID: "t-hello-en", calls: 3},
			{app: "app-2", lookup: "hello/en", wantID: "t2-hello", calls: 4},
		}},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			clk, l := newClock(), newLister()
			c := newCache(l, clk)
			for i, st := range sc.steps {
				app := st.app
				if app == "" {
					app = "app-1"
				}
				clk.Add(st.advance)
				if st.set != nil {
					l.set(app, st.set)
				}
				if st.fail != nil {
					l.setFail(st.fail)
				}
				if st.heal {
					l.setFail(nil)
				}
				if st.invalidate {
					c.Invalidate(app)
				}
				if st.lookup != "" {
					name, lang, _ := strings.Cut(st.lookup, "/")
					got, err := c.Lookup(context.Background(), app, name, lang)
					checkLookup(t, fmt.Sprintf("step %d: Lookup(%s, %s)", i, app, st.lookup), got, err, st.wantID, st.wantErr)
				}
				if n := l.count(); n != st.calls {
					t.Fatalf("step %d: %d List calls, want %d", i, n, st.calls)
				}
			}
		})
	}
}

func checkLookup(t *testing.T, what string, got translate.V2Template, err error, wantID string, wantErr error) {
	t.Helper()
	switch {
	case wantErr != nil:
		if !errors.Is(err, wantErr) {
			t.Fatalf("%s = %q, %v; want error %v", what, got.ID, err, wantErr)
		}
		if wantErr != templates.ErrNotFound && errors.Is(err, templates.ErrNotFound) {
			t.Fatalf("%s error %v is also ErrNotFound", what, err)
		}
		if got.ID != "" {
			t.Fatalf("%s returned template %q with its error", what, got.ID)
		}
	case err != nil || got.ID != wantID:
		t.Fatalf("%s = %q, %v; want %q", what, got.ID, err, wantID)
	}
}

func TestLookupMatching(t *testing.T) {
	t.Parallel()
	full := translate.V2Template{ID: "t-full", Name: "order_update", Language: "en_US", Status: "APPROVED", Type: "IMAGE",
		Body: "Order {{1}} ships {{2}}", Buttons: []translate.V2Button{{Type: "QUICK_REPLY", Text: "Yes"}, {Type: "URL", Text: "Track"}}}
	l := newLister()
	l.set("app-1", []translate.V2Template{
		tpl("t-hello-en", "hello", "en", "APPROVED"),
		tpl("t-hello-enus", "hello", "en_US", "APPROVED"),
		tpl("t-hello-ptbr", "hello", "pt-BR", "APPROVED"),
		tpl("t-hello-es", "hello", "es", "REJECTED"),
		tpl("t-hello-fr-old", "hello", "fr", "PENDING"),
		tpl("t-hello-fr", "hello", "fr", "APPROVED"),
		tpl("t-hello-de", "hello", "de", "approved"),
		tpl("t-hello-it", "hello", "it", ""),
		tpl("t-dup-1", "dup", "en_GB", "APPROVED"),
		tpl("t-dup-2", "dup", "en-gb", "APPROVED"),
		full,
	})
	c := newCache(l, newClock())
	tests := []struct {
		name, lang string
		wantID     string // "" = ErrNotFound
		wantMsg    string // part of the error message
	}{
		{"hello", "en", "t-hello-en", ""},
		{"hello", "EN", "t-hello-en", ""},
		{"hello", "en_US", "t-hello-enus", ""},
		{"hello", "en-us", "t-hello-enus", ""},
		{"hello", "En-Us", "t-hello-enus", ""},
		{"hello", "pt_br", "t-hello-ptbr", ""},
		{"hello", "pt", "", ""},
		{"hello", "en_GB", "", ""},
		{"hello", "", "", ""},
		{"hello", "es", "", `app app-1 has "hello" (es) with status REJECTED`},
		{"hello", "fr", "t-hello-fr", ""},
		{"hello", "de", "t-hello-de", ""},
		{"hello", "it", "", `with status ""`},
		{"HELLO", "en", "", ""},
		{"hello ", "en", "", ""},
		{"dup", "en-GB", "t-dup-1", ""},
		{"promo", "en", "", ""},
		{"order_update", "en-US", "t-full", ""},
	}
	for _, tt := range tests {
		got, err := c.Lookup(context.Background(), "app-1", tt.name, tt.lang)
		what := fmt.Sprintf("Lookup(%q, %q)", tt.name, tt.lang)
		if tt.wantID == "" {
			checkLookup(t, what, got, err, "", templates.ErrNotFound)
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("%s error %q, want it to contain %q", what, err, tt.wantMsg)
			}
			continue
		}
		checkLookup(t, what, got, err, tt.wantID, nil)
		if tt.wantID == full.ID && !reflect.DeepEqual(got, full) {
			t.Errorf("%s = %+v, want %+v", what, got, full)
		}
	}
	if n := l.count(); n != 1 {
		t.Errorf("%d List calls, want 1", n)
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	clk, l := newClock(), newLister()
	c := templates.New(l, templates.Config{Now: clk.Now})
	steps := []step{
		{lookup: "hello/en", wantID: "t-hello-en", calls: 1},
		{advance: 6*time.Second - time.Nanosecond, lookup: "nope/en", wantErr: templates.ErrNotFound, calls: 1},
		{advance: time.Nanosecond, lookup: "nope/en", wantErr: templates.ErrNotFound, calls: 2}, // list from 6s
		{advance: time.Minute - time.Nanosecond, lookup: "nope/en", wantErr: templates.ErrNotFound, calls: 2},
		{advance: time.Nanosecond, lookup: "nope/en", wantErr: templates.ErrNotFound, calls: 3}, // list from 66s
		{advance: 10*time.Minute - time.Nanosecond, lookup: "hello/en", wantID: "t-hello-en", calls: 3},
		{advance: time.Nanosecond, lookup: "hello/en", wantID: "t-hello-en", calls: 4},
	}
	for i, st := range steps {
		clk.Add(st.advance)
		name, lang, _ := strings.Cut(st.lookup, "/")
		got, err := c.Lookup(context.Background(), "app-1", name, lang)
		checkLookup(t, fmt.Sprintf("step %d", i), got, err, st.wantID, st.wantErr)
		if n := l.count(); n != st.calls {
			t.Fatalf("step %d: %d List calls, want %d", i, n, st.calls)
		}
	}
}

func TestFetchErrorIsWrapped(t *testing.T) {
	t.Parallel()
	l := newLister()
	var se *statusError
	l.setFail(fmt.Errorf("upstream: %w", &statusError{429}))
	_, err := newCache(l, newClock()).Lookup(context.Background(), "app-1", "hello", "en")
	if !errors.As(err, &se) || se.code != 429 {
		t.Fatalf("err = %v, want it to wrap the Lister's *statusError", err)
	}
	if want := "templates: listing the templates of app app-1: upstream: HTTP 429"; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
}

type statusError struct{ code int }

func (e *statusError) Error() string { return fmt.Sprintf("HTTP %d", e.code) }

func TestOnFetchError(t *testing.T) {
	t.Parallel()
	clk, l := newClock(), newLister()
	var mu sync.Mutex
	var seen []string
	c := templates.New(l, templates.Config{Now: clk.Now, MinRefresh: minRefresh, OnFetchError: func(appID string, err error) {
		mu.Lock()
		seen = append(seen, appID+": "+err.Error())
		mu.Unlock()
	}})
	ctx := context.Background()
	if _, err := c.Lookup(ctx, "app-1", "hello", "en"); err != nil {
		t.Fatal(err)
	}
	l.setFail(errBoom)
	clk.Add(10 * time.Minute)
	if got, err := c.Lookup(ctx, "app-1", "hello", "en"); err != nil || got.ID != "t-hello-en" {
		t.Fatalf("stale fallback = %q, %v", got.ID, err)
	}
	if _, err := c.Lookup(ctx, "app-2", "hello", "en"); !errors.Is(err, errBoom) {
		t.Fatalf("err = %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"app-1: " + errBoom.Error(), "app-2: " + errBoom.Error()}; !reflect.DeepEqual(seen, want) {
		t.Errorf("OnFetchError saw %q, want %q", seen, want)
	}
}

// startLookups runs n lookups of app-1 concurrently and returns their
// results once all are done.
func startLookups(ctx context.Context, c *templates.Cache, n int, name func(i int) string) (started *sync.WaitGroup, results func() []error) {
	started = &sync.WaitGroup{}
	var done sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		started.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			started.Done()
			got, err := c.Lookup(ctx, "app-1", name(i), "en")
			if err == nil && got.ID != "t-"+name(i) {
				err = fmt.Errorf("got %q", got.ID)
			}
			errs[i] = err
		}()
	}
	return started, func() []error { done.Wait(); return errs }
}

func TestConcurrentLookupsShareOneFetch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		warm    bool // a list older than MinRefresh is cached, the names are not in it
		lookups int
	}{
		{"cold cache, one name", false, 50},
		{"old list, many missing names", true, 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				clk, l := newClock(), newLister()
				c := newCache(l, clk)
				name := func(int) string { return "hello" }
				l.set("app-1", []translate.V2Template{tpl("t-hello", "hello", "en", "APPROVED")})
				want := 1
				if tt.warm {
					if _, err := c.Lookup(context.Background(), "app-1", "hello", "en"); err != nil {
						t.Fatal(err)
					}
					<-l.entered
					name = func(i int) string { return fmt.Sprint("new", i) }
					var list []translate.V2Template
					for i := range tt.lookups {
						list = append(list, tpl("t-"+name(i), name(i), "en", "APPROVED"))
					}
					l.set("app-1", list)
					clk.Add(minRefresh)
					want = 2
				}
				release := make(chan struct{})
				l.setBlock(release)
				started, results := startLookups(context.Background(), c, tt.lookups, name)
				started.Wait()
				waitEntered(t, l)
				synctest.Wait() // every lookup is waiting on the shared fetch
				close(release)
				for i, err := range results() {
					if err != nil {
						t.Errorf("lookup %d: %v", i, err)
					}
				}
				if n := l.count(); n != want {
					t.Errorf("%d List calls, want %d", n, want)
				}
			})
		})
	}
}

func waitEntered(t *testing.T, l *fakeLister) context.Context {
	t.Helper()
	select {
	case ctx := <-l.entered:
		return ctx
	case <-time.After(waitLimit):
		t.Fatal("List was not called")
		return nil
	}
}

type ctxKey struct{}

func TestLookupHonoursContext(t *testing.T) {
	t.Parallel()

	t.Run("a caller gives up, the shared fetch goes on", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			clk, l := newClock(), newLister()
			c := newCache(l, clk)
			release := make(chan struct{})
			l.setBlock(release)
			ctx, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "v"))
			errc := make(chan error, 1)
			go func() {
				_, err := c.Lookup(ctx, "app-1", "hello", "en")
				errc <- err
			}()
			listCtx := waitEntered(t, l)
			// A second caller joins the same fetch and waits for it.
			other := make(chan error, 1)
			go func() {
				got, err := c.Lookup(context.Background(), "app-1", "hello", "en")
				if err == nil && got.ID != "t-hello-en" {
					err = fmt.Errorf("got %q", got.ID)
				}
				other <- err
			}()
			synctest.Wait() // the second caller waits on the same fetch
			cancel()
			select {
			case err := <-errc:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("cancelled Lookup err = %v, want context.Canceled", err)
				}
			case <-time.After(waitLimit):
				t.Fatal("Lookup did not return after its context was cancelled")
			}
			if listCtx.Err() != nil {
				t.Errorf("the List call's ctx ended with a caller's: %v", listCtx.Err())
			}
			if listCtx.Value(ctxKey{}) != "v" {
				t.Error("the List call's ctx lost the caller's values")
			}
			if _, ok := listCtx.Deadline(); !ok {
				t.Error("the List call's ctx has no deadline (FetchTimeout)")
			}
			close(release)
			select {
			case err := <-other:
				if err != nil {
					t.Errorf("waiting Lookup: %v", err)
				}
			case <-time.After(waitLimit):
				t.Fatal("the waiting Lookup did not return")
			}
			if got, err := c.Lookup(context.Background(), "app-1", "hello", "en"); err != nil || got.ID != "t-hello-en" {
				t.Errorf("Lookup after the fetch = %q, %v", got.ID, err)
			}
			if n := l.count(); n != 1 {
				t.Errorf("%d List calls, want 1", n)
			}
		})
	})

	t.Run("deadline while waiting", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			l := newLister()
			c := newCache(l, newClock())
			release := make(chan struct{})
			defer close(release)
			l.setBlock(release)
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := c.Lookup(ctx, "app-1", "hello", "en")
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v, want context.DeadlineExceeded", err)
			}
			if d := time.Since(start); d != 50*time.Millisecond {
				t.Errorf("returned after %v, want 50ms (its context's deadline)", d)
			}
		})
	})

	t.Run("already cancelled: cached answers, no fetch", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			clk, l := newClock(), newLister()
			c := newCache(l, clk)
			if _, err := c.Lookup(context.Background(), "app-1", "hello", "en"); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if got, err := c.Lookup(ctx, "app-1", "hello", "en"); err != nil || got.ID != "t-hello-en" {
				t.Errorf("cached Lookup with a cancelled ctx = %q, %v", got.ID, err)
			}
			if _, err := c.Lookup(ctx, "app-1", "nope", "en"); !errors.Is(err, templates.ErrNotFound) {
				t.Errorf("miss in a young list with a cancelled ctx: %v, want ErrNotFound", err)
			}
			clk.Add(ttl)
			if _, err := c.Lookup(ctx, "app-1", "hello", "en"); !errors.Is(err, context.Canceled) {
				t.Errorf("expired list with a cancelled ctx: %v, want context.Canceled", err)
			}
			if _, err := c.Lookup(ctx, "app-2", "hello", "en"); !errors.Is(err, context.Canceled) {
				t.Errorf("no list with a cancelled ctx: %v, want context.Canceled", err)
			}
			if n := l.count(); n != 1 {
				t.Errorf("%d List calls, want 1", n)
			}
		})
	})

	t.Run("FetchTimeout bounds the shared call", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			l := newLister()
			l.setBlock(make(chan struct{})) // never released: List waits for its ctx
			c := templates.New(l, templates.Config{FetchTimeout: 50 * time.Millisecond})
			_, err := c.Lookup(context.Background(), "app-1", "hello", "en")
			if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "listing the templates of app app-1") {
				t.Errorf("err = %v, want the List call's DeadlineExceeded, wrapped", err)
			}
		})
	})
}

func TestInvalidateDuringFetch(t *testing.T) {
	t.Parallel()
	clk, l := newClock(), newLister()
	c := newCache(l, clk)
	first := make(chan struct{})
	l.setBlock(first)
	l.set("app-1", []translate.V2Template{tpl("t-old", "hello", "en", "APPROVED")})
	oldc := make(chan string, 1)
	go func() {
		got, err := c.Lookup(context.Background(), "app-1", "hello", "en")
		oldc <- fmt.Sprint(got.ID, err)
	}()
	waitEntered(t, l)

	c.Invalidate("app-1")
	l.setBlock(nil)
	l.set("app-1", []translate.V2Template{tpl("t-new", "hello", "en", "APPROVED")})
	if got, err := c.Lookup(context.Background(), "app-1", "hello", "en"); err != nil || got.ID != "t-new" {
		t.Fatalf("Lookup after Invalidate = %q, %v; want a new fetch's t-new", got.ID, err)
	}
	close(first)
	if got := <-oldc; got != "t-old<nil>" {
		t.Errorf("the lookup waiting since before Invalidate got %s, want its fetch's t-old", got)
	}
	// The older call's answer was not cached over the newer one.
	if got, err := c.Lookup(context.Background(), "app-1", "hello", "en"); err != nil || got.ID != "t-new" {
		t.Errorf("Lookup = %q, %v; want t-new", got.ID, err)
	}
	if n := l.count(); n != 2 {
		t.Errorf("%d List calls, want 2", n)
	}
}

// TestConcurrentUse mixes lookups, misses, invalidations, failures and a
// moving clock, for the race detector.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	clk, l := newClock(), newLister()
	l.set("app-2", baseList())
	c := newCache(l, clk)
	// A fixed amount of work per goroutine (not a fixed time): every run
	// exercises the same mix, however loaded the machine.
	const rounds = 300
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				app := fmt.Sprint("app-", 1+(g+i)%2)
				switch i % 7 {
				case 0:
					c.Invalidate(app)
				case 1:
					clk.Add(time.Second)
				case 2:
					if i%3 == 0 {
						l.setFail(errBoom)
					} else {
						l.setFail(nil)
					}
				}
				got, err := c.Lookup(context.Background(), app, "hello", "en-US"[:2+(i%2)*3])
				if err == nil && got.ID != "t-hello-en" {
					t.Errorf("Lookup = %q", got.ID)
				}
				if err != nil && !errors.Is(err, errBoom) && !errors.Is(err, templates.ErrNotFound) {
					t.Errorf("Lookup err = %v", err)
				}
				if _, err := c.Lookup(context.Background(), app, "promo", "en"); err == nil {
					t.Error("Lookup of an unapproved template succeeded")
				}
			}
		}()
	}
	wg.Wait()
	for len(l.entered) > 0 {
		<-l.entered
	}
}

func TestNegativeEntriesAreBounded(t *testing.T) {
	t.Parallel()
	clk := newClock()
	var calls atomic.Int32
	l := templates.ListerFunc(func(ctx context.Context, appID string) ([]translate.V2Template, error) {
		calls.Add(1)
		return baseList(), nil
	})
	c := templates.New(l, templates.Config{TTL: 24 * time.Hour, NegativeTTL: time.Hour, MinRefresh: time.Nanosecond, Now: clk.Now})
	miss := func(i int) int32 {
		t.Helper()
		clk.Add(time.Nanosecond)
		before := calls.Load()
		if _, err := c.Lookup(context.Background(), "app-1", fmt.Sprint("miss_", i), "en"); !errors.Is(err, templates.ErrNotFound) {
			t.Fatalf("Lookup(miss_%d) err = %v", i, err)
		}
		return calls.Load() - before
	}
	for i := range 2000 {
		if n := miss(i); n != 1 {
			t.Fatalf("first lookup of miss_%d made %d List calls, want 1", i, n)
		}
	}
	if n := miss(1999); n != 0 {
		t.Errorf("a recent miss made %d List calls, want 0 (cached)", n)
	}
	if n := miss(0); n != 1 {
		t.Errorf("the oldest of 2000 misses made %d List calls, want 1 (entries are bounded)", n)
	}
}

func TestWarmLookupDoesNotAllocate(t *testing.T) {
	c, _ := warmCache(t)
	ctx := context.Background()
	for _, lang := range []string{"en_US", "en-us"} {
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := c.Lookup(ctx, "app-1", "order_update", lang); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("warm Lookup(%q) allocates %v times", lang, allocs)
		}
	}
}

// warmCache is a cache holding a 200-template list of app-1.
func warmCache(tb testing.TB) (*templates.Cache, *fakeLister) {
	l := newLister()
	var list []translate.V2Template
	for i := range 100 {
		list = append(list, tpl(fmt.Sprint("t-", i), fmt.Sprint("template_", i), "en", "APPROVED"),
			tpl(fmt.Sprint("t-", i, "-pt"), fmt.Sprint("template_", i), "pt_BR", "APPROVED"))
	}
	list = append(list, translate.V2Template{ID: "t-order", Name: "order_update", Language: "en_US", Status: "APPROVED",
		Type: "TEXT", Body: "Order {{1}}", Buttons: []translate.V2Button{{Type: "QUICK_REPLY", Text: "Yes"}}})
	l.set("app-1", list)
	c := templates.New(l, templates.Config{})
	if got, err := c.Lookup(context.Background(), "app-1", "order_update", "en_US"); err != nil || got.ID != "t-order" {
		tb.Fatalf("Lookup = %q, %v", got.ID, err)
	}
	return c, l
}

func BenchmarkLookupWarm(b *testing.B) {
	c, _ := warmCache(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Lookup(ctx, "app-1", "order_update", "en-us"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLookupWarmParallel(b *testing.B) {
	c, _ := warmCache(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Lookup(ctx, "app-1", "order_update", "en_US"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
