package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"waproxy/store"
)

// mediaCols are the media columns in the order scanMedia reads them.
const mediaCols = `id, tenant, app_id, mime_type, sha256, size, url, created_ns`

// mediaArgs are m's values in mediaCols order.
func mediaArgs(m store.Media) []any {
	return []any{m.ID, m.Tenant, m.AppID, m.MimeType, m.SHA256, m.Size, m.URL, nanos(m.Created)}
}

// scanMedia reads one row of mediaCols.
func scanMedia(row pgx.Row) (store.Media, error) {
	var m store.Media
	var created int64
	if err := row.Scan(&m.ID, &m.Tenant, &m.AppID, &m.MimeType, &m.SHA256, &m.Size, &m.URL, &created); err != nil {
		return store.Media{}, err
	}
	m.Created = fromNanos(created)
	return m, nil
}

// upsertMedia stores a media record, replacing the id's old one.
const upsertMedia = `INSERT INTO media (` + mediaCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (id) DO UPDATE SET tenant = EXCLUDED.tenant, app_id = EXCLUDED.app_id,
	mime_type = EXCLUDED.mime_type, sha256 = EXCLUDED.sha256, size = EXCLUDED.size,
	url = EXCLUDED.url, created_ns = EXCLUDED.created_ns`

// PutMedia records (or replaces) a media id; Created defaults to Now().
func (s *Store) PutMedia(ctx context.Context, m store.Media) error {
	release, err := s.enter(ctx)
	if err != nil {
		return err
	}
	defer release()
	if m.ID == "" {
		return errors.New("pgstore: media record without id")
	}
	if m.Created.IsZero() {
		m.Created = s.opt.Now()
	}
	if _, err := s.pool.Exec(ctx, upsertMedia, mediaArgs(m)...); err != nil {
		return fmt.Errorf("pgstore: put media: %w", err)
	}
	return nil
}

// ClaimMedia records m unless its id is owned, unexpired, by another
// tenant or app: then the owner's record is returned with claimed false
// and left as it is. Otherwise m is stored (an owner's own record is
// refreshed) and claimed is true. The check is the upsert's condition, so
// of two concurrent claims (from any replicas) one owns the id.
func (s *Store) ClaimMedia(ctx context.Context, m store.Media) (owner store.Media, claimed bool, err error) {
	release, err := s.enter(ctx)
	if err != nil {
		return store.Media{}, false, err
	}
	defer release()
	if m.ID == "" {
		return store.Media{}, false, errors.New("pgstore: media record without id")
	}
	now := s.opt.Now()
	if m.Created.IsZero() {
		m.Created = now
	}
	expired := nanos(now.Add(-s.opt.MediaTTL))
	claim := upsertMedia + `
	WHERE media.created_ns <= $9 OR (media.tenant = EXCLUDED.tenant AND media.app_id = EXCLUDED.app_id)
	RETURNING 1`
	// A claim that loses finds the owner's row; if that row is deleted in
	// between, claim again.
	for range 3 {
		var one int
		err := s.pool.QueryRow(ctx, claim, append(mediaArgs(m), expired)...).Scan(&one)
		if err == nil {
			return m, true, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return store.Media{}, false, fmt.Errorf("pgstore: claim media: %w", err)
		}
		cur, err := scanMedia(s.pool.QueryRow(ctx, `SELECT `+mediaCols+` FROM media WHERE id = $1`, m.ID))
		if err == nil {
			return cur, false, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return store.Media{}, false, fmt.Errorf("pgstore: claim media: %w", err)
		}
	}
	return store.Media{}, false, errors.New("pgstore: claim media: record kept changing")
}

// Media returns a media id's record unless it is unknown or older than
// MediaTTL.
func (s *Store) Media(ctx context.Context, id string) (store.Media, bool, error) {
	release, err := s.enter(ctx)
	if err != nil {
		return store.Media{}, false, err
	}
	defer release()
	m, err := scanMedia(s.pool.QueryRow(ctx, `SELECT `+mediaCols+` FROM media WHERE id = $1 AND created_ns > $2`,
		id, nanos(s.opt.Now().Add(-s.opt.MediaTTL))))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return store.Media{}, false, nil
	case err != nil:
		return store.Media{}, false, fmt.Errorf("pgstore: media: %w", err)
	}
	return m, true, nil
}

// DeleteMedia forgets a media id (no error when unknown).
func (s *Store) DeleteMedia(ctx context.Context, id string) error {
	return s.exec(ctx, "delete media", `DELETE FROM media WHERE id = $1`, id)
}

// PutFlow records (or replaces) a flow id; Created defaults to Now().
func (s *Store) PutFlow(ctx context.Context, f store.Flow) error {
	if f.ID == "" {
		return errors.New("pgstore: flow record without id")
	}
	if f.Created.IsZero() {
		f.Created = s.opt.Now()
	}
	return s.exec(ctx, "put flow", `INSERT INTO flows (id, tenant, app_id, created_ns) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET tenant = EXCLUDED.tenant, app_id = EXCLUDED.app_id,
		created_ns = EXCLUDED.created_ns`, f.ID, f.Tenant, f.AppID, nanos(f.Created))
}

// Flow returns a flow id's record.
func (s *Store) Flow(ctx context.Context, id string) (store.Flow, bool, error) {
	release, err := s.enter(ctx)
	if err != nil {
		return store.Flow{}, false, err
	}
	defer release()
	f := store.Flow{}
	var created int64
	err = s.pool.QueryRow(ctx, `SELECT id, tenant, app_id, created_ns FROM flows WHERE id = $1`, id).
		Scan(&f.ID, &f.Tenant, &f.AppID, &created)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return store.Flow{}, false, nil
	case err != nil:
		return store.Flow{}, false, fmt.Errorf("pgstore: flow: %w", err)
	}
	f.Created = fromNanos(created)
	return f, true, nil
}

// DeleteFlow forgets a flow id (no error when unknown).
func (s *Store) DeleteFlow(ctx context.Context, id string) error {
	return s.exec(ctx, "delete flow", `DELETE FROM flows WHERE id = $1`, id)
}

// exec runs one statement as a call of the store.
func (s *Store) exec(ctx context.Context, op, sql string, args ...any) error {
	release, err := s.enter(ctx)
	if err != nil {
		return err
	}
	defer release()
	if _, err := s.pool.Exec(ctx, sql, args...); err != nil {
		return fmt.Errorf("pgstore: %s: %w", op, err)
	}
	return nil
}
