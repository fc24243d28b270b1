package store

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestGroupCommitIsolatesAFailingWrite pins the group commit's contract:
// concurrent writes share transactions, and a write that fails gets its
// own error while the others of its group are still committed.
func TestGroupCommitIsolatesAFailingWrite(t *testing.T) {
	b, err := Open(filepath.Join(t.TempDir(), "q.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	boom := errors.New("boom")
	const n = 64
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			release, err := b.enter(context.Background())
			if err != nil {
				errs[i] = err
				return
			}
			defer release()
			errs[i] = b.batch(func(tx *bolt.Tx) error {
				if i == 7 {
					_ = tx.Bucket([]byte(bucketMedia)).Put([]byte("failed-write"), []byte("x"))
					return boom
				}
				return tx.Bucket([]byte(bucketMedia)).Put([]byte{'k', byte(i)}, []byte("v"))
			})
		})
	}
	wg.Wait()
	err = b.db.View(func(tx *bolt.Tx) error {
		bk := tx.Bucket([]byte(bucketMedia))
		for i := range n {
			got := bk.Get([]byte{'k', byte(i)})
			switch {
			case i == 7 && (!errors.Is(errs[i], boom) || got != nil):
				t.Errorf("the failing write: err %v, value %q", errs[i], got)
			case i != 7 && (errs[i] != nil || string(got) != "v"):
				t.Errorf("write %d: err %v, value %q", i, errs[i], got)
			}
		}
		if v := bk.Get([]byte("failed-write")); v != nil {
			t.Errorf("the failing write's change was committed: %q", v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestEnqueueWithIDs pins that events and id pairs are stored together.
func TestEnqueueWithIDs(t *testing.T) {
	b, err := Open(filepath.Join(t.TempDir(), "q.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	evs := []Event{{Tenant: "a", Key: "status:gs-1/sent", Body: []byte(`{}`)}}
	dup, err := b.EnqueueWithIDs(ctx, evs, []IDPair{{GsID: "gs-1", WAMID: "wamid.1"}})
	if err != nil || len(dup) != 1 || dup[0] || evs[0].ID == 0 {
		t.Fatalf("EnqueueWithIDs = %v, %v (event %+v)", dup, err, evs[0])
	}
	if w, ok, err := b.WAMID(ctx, "gs-1"); err != nil || !ok || w != "wamid.1" {
		t.Errorf("WAMID = %q, %v, %v", w, ok, err)
	}
	if dup, err := b.EnqueueWithIDs(ctx, []Event{{Tenant: "a", Key: "status:gs-1/sent"}}, nil); err != nil || !dup[0] {
		t.Errorf("the same key again: %v, %v, want a duplicate", dup, err)
	}
	if _, err := b.EnqueueWithIDs(ctx, nil, []IDPair{{GsID: string(make([]byte, maxName+1))}}); err == nil {
		t.Error("an over-long gs id was accepted")
	}
}
