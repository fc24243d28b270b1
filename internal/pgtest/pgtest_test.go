package pgtest_test

import (
	"testing"

	"github.com/jackc/pgx/v5"

	"waproxy/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestNewDatabase pins that each test gets its own empty, writable
// database.
func TestNewDatabase(t *testing.T) {
	t.Parallel()
	a, b := pgtest.NewDatabase(t), pgtest.NewDatabase(t)
	if a == b {
		t.Fatalf("two databases share the URL %s", a)
	}
	for _, url := range []string{a, b} {
		conn, err := pgx.Connect(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(t.Context())
		if _, err := conn.Exec(t.Context(), `CREATE TABLE x (v int)`); err != nil {
			t.Fatalf("create in a fresh database: %v", err)
		}
		var fsync string
		if err := conn.QueryRow(t.Context(), `SHOW fsync`).Scan(&fsync); err != nil || fsync != "on" {
			t.Fatalf("fsync = %q, %v; want on", fsync, err)
		}
	}
}

// TestStart pins that Start runs a second, independent cluster for one
// test.
func TestStart(t *testing.T) {
	t.Parallel()
	url := pgtest.Start(t)
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var addr string
	if err := conn.QueryRow(t.Context(), `SHOW listen_addresses`).Scan(&addr); err != nil || addr != "127.0.0.1" {
		t.Fatalf("listen_addresses = %q, %v", addr, err)
	}
}
