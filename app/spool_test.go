package app

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestBuildSweepsUploadSpool: upload spool files a killed process left in
// media.spool_dir (older than media.transfer_timeout) are gone once Build
// returns; younger spool files (another process's uploads in flight) and
// other files stay.
func TestBuildSweepsUploadSpool(t *testing.T) {
	dir := t.TempDir()
	spool := filepath.Join(dir, "spool")
	if err := os.Mkdir(spool, 0o700); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for name, age := range map[string]time.Duration{
		"waproxy-upload-111": 2 * time.Hour, // left by a killed process
		"waproxy-upload-222": time.Minute,   // in flight elsewhere
		"notes.txt":          2 * time.Hour, // not a spool file
	} {
		p := filepath.Join(spool, name)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	cfg := reloadConfig(t, dir, "media: {spool_dir: "+spool+", transfer_timeout: 10m}", "")
	_, logs := buildForReload(t, cfg)
	entries, err := os.ReadDir(spool)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if want := []string{"notes.txt", "waproxy-upload-222"}; !slices.Equal(left, want) {
		t.Errorf("spool dir holds %v, want %v", left, want)
	}
	if n := logs.FilterMessage("removed upload spool files left by an earlier process").Len(); n != 1 {
		t.Errorf("%d sweep log lines, want 1", n)
	}
}
