package heapwatch_test

import (
	"testing"

	"waproxy/internal/heapwatch"
)

// sink keeps the allocation alive until the watch has seen it.
var sink []byte

func TestGrowthSeesAnAllocation(t *testing.T) {
	w := heapwatch.Start()
	sink = make([]byte, 32<<20)
	for i := range sink {
		sink[i] = byte(i)
	}
	growth := w.Growth()
	sink = nil
	if growth < 16<<20 {
		t.Errorf("growth %d MiB after holding 32 MiB, want at least 16", growth>>20)
	}
}
