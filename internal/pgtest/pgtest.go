// Package pgtest runs a throwaway PostgreSQL cluster for tests: Main starts
// one per package test binary, NewDatabase gives each test its own empty
// database on it, so tests may run in parallel.
//
// The server binaries are found under /usr/lib/postgresql/*/bin (Debian's
// postgresql package; scripts/install-postgres installs it). When they are
// missing, tests fail, unless WAPROXY_SKIP_POSTGRES=1 is set, which skips
// them instead.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// SkipEnv is the environment variable that, set to 1, makes tests skip
// instead of fail when PostgreSQL is not installed.
const SkipEnv = "WAPROXY_SKIP_POSTGRES"

// startTimeout bounds how long a cluster may take to accept connections.
const startTimeout = 60 * time.Second

// ErrNoPostgres means no PostgreSQL server binaries were found.
var ErrNoPostgres = errors.New("pgtest: PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin; run scripts/install-postgres (or set " + SkipEnv + "=1 to skip these tests)")

// Cluster is a running throwaway PostgreSQL cluster.
type Cluster struct {
	dir    string // temp dir: data/, the log and the unix socket
	bin    string // directory of initdb and pg_ctl
	asUser string // OS user running the server ("" the current one)
	port   int
	// URL connects to the maintenance database as the superuser.
	URL string
}

// pkg is the cluster Main started for this test binary.
var (
	pkg     *Cluster
	skipped bool
)

// Main runs m with one cluster for the test binary and exits with m's
// code: call it from TestMain. Without PostgreSQL it exits 1 with a message
// naming scripts/install-postgres, unless WAPROXY_SKIP_POSTGRES=1 (then
// NewDatabase skips each test).
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	c, err := StartCluster()
	if skipMissing(err) {
		skipped = true
		return m.Run()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	pkg = c
	defer func() {
		if err := c.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	return m.Run()
}

// NewDatabase creates an empty database on Main's cluster and returns its
// URL; the database is dropped when t ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	if skipped {
		t.Skip("PostgreSQL not installed and " + SkipEnv + "=1")
	}
	if pkg == nil {
		t.Fatal("pgtest: no cluster: call pgtest.Main(m) from TestMain")
	}
	url, drop, err := pkg.NewDatabase(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := drop(ctx); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return url
}

// Start starts a cluster for one test (stopped when it ends) and returns
// its maintenance URL. Without PostgreSQL it fails the test (or skips it
// under WAPROXY_SKIP_POSTGRES=1).
func Start(tb testing.TB) string {
	tb.Helper()
	c, err := StartCluster()
	if skipMissing(err) {
		tb.Skip("PostgreSQL not installed and " + SkipEnv + "=1")
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := c.Stop(); err != nil {
			tb.Error(err)
		}
	})
	return c.URL
}

// skipMissing reports whether err means PostgreSQL is not installed and
// WAPROXY_SKIP_POSTGRES=1 asks to skip rather than fail.
func skipMissing(err error) bool {
	return errors.Is(err, ErrNoPostgres) && os.Getenv(SkipEnv) == "1"
}

// StartCluster initializes and starts a cluster in a new temp dir, listening on a
// free port of 127.0.0.1 only, and waits until it accepts connections.
// Stop stops it and removes the dir.
func StartCluster() (*Cluster, error) {
	bin, err := findBin(binGlob)
	if err != nil {
		return nil, err
	}
	c := &Cluster{bin: bin}
	if os.Geteuid() == 0 {
		// The server refuses to run as root.
		if _, err := user.Lookup("postgres"); err != nil {
			return nil, fmt.Errorf("pgtest: running as root needs the postgres OS user: %w", err)
		}
		c.asUser = "postgres"
	}
	c.dir, err = os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	if err := c.init(); err != nil {
		_ = os.RemoveAll(c.dir)
		return nil, err
	}
	// A free port can be taken between probing and binding: try again.
	for attempt := 0; ; attempt++ {
		err = c.start()
		if err == nil {
			return c, nil
		}
		if attempt == 2 {
			_ = os.RemoveAll(c.dir)
			return nil, err
		}
	}
}

// binGlob matches the bin directories of Debian's PostgreSQL versions.
const binGlob = "/usr/lib/postgresql/*/bin"

// findBin returns the newest <version>/bin matching glob that holds initdb
// and pg_ctl.
func findBin(glob string) (string, error) {
	dirs, _ := filepath.Glob(glob)
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	return "", ErrNoPostgres
}

// version is the major version in a /usr/lib/postgresql/<v>/bin path.
func version(dir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return v
}

func isExec(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// command runs a server binary as the cluster's OS user.
func (c *Cluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	path := filepath.Join(c.bin, name)
	if c.asUser != "" {
		return exec.CommandContext(ctx, "runuser", append([]string{"-u", c.asUser, "--", path}, args...)...)
	}
	return exec.CommandContext(ctx, path, args...)
}

// run runs a server binary, returning its output in the error.
func (c *Cluster) run(ctx context.Context, name string, args ...string) error {
	out, err := c.command(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgtest: %s: %w\n%s", name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// init creates the cluster's data directory.
func (c *Cluster) init() error {
	if c.asUser != "" {
		u, err := user.Lookup(c.asUser)
		if err != nil {
			return fmt.Errorf("pgtest: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(c.dir, uid, gid); err != nil {
			return fmt.Errorf("pgtest: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	return c.run(ctx, "initdb", "-D", c.data(), "-U", "postgres", "--auth=trust",
		"-E", "UTF8", "--locale=C", "--no-instructions")
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }

// start starts the server on a free port and waits until it accepts
// connections.
func (c *Cluster) start() error {
	port, err := freePort()
	if err != nil {
		return err
	}
	c.port = port
	c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	opts := strings.Join([]string{
		"-c listen_addresses=127.0.0.1",
		"-p " + strconv.Itoa(port),
		"-c unix_socket_directories=" + c.dir,
		"-c shared_buffers=16MB",
		"-c max_connections=200",
	}, " ")
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := c.run(ctx, "pg_ctl", "start", "-D", c.data(), "-l", filepath.Join(c.dir, "log"),
		"-o", opts, "-w", "-t", strconv.Itoa(int(startTimeout/time.Second))); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "log"))
		return fmt.Errorf("%w\nserver log:\n%s", err, log)
	}
	if err := c.waitReady(ctx); err != nil {
		_ = c.Stop()
		return err
	}
	return nil
}

// waitReady polls with a connection until the server answers or ctx ends.
func (c *Cluster) waitReady(ctx context.Context) error {
	for {
		conn, err := pgx.Connect(ctx, c.URL)
		if err == nil {
			return conn.Close(ctx)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pgtest: server not accepting connections: %w", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// freePort returns a TCP port of 127.0.0.1 free at the time of the call.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Stop stops the server (fast shutdown) and removes its directory.
func (c *Cluster) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	err := c.run(ctx, "pg_ctl", "stop", "-D", c.data(), "-m", "fast", "-w")
	if rmErr := os.RemoveAll(c.dir); err == nil && rmErr != nil {
		err = fmt.Errorf("pgtest: %w", rmErr)
	}
	return err
}

// NewDatabase creates an empty database t_<random> and returns its URL
// and a func that drops it.
func (c *Cluster) NewDatabase(ctx context.Context) (url string, drop func(context.Context) error, err error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, fmt.Errorf("pgtest: %w", err)
	}
	name := "t_" + hex.EncodeToString(b[:])
	if err := c.admin(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, err
	}
	url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, name)
	drop = func(ctx context.Context) error {
		return c.admin(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	}
	return url, drop, nil
}

// admin runs one statement on the maintenance database.
func (c *Cluster) admin(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, c.URL)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("pgtest: %s: %w", sql, err)
	}
	return nil
}
