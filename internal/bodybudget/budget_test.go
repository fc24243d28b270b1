package bodybudget

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// TestReserve pins the accounting: reservations fit up to the maximum,
// one that would pass it is refused whole, releases make room again, and
// a zero maximum only counts.
func TestReserve(t *testing.T) {
	b := New(100)
	steps := []struct {
		reserve, release int64
		ok               bool
		used             int64
	}{
		{reserve: 60, ok: true, used: 60},
		{reserve: 41, ok: false, used: 60},
		{reserve: 40, ok: true, used: 100},
		{release: 60, used: 40},
		{reserve: 60, ok: true, used: 100},
	}
	for i, s := range steps {
		if s.release > 0 {
			b.Release(s.release)
		} else if got := b.Reserve(s.reserve); got != s.ok {
			t.Errorf("step %d: Reserve(%d) = %v, want %v", i, s.reserve, got, s.ok)
		}
		if b.Used() != s.used {
			t.Errorf("step %d: used %d, want %d", i, b.Used(), s.used)
		}
	}
	if u := New(0); !u.Reserve(1<<40) || u.Used() != 1<<40 {
		t.Errorf("an unlimited budget refused or did not count: %d", u.Used())
	}
}

// countingReader counts the bytes read from it.
type countingReader struct {
	io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.Reader.Read(p)
	c.n += n
	return n, err
}

// TestGrowing pins the chunked body's reservation: it grows by Step ahead
// of each read, a read that cannot reserve fails with ErrExhausted without
// touching the body, and Release gives everything back.
func TestGrowing(t *testing.T) {
	b := New(2 * Step)
	var changes int64
	b.OnChange = func(d int64) { changes += d }
	src := &countingReader{Reader: strings.NewReader(strings.Repeat("x", 3*Step))}
	g := NewGrowing(b, io.NopCloser(src))
	got, err := io.ReadAll(g)
	if !errors.Is(err, ErrExhausted) || !g.Refused() {
		t.Fatalf("reading 3 steps with a budget of 2: %v, refused %v", err, g.Refused())
	}
	if len(got) != 2*Step || src.n != 2*Step {
		t.Errorf("read %d bytes (%d from the body), want exactly the %d reserved", len(got), src.n, 2*Step)
	}
	if b.Used() != 2*Step || changes != 2*Step {
		t.Errorf("used %d, gauge %d, want %d", b.Used(), changes, 2*Step)
	}
	g.Release()
	if b.Used() != 0 || changes != 0 {
		t.Errorf("after Release: used %d, gauge %d", b.Used(), changes)
	}
}
