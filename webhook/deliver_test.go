package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"waproxy/store"
)

// Delivery tests run in a synctest bubble over an in-process network: the
// relay's tickers, backoffs and timeouts run on the bubble's fake clock,
// so the timings they assert are exact and cannot flake under load.

const poll = 5 * time.Millisecond // newRelay's PollInterval

func TestDeliverySignsExactBytes(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		nw := newNetwork()
		rc := newReceiver(nw, "tenant-a.test", nil)
		f := newRelay(t, nw, []Target{{Tenant: "a", URL: rc.URL, AppSecret: appSec}}, nil)
		f.relay.Start()
		if got := f.post(t, appA, secretA, statusCallback("gs-42", "delivered")); got != 200 {
			t.Fatalf("intake = %d", got)
		}
		waitFor(t, "delivery and ack", func() bool { return rc.count.Load() == 1 && f.pending(t) == 0 })
		rc.mu.Lock()
		body, h := rc.got[0], rc.headers[0]
		rc.mu.Unlock()
		mac := hmac.New(sha256.New, []byte(appSec))
		mac.Write(body)
		if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); h.Get("X-Hub-Signature-256") != want {
			t.Errorf("X-Hub-Signature-256 = %q, want %q", h.Get("X-Hub-Signature-256"), want)
		}
		if !strings.HasPrefix(h.Get("X-Hub-Signature"), "sha1=") {
			t.Errorf("X-Hub-Signature = %q", h.Get("X-Hub-Signature"))
		}
		if h.Get("Content-Type") != "application/json" || h.Get("Content-Length") == "" {
			t.Errorf("Content-Type %q, Content-Length %q", h.Get("Content-Type"), h.Get("Content-Length"))
		}
		for _, want := range []string{`"id":"gs-42"`, `"status":"delivered"`, `"phone_number_id":"100000000000001"`} {
			if !strings.Contains(string(body), want) {
				t.Errorf("body lacks %s: %s", want, body)
			}
		}
		if strings.Contains(string(body), "gs_app_id") || strings.Contains(string(body), "gs_id") {
			t.Errorf("Gupshup-only members leaked: %s", body)
		}
		if w, ok := f.relay.WAMID(context.Background(), "gs-42"); !ok || w != "wamid.gs-42" {
			t.Errorf("id map: WAMID(gs-42) = %q, %v", w, ok)
		}
	})
}

func TestDuplicateIntakeDeliversOnce(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		nw := newNetwork()
		rc := newReceiver(nw, "tenant-a.test", nil)
		f := newRelay(t, nw, []Target{{Tenant: "a", URL: rc.URL, AppSecret: appSec}}, nil)
		f.relay.Start()
		v3 := statusCallback("gs-7", "read")
		v2 := `{"app":"A","timestamp":1716900845926,"version":2,"type":"message-event","payload":{"id":"wamid.gs-7","gsId":"gs-7","type":"read","destination":"15551234567","payload":{"ts":1716900845}}}`
		for _, b := range []string{v3, v3, v2} {
			if got := f.post(t, appA, secretA, b); got != 200 {
				t.Fatalf("intake = %d", got)
			}
		}
		// A regression (a late "sent" after "read") is a different event.
		if got := f.post(t, appA, secretA, statusCallback("gs-7", "sent")); got != 200 {
			t.Fatalf("intake = %d", got)
		}
		waitFor(t, "an empty queue", func() bool { return f.pending(t) == 0 })
		// Ten more poll cycles: a duplicate that had been queued would
		// have been delivered by now.
		settle(10 * poll)
		if n := rc.count.Load(); n != 2 {
			t.Errorf("deliveries = %d, want 2 (read once, sent once)", n)
		}
	})
}

func TestRetriesUntilTheEndpointRecovers(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		nw := newNetwork()
		rc := newReceiver(nw, "tenant-a.test", func(n int, w http.ResponseWriter) {
			if n <= 3 {
				w.WriteHeader(http.StatusInternalServerError)
			}
		})
		// No jitter: the delays are exactly base·2^(n-1)/2 = 5, 10, 20ms.
		f := newRelay(t, nw, []Target{{Tenant: "a", URL: rc.URL, AppSecret: appSec}}, func(o *Options) {
			o.Jitter = func() float64 { return 0 }
		})
		f.relay.Start()
		f.post(t, appA, secretA, statusCallback("gs-1", "sent"))
		waitFor(t, "the fourth attempt and the ack", func() bool { return rc.count.Load() == 4 && f.pending(t) == 0 })
		bodies := rc.bodies()
		for i := 1; i < len(bodies); i++ {
			if string(bodies[i]) != string(bodies[0]) {
				t.Errorf("attempt %d sent different bytes", i+1)
			}
		}
		rc.mu.Lock()
		times := append([]time.Time(nil), rc.times...)
		rc.mu.Unlock()
		for i, want := range []time.Duration{5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond} {
			// The retry is leased by the first poll at or after its due time.
			if gap := times[i+1].Sub(times[i]); gap < want || gap > want+poll {
				t.Errorf("gap before attempt %d = %v, want %v (+ at most one poll interval)", i+2, gap, want)
			}
		}
	})
}

// steppingWall is a wall clock that can be made to drift and step. It
// carries no monotonic reading, like a wall clock read back from disk.
type steppingWall struct {
	start  time.Time
	offset atomic.Int64 // nanoseconds added to the true time
	rate   float64      // 1 runs true; 1.01 runs 1 % fast
}

func (w *steppingWall) now() time.Time {
	el := time.Since(w.start)
	return w.start.Add(time.Duration(float64(el)*w.rate) + time.Duration(w.offset.Load())).Round(0)
}

func TestRetryAfterIsHonoured(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		rate  float64
		early time.Duration // applied to the wall clock after the relay started, before the event
		step  time.Duration // applied to the wall clock once the retry is scheduled
		date  bool          // Retry-After as an HTTP date (a second from now) instead of "1"
	}{
		{"a true wall clock", 1, 0, 0, false},
		{"an HTTP date is read against the wall clock", 1, 0, 0, true},
		{"an HTTP date is read against the wall clock as it is now", 1, time.Hour, 0, true},
		{"a wall clock running 1% fast does not shorten the wait", 1.01, 0, 0, false},
		{"a wall clock stepped forward an hour does not fire the retry early", 1, 0, time.Hour, false},
		{"a wall clock stepped back an hour does not hold the retry back", 1, 0, -time.Hour, false},
		{"a wall clock stepped back after an HTTP date does not hold the retry back", 1, 0, -time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				wall := &steppingWall{start: time.Now(), rate: tt.rate}
				nw := newNetwork()
				rc := newReceiver(nw, "tenant-a.test", func(n int, w http.ResponseWriter) {
					if n == 1 {
						ra := "1"
						if tt.date {
							// The bubble's clock starts on a whole second, and
							// the first attempt is made at once.
							ra = wall.now().Add(time.Second).Format(http.TimeFormat)
						}
						w.Header().Set("Retry-After", ra)
						w.WriteHeader(http.StatusServiceUnavailable)
					}
				})
				f := newRelay(t, nw, []Target{{Tenant: "a", URL: rc.URL, AppSecret: appSec}}, func(o *Options) { o.Now = wall.now })
				f.relay.Start()
				wall.offset.Add(int64(tt.early))
				f.post(t, appA, secretA, statusCallback("gs-1", "sent"))
				// Once the bubble is quiescent after the first attempt, its
				// retry has been scheduled.
				waitFor(t, "the first attempt", func() bool { return rc.count.Load() == 1 })
				wall.offset.Add(int64(tt.step))
				waitFor(t, "the second attempt", func() bool { return rc.count.Load() == 2 })
				rc.mu.Lock()
				gap := rc.times[1].Sub(rc.times[0])
				rc.mu.Unlock()
				if gap < time.Second || gap > time.Second+poll {
					t.Errorf("second attempt after %v, want 1s (Retry-After) + at most one poll interval", gap)
				}
			})
		})
	}
}

func TestTimeoutsAreRetried(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		nw := newNetwork()
		rc := newReceiver(nw, "tenant-a.test", func(n int, w http.ResponseWriter) {
			if n == 1 {
				select {
				case <-release:
				case <-time.After(2 * time.Second):
				}
			}
		})
		f := newRelay(t, nw, []Target{{Tenant: "a", URL: rc.URL, AppSecret: appSec}}, func(o *Options) { o.AttemptTimeout = 100 * time.Millisecond })
		f.relay.Start()
		start := time.Now()
		f.post(t, appA, secretA, statusCallback("gs-1", "sent"))
		waitFor(t, "the retry after a timeout and the ack", func() bool { return rc.count.Load() == 2 && f.pending(t) == 0 })
		rc.mu.Lock()
		second := rc.times[1].Sub(start)
		rc.mu.Unlock()
		// The first attempt was cut at 100ms, long before the endpoint's 2s.
		if second < 100*time.Millisecond || second > time.Second {
			t.Errorf("second attempt at %v, want just after the 100ms attempt timeout plus a backoff", second)
		}
	})
}

func TestDeadLetterAfterTheHorizon(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		nw := newNetwork()
		rc := newReceiver(nw, "tenant-a.test", func(_ int, w http.ResponseWriter) { w.WriteHeader(http.StatusBadGateway) })
		f := newRelay(t, nw, []Target{{Tenant: "a", URL: rc.URL, AppSecret: appSec}}, func(o *Options) { o.Horizon = 150 * time.Millisecond })
		f.relay.Start()
		f.post(t, appA, secretA, statusCallback("gs-1", "sent"))
		var dead []store.Event
		waitFor(t, "a dead letter", func() bool {
			dead, _ = f.q.DeadLetters(context.Background(), 10)
			return len(dead) == 1
		})
		if dead[0].Attempts < 2 || dead[0].LastError != "HTTP 502" {
			t.Errorf("dead letter = attempts %d, last error %q", dead[0].Attempts, dead[0].LastError)
		}
		if n := f.pending(t); n != 0 {
			t.Errorf("pending = %d after the dead letter, want 0", n)
		}
		n := rc.count.Load()
		// Twenty poll cycles, longer than the largest backoff (40ms).
		settle(20 * poll)
		if got := rc.count.Load(); got != n {
			t.Errorf("a dead letter was attempted again: %d attempts, then %d", n, got)
		}
	})
}

func TestSlowTenantDoesNotStarveOthers(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		block := make(chan struct{})
		var inFlight, maxInFlight atomic.Int32
		nw := newNetwork()
		slow := newReceiver(nw, "tenant-a.test", func(_ int, w http.ResponseWriter) {
			n := inFlight.Add(1)
			for {
				m := maxInFlight.Load()
				if n <= m || maxInFlight.CompareAndSwap(m, n) {
					break
				}
			}
			<-block
			inFlight.Add(-1)
		})
		fast := newReceiver(nw, "tenant-b.test", nil)
		f := newRelay(t, nw, []Target{
			{Tenant: "a", URL: slow.URL, AppSecret: appSec, Concurrency: 2},
			{Tenant: "b", URL: fast.URL, AppSecret: appSec, Concurrency: 2},
		}, func(o *Options) { o.AttemptTimeout = 20 * time.Second })
		f.relay.Start()
		for i := range 10 {
			f.post(t, appA, secretA, statusCallback("slow-"+string(rune('a'+i)), "sent"))
		}
		for i := range 10 {
			f.post(t, "app-b", "cb-secret-b", statusCallback("fast-"+string(rune('a'+i)), "sent"))
		}
		waitFor(t, "the fast tenant's 10 deliveries", func() bool { return fast.count.Load() == 10 })
		if got := slow.count.Load(); got != 2 {
			t.Errorf("slow tenant received %d requests while 2 hung, want 2", got)
		}
		if got := maxInFlight.Load(); got > 2 {
			t.Errorf("slow tenant had %d deliveries in flight, want ≤ 2", got)
		}
		close(block)
		waitFor(t, "the slow tenant's 10 deliveries", func() bool { return slow.count.Load() == 10 })
	})
}
