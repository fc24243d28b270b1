package store

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

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

// TestEnqueueWithIDsChecksPairs: an over-long gs id fails the whole write
// before anything is stored (the conformance suite covers the rest).
func TestEnqueueWithIDsChecksPairs(t *testing.T) {
	b, err := Open(filepath.Join(t.TempDir(), "q.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.EnqueueWithIDs(context.Background(), []Event{{Tenant: "a", Key: "k"}},
		[]IDPair{{GsID: string(make([]byte, maxName+1))}}); err == nil {
		t.Error("an over-long gs id was accepted")
	}
	if dup, err := b.Enqueue(context.Background(), []Event{{Tenant: "a", Key: "k"}}); err != nil || dup[0] {
		t.Errorf("the refused write stored its event: %v, %v", dup, err)
	}
}

// TestWriterReleasesFinishedWrites pins that the group-commit writer keeps
// nothing of a write once it returned: each write's closure holds a 1 MiB
// body (as Enqueue's holds webhook bodies), and every body must become
// unreachable, not only those whose batch slots a later batch overwrote.
func TestWriterReleasesFinishedWrites(t *testing.T) {
	b, err := Open(filepath.Join(t.TempDir(), "q.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const n = 48
	freed := make(chan int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			body := make([]byte, 1<<20)
			runtime.AddCleanup(&body[0], func(i int) { freed <- i }, i)
			release, err := b.enter(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			defer release()
			if err := b.batch(func(tx *bolt.Tx) error {
				return tx.Bucket([]byte(bucketMedia)).Put([]byte{'k', byte(i)}, []byte{byte(len(body) >> 20)})
			}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got := map[int]bool{}
	deadline := time.After(10 * time.Second)
	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()
	for len(got) < n {
		runtime.GC()
		select {
		case i := <-freed:
			got[i] = true
		case <-poll.C:
		case <-deadline:
			t.Fatalf("%d of %d write bodies still reachable after the writes returned", n-len(got), n)
		}
	}
}
