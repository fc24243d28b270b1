package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"waproxy/store"
)

// settle runs change on queued event id, in one statement, if this owner
// may settle it: the event is not leased, leased by this owner, or its
// lease has expired at the store clock's now. change is a data-modifying
// statement on events e joined with t (the locked row); $1 is the id, $2
// the owner, $3 now, and args follow from $4.
func (s *Store) settle(ctx context.Context, op string, id uint64, change string, args ...any) error {
	release, err := s.enter(ctx)
	if err != nil {
		return err
	}
	defer release()
	q := `WITH t AS (
		SELECT id, (lease_owner IS NULL OR lease_owner = $2 OR lease_until_ns <= $3) AS mine
		FROM events WHERE id = $1 AND NOT dead FOR UPDATE),
	c AS (` + change + `)
	SELECT mine FROM t`
	var mine bool
	err = s.pool.QueryRow(ctx, q, append([]any{int64(id), s.opt.Owner, nanos(s.opt.Now())}, args...)...).Scan(&mine)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("pgstore: %s %d: %w", op, id, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("pgstore: %s %d: %w", op, id, err)
	case !mine:
		return fmt.Errorf("pgstore: %s %d: %w", op, id, ErrLeaseHeld)
	}
	return nil
}

// Ack removes a delivered event; see store.Queue.Ack. An event another
// owner holds an unexpired lease on fails with ErrLeaseHeld.
func (s *Store) Ack(ctx context.Context, id uint64) error {
	return s.settle(ctx, "ack", id, `DELETE FROM events e USING t WHERE e.id = t.id AND t.mine RETURNING 1`)
}

// Retry records a failed attempt and makes the event due at at, ending
// its lease; see store.Queue.Retry.
func (s *Store) Retry(ctx context.Context, id uint64, at time.Time, lastErr string) error {
	return s.settle(ctx, "retry", id, `UPDATE events e SET attempts = e.attempts + 1, last_error = $4,
		next_ns = $5, lease_owner = NULL, lease_until_ns = NULL
		FROM t WHERE e.id = t.id AND t.mine RETURNING 1`, lastErr, nanos(at))
}

// DeadLetter records a final failed attempt and moves the event to the
// dead letters; see store.Queue.DeadLetter.
func (s *Store) DeadLetter(ctx context.Context, id uint64, reason string) error {
	return s.settle(ctx, "dead-letter", id, `UPDATE events e SET attempts = e.attempts + 1, last_error = $4,
		dead = true, lease_owner = NULL, lease_until_ns = NULL
		FROM t WHERE e.id = t.id AND t.mine RETURNING 1`, reason)
}

// DeadLetters lists up to limit (all when limit <= 0) dead letters,
// lowest ID first.
func (s *Store) DeadLetters(ctx context.Context, limit int) ([]store.Event, error) {
	release, err := s.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	var lim *int64
	if limit > 0 {
		l := int64(limit)
		lim = &l
	}
	rows, err := s.pool.Query(ctx, `SELECT id, tenant, key, body, created_ns, next_ns, attempts, last_error
		FROM events WHERE dead ORDER BY id LIMIT $1`, lim)
	if err != nil {
		return nil, fmt.Errorf("pgstore: dead letters: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanEvent)
	if err != nil {
		return nil, fmt.Errorf("pgstore: dead letters: %w", err)
	}
	return out, nil
}

// Replay moves dead letters back into the queue due at at; see
// store.Queue.Replay.
func (s *Store) Replay(ctx context.Context, ids []uint64, at time.Time) (int, error) {
	release, err := s.enter(ctx)
	if err != nil {
		return 0, err
	}
	defer release()
	if ids != nil && len(ids) == 0 {
		return 0, nil
	}
	var sel []int64
	if ids != nil {
		sel = make([]int64, len(ids))
		for i, id := range ids {
			sel[i] = int64(id)
		}
	}
	atN := nanos(at)
	tag, err := s.pool.Exec(ctx, `UPDATE events SET dead = false, attempts = 0, last_error = '',
		created_ns = $1, next_ns = $1, lease_owner = NULL, lease_until_ns = NULL
		WHERE dead AND ($2::bigint[] IS NULL OR id = ANY($2))`, atN, sel)
	if err != nil {
		return 0, fmt.Errorf("pgstore: replay: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// Stats reports pending events per tenant (leased ones included), the
// oldest pending Created and the dead-letter count.
func (s *Store) Stats(ctx context.Context) (store.Stats, error) {
	release, err := s.enter(ctx)
	if err != nil {
		return store.Stats{}, err
	}
	defer release()
	st := store.Stats{Pending: map[string]int{}}
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT tenant, count(*) FROM events WHERE NOT dead GROUP BY tenant`)
		if err != nil {
			return err
		}
		var tenant string
		var n int64
		if _, err := pgx.ForEachRow(rows, []any{&tenant, &n}, func() error {
			st.Pending[tenant] = int(n)
			return nil
		}); err != nil {
			return err
		}
		var oldest *int64
		var dead int64
		if err := tx.QueryRow(ctx, `SELECT (SELECT min(created_ns) FROM events WHERE NOT dead),
			(SELECT count(*) FROM events WHERE dead)`).Scan(&oldest, &dead); err != nil {
			return err
		}
		if oldest != nil {
			st.Oldest = fromNanos(*oldest)
		}
		st.Dead = int(dead)
		return nil
	})
	if err != nil {
		return store.Stats{}, fmt.Errorf("pgstore: stats: %w", err)
	}
	return st, nil
}

// PutIDs remembers Gupshup id → wamid pairs for IDTTL.
func (s *Store) PutIDs(ctx context.Context, pairs []store.IDPair) error {
	_, err := s.EnqueueWithIDs(ctx, nil, pairs)
	return err
}

// WAMID returns the wamid for a Gupshup id unless unknown or expired.
func (s *Store) WAMID(ctx context.Context, gsID string) (string, bool, error) {
	release, err := s.enter(ctx)
	if err != nil {
		return "", false, err
	}
	defer release()
	var w string
	err = s.pool.QueryRow(ctx, `SELECT wamid FROM ids WHERE gs_id = $1 AND expires_ns > $2`,
		gsID, nanos(s.opt.Now())).Scan(&w)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("pgstore: wamid: %w", err)
	}
	return w, true, nil
}
