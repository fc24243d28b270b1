package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func TestBoltMediaIndex(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	path := filepath.Join(t.TempDir(), "m.db")
	b, err := Open(path, Options{NoSync: true, MediaTTL: time.Hour, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	m := Media{ID: "1852559851913765", Tenant: "a", AppID: "app-a", MimeType: "image/jpeg", SHA256: "ab", Size: 42}
	if err := b.PutMedia(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := b.PutMedia(ctx, Media{}); err == nil {
		t.Error("a record without id was accepted")
	}
	got, ok, err := b.Media(ctx, m.ID)
	m.Created = now
	if err != nil || !ok || got != m {
		t.Fatalf("Media = %+v, %v, %v; want %+v", got, ok, err, m)
	}
	if _, ok, _ := b.Media(ctx, "unknown"); ok {
		t.Error("an unknown id was found")
	}
	// Durable across reopen.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b, err = Open(path, Options{NoSync: true, MediaTTL: time.Hour, Now: func() time.Time { return now.Add(59 * time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	if got, ok, _ := b.Media(ctx, m.ID); !ok || got.Tenant != "a" {
		t.Errorf("after reopen: %+v, %v", got, ok)
	}
	if err := b.DeleteMedia(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := b.Media(ctx, m.ID); ok {
		t.Error("a deleted id was found")
	}
	if err := b.DeleteMedia(ctx, "never-there"); err != nil {
		t.Errorf("deleting an unknown id: %v", err)
	}
	b.Close()

	// Expiry.
	b, err = Open(path, Options{NoSync: true, MediaTTL: time.Hour, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.PutMedia(ctx, Media{ID: "old", Tenant: "a", Created: now.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := b.Media(ctx, "old"); ok {
		t.Error("a record older than MediaTTL was found")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := b.Media(cctx, "old"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ctx: %v", err)
	}
}

func TestBoltFlowIndex(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "f.db")
	b, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	f := Flow{ID: "1234567890123456", Tenant: "a", AppID: "app-a"}
	if err := b.PutFlow(ctx, f); err != nil {
		t.Fatal(err)
	}
	if err := b.PutFlow(ctx, Flow{}); err == nil {
		t.Error("a flow without id was accepted")
	}
	b.Close()
	b, err = Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	got, ok, err := b.Flow(ctx, f.ID)
	if err != nil || !ok || got.Tenant != "a" || got.AppID != "app-a" || got.Created.IsZero() {
		t.Fatalf("after reopen: %+v, %v, %v", got, ok, err)
	}
	if err := b.DeleteFlow(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := b.Flow(ctx, f.ID); ok {
		t.Error("a deleted flow was found")
	}
}

// TestBoltClaimMedia pins who a media id belongs to: the first owner, for
// as long as its record is valid; nobody else's claim moves it.
func TestBoltClaimMedia(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	upload := Media{ID: "X", Tenant: "a", AppID: "app-a", MimeType: "image/jpeg", SHA256: "ab", Size: 42, Created: now}
	tests := []struct {
		name        string
		existing    *Media // indexed before the claim
		age         time.Duration
		claim       Media
		wantClaimed bool
		want        Media // the record afterwards
	}{
		{"an unknown id is recorded", nil, 0,
			Media{ID: "X", Tenant: "b", AppID: "app-b", Size: -1, URL: "https://g/x"}, true,
			Media{ID: "X", Tenant: "b", AppID: "app-b", Size: -1, URL: "https://g/x", Created: now}},
		{"another tenant's id keeps its owner and url", &upload, 0,
			Media{ID: "X", Tenant: "b", AppID: "app-b", Size: -1, URL: "http://attacker.test/steal"}, false, upload},
		{"another app of the same tenant does not take it either", &upload, 0,
			Media{ID: "X", Tenant: "a", AppID: "app-a2", Size: -1, URL: "http://attacker.test/steal"}, false, upload},
		{"the owner's own record is refreshed", &upload, 0,
			Media{ID: "X", Tenant: "a", AppID: "app-a", Size: -1, URL: "https://g/x2"}, true,
			Media{ID: "X", Tenant: "a", AppID: "app-a", Size: -1, URL: "https://g/x2", Created: now}},
		{"an expired record is no longer owned", &upload, time.Hour,
			Media{ID: "X", Tenant: "b", AppID: "app-b", Size: -1, URL: "https://g/x"}, true,
			Media{ID: "X", Tenant: "b", AppID: "app-b", Size: -1, URL: "https://g/x", Created: now.Add(time.Hour)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := now
			b, err := Open(filepath.Join(t.TempDir(), "m.db"), Options{NoSync: true, MediaTTL: time.Hour, Now: func() time.Time { return clock }})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			ctx := context.Background()
			if tt.existing != nil {
				if err := b.PutMedia(ctx, *tt.existing); err != nil {
					t.Fatal(err)
				}
			}
			clock = now.Add(tt.age)
			owner, claimed, err := b.ClaimMedia(ctx, tt.claim)
			if err != nil || claimed != tt.wantClaimed || owner != tt.want {
				t.Errorf("ClaimMedia = %+v, %v, %v; want %+v, %v", owner, claimed, err, tt.want, tt.wantClaimed)
			}
			got, ok, err := b.Media(ctx, "X")
			if err != nil || !ok || got != tt.want {
				t.Errorf("Media = %+v, %v, %v; want %+v", got, ok, err, tt.want)
			}
		})
	}
	b, err := Open(filepath.Join(t.TempDir(), "m.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, _, err := b.ClaimMedia(context.Background(), Media{}); err == nil {
		t.Error("a record without id was accepted")
	}
}
