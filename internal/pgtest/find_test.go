package pgtest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFindBin pins where the server binaries are looked for, and that
// missing ones fail with the way to install them.
func TestFindBin(t *testing.T) {
	root := t.TempDir()
	mk := func(version string, tools ...string) {
		dir := filepath.Join(root, version, "bin")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, tool := range tools {
			if err := os.WriteFile(filepath.Join(dir, tool), nil, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	glob := filepath.Join(root, "*", "bin")
	if _, err := findBin(glob); !errors.Is(err, ErrNoPostgres) || !strings.Contains(err.Error(), "scripts/install-postgres") {
		t.Fatalf("no versions: %v, want ErrNoPostgres naming scripts/install-postgres", err)
	}
	mk("9", "initdb", "pg_ctl")
	mk("15", "initdb", "pg_ctl")
	mk("16", "initdb") // incomplete: no pg_ctl
	got, err := findBin(glob)
	if want := filepath.Join(root, "15", "bin"); err != nil || got != want {
		t.Fatalf("findBin = %q, %v; want the newest complete version %q", got, err, want)
	}
}

// TestSkipMissing pins that a missing server fails unless
// WAPROXY_SKIP_POSTGRES=1 is set explicitly.
func TestSkipMissing(t *testing.T) {
	for _, tt := range []struct {
		env  string
		err  error
		skip bool
	}{
		{"", ErrNoPostgres, false},
		{"0", ErrNoPostgres, false},
		{"true", ErrNoPostgres, false},
		{"1", ErrNoPostgres, true},
		{"1", errors.New("initdb failed"), false},
		{"1", nil, false},
	} {
		t.Setenv(SkipEnv, tt.env)
		if got := skipMissing(tt.err); got != tt.skip {
			t.Errorf("%s=%q, err %v: skip %v, want %v", SkipEnv, tt.env, tt.err, got, tt.skip)
		}
	}
}
