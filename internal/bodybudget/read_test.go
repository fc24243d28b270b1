package bodybudget

import (
	"errors"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadAll(t *testing.T) {
	body := strings.Repeat("x", 1000)
	tests := []struct {
		name          string
		contentLength int64
		max           int64
		want          string
	}{
		{"content length exact", 1000, 1 << 20, body},
		{"no content length", -1, 1 << 20, body},
		{"content length smaller than the body", 10, 1 << 20, body},
		{"content length larger than the body", 5000, 1 << 20, body},
		{"content length over the cap: read without presizing", 5000, 100, body},
		{"empty body", 0, 1 << 20, ""},
	}
	for _, tc := range tests {
		r := strings.NewReader(tc.want)
		got, err := ReadAll(r, tc.contentLength, tc.max)
		if err != nil || string(got) != tc.want {
			t.Errorf("%s: %d bytes, %v", tc.name, len(got), err)
		}
	}
	boom := errors.New("boom")
	if _, err := ReadAll(iotest.ErrReader(boom), 10, 100); !errors.Is(err, boom) {
		t.Errorf("a failing reader: %v", err)
	}
	if got := testing.AllocsPerRun(100, func() { _, _ = ReadAll(strings.NewReader(body), 1000, 1<<20) }); got > 2 {
		t.Errorf("%v allocations for a body of known length, want at most 2", got)
	}
}
