package pgstore_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"waproxy/internal/pgtest"
	"waproxy/store"
	"waproxy/store/pgstore"
	"waproxy/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// open opens a Store on url, closed when t ends.
func open(t *testing.T, url string, opt pgstore.Options) *pgstore.Store {
	t.Helper()
	s, err := pgstore.Open(t.Context(), url, opt)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, now func() time.Time) store.Queue {
		return open(t, pgtest.NewDatabase(t), pgstore.Options{
			DedupWindow: storetest.DedupWindow,
			IDTTL:       storetest.IDTTL,
			Now:         now,
		})
	})
}

func TestOpenRejectsABadURLWithoutQuotingIt(t *testing.T) {
	t.Parallel()
	_, err := pgstore.Open(t.Context(), "postgres://user:s3cret@[::1", pgstore.Options{})
	if err == nil {
		t.Fatal("Open accepted a malformed URL")
	}
	if got := err.Error(); strings.Contains(got, "s3cret") {
		t.Fatalf("error quotes the password: %s", got)
	}
}
