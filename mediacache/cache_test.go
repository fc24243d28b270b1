package mediacache

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestCache(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)}
	c := New(Options{MaxBytes: 10, MaxItemBytes: 6, TTL: time.Minute, Now: clk.now})
	data := func(n int) []byte { return bytes.Repeat([]byte{'x'}, n) }

	c.Put("a", data(4), "image/jpeg")
	if it, ok := c.Get("a"); !ok || len(it.Data) != 4 || it.MimeType != "image/jpeg" {
		t.Fatalf("Get(a) = %+v, %v", it, ok)
	}
	c.Put("big", data(7), "video/mp4")
	if _, ok := c.Get("big"); ok || c.Size() != 4 {
		t.Errorf("an object over MaxItemBytes was cached (size %d)", c.Size())
	}
	c.Put("b", data(4), "x")
	c.Get("a") // a is now the most recently used
	c.Put("c", data(4), "x")
	if _, ok := c.Get("b"); ok {
		t.Error("the least recently used object survived an overflow")
	}
	if _, ok := c.Get("a"); !ok {
		t.Error("a recently used object was evicted")
	}
	if c.Size() != 8 {
		t.Errorf("Size = %d, want 8", c.Size())
	}
	c.Put("a", data(2), "x")
	if c.Size() != 6 {
		t.Errorf("replacing a key: Size = %d, want 6", c.Size())
	}
	clk.add(time.Minute)
	if _, ok := c.Get("a"); ok {
		t.Error("an object older than the TTL was served")
	}
	c.Delete("c")
	if c.Size() != 0 {
		t.Errorf("after expiry and Delete: Size = %d, want 0", c.Size())
	}
	if !c.Fits(6) || c.Fits(7) || c.Fits(-1) {
		t.Error("Fits disagrees with MaxItemBytes")
	}
}

func TestCacheConcurrentUse(t *testing.T) {
	t.Parallel()
	c := New(Options{MaxBytes: 1 << 10, MaxItemBytes: 64})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				k := fmt.Sprint((g * i) % 37)
				c.Put(k, make([]byte, i%64), "x")
				c.Get(k)
				if i%7 == 0 {
					c.Delete(k)
				}
			}
		}()
	}
	wg.Wait()
	if c.Size() > 1<<10 || c.Size() < 0 {
		t.Errorf("Size = %d out of bounds", c.Size())
	}
}
