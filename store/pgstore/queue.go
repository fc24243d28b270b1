package pgstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"waproxy/store"
)

// inTx runs fn in a transaction, again (up to 3 times in all) when the
// server aborts it as a deadlock or serialization failure: fn must touch
// nothing outside the transaction.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	var err error
	for range 3 {
		err = pgx.BeginFunc(ctx, s.pool, fn)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || (pe.Code != "40P01" && pe.Code != "40001") {
			return err
		}
	}
	return err
}

// enqueueSQL stores one event unless its non-empty key is inside the dedup
// window: the key's row is inserted, or renewed when expired, and the
// event is inserted only when that happened. Concurrent inserts of one
// key serialize on the key's unique index, so exactly one stores.
const enqueueSQL = `WITH d AS (
	INSERT INTO dedup (key, expires_ns) SELECT $2::text, $8::bigint WHERE $2::text <> ''
	ON CONFLICT (key) DO UPDATE SET expires_ns = EXCLUDED.expires_ns WHERE dedup.expires_ns <= $9
	RETURNING 1)
INSERT INTO events (tenant, key, body, created_ns, next_ns, attempts, last_error)
SELECT $1, $2, $3, $4, $5, $6, $7 WHERE $2::text = '' OR EXISTS (SELECT 1 FROM d)
RETURNING id`

// putIDSQL stores or renews one id pair.
const putIDSQL = `INSERT INTO ids (gs_id, wamid, expires_ns) VALUES ($1, $2, $3)
ON CONFLICT (gs_id) DO UPDATE SET wamid = EXCLUDED.wamid, expires_ns = EXCLUDED.expires_ns`

// Enqueue stores events in one transaction; see store.Queue.Enqueue.
// Created (Now() when zero) and NextAt (Created when zero) are written
// back into stored events.
func (s *Store) Enqueue(ctx context.Context, events []store.Event) ([]bool, error) {
	return s.EnqueueWithIDs(ctx, events, nil)
}

// EnqueueWithIDs is Enqueue and PutIDs(pairs) in one transaction: the
// pairs exist if and only if the events do.
func (s *Store) EnqueueWithIDs(ctx context.Context, events []store.Event, pairs []store.IDPair) ([]bool, error) {
	release, err := s.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	if err := checkPairs(pairs); err != nil {
		return nil, fmt.Errorf("pgstore: enqueue: %w", err)
	}
	if len(events) == 0 && len(pairs) == 0 {
		return nil, nil
	}
	now := s.opt.Now()
	nowN, expN := nanos(now), nanos(now.Add(s.opt.DedupWindow))
	created := make([]int64, len(events))
	next := make([]int64, len(events))
	for i, e := range events {
		if e.Tenant == "" {
			return nil, fmt.Errorf("pgstore: enqueue event %d: empty tenant", i)
		}
		created[i] = nowN
		if !e.Created.IsZero() {
			created[i] = nanos(e.Created)
		}
		next[i] = created[i]
		if !e.NextAt.IsZero() {
			next[i] = nanos(e.NextAt)
		}
	}
	dup := make([]bool, len(events))
	ids := make([]uint64, len(events))
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, p := range sortedPairs(pairs) {
			b.Queue(putIDSQL, p.GsID, p.WAMID, nanos(now.Add(s.opt.IDTTL)))
		}
		for i, e := range events {
			body := e.Body
			if body == nil {
				body = []byte{}
			}
			b.Queue(enqueueSQL, e.Tenant, e.Key, body, created[i], next[i], e.Attempts, e.LastError, expN, nowN)
		}
		res := tx.SendBatch(ctx, b)
		defer res.Close()
		for range sortedPairs(pairs) {
			if _, err := res.Exec(); err != nil {
				return err
			}
		}
		for i := range events {
			var id int64
			err := res.QueryRow().Scan(&id)
			switch {
			case errors.Is(err, pgx.ErrNoRows):
				dup[i], ids[i] = true, 0
			case err != nil:
				return err
			default:
				dup[i], ids[i] = false, uint64(id)
			}
		}
		return res.Close()
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: enqueue: %w", err)
	}
	for i := range events {
		if !dup[i] {
			events[i].ID = ids[i]
			events[i].Created = fromNanos(created[i])
			events[i].NextAt = fromNanos(next[i])
		}
	}
	return dup, nil
}

// sortedPairs returns pairs with one entry per GsID (the last wins) in
// GsID order, so concurrent writers lock rows in one order.
func sortedPairs(pairs []store.IDPair) []store.IDPair {
	if len(pairs) == 0 {
		return nil
	}
	last := make(map[string]string, len(pairs))
	for _, p := range pairs {
		last[p.GsID] = p.WAMID
	}
	out := make([]store.IDPair, 0, len(last))
	for gs, w := range last {
		out = append(out, store.IDPair{GsID: gs, WAMID: w})
	}
	slices.SortFunc(out, func(a, b store.IDPair) int { return strings.Compare(a.GsID, b.GsID) })
	return out
}

// checkPairs rejects pairs with an empty id.
func checkPairs(pairs []store.IDPair) error {
	for i, p := range pairs {
		if p.GsID == "" || p.WAMID == "" {
			return fmt.Errorf("id pair %d has an empty id", i)
		}
	}
	return nil
}

// leaseSQL claims up to $4 of tenant $1's events due at $2 that no owner
// holds at $3 (the store's clock), earliest due first; rows other
// transactions are claiming are skipped, not waited for.
const leaseSQL = `WITH c AS (
	SELECT id FROM events
	WHERE tenant = $1 AND NOT dead AND next_ns <= $2
	  AND (lease_until_ns IS NULL OR lease_until_ns <= $3)
	ORDER BY next_ns, id
	LIMIT $4
	FOR UPDATE SKIP LOCKED)
UPDATE events e SET lease_owner = $5, lease_until_ns = $6
FROM c WHERE e.id = c.id
RETURNING e.id, e.tenant, e.key, e.body, e.created_ns, e.next_ns, e.attempts, e.last_error`

// Lease returns up to max of tenant's events due at now, earliest NextAt
// first (then lowest ID), leased to this Store's owner until the store
// clock's now plus LeaseDuration; see store.Queue.Lease.
func (s *Store) Lease(ctx context.Context, tenant string, now time.Time, max int) ([]store.Event, error) {
	release, err := s.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	if max <= 0 {
		return nil, nil
	}
	clock := s.opt.Now()
	rows, err := s.pool.Query(ctx, leaseSQL, tenant, nanos(now), nanos(clock), max,
		s.opt.Owner, nanos(clock.Add(s.opt.LeaseDuration)))
	if err != nil {
		return nil, fmt.Errorf("pgstore: lease: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanEvent)
	if err != nil {
		return nil, fmt.Errorf("pgstore: lease: %w", err)
	}
	slices.SortFunc(out, func(a, b store.Event) int {
		if c := a.NextAt.Compare(b.NextAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

// scanEvent reads the columns leaseSQL and DeadLetters return.
func scanEvent(row pgx.CollectableRow) (store.Event, error) {
	var e store.Event
	var id, created, next int64
	if err := row.Scan(&id, &e.Tenant, &e.Key, &e.Body, &created, &next, &e.Attempts, &e.LastError); err != nil {
		return store.Event{}, err
	}
	e.ID, e.Created, e.NextAt = uint64(id), fromNanos(created), fromNanos(next)
	return e, nil
}
