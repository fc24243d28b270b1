package pgstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"waproxy/internal/pgtest"
	"waproxy/store"
	"waproxy/store/pgstore"
	"waproxy/store/storetest"
)

// count returns the rows of table in the database at url.
func count(t *testing.T, url, table string) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var n int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSweep(t *testing.T) {
	t.Parallel()
	clk := storetest.NewClock()
	start := clk.Now()
	url := pgtest.NewDatabase(t)
	s := open(t, url, pgstore.Options{DedupWindow: time.Minute, IDTTL: time.Minute, MediaTTL: time.Minute, Now: clk.Now})
	ctx := t.Context()
	for i := range 5 {
		if _, err := s.EnqueueWithIDs(ctx, []store.Event{{Tenant: "a", Key: fmt.Sprint(i)}},
			[]store.IDPair{{GsID: fmt.Sprint(i), WAMID: "w"}}); err != nil {
			t.Fatal(err)
		}
		if err := s.PutMedia(ctx, store.Media{ID: fmt.Sprint(i), Tenant: "a"}); err != nil {
			t.Fatal(err)
		}
	}
	clk.Set(start.Add(59 * time.Second))
	if n, err := s.Sweep(ctx, 10); err != nil || n != 0 {
		t.Fatalf("Sweep before expiry = %d, %v; want 0", n, err)
	}
	clk.Set(start.Add(time.Minute))
	steps := []struct {
		name  string
		batch int
		want  int // rows deleted: up to batch per table
		left  int // rows left per table
	}{
		{"bounded by batch per table", 2, 6, 3},
		{"the next batch continues", 2, 6, 1},
		{"then the rest", 10, 3, 0},
		{"nothing left", 10, 0, 0},
	}
	for _, st := range steps {
		n, err := s.Sweep(ctx, st.batch)
		if err != nil || n != st.want {
			t.Fatalf("%s: Sweep = %d, %v; want %d", st.name, n, err, st.want)
		}
		for _, table := range []string{"dedup", "ids", "media"} {
			if got := count(t, url, table); got != st.left {
				t.Fatalf("%s: %s has %d rows, want %d", st.name, table, got, st.left)
			}
		}
	}
	if got := count(t, url, "events"); got != 5 {
		t.Fatalf("Sweep touched events: %d left", got)
	}
}

// TestSweepOneReplicaAtATime pins that Sweep does nothing while another
// replica holds the sweep lock.
func TestSweepOneReplicaAtATime(t *testing.T) {
	t.Parallel()
	clk := storetest.NewClock()
	url := pgtest.NewDatabase(t)
	s := open(t, url, pgstore.Options{IDTTL: time.Minute, Now: clk.Now})
	if err := s.PutIDs(t.Context(), []store.IDPair{{GsID: "gs", WAMID: "w"}}); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Hour)
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	if _, err := conn.Exec(t.Context(), `SELECT pg_advisory_lock($1)`, pgstore.SweepLock); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Sweep(t.Context(), 10); err != nil || n != 0 {
		t.Fatalf("Sweep while locked = %d, %v; want 0", n, err)
	}
	if _, err := conn.Exec(t.Context(), `SELECT pg_advisory_unlock($1)`, pgstore.SweepLock); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Sweep(t.Context(), 10); err != nil || n != 1 {
		t.Fatalf("Sweep after unlock = %d, %v; want 1", n, err)
	}
}
