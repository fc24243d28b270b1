package pgstore_test

import (
	"errors"
	"testing"
	"time"

	"waproxy/store"
	"waproxy/store/pgstore"
	"waproxy/store/storetest"
)

// TestSettleByOwner pins who may Ack, Retry or DeadLetter a leased event:
// its holder, or anyone once the lease has expired; another owner inside
// the lease gets ErrLeaseHeld and changes nothing.
func TestSettleByOwner(t *testing.T) {
	t.Parallel()
	const lease = time.Minute
	settles := []struct {
		name string
		call func(s *pgstore.Store, t *testing.T, id uint64) error
	}{
		{"Ack", func(s *pgstore.Store, t *testing.T, id uint64) error { return s.Ack(t.Context(), id) }},
		{"Retry", func(s *pgstore.Store, t *testing.T, id uint64) error {
			return s.Retry(t.Context(), id, time.Time{}.Add(time.Hour), "x")
		}},
		{"DeadLetter", func(s *pgstore.Store, t *testing.T, id uint64) error { return s.DeadLetter(t.Context(), id, "x") }},
	}
	cases := []struct {
		name    string
		byOther bool
		after   time.Duration // store clock advance after the lease
		wantErr error
	}{
		{"the holder inside the lease", false, lease - time.Second, nil},
		{"the holder after the lease", false, lease, nil},
		{"another owner inside the lease", true, lease - time.Nanosecond, pgstore.ErrLeaseHeld},
		{"another owner at the deadline", true, lease, nil},
	}
	for _, op := range settles {
		for _, c := range cases {
			t.Run(op.name+" by "+c.name, func(t *testing.T) {
				t.Parallel()
				clk := storetest.NewClock()
				_, rs := replicas(t, 2, clk, lease)
				e := enqueueOne(t, rs[0], store.Event{Tenant: "a", Key: "k", Body: []byte("{}")})
				if got, err := rs[0].Lease(t.Context(), "a", clk.Now(), 1); err != nil || len(got) != 1 {
					t.Fatalf("Lease = %v, %v", got, err)
				}
				clk.Add(c.after)
				by := rs[0]
				if c.byOther {
					by = rs[1]
				}
				if err := op.call(by, t, e.ID); !errors.Is(err, c.wantErr) {
					t.Fatalf("%s = %v, want %v", op.name, err, c.wantErr)
				}
				st, err := rs[0].Stats(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				unchanged := st.Pending["a"] == 1 && st.Dead == 0
				if c.wantErr != nil && !unchanged {
					t.Fatalf("a refused %s changed the queue: %+v", op.name, st)
				}
			})
		}
	}
}
