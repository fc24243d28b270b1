// Package storetest is the conformance suite for store.Queue
// implementations: every implementation (Bolt, a future Redis one) runs
// Run from its own tests.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"waproxy/store"
)

// DedupWindow is the dedup window the queue returned by Run's open must be
// configured with.
const DedupWindow = 10 * time.Minute

// IDTTL is the id-map TTL the queue returned by Run's open must be
// configured with.
const IDTTL = time.Hour

// Run runs the conformance suite. open must return a fresh, empty queue
// configured with DedupWindow and IDTTL that reads time from now (for
// Created defaults, dedup and id expiry), and must close it in t.Cleanup
// (ignoring ErrClosed: some subtests close it themselves).
func Run(t *testing.T, open func(t *testing.T, now func() time.Time) store.Queue) {
	s := suite{open: open}
	t.Run("Enqueue", s.enqueue)
	t.Run("Lease", s.lease)
	t.Run("Retry", s.retry)
	t.Run("Ack", s.ack)
	t.Run("DeadLetter", s.deadLetter)
	t.Run("Replay", s.replay)
	t.Run("UnknownID", s.unknownID)
	t.Run("Stats", s.stats)
	t.Run("IDs", s.ids)
	t.Run("Context", s.context)
	t.Run("Closed", s.closed)
	t.Run("Concurrency", s.concurrency)
}

// t0 is where every suite clock starts.
func t0() time.Time { return time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC) }

// Clock is a settable time source for a queue's Options.Now, safe for
// concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock at the time every suite clock starts at
// (2030-01-02 03:04:05 UTC).
func NewClock() *Clock { return &Clock{now: t0()} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to at.
func (c *Clock) Set(at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = at
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type suite struct {
	open func(t *testing.T, now func() time.Time) store.Queue
}

// fresh opens an empty queue whose clock starts at t0.
func (s suite) fresh(t *testing.T) (store.Queue, *Clock) {
	t.Helper()
	c := NewClock()
	return s.open(t, c.Now), c
}

// ev builds an event of tenant with key and a body naming the key.
func ev(tenant, key string) store.Event {
	return store.Event{Tenant: tenant, Key: key, Body: fmt.Appendf(nil, `{"k":%q}`, key)}
}

// evAt is ev due at at.
func evAt(tenant, key string, at time.Time) store.Event {
	e := ev(tenant, key)
	e.NextAt = at
	return e
}

// enqueue stores events, failing the test on error or any dup, and
// returns them with their IDs.
func enqueue(t *testing.T, q store.Queue, events ...store.Event) []store.Event {
	t.Helper()
	dup, err := q.Enqueue(t.Context(), events)
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	if len(dup) != len(events) {
		t.Fatalf("Enqueue: %d dup flags for %d events", len(dup), len(events))
	}
	for i, d := range dup {
		if d {
			t.Fatalf("Enqueue: event %d (key %q) reported dup", i, events[i].Key)
		}
		if events[i].ID == 0 {
			t.Fatalf("Enqueue: event %d got no ID", i)
		}
	}
	return events
}

// lease calls Lease, failing the test on error.
func lease(t *testing.T, q store.Queue, tenant string, now time.Time, max int) []store.Event {
	t.Helper()
	got, err := q.Lease(t.Context(), tenant, now, max)
	if err != nil {
		t.Fatalf("Lease(%q): %v", tenant, err)
	}
	return got
}

// ids lists the events' IDs.
func ids(events []store.Event) []uint64 {
	out := make([]uint64, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

// wantIDs fails unless got has exactly the IDs of want, in order.
func wantIDs(t *testing.T, what string, got, want []store.Event) {
	t.Helper()
	g, w := ids(got), ids(want)
	if fmt.Sprint(g) != fmt.Sprint(w) {
		t.Fatalf("%s: ids %v, want %v", what, g, w)
	}
}

// stats calls Stats, failing the test on error.
func stats(t *testing.T, q store.Queue) store.Stats {
	t.Helper()
	st, err := q.Stats(t.Context())
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	return st
}

// pending fails unless Stats.Pending matches want (absent tenants count 0).
func pending(t *testing.T, q store.Queue, want map[string]int) {
	t.Helper()
	st := stats(t, q)
	for tenant, n := range st.Pending {
		if n != want[tenant] {
			t.Fatalf("Stats.Pending = %v, want %v", st.Pending, want)
		}
	}
	for tenant, n := range want {
		if st.Pending[tenant] != n {
			t.Fatalf("Stats.Pending = %v, want %v", st.Pending, want)
		}
	}
}

func (s suite) enqueue(t *testing.T) {
	t.Run("assigns increasing ids and reports no dups for new keys", func(t *testing.T) {
		q, _ := s.fresh(t)
		a := enqueue(t, q, ev("a", "k1"), ev("a", "k2"), ev("b", "k3"))
		b := enqueue(t, q, ev("a", "k4"))
		all := append(a, b...)
		for i := 1; i < len(all); i++ {
			if all[i].ID <= all[i-1].ID {
				t.Fatalf("ids not increasing: %v", ids(all))
			}
		}
	})
	t.Run("empty batch is a no-op", func(t *testing.T) {
		q, _ := s.fresh(t)
		dup, err := q.Enqueue(t.Context(), nil)
		if err != nil || len(dup) != 0 {
			t.Fatalf("Enqueue(nil) = %v, %v", dup, err)
		}
		pending(t, q, nil)
	})
	t.Run("Created defaults to now and NextAt to Created", func(t *testing.T) {
		q, c := s.fresh(t)
		e := enqueue(t, q, ev("a", "k"))[0]
		got := lease(t, q, "a", c.Now(), 10)
		if len(got) != 1 {
			t.Fatalf("Lease at Created: %d events, want 1", len(got))
		}
		if !got[0].Created.Equal(t0()) || !got[0].NextAt.Equal(t0()) {
			t.Fatalf("Created %v NextAt %v, want both %v", got[0].Created, got[0].NextAt, t0())
		}
		if got[0].ID != e.ID {
			t.Fatalf("leased id %d, want %d", got[0].ID, e.ID)
		}
	})
	t.Run("explicit Created and NextAt are kept", func(t *testing.T) {
		q, _ := s.fresh(t)
		created, next := t0().Add(-time.Hour), t0().Add(time.Minute)
		e := ev("a", "k")
		e.Created, e.NextAt = created, next
		enqueue(t, q, e)
		if got := lease(t, q, "a", next.Add(-time.Nanosecond), 10); len(got) != 0 {
			t.Fatalf("leased before NextAt: %v", ids(got))
		}
		got := lease(t, q, "a", next, 10)
		if len(got) != 1 || !got[0].Created.Equal(created) || !got[0].NextAt.Equal(next) {
			t.Fatalf("Lease = %+v, want Created %v NextAt %v", got, created, next)
		}
	})
	t.Run("same key twice in one call is stored once", func(t *testing.T) {
		q, c := s.fresh(t)
		events := []store.Event{ev("a", "k"), ev("a", "other"), ev("a", "k")}
		dup, err := q.Enqueue(t.Context(), events)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(dup) != "[false false true]" {
			t.Fatalf("dup = %v, want [false false true]", dup)
		}
		got := lease(t, q, "a", c.Now(), 10)
		wantIDs(t, "Lease", got, events[:2])
		pending(t, q, map[string]int{"a": 2})
	})
	t.Run("same key in a later call within the window is a dup", func(t *testing.T) {
		q, c := s.fresh(t)
		enqueue(t, q, ev("a", "k"))
		c.Set(t0().Add(DedupWindow - time.Minute))
		dup, err := q.Enqueue(t.Context(), []store.Event{ev("a", "k"), ev("a", "new")})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(dup) != "[true false]" {
			t.Fatalf("dup = %v, want [true false]", dup)
		}
		pending(t, q, map[string]int{"a": 2})
	})
	t.Run("same key after the window is stored again", func(t *testing.T) {
		q, c := s.fresh(t)
		first := enqueue(t, q, ev("a", "k"))[0]
		c.Set(t0().Add(DedupWindow + time.Minute))
		second := enqueue(t, q, ev("a", "k"))[0]
		if second.ID <= first.ID {
			t.Fatalf("second id %d <= first %d", second.ID, first.ID)
		}
		pending(t, q, map[string]int{"a": 2})
		// The re-stored key opens a new window.
		dup, err := q.Enqueue(t.Context(), []store.Event{ev("a", "k")})
		if err != nil || !dup[0] {
			t.Fatalf("third enqueue in the new window: dup %v err %v, want dup", dup, err)
		}
	})
	t.Run("a dup does not extend the window", func(t *testing.T) {
		q, c := s.fresh(t)
		enqueue(t, q, ev("a", "k"))
		c.Set(t0().Add(DedupWindow - time.Minute))
		if dup, err := q.Enqueue(t.Context(), []store.Event{ev("a", "k")}); err != nil || !dup[0] {
			t.Fatalf("within window: dup %v err %v", dup, err)
		}
		c.Set(t0().Add(DedupWindow + time.Minute))
		enqueue(t, q, ev("a", "k"))
	})
	t.Run("empty key never dedups", func(t *testing.T) {
		q, _ := s.fresh(t)
		enqueue(t, q, ev("a", ""), ev("a", ""))
		enqueue(t, q, ev("a", ""))
		pending(t, q, map[string]int{"a": 3})
	})
	t.Run("dedup key outlives the acked event", func(t *testing.T) {
		// A webhook retried after delivery is still a dup.
		q, c := s.fresh(t)
		e := enqueue(t, q, ev("a", "k"))[0]
		lease(t, q, "a", c.Now(), 1)
		if err := q.Ack(t.Context(), e.ID); err != nil {
			t.Fatal(err)
		}
		if dup, err := q.Enqueue(t.Context(), []store.Event{ev("a", "k")}); err != nil || !dup[0] {
			t.Fatalf("after Ack: dup %v err %v, want dup", dup, err)
		}
	})
}

func (s suite) lease(t *testing.T) {
	t.Run("returns only due events of the tenant in due order", func(t *testing.T) {
		q, _ := s.fresh(t)
		ev := enqueue(t, q,
			evAt("a", "3s", t0().Add(3*time.Second)),
			evAt("a", "1s", t0().Add(1*time.Second)),
			evAt("b", "b", t0()),
			evAt("a", "later", t0().Add(10*time.Minute)),
			evAt("a", "2s", t0().Add(2*time.Second)),
			evAt("ab", "prefix", t0()),
		)
		got := lease(t, q, "a", t0().Add(5*time.Second), 10)
		wantIDs(t, "Lease(a)", got, []store.Event{ev[1], ev[4], ev[0]})
		for i, g := range got {
			w := []store.Event{ev[1], ev[4], ev[0]}[i]
			if g.Tenant != "a" || g.Key != w.Key || !bytes.Equal(g.Body, w.Body) || g.Attempts != 0 || g.LastError != "" || !g.NextAt.Equal(w.NextAt) {
				t.Fatalf("leased %+v, want fields of %+v", g, w)
			}
		}
		wantIDs(t, "Lease(b)", lease(t, q, "b", t0().Add(5*time.Second), 10), ev[2:3])
		wantIDs(t, "Lease(ab)", lease(t, q, "ab", t0().Add(5*time.Second), 10), ev[5:6])
	})
	t.Run("an event due exactly at now is due", func(t *testing.T) {
		q, _ := s.fresh(t)
		at := t0().Add(time.Second)
		e := enqueue(t, q, evAt("a", "k", at))
		if got := lease(t, q, "a", at.Add(-time.Nanosecond), 10); len(got) != 0 {
			t.Fatalf("leased 1ns early: %v", ids(got))
		}
		wantIDs(t, "Lease at NextAt", lease(t, q, "a", at, 10), e)
	})
	t.Run("equal NextAt leases in id order", func(t *testing.T) {
		q, _ := s.fresh(t)
		e := enqueue(t, q, ev("a", "1"), ev("a", "2"), ev("a", "3"))
		wantIDs(t, "Lease", lease(t, q, "a", t0(), 10), e)
	})
	t.Run("unknown tenant leases nothing", func(t *testing.T) {
		q, _ := s.fresh(t)
		enqueue(t, q, ev("a", "k"))
		if got := lease(t, q, "zzz", t0().Add(time.Hour), 10); len(got) != 0 {
			t.Fatalf("Lease(zzz) = %v", ids(got))
		}
	})
	t.Run("respects max and hides leased events", func(t *testing.T) {
		q, _ := s.fresh(t)
		e := enqueue(t, q, ev("a", "1"), ev("a", "2"), ev("a", "3"), ev("a", "4"), ev("a", "5"))
		wantIDs(t, "first Lease", lease(t, q, "a", t0(), 2), e[:2])
		wantIDs(t, "second Lease", lease(t, q, "a", t0(), 2), e[2:4])
		wantIDs(t, "third Lease", lease(t, q, "a", t0(), 10), e[4:])
		if got := lease(t, q, "a", t0().Add(time.Hour), 10); len(got) != 0 {
			t.Fatalf("all leased, Lease = %v", ids(got))
		}
		pending(t, q, map[string]int{"a": 5})
	})
	t.Run("lease ends with Ack, Retry or DeadLetter", func(t *testing.T) {
		q, _ := s.fresh(t)
		e := enqueue(t, q, ev("a", "1"), ev("a", "2"), ev("a", "3"))
		lease(t, q, "a", t0(), 10)
		ctx := t.Context()
		if err := q.Retry(ctx, e[1].ID, t0(), "boom"); err != nil {
			t.Fatal(err)
		}
		wantIDs(t, "after Retry", lease(t, q, "a", t0(), 10), e[1:2])
		if err := q.Ack(ctx, e[0].ID); err != nil {
			t.Fatal(err)
		}
		if err := q.DeadLetter(ctx, e[2].ID, "bad"); err != nil {
			t.Fatal(err)
		}
		if got := lease(t, q, "a", t0().Add(time.Hour), 10); len(got) != 0 {
			t.Fatalf("after Ack and DeadLetter, Lease = %v", ids(got))
		}
	})
}

func (s suite) retry(t *testing.T) {
	t.Run("due again at the given time with Attempts+1 and LastError", func(t *testing.T) {
		q, _ := s.fresh(t)
		e := enqueue(t, q, ev("a", "k"))[0]
		ctx := t.Context()
		lease(t, q, "a", t0(), 1)
		at := t0().Add(time.Minute)
		if err := q.Retry(ctx, e.ID, at, "HTTP 500"); err != nil {
			t.Fatal(err)
		}
		if got := lease(t, q, "a", at.Add(-time.Second), 10); len(got) != 0 {
			t.Fatalf("leased before retry time: %v", ids(got))
		}
		got := lease(t, q, "a", at, 10)
		if len(got) != 1 {
			t.Fatalf("Lease at retry time: %d events", len(got))
		}
		g := got[0]
		if g.ID != e.ID || g.Attempts != 1 || g.LastError != "HTTP 500" || !g.NextAt.Equal(at) ||
			g.Key != e.Key || g.Tenant != e.Tenant || !bytes.Equal(g.Body, e.Body) || !g.Created.Equal(t0()) {
			t.Fatalf("after Retry: %+v", g)
		}
		at2 := at.Add(time.Minute)
		if err := q.Retry(ctx, e.ID, at2, "timeout"); err != nil {
			t.Fatal(err)
		}
		got = lease(t, q, "a", at2, 10)
		if len(got) != 1 || got[0].Attempts != 2 || got[0].LastError != "timeout" {
			t.Fatalf("after second Retry: %+v", got)
		}
		pending(t, q, map[string]int{"a": 1})
	})
	t.Run("retry earlier than other due events reorders", func(t *testing.T) {
		q, _ := s.fresh(t)
		e := enqueue(t, q, evAt("a", "1", t0()), evAt("a", "2", t0().Add(2*time.Second)))
		lease(t, q, "a", t0(), 10)
		if err := q.Retry(t.Context(), e[0].ID, t0().Add(3*time.Second), "x"); err != nil {
			t.Fatal(err)
		}
		wantIDs(t, "Lease", lease(t, q, "a", t0().Add(5*time.Second), 10), []store.Event{e[1], e[0]})
	})
}

func (s suite) ack(t *testing.T) {
	t.Run("removes the event", func(t *testing.T) {
		q, _ := s.fresh(t)
		e := enqueue(t, q, ev("a", "1"), ev("a", "2"))
		lease(t, q, "a", t0(), 10)
		if err := q.Ack(t.Context(), e[0].ID); err != nil {
			t.Fatal(err)
		}
		pending(t, q, map[string]int{"a": 1})
		if err := q.Retry(t.Context(), e[1].ID, t0(), "x"); err != nil {
			t.Fatal(err)
		}
		wantIDs(t, "Lease", lease(t, q, "a", t0().Add(time.Hour), 10), e[1:])
		if err := q.Ack(t.Context(), e[0].ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second Ack: %v, want ErrNotFound", err)
		}
	})
}

func (s suite) deadLetter(t *testing.T) {
	t.Run("moves the event with reason, counting the final attempt", func(t *testing.T) {
		q, _ := s.fresh(t)
		e := enqueue(t, q, ev("a", "k"))[0]
		ctx := t.Context()
		lease(t, q, "a", t0(), 1)
		if err := q.Retry(ctx, e.ID, t0(), "HTTP 503"); err != nil {
			t.Fatal(err)
		}
		lease(t, q, "a", t0(), 1)
		if err := q.DeadLetter(ctx, e.ID, "gave up after 1 attempt"); err != nil {
			t.Fatal(err)
		}
		if got := lease(t, q, "a", t0().Add(time.Hour), 10); len(got) != 0 {
			t.Fatalf("dead letter leased: %v", ids(got))
		}
		dead, err := q.DeadLetters(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(dead) != 1 {
			t.Fatalf("DeadLetters: %d, want 1", len(dead))
		}
		d := dead[0]
		if d.ID != e.ID || d.Tenant != "a" || d.Key != "k" || !bytes.Equal(d.Body, e.Body) ||
			d.Attempts != 2 || d.LastError != "gave up after 1 attempt" || !d.Created.Equal(t0()) {
			t.Fatalf("dead letter %+v", d)
		}
		st := stats(t, q)
		if st.Dead != 1 || st.Pending["a"] != 0 {
			t.Fatalf("Stats = %+v, want Dead 1, no pending", st)
		}
	})
	t.Run("DeadLetters lists oldest first up to limit", func(t *testing.T) {
		q, _ := s.fresh(t)
		e := enqueue(t, q, ev("a", "1"), ev("b", "2"), ev("a", "3"))
		for _, i := range []int{2, 0, 1} {
			if err := q.DeadLetter(t.Context(), e[i].ID, "x"); err != nil {
				t.Fatal(err)
			}
		}
		got, err := q.DeadLetters(t.Context(), 2)
		if err != nil {
			t.Fatal(err)
		}
		wantIDs(t, "DeadLetters(2)", got, e[:2])
		got, err = q.DeadLetters(t.Context(), 10)
		if err != nil {
			t.Fatal(err)
		}
		wantIDs(t, "DeadLetters(10)", got, e)
	})
	t.Run("no dead letters lists none", func(t *testing.T) {
		q, _ := s.fresh(t)
		enqueue(t, q, ev("a", "1"))
		got, err := q.DeadLetters(t.Context(), 10)
		if err != nil || len(got) != 0 {
			t.Fatalf("DeadLetters = %v, %v", ids(got), err)
		}
	})
}

// deadThree enqueues three events (tenants a, b, a), dead-letters them
// after one retry each, and returns them.
func deadThree(t *testing.T, q store.Queue) []store.Event {
	t.Helper()
	e := enqueue(t, q, ev("a", "1"), ev("b", "2"), ev("a", "3"))
	for _, x := range e {
		if err := q.Retry(t.Context(), x.ID, t0(), "x"); err != nil {
			t.Fatal(err)
		}
		if err := q.DeadLetter(t.Context(), x.ID, "dead"); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (s suite) replay(t *testing.T) {
	t.Run("all: requeued due at at with Attempts 0, same ID and Body", func(t *testing.T) {
		q, _ := s.fresh(t)
		e := deadThree(t, q)
		at := t0().Add(time.Hour)
		n, err := q.Replay(t.Context(), nil, at)
		if err != nil || n != 3 {
			t.Fatalf("Replay(nil) = %d, %v, want 3", n, err)
		}
		if dead, err := q.DeadLetters(t.Context(), 10); err != nil || len(dead) != 0 {
			t.Fatalf("DeadLetters after Replay = %v, %v", ids(dead), err)
		}
		st := stats(t, q)
		if st.Dead != 0 || st.Pending["a"] != 2 || st.Pending["b"] != 1 {
			t.Fatalf("Stats after Replay = %+v", st)
		}
		if got := lease(t, q, "a", at.Add(-time.Second), 10); len(got) != 0 {
			t.Fatalf("leased before replay time: %v", ids(got))
		}
		got := lease(t, q, "a", at, 10)
		wantIDs(t, "Lease(a)", got, []store.Event{e[0], e[2]})
		for i, g := range got {
			w := []store.Event{e[0], e[2]}[i]
			if g.Attempts != 0 || !g.NextAt.Equal(at) || !bytes.Equal(g.Body, w.Body) || g.Key != w.Key || !g.Created.Equal(at) {
				t.Fatalf("replayed %+v", g)
			}
		}
		wantIDs(t, "Lease(b)", lease(t, q, "b", at, 10), e[1:2])
	})
	t.Run("by ids: only those, unknown ids skipped", func(t *testing.T) {
		q, _ := s.fresh(t)
		e := deadThree(t, q)
		n, err := q.Replay(t.Context(), []uint64{e[1].ID, 999999, e[1].ID}, t0())
		if err != nil || n != 1 {
			t.Fatalf("Replay = %d, %v, want 1", n, err)
		}
		dead, err := q.DeadLetters(t.Context(), 10)
		if err != nil {
			t.Fatal(err)
		}
		wantIDs(t, "DeadLetters", dead, []store.Event{e[0], e[2]})
		wantIDs(t, "Lease(b)", lease(t, q, "b", t0(), 10), e[1:2])
		if st := stats(t, q); st.Dead != 2 {
			t.Fatalf("Stats.Dead = %d, want 2", st.Dead)
		}
	})
	t.Run("empty id list moves nothing", func(t *testing.T) {
		q, _ := s.fresh(t)
		deadThree(t, q)
		n, err := q.Replay(t.Context(), []uint64{}, t0())
		if err != nil || n != 0 {
			t.Fatalf("Replay([]) = %d, %v, want 0", n, err)
		}
		if st := stats(t, q); st.Dead != 3 {
			t.Fatalf("Stats.Dead = %d, want 3", st.Dead)
		}
	})
	t.Run("replayed event can be acked and dead-lettered again", func(t *testing.T) {
		q, _ := s.fresh(t)
		e := deadThree(t, q)
		if _, err := q.Replay(t.Context(), nil, t0()); err != nil {
			t.Fatal(err)
		}
		if err := q.Ack(t.Context(), e[0].ID); err != nil {
			t.Fatal(err)
		}
		if err := q.DeadLetter(t.Context(), e[1].ID, "again"); err != nil {
			t.Fatal(err)
		}
		st := stats(t, q)
		if st.Dead != 1 || st.Pending["a"] != 1 || st.Pending["b"] != 0 {
			t.Fatalf("Stats = %+v", st)
		}
	})
}

func (s suite) unknownID(t *testing.T) {
	q, _ := s.fresh(t)
	acked := enqueue(t, q, ev("a", "acked"))[0]
	if err := q.Ack(t.Context(), acked.ID); err != nil {
		t.Fatal(err)
	}
	dead := enqueue(t, q, ev("a", "dead"))[0]
	if err := q.DeadLetter(t.Context(), dead.ID, "x"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		id   uint64
	}{{"never enqueued", 424242}, {"acked", acked.ID}, {"dead-lettered", dead.ID}} {
		t.Run(c.name, func(t *testing.T) {
			ctx := t.Context()
			if err := q.Ack(ctx, c.id); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Ack: %v, want ErrNotFound", err)
			}
			if err := q.Retry(ctx, c.id, t0(), "x"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Retry: %v, want ErrNotFound", err)
			}
			if err := q.DeadLetter(ctx, c.id, "x"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("DeadLetter: %v, want ErrNotFound", err)
			}
		})
	}
	if st := stats(t, q); st.Dead != 1 || st.Pending["a"] != 0 {
		t.Fatalf("Stats changed by failed calls: %+v", st)
	}
}

func (s suite) stats(t *testing.T) {
	t.Run("empty queue", func(t *testing.T) {
		q, _ := s.fresh(t)
		st := stats(t, q)
		if len(st.Pending) != 0 || !st.Oldest.IsZero() || st.Dead != 0 {
			t.Fatalf("Stats = %+v, want zero", st)
		}
	})
	t.Run("pending per tenant, oldest and dead", func(t *testing.T) {
		q, c := s.fresh(t)
		e := enqueue(t, q, ev("a", "1"))
		c.Set(t0().Add(time.Minute))
		e = append(e, enqueue(t, q, ev("a", "2"), ev("b", "3"), ev("c", "4"))...)
		st := stats(t, q)
		if !st.Oldest.Equal(t0()) {
			t.Fatalf("Oldest = %v, want %v", st.Oldest, t0())
		}
		pending(t, q, map[string]int{"a": 2, "b": 1, "c": 1})
		lease(t, q, "a", t0().Add(time.Hour), 10) // leased still pending
		pending(t, q, map[string]int{"a": 2, "b": 1, "c": 1})
		if err := q.Ack(t.Context(), e[0].ID); err != nil {
			t.Fatal(err)
		}
		if err := q.DeadLetter(t.Context(), e[3].ID, "x"); err != nil {
			t.Fatal(err)
		}
		st = stats(t, q)
		if !st.Oldest.Equal(t0().Add(time.Minute)) || st.Dead != 1 {
			t.Fatalf("Stats = %+v, want Oldest %v, Dead 1", st, t0().Add(time.Minute))
		}
		pending(t, q, map[string]int{"a": 1, "b": 1})
		for _, x := range e[1:3] {
			if err := q.Ack(t.Context(), x.ID); err != nil {
				t.Fatal(err)
			}
		}
		pending(t, q, nil)
		if st = stats(t, q); !st.Oldest.IsZero() {
			t.Fatalf("drained: Oldest = %v, want zero", st.Oldest)
		}
	})
}

func (s suite) ids(t *testing.T) {
	t.Run("PutIDs then WAMID", func(t *testing.T) {
		q, _ := s.fresh(t)
		if err := q.PutIDs(t.Context(), []store.IDPair{{GsID: "gs1", WAMID: "wamid.1"}, {GsID: "gs2", WAMID: "wamid.2"}}); err != nil {
			t.Fatal(err)
		}
		wantWAMID(t, q, "gs1", "wamid.1")
		wantWAMID(t, q, "gs2", "wamid.2")
		wantWAMID(t, q, "unknown", "")
		if err := q.PutIDs(t.Context(), nil); err != nil {
			t.Fatalf("PutIDs(nil): %v", err)
		}
	})
	t.Run("EnqueueWithIDs stores events and pairs together", func(t *testing.T) {
		q, _ := s.fresh(t)
		events := []store.Event{ev("a", "k1")}
		dup, err := q.EnqueueWithIDs(t.Context(), events, []store.IDPair{{GsID: "gs1", WAMID: "wamid.1"}})
		if err != nil || len(dup) != 1 || dup[0] || events[0].ID == 0 {
			t.Fatalf("EnqueueWithIDs = %v, %v (event %+v)", dup, err, events[0])
		}
		wantWAMID(t, q, "gs1", "wamid.1")
		pending(t, q, map[string]int{"a": 1})
		if dup, err := q.EnqueueWithIDs(t.Context(), []store.Event{ev("a", "k1")}, nil); err != nil || !dup[0] {
			t.Errorf("the same key again: %v, %v, want a duplicate", dup, err)
		}
	})
	t.Run("later pair for the same gs id wins", func(t *testing.T) {
		q, _ := s.fresh(t)
		putID(t, q, "gs", "old")
		putID(t, q, "gs", "new")
		wantWAMID(t, q, "gs", "new")
	})
	t.Run("pairs expire after IDTTL", func(t *testing.T) {
		q, c := s.fresh(t)
		putID(t, q, "gs", "w")
		c.Set(t0().Add(IDTTL - time.Minute))
		wantWAMID(t, q, "gs", "w")
		c.Set(t0().Add(IDTTL + time.Minute))
		wantWAMID(t, q, "gs", "")
	})
	t.Run("putting a pair again renews its TTL", func(t *testing.T) {
		q, c := s.fresh(t)
		putID(t, q, "gs", "w")
		c.Set(t0().Add(IDTTL / 2))
		putID(t, q, "gs", "w")
		c.Set(t0().Add(IDTTL + time.Minute))
		wantWAMID(t, q, "gs", "w")
	})
}

// putID stores the pair gs → wamid.
func putID(t *testing.T, q store.Queue, gs, wamid string) {
	t.Helper()
	if err := q.PutIDs(t.Context(), []store.IDPair{{GsID: gs, WAMID: wamid}}); err != nil {
		t.Fatalf("PutIDs(%s → %s): %v", gs, wamid, err)
	}
}

// wantWAMID checks that WAMID(gs) finds want, or finds nothing when want is
// "".
func wantWAMID(t *testing.T, q store.Queue, gs, want string) {
	t.Helper()
	got, ok, err := q.WAMID(t.Context(), gs)
	if err != nil || ok != (want != "") || got != want {
		t.Fatalf("WAMID(%s) = %q, %v, %v, want %q", gs, got, ok, err, want)
	}
}

// calls lists one call of every Queue method (except Close).
func calls() []struct {
	name string
	call func(context.Context, store.Queue) error
} {
	return []struct {
		name string
		call func(context.Context, store.Queue) error
	}{
		{"Enqueue", func(ctx context.Context, q store.Queue) error {
			_, err := q.Enqueue(ctx, []store.Event{ev("a", "k")})
			return err
		}},
		{"Lease", func(ctx context.Context, q store.Queue) error {
			_, err := q.Lease(ctx, "a", t0(), 10)
			return err
		}},
		{"Ack", func(ctx context.Context, q store.Queue) error { return q.Ack(ctx, 1) }},
		{"Retry", func(ctx context.Context, q store.Queue) error { return q.Retry(ctx, 1, t0(), "x") }},
		{"DeadLetter", func(ctx context.Context, q store.Queue) error { return q.DeadLetter(ctx, 1, "x") }},
		{"DeadLetters", func(ctx context.Context, q store.Queue) error {
			_, err := q.DeadLetters(ctx, 10)
			return err
		}},
		{"Replay", func(ctx context.Context, q store.Queue) error {
			_, err := q.Replay(ctx, nil, t0())
			return err
		}},
		{"Stats", func(ctx context.Context, q store.Queue) error {
			_, err := q.Stats(ctx)
			return err
		}},
		{"PutIDs", func(ctx context.Context, q store.Queue) error {
			return q.PutIDs(ctx, []store.IDPair{{GsID: "gs", WAMID: "w"}})
		}},
		{"WAMID", func(ctx context.Context, q store.Queue) error {
			_, _, err := q.WAMID(ctx, "gs")
			return err
		}},
	}
}

func (s suite) context(t *testing.T) {
	q, _ := s.fresh(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for _, c := range calls() {
		t.Run("cancelled context fails "+c.name, func(t *testing.T) {
			if err := c.call(ctx, q); !errors.Is(err, context.Canceled) {
				t.Fatalf("%s with cancelled ctx: %v, want context.Canceled", c.name, err)
			}
		})
	}
	t.Run("cancelled calls changed nothing", func(t *testing.T) {
		st := stats(t, q)
		if len(st.Pending) != 0 || st.Dead != 0 {
			t.Fatalf("Stats = %+v", st)
		}
		if _, ok, err := q.WAMID(t.Context(), "gs"); err != nil || ok {
			t.Fatalf("WAMID = %v, %v", ok, err)
		}
	})
}

func (s suite) closed(t *testing.T) {
	q, _ := s.fresh(t)
	enqueue(t, q, ev("a", "k"))
	if err := q.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, c := range calls() {
		t.Run("after Close "+c.name+" fails with ErrClosed", func(t *testing.T) {
			if err := c.call(t.Context(), q); !errors.Is(err, store.ErrClosed) {
				t.Fatalf("%s after Close: %v, want ErrClosed", c.name, err)
			}
		})
	}
}

func (s suite) concurrency(t *testing.T) {
	t.Run("concurrent leasers never share an event", func(t *testing.T) {
		q, _ := s.fresh(t)
		const n, workers = 200, 4
		events := make([]store.Event, n)
		for i := range events {
			events[i] = ev("a", fmt.Sprint(i))
		}
		enqueue(t, q, events...)
		var mu sync.Mutex
		seen := make(map[uint64]int)
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for range workers {
			wg.Go(func() {
				for {
					got, err := q.Lease(t.Context(), "a", t0(), 7)
					if err != nil {
						errs <- err
						return
					}
					if len(got) == 0 {
						return
					}
					for _, e := range got {
						mu.Lock()
						seen[e.ID]++
						mu.Unlock()
						if err := q.Ack(t.Context(), e.ID); err != nil {
							errs <- err
							return
						}
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if len(seen) != n {
			t.Fatalf("leased %d distinct events, want %d", len(seen), n)
		}
		for id, k := range seen {
			if k != 1 {
				t.Fatalf("event %d leased %d times", id, k)
			}
		}
		pending(t, q, nil)
	})
}
