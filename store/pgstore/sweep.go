package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// sweepLock is the advisory lock key that lets one replica sweep at a time
// ("waproxy sweep").
const sweepLock int64 = 0x7761_7073_7765_6570

// Sweep deletes up to batch expired rows from each of the dedup keys, the
// id pairs and the media records (expired rows are already invisible), in
// one transaction holding a transaction-level advisory lock. When another
// replica is sweeping it returns at once with 0. It returns how many rows
// it deleted; batch <= 0 means Options.SweepBatch.
func (s *Store) Sweep(ctx context.Context, batch int) (int, error) {
	release, err := s.enter(ctx)
	if err != nil {
		return 0, err
	}
	defer release()
	if batch <= 0 {
		batch = s.opt.SweepBatch
	}
	now := s.opt.Now()
	nowN, mediaN := nanos(now), nanos(now.Add(-s.opt.MediaTTL))
	deleted := 0
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		deleted = 0
		var got bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, sweepLock).Scan(&got); err != nil {
			return err
		}
		if !got {
			return nil
		}
		for _, q := range []struct {
			sql   string
			bound int64
		}{
			{`DELETE FROM dedup WHERE key IN (SELECT key FROM dedup WHERE expires_ns <= $1 LIMIT $2)`, nowN},
			{`DELETE FROM ids WHERE gs_id IN (SELECT gs_id FROM ids WHERE expires_ns <= $1 LIMIT $2)`, nowN},
			{`DELETE FROM media WHERE id IN (SELECT id FROM media WHERE created_ns <= $1 LIMIT $2)`, mediaN},
		} {
			tag, err := tx.Exec(ctx, q.sql, q.bound, batch)
			if err != nil {
				return err
			}
			deleted += int(tag.RowsAffected())
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("pgstore: sweep: %w", err)
	}
	return deleted, nil
}

// sweepLoop runs Sweep every SweepEvery until Close.
func (s *Store) sweepLoop() {
	defer close(s.done)
	t := time.NewTicker(s.opt.SweepEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.opt.SweepEvery)
		// Errors are retried on the next tick; the store has no logger,
		// and expired rows are invisible meanwhile.
		_, _ = s.Sweep(ctx, 0)
		cancel()
	}
}
