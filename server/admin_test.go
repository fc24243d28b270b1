package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// replayRecorder records what a replay asked the queue for.
type replayRecorder struct {
	nopDeadLetters
	ids []uint64
	at  time.Time
}

func (r *replayRecorder) Replay(_ context.Context, ids []uint64, at time.Time) (int, error) {
	r.ids, r.at = ids, at
	return len(ids), nil
}

var _ DeadLetters = (*replayRecorder)(nil)

// TestReplayUsesTheRelayClock: replayed dead letters are made due by the
// clock the options name (the relay's), not the wall clock, so a wall
// clock ahead of the relay's does not delay them.
func TestReplayUsesTheRelayClock(t *testing.T) {
	relayNow := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name   string
		now    func() time.Time
		wantAt func(before, after time.Time, got time.Time) bool
	}{
		{"the relay's clock when given", func() time.Time { return relayNow },
			func(_, _ time.Time, got time.Time) bool { return got.Equal(relayNow) }},
		{"the wall clock by default", nil,
			func(before, after time.Time, got time.Time) bool { return !got.Before(before) && !got.After(after) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &replayRecorder{}
			s := New(Options{DeadLetters: rec, AdminToken: "admin-secret", ReplayNow: tt.now})
			req := httptest.NewRequest(http.MethodPost, "/admin/deadletters/replay", strings.NewReader(`{"ids":[7,9]}`))
			req.Header.Set("Authorization", "Bearer admin-secret")
			w := httptest.NewRecorder()
			before := time.Now()
			s.ServeHTTP(w, req)
			after := time.Now()
			if w.Code != http.StatusOK || w.Body.String() != `{"replayed":2}` {
				t.Fatalf("HTTP %d %s", w.Code, w.Body)
			}
			if len(rec.ids) != 2 || rec.ids[0] != 7 || rec.ids[1] != 9 {
				t.Errorf("ids %v", rec.ids)
			}
			if !tt.wantAt(before, after, rec.at) {
				t.Errorf("due at %v", rec.at)
			}
		})
	}
}
