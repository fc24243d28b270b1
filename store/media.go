package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Media is what the proxy knows of a media id: who may use it and how to
// fetch it.
type Media struct {
	// ID is the media id clients use (Gupshup's / WhatsApp's).
	ID string `json:"id"`
	// Tenant owns it: the tenant that uploaded it, or whose number
	// received it.
	Tenant string `json:"tenant"`
	// AppID is the Gupshup app it belongs to.
	AppID string `json:"app_id"`
	// MimeType, SHA256 (hex) and Size (bytes, -1 unknown) describe it.
	MimeType string `json:"mime_type,omitempty"`
	SHA256   string `json:"sha256,omitempty"`
	Size     int64  `json:"size"`
	// URL is Gupshup's download URL for inbound media ("" for uploads,
	// fetched by id).
	URL string `json:"url,omitempty"`
	// Created is when the proxy learned it; the record expires MediaTTL
	// later (Meta keeps uploads 30 days).
	Created time.Time `json:"created"`
}

// MediaIndex remembers media ids. Bolt implements it in the same file as
// the queue.
type MediaIndex interface {
	PutMedia(ctx context.Context, m Media) error
	Media(ctx context.Context, id string) (Media, bool, error)
	DeleteMedia(ctx context.Context, id string) error
}

// Flow binds a WhatsApp Flow id to the tenant and app it was created or
// listed under.
type Flow struct {
	ID      string    `json:"id"`
	Tenant  string    `json:"tenant"`
	AppID   string    `json:"app_id"`
	Created time.Time `json:"created"`
}

// FlowIndex remembers flow ids.
type FlowIndex interface {
	PutFlow(ctx context.Context, f Flow) error
	Flow(ctx context.Context, id string) (Flow, bool, error)
	DeleteFlow(ctx context.Context, id string) error
}

// PutMedia records (or replaces) a media id.
func (b *Bolt) PutMedia(ctx context.Context, m Media) error {
	if m.Created.IsZero() {
		m.Created = b.opt.Now()
	}
	return b.putRecord(ctx, bucketMedia, m.ID, m)
}

// ClaimMedia records m unless its id is already owned by another tenant or
// app: a record that is indexed, not expired, and whose Tenant or AppID
// differs from m's is left as it is (owner, URL and all), and ClaimMedia
// returns it with claimed false. Otherwise m is stored (an owner's own
// record is refreshed) and claimed is true. Check and write are one
// transaction: of two concurrent claims, one owns the id.
//
// Ownership is set by the first owner only: callbacks record media this
// way, so a callback naming another tenant's id cannot take it over.
func (b *Bolt) ClaimMedia(ctx context.Context, m Media) (owner Media, claimed bool, err error) {
	release, err := b.enter(ctx)
	if err != nil {
		return Media{}, false, err
	}
	defer release()
	if m.ID == "" {
		return Media{}, false, fmt.Errorf("store: %s record without id", bucketMedia)
	}
	now := b.opt.Now()
	if m.Created.IsZero() {
		m.Created = now
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return Media{}, false, fmt.Errorf("store: %s %s: %w", bucketMedia, m.ID, err)
	}
	err = b.db.Batch(func(tx *bolt.Tx) error {
		owner, claimed = Media{}, false // fn may run more than once
		bk := tx.Bucket([]byte(bucketMedia))
		if old := bk.Get([]byte(m.ID)); old != nil {
			var cur Media
			if err := json.Unmarshal(old, &cur); err != nil {
				// Whose it is cannot be told: left alone.
				return fmt.Errorf("%s %s: %w", bucketMedia, m.ID, errCorrupt)
			}
			if now.Sub(cur.Created) < b.opt.MediaTTL && (cur.Tenant != m.Tenant || cur.AppID != m.AppID) {
				owner = cur
				return nil
			}
		}
		owner, claimed = m, true
		return bk.Put([]byte(m.ID), raw)
	})
	if err != nil {
		return Media{}, false, fmt.Errorf("store: %w", err)
	}
	return owner, claimed, nil
}

// Media returns a media id's record unless it is unknown or older than
// MediaTTL.
func (b *Bolt) Media(ctx context.Context, id string) (Media, bool, error) {
	var m Media
	ok, err := b.getRecord(ctx, bucketMedia, id, &m)
	if err != nil || !ok || b.opt.Now().Sub(m.Created) >= b.opt.MediaTTL {
		return Media{}, false, err
	}
	return m, true, nil
}

// DeleteMedia forgets a media id (no error when unknown).
func (b *Bolt) DeleteMedia(ctx context.Context, id string) error {
	return b.deleteRecord(ctx, bucketMedia, id)
}

// PutFlow records (or replaces) a flow id.
func (b *Bolt) PutFlow(ctx context.Context, f Flow) error {
	if f.Created.IsZero() {
		f.Created = b.opt.Now()
	}
	return b.putRecord(ctx, bucketFlows, f.ID, f)
}

// Flow returns a flow id's record.
func (b *Bolt) Flow(ctx context.Context, id string) (Flow, bool, error) {
	var f Flow
	ok, err := b.getRecord(ctx, bucketFlows, id, &f)
	if err != nil || !ok {
		return Flow{}, false, err
	}
	return f, true, nil
}

// DeleteFlow forgets a flow id (no error when unknown).
func (b *Bolt) DeleteFlow(ctx context.Context, id string) error {
	return b.deleteRecord(ctx, bucketFlows, id)
}

// putRecord stores v as JSON under id in bucket (group-committed).
func (b *Bolt) putRecord(ctx context.Context, bucket, id string, v any) error {
	release, err := b.enter(ctx)
	if err != nil {
		return err
	}
	defer release()
	if id == "" {
		return fmt.Errorf("store: %s record without id", bucket)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: %s %s: %w", bucket, id, err)
	}
	return b.db.Batch(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(bucket)).Put([]byte(id), raw)
	})
}

// getRecord decodes the JSON stored under id in bucket into v.
func (b *Bolt) getRecord(ctx context.Context, bucket, id string, v any) (bool, error) {
	release, err := b.enter(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	var ok bool
	err = b.db.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket([]byte(bucket)).Get([]byte(id))
		if raw == nil {
			return nil
		}
		if err := json.Unmarshal(raw, v); err != nil {
			return fmt.Errorf("%s %s: %w", bucket, id, errCorrupt)
		}
		ok = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("store: %w", err)
	}
	return ok, nil
}

// deleteRecord removes id from bucket.
func (b *Bolt) deleteRecord(ctx context.Context, bucket, id string) error {
	release, err := b.enter(ctx)
	if err != nil {
		return err
	}
	defer release()
	return b.db.Batch(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(bucket)).Delete([]byte(id))
	})
}
