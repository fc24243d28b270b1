package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// ErrLocked means another process (or another Bolt in this process) holds
// the database file; Open gave up after Options.OpenTimeout.
var ErrLocked = errors.New("store: database file is locked by another process")

// errCorrupt marks a stored record or key that cannot be decoded.
var errCorrupt = errors.New("store: corrupt record")

// Options tune a Bolt store. The zero value is usable: every zero (or
// negative) field takes its documented default.
type Options struct {
	// DedupWindow is how long an event Key suppresses later events with the
	// same Key. Default 24h.
	DedupWindow time.Duration
	// IDTTL is how long PutIDs pairs are remembered. Default 7*24h.
	IDTTL time.Duration
	// MediaTTL is how long a media record is valid. Default 30*24h (Meta
	// keeps uploaded media 30 days).
	MediaTTL time.Duration
	// SweepEvery is how often a background goroutine deletes expired dedup
	// keys and id pairs (in bounded chunks, through expiry indexes; expired
	// entries are already invisible before that). Default 1m.
	SweepEvery time.Duration
	// OpenTimeout is how long Open waits for the file lock when another
	// process holds the file; then it fails with an error wrapping
	// ErrLocked. Default 1s.
	OpenTimeout time.Duration
	// MaxBatch caps how many writes (Enqueue, Ack, Retry, DeadLetter,
	// PutIDs, the media and flow index) share one transaction. Writes are
	// group-committed: every write that arrives while a commit is running
	// joins the next one, so they share its fsync, without any delay when
	// the store is idle. Default 1024.
	MaxBatch int
	// NoSync skips fsync on commit: writes are no longer durable across a
	// machine crash. For tests and benchmarks only. Default false.
	NoSync bool
	// Now is the clock for Created defaults, dedup and id-pair expiry and
	// Stats (Lease takes its own now). Default time.Now.
	Now func() time.Time
}

// withDefaults returns o with every unset field at its default.
func (o Options) withDefaults() Options {
	if o.DedupWindow <= 0 {
		o.DedupWindow = DefaultDedupWindow
	}
	if o.MediaTTL <= 0 {
		o.MediaTTL = DefaultMediaTTL
	}
	if o.IDTTL <= 0 {
		o.IDTTL = DefaultIDTTL
	}
	if o.SweepEvery <= 0 {
		o.SweepEvery = time.Minute
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 1024
	}
	if o.OpenTimeout <= 0 {
		o.OpenTimeout = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Bucket names. The layout:
//
//	events    id (8 bytes BE)                         → record
//	due       tenant 0x00 nextAt (8, sortable) id (8) → (empty)
//	dead      id (8 bytes BE)                         → record
//	dedup     key                                     → expiry (8, sortable)
//	dedupexp  expiry (8, sortable) key                → (empty)
//	ids       gsID                                    → expiry (8, sortable) wamid
//	idsexp    expiry (8, sortable) gsID               → (empty)
//
// "Sortable" is the unix-nanosecond int64 with its sign bit flipped, so
// byte order is time order (including before 1970).
const (
	bucketEvents   = "events"
	bucketDue      = "due"
	bucketDead     = "dead"
	bucketDedup    = "dedup"
	bucketDedupExp = "dedupexp"
	bucketIDs      = "ids"
	bucketIDsExp   = "idsexp"
	bucketMedia    = "media"
	bucketFlows    = "flows"
)

// sweepChunk bounds how many expired entries one sweeper transaction
// deletes, so the writer lock is never held for long.
const sweepChunk = 1000

// maxName bounds tenant names and dedup keys so index keys stay within
// bbolt's key size limit.
const maxName = bolt.MaxKeySize - 32

// Bolt is the embedded Queue: one bbolt file owned by one process. Writes
// are group-committed (db.Batch); leases live in memory, so after a
// restart every pending event can be leased again (at-least-once delivery).
// Bolt is safe for concurrent use.
type Bolt struct {
	db   *bolt.DB
	path string
	opt  Options

	// closeMu is held shared by every call and exclusively by Close, so
	// Close waits for calls in flight and later calls see closed.
	closeMu sync.RWMutex
	closed  bool
	stop    chan struct{}  // closed by Close: stops the sweeper
	done    chan struct{}  // closed by the sweeper when it exits
	writes  chan *writeReq // group-committed writes; closed by Close
	written chan struct{}  // closed by the writer when it exits

	// leaseMu guards leased and is held by Lease across its read
	// transaction (see Lease for why).
	leaseMu sync.Mutex
	leased  map[uint64]struct{}

	// statsMu guards pending and dead, kept in step with committed writes.
	statsMu sync.Mutex
	pending map[string]int
	dead    int

	// visited counts due-index keys Lease has walked (for tests).
	visited atomic.Int64
}

var _ Queue = (*Bolt)(nil)

// Open opens (creating if needed) the queue file at path. Only one Bolt
// may have a file open at a time (bbolt takes an flock); if the lock is
// not free within opt.OpenTimeout the error wraps ErrLocked. Open rebuilds
// the in-memory counters with one scan and starts the sweeper; Close stops
// it.
func Open(path string, opt Options) (*Bolt, error) {
	opt = opt.withDefaults()
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout: opt.OpenTimeout,
		NoSync:  opt.NoSync,
		// The freelist is rebuilt at open instead of written on every
		// commit: cheaper commits for a queue's insert/delete churn.
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("store: open %s: %w (waited %s)", path, ErrLocked, opt.OpenTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	b := &Bolt{
		db:      db,
		path:    path,
		opt:     opt,
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		writes:  make(chan *writeReq),
		written: make(chan struct{}),
		leased:  make(map[uint64]struct{}),
		pending: make(map[string]int),
	}
	if err := b.init(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	go b.sweepLoop()
	go b.writeLoop()
	return b, nil
}

// init creates the buckets and rebuilds the pending and dead counters.
func (b *Bolt) init() error {
	err := b.db.Update(func(tx *bolt.Tx) error {
		for _, name := range []string{bucketEvents, bucketDue, bucketDead, bucketDedup, bucketDedupExp, bucketIDs, bucketIDsExp, bucketMedia, bucketFlows} {
			if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return b.db.View(func(tx *bolt.Tx) error {
		// Due keys are sorted by tenant, so count runs of one tenant
		// without a map write per key.
		var cur []byte
		n := 0
		flush := func() {
			if n > 0 {
				b.pending[string(cur)] += n
			}
		}
		c := tx.Bucket([]byte(bucketDue)).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if len(k) < 17 || k[len(k)-17] != 0 {
				return fmt.Errorf("due key %x: %w", k, errCorrupt)
			}
			t := k[:len(k)-17]
			if n == 0 || !bytes.Equal(t, cur) {
				flush()
				cur, n = append(cur[:0], t...), 0
			}
			n++
		}
		flush()
		c = tx.Bucket([]byte(bucketDead)).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			b.dead++
		}
		return nil
	})
}

// enter starts a call: it fails with ctx.Err() or ErrClosed, else holds
// closeMu shared until the returned func is called.
func (b *Bolt) enter(ctx context.Context) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.closeMu.RLock()
	if b.closed {
		b.closeMu.RUnlock()
		return nil, ErrClosed
	}
	return b.closeMu.RUnlock, nil
}

// Enqueue stores events in one group-committed write transaction; see
// Queue.Enqueue. The dedup check-and-set happens in that transaction, so a
// Key repeated within events is stored once. Stored events get ID, and
// Created (Now() when zero) and NextAt (Created when zero) are written
// back into events[i]. Tenants must not contain NUL.
func (b *Bolt) Enqueue(ctx context.Context, events []Event) ([]bool, error) {
	return b.EnqueueWithIDs(ctx, events, nil)
}

// EnqueueWithIDs is Enqueue and PutIDs(pairs) in one transaction: the id
// pairs a callback teaches are durable with its events, for one fsync.
func (b *Bolt) EnqueueWithIDs(ctx context.Context, events []Event, pairs []IDPair) ([]bool, error) {
	release, err := b.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	if err := checkPairs(pairs); err != nil {
		return nil, fmt.Errorf("store: enqueue: %w", err)
	}
	if len(events) == 0 && len(pairs) == 0 {
		return nil, nil
	}
	now := b.opt.Now()
	idExpN := nanos(now.Add(b.opt.IDTTL))
	nowN := nanos(now)
	expN := nanos(now.Add(b.opt.DedupWindow))
	recs := make([]record, len(events))
	vals := make([][]byte, len(events))
	for i := range events {
		e := &events[i]
		if err := checkName("tenant", e.Tenant); err != nil {
			return nil, fmt.Errorf("store: enqueue event %d: %w", i, err)
		}
		if len(e.Key) > maxName {
			return nil, fmt.Errorf("store: enqueue event %d: key longer than %d bytes", i, maxName)
		}
		r := record{tenant: e.Tenant, key: e.Key, body: e.Body, created: nowN,
			attempts: e.Attempts, lastErr: e.LastError}
		if !e.Created.IsZero() {
			r.created = nanos(e.Created)
		}
		r.nextAt = r.created
		if !e.NextAt.IsZero() {
			r.nextAt = nanos(e.NextAt)
		}
		recs[i], vals[i] = r, r.encode()
	}
	dup := make([]bool, len(events))
	ids := make([]uint64, len(events))
	// batch may run fn more than once (when another write in the group
	// fails): fn resets its outputs and touches nothing outside the tx.
	err = b.batch(func(tx *bolt.Tx) error {
		clear(dup)
		clear(ids)
		if err := putIDsTx(tx, pairs, idExpN); err != nil {
			return err
		}
		evB, dueB := tx.Bucket([]byte(bucketEvents)), tx.Bucket([]byte(bucketDue))
		ddB, dxB := tx.Bucket([]byte(bucketDedup)), tx.Bucket([]byte(bucketDedupExp))
		for i := range recs {
			r := &recs[i]
			if r.key != "" {
				k := []byte(r.key)
				if v := ddB.Get(k); len(v) == 8 {
					old := unsortable(v)
					if nowN < old {
						dup[i] = true
						continue
					}
					if err := dxB.Delete(expKey(old, r.key)); err != nil {
						return err
					}
				}
				if err := ddB.Put(k, sortable(expN)); err != nil {
					return err
				}
				if err := dxB.Put(expKey(expN, r.key), nil); err != nil {
					return err
				}
			}
			id, err := evB.NextSequence()
			if err != nil {
				return err
			}
			if err := evB.Put(u64(id), vals[i]); err != nil {
				return err
			}
			if err := dueB.Put(dueKey(r.tenant, r.nextAt, id), nil); err != nil {
				return err
			}
			ids[i] = id
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: enqueue: %w", err)
	}
	for i := range events {
		if !dup[i] {
			b.addPending(events[i].Tenant, 1, 0)
		}
	}
	for i := range events {
		if !dup[i] {
			events[i].ID = ids[i]
			events[i].Created = time.Unix(0, recs[i].created)
			events[i].NextAt = time.Unix(0, recs[i].nextAt)
		}
	}
	return dup, nil
}

// Lease returns up to max of tenant's events due at now (NextAt <= now),
// in due order, and marks them leased in memory; see Queue.Lease. It seeks
// the tenant's part of the due index and stops at the first key not yet
// due, walking past at most max plus the tenant's leased-and-due keys.
func (b *Bolt) Lease(ctx context.Context, tenant string, now time.Time, max int) ([]Event, error) {
	release, err := b.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	if err := checkName("tenant", tenant); err != nil {
		return nil, fmt.Errorf("store: lease: %w", err)
	}
	if max <= 0 {
		return nil, nil
	}
	prefix := append([]byte(tenant), 0)
	limit := sortable(nanos(now))
	var out []Event
	// leaseMu is held across the read transaction: Ack/Retry/DeadLetter
	// release a lease only after their commit, so a snapshot taken while
	// holding leaseMu either shows the lease or postdates that commit —
	// an acknowledged event is never handed out again from a stale
	// snapshot.
	b.leaseMu.Lock()
	defer b.leaseMu.Unlock()
	visited := 0
	err = b.db.View(func(tx *bolt.Tx) error {
		evB := tx.Bucket([]byte(bucketEvents))
		c := tx.Bucket([]byte(bucketDue)).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			visited++
			rest := k[len(prefix):]
			if len(rest) != 16 {
				return fmt.Errorf("due key %x: %w", k, errCorrupt)
			}
			if bytes.Compare(rest[:8], limit) > 0 {
				break
			}
			id := binary.BigEndian.Uint64(rest[8:])
			if _, ok := b.leased[id]; ok {
				continue
			}
			v := evB.Get(rest[8:])
			if v == nil {
				return fmt.Errorf("due key %x without event: %w", k, errCorrupt)
			}
			r, err := decodeRecord(v, true)
			if err != nil {
				return fmt.Errorf("event %d: %w", id, err)
			}
			out = append(out, r.event(id))
			if len(out) == max {
				break
			}
		}
		return nil
	})
	b.visited.Add(int64(visited))
	if err != nil {
		return nil, fmt.Errorf("store: lease %s: %w", tenant, err)
	}
	for _, e := range out {
		b.leased[e.ID] = struct{}{}
	}
	return out, nil
}

// unlease forgets a lease; called after the write that ends it committed.
func (b *Bolt) unlease(id uint64) {
	b.leaseMu.Lock()
	delete(b.leased, id)
	b.leaseMu.Unlock()
}

// Ack deletes a delivered event and ends its lease. Unknown ids fail with
// ErrNotFound.
func (b *Bolt) Ack(ctx context.Context, id uint64) error {
	release, err := b.enter(ctx)
	if err != nil {
		return err
	}
	defer release()
	var tenant string
	found := false
	err = b.batch(func(tx *bolt.Tx) error {
		found = false
		r, ok, err := removeEvent(tx, id)
		if err != nil || !ok {
			return err
		}
		tenant, found = r.tenant, true
		return nil
	})
	b.unlease(id)
	if err != nil {
		return fmt.Errorf("store: ack %d: %w", id, err)
	}
	if !found {
		return fmt.Errorf("store: ack %d: %w", id, ErrNotFound)
	}
	b.addPending(tenant, -1, 0)
	return nil
}

// Retry records a failed attempt: Attempts+1, LastError = lastErr, due
// again at at (Now() when zero); the lease ends. Unknown ids fail with
// ErrNotFound.
func (b *Bolt) Retry(ctx context.Context, id uint64, at time.Time, lastErr string) error {
	release, err := b.enter(ctx)
	if err != nil {
		return err
	}
	defer release()
	if at.IsZero() {
		at = b.opt.Now()
	}
	atN := nanos(at)
	found := false
	err = b.batch(func(tx *bolt.Tx) error {
		found = false
		r, ok, err := removeEvent(tx, id)
		if err != nil || !ok {
			return err
		}
		r.attempts++
		r.lastErr = lastErr
		r.nextAt = atN
		if err := putEvent(tx, id, r); err != nil {
			return err
		}
		found = true
		return nil
	})
	b.unlease(id)
	if err != nil {
		return fmt.Errorf("store: retry %d: %w", id, err)
	}
	if !found {
		return fmt.Errorf("store: retry %d: %w", id, ErrNotFound)
	}
	return nil
}

// DeadLetter moves an event to the dead letters, LastError = reason and
// Attempts+1 (the attempt that made it give up); the lease ends. Unknown ids fail with ErrNotFound.
func (b *Bolt) DeadLetter(ctx context.Context, id uint64, reason string) error {
	release, err := b.enter(ctx)
	if err != nil {
		return err
	}
	defer release()
	var tenant string
	found := false
	err = b.batch(func(tx *bolt.Tx) error {
		found = false
		r, ok, err := removeEvent(tx, id)
		if err != nil || !ok {
			return err
		}
		r.lastErr = reason
		r.attempts++
		if err := tx.Bucket([]byte(bucketDead)).Put(u64(id), r.encode()); err != nil {
			return err
		}
		tenant, found = r.tenant, true
		return nil
	})
	b.unlease(id)
	if err != nil {
		return fmt.Errorf("store: dead-letter %d: %w", id, err)
	}
	if !found {
		return fmt.Errorf("store: dead-letter %d: %w", id, ErrNotFound)
	}
	b.addPending(tenant, -1, +1)
	return nil
}

// DeadLetters lists up to limit dead letters in id order (oldest first);
// limit <= 0 lists all.
func (b *Bolt) DeadLetters(ctx context.Context, limit int) ([]Event, error) {
	release, err := b.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	var out []Event
	err = b.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket([]byte(bucketDead)).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if limit > 0 && len(out) >= limit {
				break
			}
			id, err := parseID(k)
			if err != nil {
				return err
			}
			r, err := decodeRecord(v, true)
			if err != nil {
				return fmt.Errorf("dead letter %d: %w", id, err)
			}
			out = append(out, r.event(id))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: dead letters: %w", err)
	}
	return out, nil
}

// Replay moves dead letters back into the queue in one transaction: same
// ID, Tenant, Key, Body and Created, Attempts 0, LastError cleared, due at
// at (Now() when zero). ids nil means every dead letter; ids that are not
// dead letters are skipped. It returns how many moved.
func (b *Bolt) Replay(ctx context.Context, ids []uint64, at time.Time) (int, error) {
	release, err := b.enter(ctx)
	if err != nil {
		return 0, err
	}
	defer release()
	if at.IsZero() {
		at = b.opt.Now()
	}
	atN := nanos(at)
	var moved map[string]int
	n := 0
	err = b.db.Update(func(tx *bolt.Tx) error {
		deadB := tx.Bucket([]byte(bucketDead))
		keys := make([][]byte, 0, len(ids))
		if ids == nil {
			c := deadB.Cursor()
			for k, _ := c.First(); k != nil; k, _ = c.Next() {
				if err := ctx.Err(); err != nil {
					return err
				}
				keys = append(keys, bytes.Clone(k))
			}
		} else {
			for _, id := range ids {
				keys = append(keys, u64(id))
			}
		}
		moved = make(map[string]int)
		for _, k := range keys {
			v := deadB.Get(k)
			if v == nil {
				continue
			}
			id, err := parseID(k)
			if err != nil {
				return err
			}
			r, err := decodeRecord(v, true)
			if err != nil {
				return fmt.Errorf("dead letter %d: %w", id, err)
			}
			if err := deadB.Delete(k); err != nil {
				return err
			}
			// A replayed event starts over: its retry horizon counts from
			// the replay, not from its first intake.
			r.attempts, r.lastErr, r.nextAt, r.created = 0, "", atN, atN
			if err := putEvent(tx, id, r); err != nil {
				return err
			}
			moved[r.tenant]++
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: replay: %w", err)
	}
	for t, k := range moved {
		b.addPending(t, k, -k)
	}
	return n, nil
}

// Stats reports pending events per tenant and dead letters from in-memory
// counters, and Oldest from the first (lowest-id) pending event: O(1).
// Ids grow with time, so that is the oldest unless callers set Created.
func (b *Bolt) Stats(ctx context.Context) (Stats, error) {
	release, err := b.enter(ctx)
	if err != nil {
		return Stats{}, err
	}
	defer release()
	var s Stats
	err = b.db.View(func(tx *bolt.Tx) error {
		k, v := tx.Bucket([]byte(bucketEvents)).Cursor().First()
		if k == nil {
			return nil
		}
		r, err := decodeRecord(v, false)
		if err != nil {
			return fmt.Errorf("event %x: %w", k, err)
		}
		s.Oldest = time.Unix(0, r.created)
		return nil
	})
	if err != nil {
		return Stats{}, fmt.Errorf("store: stats: %w", err)
	}
	b.statsMu.Lock()
	s.Pending = make(map[string]int, len(b.pending))
	for t, n := range b.pending {
		if n > 0 { // see addPending
			s.Pending[t] = n
		}
	}
	s.Dead = max(b.dead, 0)
	b.statsMu.Unlock()
	return s, nil
}

// addPending applies committed changes to the counters. Counters are
// updated after the commit, so an Ack may be counted before the Enqueue of
// the same event: a tenant's count can be briefly negative, and only an
// exact zero is deleted.
func (b *Bolt) addPending(tenant string, pending, dead int) {
	b.statsMu.Lock()
	defer b.statsMu.Unlock()
	if n := b.pending[tenant] + pending; n != 0 {
		b.pending[tenant] = n
	} else {
		delete(b.pending, tenant)
	}
	b.dead += dead
}

// PutIDs remembers pairs for Options.IDTTL (from Now()), overwriting
// earlier pairs for the same GsID; pairs with an empty GsID are ignored.
func (b *Bolt) PutIDs(ctx context.Context, pairs []IDPair) error {
	release, err := b.enter(ctx)
	if err != nil {
		return err
	}
	defer release()
	if err := checkPairs(pairs); err != nil {
		return fmt.Errorf("store: put ids: %w", err)
	}
	expN := nanos(b.opt.Now().Add(b.opt.IDTTL))
	err = b.batch(func(tx *bolt.Tx) error { return putIDsTx(tx, pairs, expN) })
	if err != nil {
		return fmt.Errorf("store: put ids: %w", err)
	}
	return nil
}

// checkPairs rejects gs ids too long for a key.
func checkPairs(pairs []IDPair) error {
	for i, p := range pairs {
		if len(p.GsID) > maxName {
			return fmt.Errorf("pair %d: gs id longer than %d bytes", i, maxName)
		}
	}
	return nil
}

// putIDsTx writes pairs (expiring at expN) in tx, replacing earlier pairs
// of the same gs id; pairs with an empty gs id are skipped.
func putIDsTx(tx *bolt.Tx, pairs []IDPair, expN int64) error {
	if len(pairs) == 0 {
		return nil
	}
	idB, ixB := tx.Bucket([]byte(bucketIDs)), tx.Bucket([]byte(bucketIDsExp))
	for _, p := range pairs {
		if p.GsID == "" {
			continue
		}
		k := []byte(p.GsID)
		if v := idB.Get(k); len(v) >= 8 {
			if err := ixB.Delete(expKey(unsortable(v[:8]), p.GsID)); err != nil {
				return err
			}
		}
		v := append(sortable(expN), p.WAMID...)
		if err := idB.Put(k, v); err != nil {
			return err
		}
		if err := ixB.Put(expKey(expN, p.GsID), nil); err != nil {
			return err
		}
	}
	return nil
}

// WAMID returns the wamid paired with gsID unless unknown or expired
// (expired pairs are invisible even before the sweeper deletes them).
func (b *Bolt) WAMID(ctx context.Context, gsID string) (string, bool, error) {
	release, err := b.enter(ctx)
	if err != nil {
		return "", false, err
	}
	defer release()
	if gsID == "" {
		return "", false, nil
	}
	nowN := nanos(b.opt.Now())
	var wamid string
	var ok bool
	err = b.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket([]byte(bucketIDs)).Get([]byte(gsID))
		if v == nil {
			return nil
		}
		if len(v) < 8 {
			return fmt.Errorf("id pair %q: %w", gsID, errCorrupt)
		}
		if nowN < unsortable(v[:8]) {
			wamid, ok = string(v[8:]), true
		}
		return nil
	})
	if err != nil {
		return "", false, fmt.Errorf("store: wamid: %w", err)
	}
	return wamid, ok, nil
}

// Close stops the sweeper, waits for calls in flight and closes the file.
// Later calls, including Close, return ErrClosed.
func (b *Bolt) Close() error {
	b.closeMu.Lock()
	if b.closed {
		b.closeMu.Unlock()
		return ErrClosed
	}
	b.closed = true
	b.closeMu.Unlock()
	close(b.stop)
	<-b.done
	close(b.writes) // no call is in flight: closeMu was held exclusively
	<-b.written
	if err := b.db.Close(); err != nil {
		return fmt.Errorf("store: close %s: %w", b.path, err)
	}
	return nil
}

// sweepLoop runs sweep every Options.SweepEvery until Close. Failed sweeps
// are retried at the next tick (the entries stay invisible meanwhile).
func (b *Bolt) sweepLoop() {
	defer close(b.done)
	t := time.NewTicker(b.opt.SweepEvery)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			_, _ = b.sweep()
		}
	}
}

// sweep deletes expired dedup keys and id pairs, sweepChunk per
// transaction, and returns how many entries it deleted.
func (b *Bolt) sweep() (int, error) {
	total := 0
	for _, pair := range [][2]string{{bucketDedup, bucketDedupExp}, {bucketIDs, bucketIDsExp}} {
		for {
			select {
			case <-b.stop:
				return total, ErrClosed
			default:
			}
			n, err := b.sweepChunk(pair[0], pair[1])
			total += n
			if err != nil {
				return total, err
			}
			if n < sweepChunk {
				break
			}
		}
	}
	return total, nil
}

// sweepChunk deletes up to sweepChunk entries of main whose expiry (per
// the index bucket idx) is not after Now(), with their index keys.
func (b *Bolt) sweepChunk(main, idx string) (int, error) {
	release, err := b.enter(context.Background())
	if err != nil {
		return 0, err
	}
	defer release()
	limit := sortable(nanos(b.opt.Now()))
	n := 0
	err = b.db.Update(func(tx *bolt.Tx) error {
		n = 0
		mB, xB := tx.Bucket([]byte(main)), tx.Bucket([]byte(idx))
		var expired [][]byte
		c := xB.Cursor()
		for k, _ := c.First(); k != nil && len(expired) < sweepChunk; k, _ = c.Next() {
			if len(k) < 8 || bytes.Compare(k[:8], limit) > 0 {
				break
			}
			expired = append(expired, bytes.Clone(k))
		}
		for _, k := range expired {
			name := k[8:]
			// The entry may have been renewed (new expiry, new index key):
			// delete it only if it still carries this expiry.
			if v := mB.Get(name); len(v) >= 8 && bytes.Equal(v[:8], k[:8]) {
				if err := mB.Delete(name); err != nil {
					return err
				}
			}
			if err := xB.Delete(k); err != nil {
				return err
			}
		}
		n = len(expired)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: sweep %s: %w", main, err)
	}
	return n, nil
}

// removeEvent deletes event id and its due key, returning the record;
// ok is false if there is no such event.
func removeEvent(tx *bolt.Tx, id uint64) (r record, ok bool, err error) {
	evB := tx.Bucket([]byte(bucketEvents))
	k := u64(id)
	v := evB.Get(k)
	if v == nil {
		return record{}, false, nil
	}
	r, err = decodeRecord(v, true)
	if err != nil {
		return record{}, false, fmt.Errorf("event %d: %w", id, err)
	}
	if err := tx.Bucket([]byte(bucketDue)).Delete(dueKey(r.tenant, r.nextAt, id)); err != nil {
		return record{}, false, err
	}
	if err := evB.Delete(k); err != nil {
		return record{}, false, err
	}
	return r, true, nil
}

// putEvent stores event id and its due key.
func putEvent(tx *bolt.Tx, id uint64, r record) error {
	if err := tx.Bucket([]byte(bucketEvents)).Put(u64(id), r.encode()); err != nil {
		return err
	}
	return tx.Bucket([]byte(bucketDue)).Put(dueKey(r.tenant, r.nextAt, id), nil)
}

// checkName rejects names that cannot be part of an index key.
func checkName(what, s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%s %q contains NUL", what, s)
	}
	if len(s) > maxName {
		return fmt.Errorf("%s longer than %d bytes", what, maxName)
	}
	return nil
}

// record is an event as stored (ID is the key). Times are unix nanos.
type record struct {
	tenant, key     string
	body            []byte
	created, nextAt int64
	attempts        int
	lastErr         string
}

// recordVersion is the first byte of every encoded record.
const recordVersion = 1

// encode returns the compact binary form: version, then uvarint-length
// tenant, key and lastErr, varint created, nextAt and attempts, and the
// body as the rest.
func (r *record) encode() []byte {
	n := 1 + 6*binary.MaxVarintLen64 + len(r.tenant) + len(r.key) + len(r.lastErr) + len(r.body)
	buf := make([]byte, 0, n)
	buf = append(buf, recordVersion)
	buf = binary.AppendUvarint(buf, uint64(len(r.tenant)))
	buf = append(buf, r.tenant...)
	buf = binary.AppendUvarint(buf, uint64(len(r.key)))
	buf = append(buf, r.key...)
	buf = binary.AppendUvarint(buf, uint64(len(r.lastErr)))
	buf = append(buf, r.lastErr...)
	buf = binary.AppendVarint(buf, r.created)
	buf = binary.AppendVarint(buf, r.nextAt)
	buf = binary.AppendVarint(buf, int64(r.attempts))
	return append(buf, r.body...)
}

// decodeRecord parses an encoded record, copying out of v (which bbolt
// owns). With body false the body is left nil.
func decodeRecord(v []byte, body bool) (record, error) {
	var r record
	if len(v) == 0 || v[0] != recordVersion {
		return r, errCorrupt
	}
	d := decoder{b: v[1:]}
	r.tenant = d.str()
	r.key = d.str()
	r.lastErr = d.str()
	r.created = d.varint()
	r.nextAt = d.varint()
	r.attempts = int(d.varint())
	if d.bad {
		return record{}, errCorrupt
	}
	if body {
		r.body = bytes.Clone(d.b)
		if r.body == nil {
			r.body = []byte{}
		}
	}
	return r, nil
}

// decoder reads varints and strings, remembering any failure.
type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) uvarint() uint64 { return readVarint(d, binary.Uvarint) }

func (d *decoder) varint() int64 { return readVarint(d, binary.Varint) }

// readVarint consumes one varint of d read by read (binary.Uvarint or
// binary.Varint).
func readVarint[T uint64 | int64](d *decoder, read func([]byte) (T, int)) T {
	v, n := read(d.b)
	if n <= 0 {
		d.bad = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.bad || n > uint64(len(d.b)) {
		d.bad = true
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// event converts r to an Event with the given id.
func (r *record) event(id uint64) Event {
	return Event{
		ID:        id,
		Tenant:    r.tenant,
		Key:       r.key,
		Body:      r.body,
		Created:   time.Unix(0, r.created),
		Attempts:  r.attempts,
		NextAt:    time.Unix(0, r.nextAt),
		LastError: r.lastErr,
	}
}

// nanos is t in unix nanoseconds, clamped to the int64 range (the zero
// time becomes math.MinInt64).
func nanos(t time.Time) int64 {
	switch s := t.Unix(); {
	case s < math.MinInt64/int64(time.Second):
		return math.MinInt64
	case s >= math.MaxInt64/int64(time.Second):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// sortable encodes unix nanos so that byte order is numeric order.
func sortable(n int64) []byte {
	return u64(uint64(n) ^ 1<<63)
}

// unsortable decodes sortable's 8 bytes.
func unsortable(b []byte) int64 {
	return int64(binary.BigEndian.Uint64(b) ^ 1<<63)
}

// u64 is v as 8 big-endian bytes.
func u64(v uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), v)
}

// parseID decodes an 8-byte id key.
func parseID(k []byte) (uint64, error) {
	if len(k) != 8 {
		return 0, fmt.Errorf("id key %x: %w", k, errCorrupt)
	}
	return binary.BigEndian.Uint64(k), nil
}

// dueKey is tenant 0x00 sortable(nextAt) id.
func dueKey(tenant string, nextAt int64, id uint64) []byte {
	k := make([]byte, 0, len(tenant)+17)
	k = append(k, tenant...)
	k = append(k, 0)
	k = append(k, sortable(nextAt)...)
	return binary.BigEndian.AppendUint64(k, id)
}

// expKey is sortable(exp) name, an expiry-index key.
func expKey(exp int64, name string) []byte {
	k := make([]byte, 0, 8+len(name))
	k = append(k, sortable(exp)...)
	return append(k, name...)
}

// writeReq is one write waiting for the group commit.
type writeReq struct {
	fn   func(*bolt.Tx) error
	done chan error
}

// batch runs fn in a group-committed write transaction and returns once it
// is durable. Like bbolt's DB.Batch, fn may run more than once (when
// another write of its group fails), so it must reset its outputs and
// touch nothing outside the transaction. Callers hold closeMu (enter).
func (b *Bolt) batch(fn func(*bolt.Tx) error) error {
	req := &writeReq{fn: fn, done: make(chan error, 1)}
	b.writes <- req
	return <-req.done
}

// writeLoop is the single writer: it takes the next write and every write
// already waiting (up to MaxBatch) and commits them in one transaction, so
// that writes arriving during a commit share the next one's fsync.
func (b *Bolt) writeLoop() {
	defer close(b.written)
	group := make([]*writeReq, 0, keptBatch)
	for first := range b.writes {
		group = append(group, first)
	drain:
		for len(group) < b.opt.MaxBatch {
			select {
			case r, ok := <-b.writes:
				if !ok {
					break drain
				}
				group = append(group, r)
			default:
				break drain
			}
		}
		b.commit(group)
		// The writes are done: their closures hold the callers' data
		// (webhook bodies), which must not stay reachable from here until
		// the slots are overwritten by a later batch, nor in a backing
		// array sized for the largest burst seen.
		clear(group)
		if cap(group) > keptBatch {
			group = make([]*writeReq, 0, keptBatch)
		}
		group = group[:0]
	}
}

// keptBatch is the capacity of the writer's batch slice kept between
// batches; a larger burst gets a larger one that is dropped after it.
const keptBatch = 64

// commit runs a group in one transaction. When one write fails, the
// transaction is rolled back and each write runs in a transaction of its
// own, so that only the failing one sees its error.
func (b *Bolt) commit(group []*writeReq) {
	failed := false
	err := b.db.Update(func(tx *bolt.Tx) error {
		for _, r := range group {
			if err := r.fn(tx); err != nil {
				failed = true
				return err
			}
		}
		return nil
	})
	if failed && len(group) > 1 {
		for _, r := range group {
			r.done <- b.db.Update(r.fn)
		}
		return
	}
	for _, r := range group {
		r.done <- err
	}
}
