package pgstore_test

import (
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"waproxy/internal/pgtest"
	"waproxy/store/pgstore"
)

func TestMigrate(t *testing.T) {
	t.Parallel()
	latest := pgstore.LatestVersion()
	if latest < 1 {
		t.Fatalf("LatestVersion = %d", latest)
	}
	t.Run("NoMigrate leaves a fresh database at 0; Migrate brings it to the latest, once", func(t *testing.T) {
		t.Parallel()
		url := pgtest.NewDatabase(t)
		s := open(t, url, pgstore.Options{NoMigrate: true})
		for i, want := range []int{0, latest, latest} {
			if i > 0 {
				if err := s.Migrate(t.Context()); err != nil {
					t.Fatalf("Migrate #%d: %v", i, err)
				}
			}
			if v, err := s.SchemaVersion(t.Context()); err != nil || v != want {
				t.Fatalf("after %d Migrate calls SchemaVersion = %d, %v; want %d", i, v, err, want)
			}
		}
		wantRows(t, url, latest)
	})
	t.Run("concurrent Opens of a fresh database migrate it once", func(t *testing.T) {
		t.Parallel()
		url := pgtest.NewDatabase(t)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				s, err := pgstore.Open(t.Context(), url, pgstore.Options{})
				if err != nil {
					t.Error(err)
					return
				}
				defer s.Close()
				if v, err := s.SchemaVersion(t.Context()); err != nil || v != latest {
					t.Errorf("SchemaVersion = %d, %v; want %d", v, err, latest)
				}
			})
		}
		wg.Wait()
		wantRows(t, url, latest)
	})
	t.Run("a schema newer than this build is refused", func(t *testing.T) {
		t.Parallel()
		url := pgtest.NewDatabase(t)
		open(t, url, pgstore.Options{})
		exec(t, url, `INSERT INTO schema_version (version, name) VALUES ($1, 'future.sql')`, latest+1)
		if s, err := pgstore.Open(t.Context(), url, pgstore.Options{}); err == nil {
			s.Close()
			t.Fatal("Open accepted a newer schema")
		}
	})
}

// wantRows checks that schema_version has one row per version 1..n.
func wantRows(t *testing.T, url string, n int) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var rows, max int
	if err := conn.QueryRow(t.Context(), `SELECT count(*), max(version) FROM schema_version`).Scan(&rows, &max); err != nil {
		t.Fatal(err)
	}
	if rows != n || max != n {
		t.Fatalf("schema_version has %d rows up to %d, want %d", rows, max, n)
	}
}

// exec runs one statement on the database at url.
func exec(t *testing.T, url, sql string, args ...any) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	if _, err := conn.Exec(t.Context(), sql, args...); err != nil {
		t.Fatal(err)
	}
}
