// Package pgstore is the networked store.Queue on PostgreSQL: many proxy
// replicas share one database. It passes the same conformance suite
// (store/storetest) as the embedded Bolt store and adds what sharing needs:
//
//   - An event, its dedup key and its id pairs commit in one transaction;
//     the dedup check is an upsert on the key, so the same Key enqueued
//     through two replicas is stored once.
//   - Lease claims due events with SELECT … FOR UPDATE SKIP LOCKED through
//     a partial (tenant, next_ns, id) index, and records the lease's owner
//     and deadline (now + LeaseDuration). Another owner can lease the event
//     only after the deadline, so an event leased by a replica that dies is
//     delivered again, and never twice while its lease holds.
//   - Ack, Retry and DeadLetter succeed for the lease holder, for an event
//     not leased, or for one whose lease has expired; an event leased by
//     another owner whose lease still holds fails with ErrLeaseHeld.
//
// Every time decision uses Options.Now (and Lease's now for due times),
// never the server's clock. Expired dedup keys, id pairs and media records
// are invisible at once and deleted by Sweep (in bounded batches, one
// replica at a time).
package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"waproxy/store"
)

// ErrLeaseHeld means another owner holds an unexpired lease on the event.
var ErrLeaseHeld = errors.New("pgstore: event is leased by another owner")

// Options tune a Store. The zero value is usable: every zero (or negative)
// field takes its documented default (see withDefaults).
type Options struct {
	// DedupWindow is how long an event Key suppresses later events with the
	// same Key. Default 24h.
	DedupWindow time.Duration
	// IDTTL is how long PutIDs pairs are remembered. Default 7*24h.
	IDTTL time.Duration
	// MediaTTL is how long a media record is valid. Default 30*24h.
	MediaTTL time.Duration
	// LeaseDuration is how long a leased event stays hidden from other
	// owners without Ack, Retry or DeadLetter. It must exceed the longest
	// delivery attempt. Default 5m.
	LeaseDuration time.Duration
	// Owner names this Store's leases. Stores sharing a database must use
	// distinct owners. Default a random id per Store.
	Owner string
	// MaxConns caps the connection pool. Default 8.
	MaxConns int32
	// SweepEvery is how often a background goroutine runs Sweep. Default
	// 1m.
	SweepEvery time.Duration
	// SweepBatch bounds the rows one Sweep deletes per table. Default 1000.
	SweepBatch int
	// NoMigrate makes Open skip Migrate (the schema is managed elsewhere).
	NoMigrate bool
	// Now is the clock for Created defaults, dedup, id, media and lease
	// expiry and Stats (Lease takes its own now for due times). Default
	// time.Now.
	Now func() time.Time
}

// withDefaults returns o with every unset field at its default.
func (o Options) withDefaults() (Options, error) {
	if o.DedupWindow <= 0 {
		o.DedupWindow = store.DefaultDedupWindow
	}
	if o.IDTTL <= 0 {
		o.IDTTL = store.DefaultIDTTL
	}
	if o.MediaTTL <= 0 {
		o.MediaTTL = store.DefaultMediaTTL
	}
	if o.LeaseDuration <= 0 {
		o.LeaseDuration = 5 * time.Minute
	}
	if o.Owner == "" {
		var b [12]byte
		if _, err := rand.Read(b[:]); err != nil {
			return o, fmt.Errorf("owner id: %w", err)
		}
		o.Owner = hex.EncodeToString(b[:])
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 8
	}
	if o.SweepEvery <= 0 {
		o.SweepEvery = time.Minute
	}
	if o.SweepBatch <= 0 {
		o.SweepBatch = 1000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}

// Store is the PostgreSQL store.Queue plus the media and flow indexes. It
// is safe for concurrent use; many Stores (in many processes) may share a
// database.
type Store struct {
	pool *pgxpool.Pool
	opt  Options

	// closeMu is held shared by every call and exclusively by Close, so
	// Close waits for calls in flight and later calls see closed.
	closeMu sync.RWMutex
	closed  bool
	stop    chan struct{} // closed by Close: stops the sweeper
	done    chan struct{} // closed by the sweeper when it exits
}

var (
	_ store.Queue      = (*Store)(nil)
	_ store.MediaIndex = (*Store)(nil)
	_ store.FlowIndex  = (*Store)(nil)
)

// Open connects to the database at url (a postgres:// URL or key=value
// DSN), applies missing migrations unless opt.NoMigrate, and starts the
// background sweeper. Errors never include the URL (it may hold a
// password).
func Open(ctx context.Context, url string, opt Options) (*Store, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("pgstore: open: %w", err)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's parse errors can quote the URL: report only that it failed.
		return nil, errors.New("pgstore: open: invalid database URL")
	}
	cfg.MaxConns = opt.MaxConns
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: open: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pgstore: open: %w", err)
	}
	if !opt.NoMigrate {
		if err := migrate(ctx, pool); err != nil {
			pool.Close()
			return nil, err
		}
	}
	s := &Store{pool: pool, opt: opt, stop: make(chan struct{}), done: make(chan struct{})}
	go s.sweepLoop()
	return s, nil
}

// Owner returns the name this Store's leases carry.
func (s *Store) Owner() string { return s.opt.Owner }

// enter starts a call: it fails with ctx.Err() or ErrClosed, else holds
// closeMu shared until the returned func is called.
func (s *Store) enter(ctx context.Context) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return nil, store.ErrClosed
	}
	return s.closeMu.RUnlock, nil
}

// Close stops the sweeper, waits for calls in flight and closes the pool.
// Leases this Store holds are not released: their events become leasable
// by other owners after their deadlines. Later calls fail with
// store.ErrClosed.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	close(s.stop)
	s.closeMu.Unlock()
	<-s.done
	s.pool.Close()
	return nil
}

// nanos is t as unix nanoseconds, the stored time representation.
func nanos(t time.Time) int64 { return t.UnixNano() }

// fromNanos is the stored time n as a UTC time.Time.
func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }
