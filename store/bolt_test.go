package store_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"waproxy/store"
	"waproxy/store/storetest"
)

// openBolt opens path, failing the test on error, and closes it at
// cleanup (ignoring ErrClosed).
func openBolt(t testing.TB, path string, opt store.Options) *store.Bolt {
	t.Helper()
	b, err := store.Open(path, opt)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return b
}

// tempPath is a fresh database path.
func tempPath(t testing.TB) string { return filepath.Join(t.TempDir(), "queue.db") }

func TestBoltConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) store.Queue {
		return openBolt(t, tempPath(t), store.Options{
			DedupWindow: storetest.DedupWindow,
			IDTTL:       storetest.IDTTL,
			Now:         now,
		})
	})
}

func TestBoltDurableAcrossReopen(t *testing.T) {
	path := tempPath(t)
	clk := storetest.NewClock()
	opt := store.Options{Now: clk.Now}
	ctx := t.Context()
	b, err := store.Open(path, opt)
	if err != nil {
		t.Fatal(err)
	}
	events := []store.Event{
		{Tenant: "a", Key: "k1", Body: []byte(`{"n":1}`)},
		{Tenant: "a", Key: "k2", Body: []byte(`{"n":2}`)},
		{Tenant: "b", Key: "k3", Body: []byte(`{"n":3}`)},
		{Tenant: "b", Key: "k4", Body: []byte(`{"n":4}`)},
	}
	if _, err := b.Enqueue(ctx, events); err != nil {
		t.Fatal(err)
	}
	now := clk.Now()
	if got, err := b.Lease(ctx, "a", now, 10); err != nil || len(got) != 2 {
		t.Fatalf("Lease(a) = %d, %v", len(got), err)
	}
	if err := b.Retry(ctx, events[1].ID, now, "HTTP 502"); err != nil {
		t.Fatal(err)
	}
	if err := b.DeadLetter(ctx, events[3].ID, "HTTP 410"); err != nil {
		t.Fatal(err)
	}
	if err := b.PutIDs(ctx, []store.IDPair{{GsID: "gs", WAMID: "wamid.X"}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.Lease(ctx, "b", now, 10); len(got) != 1 {
		t.Fatalf("Lease(b) = %d events, want 1", len(got))
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	b = openBolt(t, path, opt)
	st, err := b.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Pending["a"] != 2 || st.Pending["b"] != 1 || len(st.Pending) != 2 || st.Dead != 1 || !st.Oldest.Equal(now) {
		t.Fatalf("Stats after reopen = %+v", st)
	}
	// Leases did not survive: everything pending is leasable again.
	got, err := b.Lease(ctx, "a", now, 10)
	if err != nil || len(got) != 2 {
		t.Fatalf("Lease(a) after reopen = %d, %v, want 2", len(got), err)
	}
	if got[0].ID != events[0].ID || got[0].Attempts != 0 || string(got[0].Body) != `{"n":1}` {
		t.Fatalf("event 0 after reopen: %+v", got[0])
	}
	if got[1].ID != events[1].ID || got[1].Attempts != 1 || got[1].LastError != "HTTP 502" {
		t.Fatalf("retried event after reopen: %+v", got[1])
	}
	if got, err := b.Lease(ctx, "b", now, 10); err != nil || len(got) != 1 || got[0].ID != events[2].ID {
		t.Fatalf("Lease(b) after reopen = %+v, %v", got, err)
	}
	dead, err := b.DeadLetters(ctx, 0)
	if err != nil || len(dead) != 1 || dead[0].ID != events[3].ID || dead[0].LastError != "HTTP 410" {
		t.Fatalf("DeadLetters after reopen = %+v, %v", dead, err)
	}
	dup, err := b.Enqueue(ctx, []store.Event{{Tenant: "a", Key: "k1"}, {Tenant: "a", Key: "k5"}})
	if err != nil || !dup[0] || dup[1] {
		t.Fatalf("dedup after reopen: %v, %v, want [true false]", dup, err)
	}
	if w, ok, err := b.WAMID(ctx, "gs"); err != nil || !ok || w != "wamid.X" {
		t.Fatalf("WAMID after reopen = %q, %v, %v", w, ok, err)
	}
	if got, err := b.Lease(ctx, "a", now, 10); err != nil || len(got) != 1 || got[0].ID <= events[3].ID {
		t.Fatalf("new event after reopen: %+v, %v (ids must keep growing)", got, err)
	}
}

// TestBoltOpenLockedFile runs in a synctest bubble: bbolt's wait for the
// lock runs on the bubble's clock, so the time Open took is exact.
func TestBoltOpenLockedFile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := tempPath(t)
		first, err := store.Open(path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		second, err := store.Open(path, store.Options{OpenTimeout: 100 * time.Millisecond})
		if !errors.Is(err, store.ErrLocked) {
			if second != nil {
				second.Close()
			}
			t.Fatalf("second Open: %v, want ErrLocked", err)
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("error %q does not name the path", err)
		}
		// bbolt retries the lock every 50ms until the timeout has passed.
		if d := time.Since(start); d < 100*time.Millisecond || d > 150*time.Millisecond {
			t.Errorf("gave up after %v, want OpenTimeout (100ms) + at most one 50ms retry", d)
		}
		if err := first.Close(); err != nil {
			t.Fatal(err)
		}
		openBolt(t, path, store.Options{OpenTimeout: 100 * time.Millisecond})
	})
}

func TestBoltCloseTwice(t *testing.T) {
	b, err := store.Open(tempPath(t), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("second Close: %v, want ErrClosed", err)
	}
}

func TestBoltZeroOptionsUseWallClock(t *testing.T) {
	b := openBolt(t, tempPath(t), store.Options{})
	before := time.Now()
	events := []store.Event{{Tenant: "a", Body: []byte("{}")}}
	if _, err := b.Enqueue(t.Context(), events); err != nil {
		t.Fatal(err)
	}
	if e := events[0]; e.Created.Before(before) || e.Created.After(time.Now()) || !e.NextAt.Equal(e.Created) {
		t.Fatalf("Created %v NextAt %v, want now", e.Created, e.NextAt)
	}
	got, err := b.Lease(t.Context(), "a", time.Now(), 1)
	if err != nil || len(got) != 1 {
		t.Fatalf("Lease = %v, %v", got, err)
	}
}

func TestBoltEnqueueRejectsNULTenant(t *testing.T) {
	b := openBolt(t, tempPath(t), store.Options{NoSync: true})
	_, err := b.Enqueue(t.Context(), []store.Event{{Tenant: "ok"}, {Tenant: "a\x00b"}})
	if err == nil {
		t.Fatal("Enqueue accepted a tenant with NUL")
	}
	st, err := b.Stats(t.Context())
	if err != nil || len(st.Pending) != 0 {
		t.Fatalf("rejected call stored events: %+v, %v", st, err)
	}
}

// bucketLen fails the test on error.
func bucketLen(t *testing.T, b *store.Bolt, name string) int {
	t.Helper()
	n, err := b.BucketLen(name)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// nextSweep lets one sweep interval pass on the synctest bubble's clock
// and returns once the sweeper it woke is idle again.
func nextSweep(every time.Duration) {
	tick := time.NewTimer(every)
	<-tick.C
	synctest.Wait()
}

// TestBoltSweeperRemovesExpired runs in a synctest bubble: the sweeper's
// ticker runs on the bubble's clock, so each step lets exactly one sweep
// happen and then checks what it left.
func TestBoltSweeperRemovesExpired(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const sweepEvery = 5 * time.Millisecond
		clk := storetest.NewClock()
		b := openBolt(t, tempPath(t), store.Options{
			DedupWindow: time.Hour, IDTTL: 2 * time.Hour, SweepEvery: sweepEvery,
			NoSync: true, Now: clk.Now,
		})
		ctx := t.Context()
		// More than one sweep chunk (1000) of each.
		const n = 2500
		events := make([]store.Event, n)
		pairs := make([]store.IDPair, n)
		for i := range events {
			events[i] = store.Event{Tenant: "a", Key: fmt.Sprint("key-", i)}
			pairs[i] = store.IDPair{GsID: fmt.Sprint("gs-", i), WAMID: fmt.Sprint("wamid-", i)}
		}
		if _, err := b.Enqueue(ctx, events); err != nil {
			t.Fatal(err)
		}
		if err := b.PutIDs(ctx, pairs); err != nil {
			t.Fatal(err)
		}
		if d, i := bucketLen(t, b, "dedup"), bucketLen(t, b, "ids"); d != n || i != n {
			t.Fatalf("before expiry: %d dedup keys, %d id pairs, want %d", d, i, n)
		}
		// Renew one pair later: it must survive the first expiry.
		clk.Add(30 * time.Minute)
		if err := b.PutIDs(ctx, []store.IDPair{{GsID: "gs-7", WAMID: "renewed"}}); err != nil {
			t.Fatal(err)
		}

		clk.Add(time.Hour) // dedup keys expired, id pairs not yet
		nextSweep(sweepEvery)
		if d, e := bucketLen(t, b, "dedup"), bucketLen(t, b, "dedupexp"); d != 0 || e != 0 {
			t.Fatalf("after a sweep: %d dedup keys, %d expiries left, want none", d, e)
		}
		if i := bucketLen(t, b, "ids"); i != n {
			t.Fatalf("id pairs swept early: %d left, want %d", i, n)
		}
		clk.Add(45 * time.Minute) // original pairs expired, the renewed one not
		nextSweep(sweepEvery)
		if i, e := bucketLen(t, b, "ids"), bucketLen(t, b, "idsexp"); i != 1 || e != 1 {
			t.Fatalf("after a sweep: %d id pairs, %d expiries left, want the renewed one", i, e)
		}
		if w, ok, err := b.WAMID(ctx, "gs-7"); err != nil || !ok || w != "renewed" {
			t.Fatalf("renewed pair = %q, %v, %v", w, ok, err)
		}
		// Events themselves are never swept.
		if e := bucketLen(t, b, "events"); e != n {
			t.Fatalf("%d events left, want %d", e, n)
		}
		// A swept key can be used again.
		dup, err := b.Enqueue(ctx, []store.Event{{Tenant: "a", Key: "key-1"}})
		if err != nil || dup[0] {
			t.Fatalf("re-enqueue swept key: %v, %v", dup, err)
		}
	})
}

func TestBoltSweepIsIdempotentAndSkipsLive(t *testing.T) {
	clk := storetest.NewClock()
	b := openBolt(t, tempPath(t), store.Options{DedupWindow: time.Minute, NoSync: true, Now: clk.Now})
	ctx := t.Context()
	if _, err := b.Enqueue(ctx, []store.Event{{Tenant: "a", Key: "old"}}); err != nil {
		t.Fatal(err)
	}
	clk.Add(2 * time.Minute)
	// "old" expired; re-enqueueing replaces its expiry and index key.
	if dup, err := b.Enqueue(ctx, []store.Event{{Tenant: "a", Key: "old"}, {Tenant: "a", Key: "new"}}); err != nil || dup[0] || dup[1] {
		t.Fatalf("Enqueue = %v, %v", dup, err)
	}
	if n, err := b.SweepNow(); err != nil || n != 0 {
		t.Fatalf("SweepNow = %d, %v, want 0 (nothing expired)", n, err)
	}
	if d, x := bucketLen(t, b, "dedup"), bucketLen(t, b, "dedupexp"); d != 2 || x != 2 {
		t.Fatalf("dedup %d dedupexp %d, want 2 and 2 (stale index key replaced)", d, x)
	}
	clk.Add(2 * time.Minute)
	if n, err := b.SweepNow(); err != nil || n != 2 {
		t.Fatalf("SweepNow = %d, %v, want 2", n, err)
	}
	if n, err := b.SweepNow(); err != nil || n != 0 {
		t.Fatalf("second SweepNow = %d, %v, want 0", n, err)
	}
}

func TestBoltConcurrentEnqueue(t *testing.T) {
	b := openBolt(t, tempPath(t), store.Options{})
	const workers, calls = 32, 40
	var mu sync.Mutex
	seen := make(map[uint64]bool)
	var dups atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for c := range calls {
				events := []store.Event{
					{Tenant: fmt.Sprint("t", w%4), Key: fmt.Sprint("own-", w, "-", c), Body: []byte("{}")},
					// Every worker offers the same key per round: one wins.
					{Tenant: "shared", Key: fmt.Sprint("shared-", c), Body: []byte("{}")},
				}
				dup, err := b.Enqueue(t.Context(), events)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				for i, e := range events {
					if dup[i] {
						dups.Add(1)
						continue
					}
					if seen[e.ID] {
						mu.Unlock()
						errs <- fmt.Errorf("id %d assigned twice", e.ID)
						return
					}
					seen[e.ID] = true
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if want := workers*calls + calls; len(seen) != want {
		t.Fatalf("%d events stored, want %d", len(seen), want)
	}
	if want := int64((workers - 1) * calls); dups.Load() != want {
		t.Fatalf("%d dups, want %d", dups.Load(), want)
	}
	st, err := b.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, n := range st.Pending {
		total += n
	}
	if total != len(seen) || st.Pending["shared"] != calls {
		t.Fatalf("Stats.Pending = %v, want %d total, %d shared", st.Pending, len(seen), calls)
	}
}

func TestBoltLeaseSeeksPastLargeBacklog(t *testing.T) {
	clk := storetest.NewClock()
	now := clk.Now()
	b := openBolt(t, tempPath(t), store.Options{NoSync: true, Now: clk.Now})
	ctx := t.Context()
	// Tenant "big": 19,990 events due in an hour, 10 due now, interleaved
	// by id. Tenants sorting before and after it have due events too.
	const total, due = 20000, 10
	var batch []store.Event
	flush := func() {
		if _, err := b.Enqueue(ctx, batch); err != nil {
			t.Fatal(err)
		}
		batch = batch[:0]
	}
	for i := range total {
		at := now.Add(time.Hour)
		if i%(total/due) == 0 {
			at = now
		}
		batch = append(batch, store.Event{Tenant: "big", Body: []byte("{}"), NextAt: at})
		if i%100 == 0 {
			batch = append(batch,
				store.Event{Tenant: "bia", Body: []byte("{}"), NextAt: now},
				store.Event{Tenant: "big2", Body: []byte("{}"), NextAt: now})
		}
		if len(batch) >= 1000 {
			flush()
		}
	}
	flush()

	v0 := b.KeysVisited()
	got, err := b.Lease(ctx, "big", now, 100)
	if err != nil || len(got) != due {
		t.Fatalf("Lease = %d events, %v, want %d", len(got), err, due)
	}
	for _, e := range got {
		if e.Tenant != "big" || !e.NextAt.Equal(now) {
			t.Fatalf("leased %+v", e)
		}
	}
	// 10 due keys plus the first not-due key that stops the walk.
	if v := b.KeysVisited() - v0; v > due+1 {
		t.Fatalf("Lease visited %d keys, want <= %d", v, due+1)
	}
	// All due ones leased: the walk passes the 10 leased keys and stops.
	v0 = b.KeysVisited()
	if got, err := b.Lease(ctx, "big", now, 100); err != nil || len(got) != 0 {
		t.Fatalf("second Lease = %d, %v", len(got), err)
	}
	if v := b.KeysVisited() - v0; v > due+1 {
		t.Fatalf("second Lease visited %d keys, want <= %d", v, due+1)
	}
}

func TestBoltLeaseWalksAtMostMaxPlusLeased(t *testing.T) {
	clk := storetest.NewClock()
	now := clk.Now()
	b := openBolt(t, tempPath(t), store.Options{NoSync: true, Now: clk.Now})
	ctx := t.Context()
	events := make([]store.Event, 500)
	for i := range events {
		events[i] = store.Event{Tenant: "a", Body: []byte("{}")}
	}
	if _, err := b.Enqueue(ctx, events); err != nil {
		t.Fatal(err)
	}
	const max = 25
	leased := 0
	for leased < len(events) {
		v0 := b.KeysVisited()
		got, err := b.Lease(ctx, "a", now, max)
		if err != nil || len(got) != max {
			t.Fatalf("Lease = %d, %v", len(got), err)
		}
		if v := b.KeysVisited() - v0; v > int64(max+leased) {
			t.Fatalf("Lease visited %d keys with %d leased, want <= %d", v, leased, max+leased)
		}
		leased += len(got)
		// Acking keeps the walk short: acked keys are gone.
		if leased%100 == 0 {
			for _, e := range got {
				if err := b.Ack(ctx, e.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if n := b.Leased(); n != leased-len(events)/100*max {
		t.Fatalf("%d leases held, want %d", n, leased-len(events)/100*max)
	}
}

func TestBoltEnqueueWritesBackDefaults(t *testing.T) {
	clk := storetest.NewClock()
	b := openBolt(t, tempPath(t), store.Options{NoSync: true, Now: clk.Now})
	next := clk.Now().Add(time.Minute)
	events := []store.Event{{Tenant: "a", Key: "k"}, {Tenant: "a", NextAt: next}, {Tenant: "a", Key: "k"}}
	dup, err := b.Enqueue(t.Context(), events)
	if err != nil {
		t.Fatal(err)
	}
	if !events[0].Created.Equal(clk.Now()) || !events[0].NextAt.Equal(clk.Now()) || !events[1].NextAt.Equal(next) {
		t.Fatalf("defaults not written back: %+v", events[:2])
	}
	if !dup[2] || events[2].ID != 0 {
		t.Fatalf("dup event: dup %v id %d, want dup and no id", dup[2], events[2].ID)
	}
}

func TestRecordCodec(t *testing.T) {
	base := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	for _, e := range []store.Event{
		{ID: 1, Tenant: "a", Key: "k", Body: []byte(`{"x":"y"}`), Created: base, NextAt: base.Add(time.Second), Attempts: 3, LastError: "HTTP 500"},
		{ID: 2, Tenant: "", Key: "", Body: []byte{}, Created: base, NextAt: base},
		{ID: 3, Tenant: "tenant-ü", Key: strings.Repeat("k", 300), Body: []byte(strings.Repeat("b", 70000)), Created: time.Unix(-5, 0), NextAt: time.Unix(0, -1), Attempts: -1},
	} {
		got, err := store.EncodeDecode(e)
		if err != nil {
			t.Fatalf("event %d: %v", e.ID, err)
		}
		if got.ID != e.ID || got.Tenant != e.Tenant || got.Key != e.Key || string(got.Body) != string(e.Body) ||
			!got.Created.Equal(e.Created) || !got.NextAt.Equal(e.NextAt) || got.Attempts != e.Attempts || got.LastError != e.LastError {
			t.Fatalf("round trip of event %d: got %+v", e.ID, got)
		}
	}
	for _, v := range [][]byte{nil, {}, {9}, {1}, {1, 5, 'a'}, {1, 0, 0, 0, 0x80}} {
		if err := store.DecodeRecord(v); err == nil {
			t.Errorf("DecodeRecord(%x) accepted corrupt input", v)
		}
	}
}

// benchOpen opens a store for a benchmark.
func benchOpen(b *testing.B, noSync bool) *store.Bolt {
	b.Helper()
	return openBolt(b, tempPath(b), store.Options{NoSync: noSync})
}

// syncModes names the durable and NoSync variants.
func syncModes() []struct {
	name   string
	noSync bool
} {
	return []struct {
		name   string
		noSync bool
	}{{"fsync", false}, {"NoSync", true}}
}

func BenchmarkEnqueueParallel(b *testing.B) {
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"123","changes":[{"field":"messages","value":{"messaging_product":"whatsapp"}}]}]}`)
	for _, m := range syncModes() {
		b.Run(m.name, func(b *testing.B) {
			q := benchOpen(b, m.noSync)
			var seq atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(16) // 16 × GOMAXPROCS concurrent Enqueue calls
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					n := seq.Add(1)
					ev := []store.Event{{Tenant: fmt.Sprint("t", n%8), Key: fmt.Sprint("message:", n), Body: body}}
					if _, err := q.Enqueue(b.Context(), ev); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

func BenchmarkEnqueueLeaseAck(b *testing.B) {
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"123","changes":[{"field":"messages","value":{"messaging_product":"whatsapp"}}]}]}`)
	for _, m := range syncModes() {
		b.Run(m.name, func(b *testing.B) {
			q := benchOpen(b, m.noSync)
			ctx := b.Context()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				ev := []store.Event{{Tenant: "t", Key: fmt.Sprint("message:", i), Body: body}}
				if _, err := q.Enqueue(ctx, ev); err != nil {
					b.Fatal(err)
				}
				got, err := q.Lease(ctx, "t", time.Now(), 1)
				if err != nil || len(got) != 1 {
					b.Fatalf("Lease = %d, %v", len(got), err)
				}
				if err := q.Ack(ctx, got[0].ID); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
