package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"
)

// spoolPrefix starts the name of every upload spool file; os.CreateTemp
// completes it with digits (spoolPattern).
const (
	spoolPrefix  = "waproxy-upload-"
	spoolPattern = spoolPrefix + "*"
)

// isSpoolName reports whether name is an upload spool file's name:
// spoolPrefix followed by digits only, as os.CreateTemp makes it from
// spoolPattern. Anything else in the directory is never touched.
func isSpoolName(name string) bool {
	rest, ok := strings.CutPrefix(name, spoolPrefix)
	if !ok || rest == "" {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if rest[i] < '0' || rest[i] > '9' {
			return false
		}
	}
	return true
}

// spoolDirOf is the directory uploads are spooled to: dir, or the system
// temp dir when dir is "" (as os.CreateTemp reads it).
func spoolDirOf(dir string) string {
	if dir == "" {
		return os.TempDir()
	}
	return dir
}

// SweepSpool removes the upload spool files in dir ("" is the system temp
// dir) last modified before cutoff: files an earlier process left when it
// was killed before it could remove them. Only regular files named like
// spool files are removed; a file another running process is still
// writing has a recent modification time and stays. It returns how many
// files it removed; the error joins what failed (an unreadable directory,
// a file that could not be removed).
func SweepSpool(dir string, cutoff time.Time) (int, error) {
	dir = spoolDirOf(dir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("reading the spool dir: %w", err)
	}
	removed := 0
	var errs []error
	for _, e := range entries {
		if !e.Type().IsRegular() || !isSpoolName(e.Name()) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
			continue
		}
		if !info.ModTime().Before(cutoff) {
			continue
		}
		switch err := os.Remove(filepath.Join(dir, e.Name())); {
		case err == nil:
			removed++
		case !errors.Is(err, fs.ErrNotExist): // gone already: another sweeper
			errs = append(errs, err)
		}
	}
	return removed, errors.Join(errs...)
}

// SpoolSweeper removes upload spool files left by killed processes.
type SpoolSweeper struct {
	// Dir is the spool directory ("" is the system temp dir).
	Dir string
	// MaxAge is how old (since its last write) a spool file must be to be
	// removed: no upload still running has one that old. Use
	// media.transfer_timeout, which bounds an upload's transfer.
	MaxAge time.Duration
	// Logger reports each sweep that removed files or failed.
	Logger *zap.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Sweep runs one sweep and logs its outcome. Without a positive MaxAge
// it removes nothing (every spool file might be in use).
func (w SpoolSweeper) Sweep() int {
	if w.MaxAge <= 0 {
		return 0
	}
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	log := w.Logger
	if log == nil {
		log = zap.NewNop()
	}
	n, err := SweepSpool(w.Dir, now().Add(-w.MaxAge))
	if n > 0 {
		log.Info("removed upload spool files left by an earlier process",
			zap.Int("files", n), zap.String("spool_dir", spoolDirOf(w.Dir)))
	}
	if err != nil {
		log.Warn("sweeping the upload spool failed", zap.String("spool_dir", spoolDirOf(w.Dir)), zap.Error(err))
	}
	return n
}

// Run sweeps every MaxAge until ctx ends (a process sharing the directory
// may be killed while this one runs). Sweep once at start before it.
func (w SpoolSweeper) Run(ctx context.Context) {
	if w.MaxAge <= 0 {
		return
	}
	t := time.NewTicker(w.MaxAge)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.Sweep()
		}
	}
}
