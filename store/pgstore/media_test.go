package pgstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"waproxy/internal/pgtest"
	"waproxy/store"
	"waproxy/store/pgstore"
	"waproxy/store/storetest"
)

func TestMediaIndex(t *testing.T) {
	t.Parallel()
	clk := storetest.NewClock()
	now := clk.Now()
	url := pgtest.NewDatabase(t)
	opt := pgstore.Options{MediaTTL: time.Hour, Now: clk.Now}
	s := open(t, url, opt)
	ctx := t.Context()
	m := store.Media{ID: "1852559851913765", Tenant: "a", AppID: "app-a", MimeType: "image/jpeg", SHA256: "ab", Size: 42}
	if err := s.PutMedia(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := s.PutMedia(ctx, store.Media{}); err == nil {
		t.Error("a record without id was accepted")
	}
	m.Created = now
	if got, ok, err := s.Media(ctx, m.ID); err != nil || !ok || got != m {
		t.Fatalf("Media = %+v, %v, %v; want %+v", got, ok, err, m)
	}
	if _, ok, _ := s.Media(ctx, "unknown"); ok {
		t.Error("an unknown id was found")
	}
	// Another replica sees it, until MediaTTL has passed.
	other := open(t, url, opt)
	clk.Set(now.Add(59 * time.Minute))
	if got, ok, _ := other.Media(ctx, m.ID); !ok || got.Tenant != "a" {
		t.Errorf("from another store: %+v, %v", got, ok)
	}
	clk.Set(now.Add(time.Hour))
	if _, ok, _ := other.Media(ctx, m.ID); ok {
		t.Error("a record MediaTTL old was found")
	}
	clk.Set(now)
	if err := s.DeleteMedia(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Media(ctx, m.ID); ok {
		t.Error("a deleted id was found")
	}
	if err := s.DeleteMedia(ctx, "never-there"); err != nil {
		t.Errorf("deleting an unknown id: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := s.Media(cctx, "x"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ctx: %v", err)
	}
}

func TestFlowIndex(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	s := open(t, url, pgstore.Options{})
	ctx := t.Context()
	f := store.Flow{ID: "1234567890123456", Tenant: "a", AppID: "app-a"}
	if err := s.PutFlow(ctx, f); err != nil {
		t.Fatal(err)
	}
	if err := s.PutFlow(ctx, store.Flow{}); err == nil {
		t.Error("a flow without id was accepted")
	}
	other := open(t, url, pgstore.Options{})
	got, ok, err := other.Flow(ctx, f.ID)
	if err != nil || !ok || got.Tenant != "a" || got.AppID != "app-a" || got.Created.IsZero() {
		t.Fatalf("from another store: %+v, %v, %v", got, ok, err)
	}
	if err := other.DeleteFlow(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Flow(ctx, f.ID); ok {
		t.Error("a deleted flow was found")
	}
}

// TestClaimMedia pins who a media id belongs to: the first owner, for as
// long as its record is valid; nobody else's claim moves it.
func TestClaimMedia(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	upload := store.Media{ID: "X", Tenant: "a", AppID: "app-a", MimeType: "image/jpeg", SHA256: "ab", Size: 42, Created: now}
	tests := []struct {
		name        string
		existing    *store.Media // indexed before the claim
		age         time.Duration
		claim       store.Media
		wantClaimed bool
		want        store.Media // the record afterwards
	}{
		{"an unknown id is recorded", nil, 0,
			store.Media{ID: "X", Tenant: "b", AppID: "app-b", Size: -1, URL: "https://g/x"}, true,
			store.Media{ID: "X", Tenant: "b", AppID: "app-b", Size: -1, URL: "https://g/x", Created: now}},
		{"another tenant's id keeps its owner and url", &upload, 0,
			store.Media{ID: "X", Tenant: "b", AppID: "app-b", Size: -1, URL: "http://attacker.test/steal"}, false, upload},
		{"another app of the same tenant does not take it either", &upload, 0,
			store.Media{ID: "X", Tenant: "a", AppID: "app-a2", Size: -1, URL: "http://attacker.test/steal"}, false, upload},
		{"the owner's own record is refreshed", &upload, 0,
			store.Media{ID: "X", Tenant: "a", AppID: "app-a", Size: -1, URL: "https://g/x2"}, true,
			store.Media{ID: "X", Tenant: "a", AppID: "app-a", Size: -1, URL: "https://g/x2", Created: now}},
		{"an expired record is no longer owned", &upload, time.Hour,
			store.Media{ID: "X", Tenant: "b", AppID: "app-b", Size: -1, URL: "https://g/x"}, true,
			store.Media{ID: "X", Tenant: "b", AppID: "app-b", Size: -1, URL: "https://g/x", Created: now.Add(time.Hour)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := storetest.NewClock()
			clk.Set(now)
			s := open(t, pgtest.NewDatabase(t), pgstore.Options{MediaTTL: time.Hour, Now: clk.Now})
			ctx := t.Context()
			if tt.existing != nil {
				if err := s.PutMedia(ctx, *tt.existing); err != nil {
					t.Fatal(err)
				}
			}
			clk.Set(now.Add(tt.age))
			owner, claimed, err := s.ClaimMedia(ctx, tt.claim)
			if err != nil || claimed != tt.wantClaimed || owner != tt.want {
				t.Errorf("ClaimMedia = %+v, %v, %v; want %+v, %v", owner, claimed, err, tt.want, tt.wantClaimed)
			}
			got, ok, err := s.Media(ctx, "X")
			if err != nil || !ok || got != tt.want {
				t.Errorf("Media = %+v, %v, %v; want %+v", got, ok, err, tt.want)
			}
		})
	}
	t.Run("a record without id is refused", func(t *testing.T) {
		t.Parallel()
		s := open(t, pgtest.NewDatabase(t), pgstore.Options{})
		if _, _, err := s.ClaimMedia(t.Context(), store.Media{}); err == nil {
			t.Error("a record without id was accepted")
		}
	})
	t.Run("of concurrent claims through two stores one owns the id", func(t *testing.T) {
		t.Parallel()
		url := pgtest.NewDatabase(t)
		stores := []*pgstore.Store{open(t, url, pgstore.Options{}), open(t, url, pgstore.Options{})}
		for round := range 20 {
			id := "M" + string(rune('a'+round))
			var wg sync.WaitGroup
			claimed := make([]bool, 4)
			for i := range claimed {
				wg.Go(func() {
					m := store.Media{ID: id, Tenant: string(rune('a' + i)), AppID: "app"}
					_, ok, err := stores[i%2].ClaimMedia(t.Context(), m)
					if err != nil {
						t.Error(err)
					}
					claimed[i] = ok
				})
			}
			wg.Wait()
			n := 0
			for _, c := range claimed {
				if c {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("round %d: %d claims succeeded, want 1", round, n)
			}
		}
	})
}
