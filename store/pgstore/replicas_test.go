package pgstore_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"waproxy/internal/pgtest"
	"waproxy/store"
	"waproxy/store/pgstore"
	"waproxy/store/storetest"
)

// replicaOpt is replica i's Options: owner r<i>, clock clk.
func replicaOpt(i int, clk *storetest.Clock, lease time.Duration) pgstore.Options {
	return pgstore.Options{Owner: fmt.Sprintf("r%d", i), Now: clk.Now, LeaseDuration: lease}
}

// replicas opens n Stores on one fresh database (url), sharing clk, with
// distinct owners r0, r1, ….
func replicas(t *testing.T, n int, clk *storetest.Clock, lease time.Duration) (url string, stores []*pgstore.Store) {
	t.Helper()
	url = pgtest.NewDatabase(t)
	stores = make([]*pgstore.Store, n)
	for i := range stores {
		stores[i] = open(t, url, replicaOpt(i, clk, lease))
	}
	return url, stores
}

func TestReplicasNeverLeaseOneEventTwice(t *testing.T) {
	t.Parallel()
	clk := storetest.NewClock()
	_, rs := replicas(t, 2, clk, time.Minute)
	const rounds, n, workers = 15, 60, 3
	for round := range rounds {
		events := make([]store.Event, n)
		for i := range events {
			events[i] = store.Event{Tenant: "a", Key: fmt.Sprintf("%d/%d", round, i), Body: []byte("{}")}
		}
		if _, err := rs[0].Enqueue(t.Context(), events); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		seen := make(map[uint64]int)
		var wg sync.WaitGroup
		for w := range 2 * workers {
			r := rs[w%2]
			wg.Go(func() {
				for {
					got, err := r.Lease(t.Context(), "a", clk.Now(), 4)
					if err != nil {
						t.Error(err)
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, e := range got {
						seen[e.ID]++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(seen) != n {
			t.Fatalf("round %d: leased %d distinct events, want %d", round, len(seen), n)
		}
		for id, k := range seen {
			if k != 1 {
				t.Fatalf("round %d: event %d leased %d times", round, id, k)
			}
		}
		// Settle them all through the other replica's leases' owner.
		for id := range seen {
			for _, r := range rs {
				if err := r.Ack(t.Context(), id); err == nil {
					break
				} else if !errors.Is(err, pgstore.ErrLeaseHeld) {
					t.Fatal(err)
				}
			}
		}
		if st, err := rs[1].Stats(t.Context()); err != nil || len(st.Pending) != 0 {
			t.Fatalf("round %d: after acks Stats = %+v, %v", round, st, err)
		}
	}
}

// TestLeaseOfADeadReplica pins that an event leased by a store that is
// gone is hidden from every other owner until the lease deadline, and
// leasable after it.
func TestLeaseOfADeadReplica(t *testing.T) {
	t.Parallel()
	clk := storetest.NewClock()
	start := clk.Now()
	const lease = time.Minute
	url, rs := replicas(t, 2, clk, lease)
	dying, survivor := rs[0], rs[1]
	e := enqueueOne(t, survivor, store.Event{Tenant: "a", Key: "k", Body: []byte("{}")})
	if got, err := dying.Lease(t.Context(), "a", clk.Now(), 10); err != nil || len(got) != 1 {
		t.Fatalf("first Lease = %v, %v", got, err)
	}
	if err := dying.Close(); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name      string
		at        time.Duration // store clock, from start
		wantLease bool
	}{
		{"just after the lease", 0, false},
		{"a second before the deadline", lease - time.Second, false},
		{"a nanosecond before the deadline", lease - time.Nanosecond, false},
		{"at the deadline", lease, true},
	}
	for _, st := range steps {
		clk.Set(start.Add(st.at))
		// Lease's own now is far ahead: due-ness is not what hides it.
		got, err := survivor.Lease(t.Context(), "a", start.Add(24*time.Hour), 10)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if leased := len(got) == 1 && got[0].ID == e.ID; leased != st.wantLease {
			t.Fatalf("%s: Lease = %v, want leased %v", st.name, got, st.wantLease)
		}
		if !st.wantLease {
			if err := survivor.Ack(t.Context(), e.ID); !errors.Is(err, pgstore.ErrLeaseHeld) {
				t.Fatalf("%s: Ack by another owner: %v, want ErrLeaseHeld", st.name, err)
			}
		}
	}
	// The dead owner, back under its name, cannot settle the event the
	// survivor now holds.
	back := open(t, url, replicaOpt(0, clk, lease))
	if err := back.Ack(t.Context(), e.ID); !errors.Is(err, pgstore.ErrLeaseHeld) {
		t.Fatalf("Ack by the old owner: %v, want ErrLeaseHeld", err)
	}
	if err := survivor.Retry(t.Context(), e.ID, clk.Now(), "boom"); err != nil {
		t.Fatalf("Retry by the holder: %v", err)
	}
	if got, err := back.Lease(t.Context(), "a", clk.Now(), 10); err != nil || len(got) != 1 || got[0].Attempts != 1 {
		t.Fatalf("after Retry the restarted owner leases %+v, %v", got, err)
	}
}

// TestDedupAcrossReplicas pins that one Key enqueued through two stores at
// once is stored once.
func TestDedupAcrossReplicas(t *testing.T) {
	t.Parallel()
	clk := storetest.NewClock()
	_, rs := replicas(t, 2, clk, time.Minute)
	const keys, tries = 30, 4
	stored := make([]int, keys)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range tries {
		r := rs[i%2]
		wg.Go(func() {
			for k := range keys {
				dup, err := r.Enqueue(t.Context(), []store.Event{{Tenant: "a", Key: fmt.Sprint(k), Body: []byte("{}")}})
				if err != nil {
					t.Error(err)
					return
				}
				if !dup[0] {
					mu.Lock()
					stored[k]++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	for k, n := range stored {
		if n != 1 {
			t.Errorf("key %d stored %d times, want 1", k, n)
		}
	}
	if st, err := rs[0].Stats(t.Context()); err != nil || st.Pending["a"] != keys {
		t.Fatalf("Stats = %+v, %v; want %d pending", st, err, keys)
	}
}

// TestEnqueueWithIDsIsAtomic pins that id pairs exist if and only if
// their events were stored.
func TestEnqueueWithIDsIsAtomic(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		events    []store.Event
		wantErr   bool
		wantPairs bool
	}{
		{"stored together", []store.Event{{Tenant: "a", Key: "1"}, {Tenant: "a", Key: "2"}}, false, true},
		// PostgreSQL text cannot hold NUL: the second event fails
		// after the first and the pairs were written.
		{"a failing event stores neither events nor pairs", []store.Event{{Tenant: "a", Key: "1"}, {Tenant: "a\x00b", Key: "2"}}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, rs := replicas(t, 2, storetest.NewClock(), time.Minute)
			_, err := rs[0].EnqueueWithIDs(t.Context(), tt.events, []store.IDPair{{GsID: "gs", WAMID: "w"}})
			if (err != nil) != tt.wantErr {
				t.Fatalf("EnqueueWithIDs: %v, want error %v", err, tt.wantErr)
			}
			_, ok, err := rs[1].WAMID(t.Context(), "gs")
			if err != nil || ok != tt.wantPairs {
				t.Fatalf("WAMID found %v, %v; want %v", ok, err, tt.wantPairs)
			}
			st, err := rs[1].Stats(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int{true: len(tt.events), false: 0}[tt.wantPairs]; st.Pending["a"] != want {
				t.Fatalf("pending = %d, want %d", st.Pending["a"], want)
			}
		})
	}
}

func enqueueOne(t *testing.T, s *pgstore.Store, e store.Event) store.Event {
	t.Helper()
	events := []store.Event{e}
	dup, err := s.Enqueue(t.Context(), events)
	if err != nil || dup[0] {
		t.Fatalf("Enqueue: dup %v, %v", dup, err)
	}
	return events[0]
}
