// Package heapwatch measures how far the heap in use grows while a test
// streams something large: the proof that a body is streamed, not held.
package heapwatch

import (
	"runtime"
	"sync/atomic"
	"time"
)

// Watch samples runtime.MemStats.HeapInuse every 2ms until Growth.
type Watch struct {
	base uint64
	peak atomic.Uint64
	stop chan struct{}
	done chan struct{}
}

// Start collects garbage, takes the baseline and starts sampling.
func Start() *Watch {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	w := &Watch{base: ms.HeapInuse, stop: make(chan struct{}), done: make(chan struct{})}
	w.peak.Store(ms.HeapInuse)
	go func() {
		defer close(w.done)
		tk := time.NewTicker(2 * time.Millisecond)
		defer tk.Stop()
		for {
			w.sample()
			select {
			case <-w.stop:
				w.sample() // what is live when Growth is called counts too
				return
			case <-tk.C:
			}
		}
	}()
	return w
}

func (w *Watch) sample() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if ms.HeapInuse > w.peak.Load() {
		w.peak.Store(ms.HeapInuse)
	}
}

// Growth stops sampling and returns the peak over the baseline, in bytes
// (negative when the heap shrank). Call it once.
func (w *Watch) Growth() int64 {
	close(w.stop)
	<-w.done
	return int64(w.peak.Load()) - int64(w.base)
}
