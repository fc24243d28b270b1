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

// PutMedia records (or replaces) a media id.
func (b *Bolt) PutMedia(ctx context.Context, m Media) error {
	release, err := b.enter(ctx)
	if err != nil {
		return err
	}
	defer release()
	if m.ID == "" {
		return fmt.Errorf("store: media without id")
	}
	if m.Created.IsZero() {
		m.Created = b.opt.Now()
	}
	v, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("store: media %s: %w", m.ID, err)
	}
	return b.db.Batch(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(bucketMedia)).Put([]byte(m.ID), v)
	})
}

// Media returns a media id's record unless it is unknown or older than
// MediaTTL.
func (b *Bolt) Media(ctx context.Context, id string) (Media, bool, error) {
	release, err := b.enter(ctx)
	if err != nil {
		return Media{}, false, err
	}
	defer release()
	var m Media
	var ok bool
	err = b.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket([]byte(bucketMedia)).Get([]byte(id))
		if v == nil {
			return nil
		}
		if err := json.Unmarshal(v, &m); err != nil {
			return fmt.Errorf("media %s: %w", id, errCorrupt)
		}
		ok = b.opt.Now().Sub(m.Created) < b.opt.MediaTTL
		return nil
	})
	if err != nil {
		return Media{}, false, fmt.Errorf("store: %w", err)
	}
	if !ok {
		return Media{}, false, nil
	}
	return m, true, nil
}

// DeleteMedia forgets a media id (no error when unknown).
func (b *Bolt) DeleteMedia(ctx context.Context, id string) error {
	release, err := b.enter(ctx)
	if err != nil {
		return err
	}
	defer release()
	return b.db.Batch(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(bucketMedia)).Delete([]byte(id))
	})
}
