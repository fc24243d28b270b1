// Package bodybudget bounds the bytes of request bodies held in memory
// across requests: a body reserves its size before it is read and gives it
// back when its request is done.
package bodybudget

import (
	"errors"
	"io"
	"sync/atomic"
)

// ErrExhausted is the read error of a body whose next bytes do not fit in
// the budget (a body of unknown length grows its reservation as it is
// read). Whoever reads the body answers "busy, retry", not "bad request".
var ErrExhausted = errors.New("request body budget exhausted")

// Budget counts reserved bytes against a maximum. Safe for concurrent use.
type Budget struct {
	max  int64 // 0: no maximum (reservations are only counted)
	used atomic.Int64
	// OnChange, when set, is told every change of the reserved bytes
	// (a gauge). Set it before first use.
	OnChange func(delta int64)
}

// New makes a budget of max bytes; max <= 0 means no maximum.
func New(max int64) *Budget {
	if max < 0 {
		max = 0
	}
	return &Budget{max: max}
}

// Max is the budget's maximum, 0 when unlimited.
func (b *Budget) Max() int64 { return b.max }

// Used is how many bytes are reserved.
func (b *Budget) Used() int64 { return b.used.Load() }

// Reserve takes n bytes if they fit and reports whether they did.
func (b *Budget) Reserve(n int64) bool {
	if n <= 0 {
		return true
	}
	for {
		cur := b.used.Load()
		if b.max > 0 && cur+n > b.max {
			return false
		}
		if b.used.CompareAndSwap(cur, cur+n) {
			if b.OnChange != nil {
				b.OnChange(n)
			}
			return true
		}
	}
}

// Release gives n reserved bytes back.
func (b *Budget) Release(n int64) {
	if n <= 0 {
		return
	}
	b.used.Add(-n)
	if b.OnChange != nil {
		b.OnChange(-n)
	}
}

// Step is how much a body of unknown length reserves at a time.
const Step = 64 << 10

// Growing wraps a body of unknown length (chunked): before each read that
// goes past what it has reserved it reserves another Step, and fails with
// ErrExhausted when that does not fit, so nothing is read beyond the
// reservation. Release gives everything back; Refused reports whether a
// reservation failed.
type Growing struct {
	io.ReadCloser
	b        *Budget
	reserved int64
	left     int64
	refused  bool
}

// NewGrowing wraps body.
func NewGrowing(b *Budget, body io.ReadCloser) *Growing {
	return &Growing{ReadCloser: body, b: b}
}

func (g *Growing) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if g.left == 0 {
		if !g.b.Reserve(Step) {
			g.refused = true
			return 0, ErrExhausted
		}
		g.reserved += Step
		g.left = Step
	}
	if int64(len(p)) > g.left {
		p = p[:g.left]
	}
	n, err := g.ReadCloser.Read(p)
	g.left -= int64(n)
	return n, err
}

// Release gives the reservation back; call it once the body's bytes are
// no longer held (the request is done).
func (g *Growing) Release() {
	g.b.Release(g.reserved)
	g.reserved, g.left = 0, 0
}

// Refused reports whether a read failed for want of budget.
func (g *Growing) Refused() bool { return g.refused }
