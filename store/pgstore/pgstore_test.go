package pgstore_test

import (
	"context"
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

// TestExtraMethodsHonourCloseAndContext pins ErrClosed and cancellation
// for the methods beyond store.Queue.
func TestExtraMethodsHonourCloseAndContext(t *testing.T) {
	t.Parallel()
	calls := []struct {
		name string
		call func(context.Context, *pgstore.Store) error
	}{
		{"PutMedia", func(ctx context.Context, s *pgstore.Store) error {
			return s.PutMedia(ctx, store.Media{ID: "m"})
		}},
		{"ClaimMedia", func(ctx context.Context, s *pgstore.Store) error {
			_, _, err := s.ClaimMedia(ctx, store.Media{ID: "m"})
			return err
		}},
		{"Media", func(ctx context.Context, s *pgstore.Store) error { _, _, err := s.Media(ctx, "m"); return err }},
		{"DeleteMedia", func(ctx context.Context, s *pgstore.Store) error { return s.DeleteMedia(ctx, "m") }},
		{"PutFlow", func(ctx context.Context, s *pgstore.Store) error { return s.PutFlow(ctx, store.Flow{ID: "f"}) }},
		{"Flow", func(ctx context.Context, s *pgstore.Store) error { _, _, err := s.Flow(ctx, "f"); return err }},
		{"DeleteFlow", func(ctx context.Context, s *pgstore.Store) error { return s.DeleteFlow(ctx, "f") }},
		{"Sweep", func(ctx context.Context, s *pgstore.Store) error { _, err := s.Sweep(ctx, 1); return err }},
		{"Migrate", func(ctx context.Context, s *pgstore.Store) error { return s.Migrate(ctx) }},
		{"SchemaVersion", func(ctx context.Context, s *pgstore.Store) error { _, err := s.SchemaVersion(ctx); return err }},
	}
	url := pgtest.NewDatabase(t)
	live := open(t, url, pgstore.Options{})
	closed := open(t, url, pgstore.Options{})
	if err := closed.Close(); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(cancelled, live); !errors.Is(err, context.Canceled) {
				t.Errorf("cancelled: %v, want context.Canceled", err)
			}
			if err := c.call(t.Context(), closed); !errors.Is(err, store.ErrClosed) {
				t.Errorf("after Close: %v, want ErrClosed", err)
			}
		})
	}
}
