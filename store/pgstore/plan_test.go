package pgstore_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"waproxy/internal/pgtest"
	"waproxy/store"
	"waproxy/store/pgstore"
)

// TestLeaseUsesTheDueIndex pins that Lease's claim seeks the partial
// (tenant, next_ns, id) index instead of scanning the events.
func TestLeaseUsesTheDueIndex(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	s := open(t, url, pgstore.Options{})
	events := make([]store.Event, 2000)
	for i := range events {
		events[i] = store.Event{Tenant: fmt.Sprintf("t%d", i%20), Body: []byte("{}")}
	}
	if _, err := s.Enqueue(t.Context(), events); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	if _, err := conn.Exec(t.Context(), `ANALYZE events`); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(t.Context(), `EXPLAIN `+pgstore.LeaseSQL, "t3", int64(1)<<62, int64(1)<<62, 10, "me", int64(1)<<62)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(lines, "\n")
	if !strings.Contains(all, "events_due") {
		t.Fatalf("Lease does not use events_due:\n%s", all)
	}
}
