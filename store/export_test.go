package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Test-only access to Bolt internals (package store_test).

// SweepNow runs one sweep (as the background sweeper does) and returns how
// many expired entries it deleted.
func (b *Bolt) SweepNow() (int, error) { return b.sweep() }

// KeysVisited reports how many due-index keys Lease has walked so far.
func (b *Bolt) KeysVisited() int64 { return b.visited.Load() }

// Leased reports how many events are leased.
func (b *Bolt) Leased() int {
	b.leaseMu.Lock()
	defer b.leaseMu.Unlock()
	return len(b.leased)
}

// BucketLen counts the keys of one bucket: "events", "due", "dead",
// "dedup", "dedupexp", "ids" or "idsexp".
func (b *Bolt) BucketLen(name string) (int, error) {
	n := 0
	err := b.db.View(func(tx *bolt.Tx) error {
		bk := tx.Bucket([]byte(name))
		if bk == nil {
			return fmt.Errorf("no bucket %q", name)
		}
		return bk.ForEach(func(k, v []byte) error { n++; return nil })
	})
	return n, err
}

// EncodeDecode round-trips an event through the record codec.
func EncodeDecode(e Event) (Event, error) {
	r := record{tenant: e.Tenant, key: e.Key, body: e.Body, created: nanos(e.Created),
		nextAt: nanos(e.NextAt), attempts: e.Attempts, lastErr: e.LastError}
	got, err := decodeRecord(r.encode(), true)
	if err != nil {
		return Event{}, err
	}
	return got.event(e.ID), nil
}

// DecodeRecord exposes the decoder to corrupt-input tests.
func DecodeRecord(v []byte) error {
	_, err := decodeRecord(v, true)
	return err
}
