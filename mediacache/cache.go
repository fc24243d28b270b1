// Package mediacache keeps recently fetched media bytes in memory, bounded
// by total size and by age, so a client that looks media up and then
// downloads it (or retries the download) costs Gupshup one fetch: Gupshup's
// media download limits are low.
package mediacache

import (
	"container/list"
	"sync"
	"time"
)

// Item is a cached media object.
type Item struct {
	// Data is the whole content; callers must not modify it.
	Data []byte
	// MimeType is the Content-Type to serve it with.
	MimeType string
	// Stored is when it was cached.
	Stored time.Time
}

// Options bound the cache. Zero values take the defaults.
type Options struct {
	// MaxBytes bounds the total size of cached data. Default 64 MiB.
	MaxBytes int64
	// MaxItemBytes is the largest object cached; larger ones are streamed
	// through uncached. Default 16 MiB.
	MaxItemBytes int64
	// TTL is how long an object is served from the cache. Default 10m.
	TTL time.Duration
	// Now is the clock, default time.Now.
	Now func() time.Time
}

// Cache is a size- and time-bounded LRU cache, safe for concurrent use.
type Cache struct {
	opt   Options
	mu    sync.Mutex
	ll    *list.List // front = most recently used
	items map[string]*list.Element
	size  int64
}

type entry struct {
	key  string
	item Item
}

// New makes a cache.
func New(opt Options) *Cache {
	if opt.MaxBytes <= 0 {
		opt.MaxBytes = 64 << 20
	}
	if opt.MaxItemBytes <= 0 {
		opt.MaxItemBytes = 16 << 20
	}
	if opt.MaxItemBytes > opt.MaxBytes {
		opt.MaxItemBytes = opt.MaxBytes
	}
	if opt.TTL <= 0 {
		opt.TTL = 10 * time.Minute
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Cache{opt: opt, ll: list.New(), items: map[string]*list.Element{}}
}

// Fits reports whether an object of n bytes would be cached.
func (c *Cache) Fits(n int64) bool { return n >= 0 && n <= c.opt.MaxItemBytes }

// Get returns a fresh cached object.
func (c *Cache) Get(key string) (Item, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return Item{}, false
	}
	e := el.Value.(*entry)
	if c.opt.Now().Sub(e.item.Stored) >= c.opt.TTL {
		c.remove(el)
		return Item{}, false
	}
	c.ll.MoveToFront(el)
	return e.item, true
}

// Put caches data under key (replacing what was there), evicting the least
// recently used objects to stay within MaxBytes. Objects over MaxItemBytes
// are not cached.
func (c *Cache) Put(key string, data []byte, mimeType string) {
	if !c.Fits(int64(len(data))) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		c.remove(el)
	}
	e := &entry{key: key, item: Item{Data: data, MimeType: mimeType, Stored: c.opt.Now()}}
	c.items[key] = c.ll.PushFront(e)
	c.size += int64(len(data))
	for c.size > c.opt.MaxBytes {
		c.remove(c.ll.Back())
	}
}

// Delete drops key.
func (c *Cache) Delete(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		c.remove(el)
	}
}

// Size reports the bytes cached.
func (c *Cache) Size() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size
}

func (c *Cache) remove(el *list.Element) {
	e := el.Value.(*entry)
	c.ll.Remove(el)
	delete(c.items, e.key)
	c.size -= int64(len(e.item.Data))
}
