package server

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// spoolFile is a file a sweep test puts in the spool dir.
type spoolFile struct {
	name    string
	age     time.Duration // since the last write, at the sweep
	dir     bool          // a directory instead of a file
	symlink bool          // a symbolic link (to an old spool-named file elsewhere)
}

// makeSpoolFiles creates the files in dir with their modification times
// set to now-age.
func makeSpoolFiles(t *testing.T, dir string, now time.Time, files []spoolFile) {
	t.Helper()
	elsewhere := t.TempDir()
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		var err error
		switch {
		case f.dir:
			err = os.Mkdir(p, 0o700)
		case f.symlink:
			target := filepath.Join(elsewhere, f.name)
			if err = os.WriteFile(target, []byte("x"), 0o600); err == nil {
				err = os.Symlink(target, p)
			}
		default:
			err = os.WriteFile(p, []byte("spooled"), 0o600)
		}
		if err != nil {
			t.Fatal(err)
		}
		mt := now.Add(-f.age)
		if f.symlink {
			err = os.Chtimes(filepath.Join(elsewhere, f.name), mt, mt)
		} else {
			err = os.Chtimes(p, mt, mt)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// remaining lists the names left in dir.
func remaining(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestSweepSpool pins what a sweep removes: spool files (the upload
// handler's pattern) last written before the cutoff, and nothing else.
func TestSweepSpool(t *testing.T) {
	const maxAge = 10 * time.Minute
	files := []spoolFile{
		{name: "waproxy-upload-1234567", age: time.Hour},             // left by a killed process
		{name: "waproxy-upload-42", age: maxAge + time.Second},       // just past the bound
		{name: "waproxy-upload-7654321", age: time.Minute},           // an upload in flight
		{name: "waproxy-upload-99", age: maxAge - time.Second},       // just inside the bound
		{name: "waproxy-upload-notdigits", age: time.Hour},           // not the pattern
		{name: "waproxy-upload-", age: time.Hour},                    // prefix alone
		{name: "other-upload-123", age: time.Hour},                   // another program's file
		{name: "xwaproxy-upload-123", age: time.Hour},                // prefix not at the start
		{name: "waproxy-upload-5555", age: time.Hour, dir: true},     // a directory
		{name: "waproxy-upload-6666", age: time.Hour, symlink: true}, // a symbolic link
		{name: "waproxy-upload-123.json", age: time.Hour},            // a suffix
	}
	dir := t.TempDir()
	now := time.Now()
	makeSpoolFiles(t, dir, now, files)
	n, err := SweepSpool(dir, now.Add(-maxAge))
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("removed %d files, want 2", n)
	}
	want := []string{"other-upload-123", "waproxy-upload-", "waproxy-upload-123.json", "waproxy-upload-5555",
		"waproxy-upload-6666", "waproxy-upload-7654321", "waproxy-upload-99", "waproxy-upload-notdigits", "xwaproxy-upload-123"}
	if got := remaining(t, dir); !slices.Equal(got, want) {
		t.Errorf("left %v\nwant %v", got, want)
	}
}

// TestSweepSpoolMissingDir: a spool dir that cannot be read is an error,
// not a panic.
func TestSweepSpoolMissingDir(t *testing.T) {
	if n, err := SweepSpool(filepath.Join(t.TempDir(), "gone"), time.Now()); n != 0 || err == nil {
		t.Errorf("SweepSpool of a missing dir: %d, %v", n, err)
	}
}

// TestSpoolSweeperRun: a sweep removes left-over files and logs the
// count; Run later removes files that became old while it runs (a process
// sharing the dir killed meanwhile); files in flight stay.
func TestSpoolSweeperRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const maxAge = 10 * time.Minute
		dir := t.TempDir()
		makeSpoolFiles(t, dir, time.Now(), []spoolFile{
			{name: "waproxy-upload-1", age: time.Hour},
			{name: "waproxy-upload-2", age: 2 * time.Hour},
			{name: "waproxy-upload-3", age: time.Minute},
		})
		core, logs := observer.New(zap.InfoLevel)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		sw := SpoolSweeper{Dir: dir, MaxAge: maxAge, Logger: zap.New(core)}
		if n := sw.Sweep(); n != 2 {
			t.Errorf("the first sweep removed %d files, want 2", n)
		}
		go func() {
			defer close(done)
			sw.Run(ctx)
		}()
		if got := remaining(t, dir); !slices.Equal(got, []string{"waproxy-upload-3"}) {
			t.Errorf("after the first sweep: %v", got)
		}
		entries := logs.FilterMessage("removed upload spool files left by an earlier process").All()
		if len(entries) != 1 || entries[0].ContextMap()["files"] != int64(2) {
			t.Errorf("log: %v", logs.All())
		}
		// Half a period later another upload starts.
		advance(maxAge / 2)
		makeSpoolFiles(t, dir, time.Now(), []spoolFile{{name: "waproxy-upload-4"}})
		// At the first period's sweep the first in-flight file is past
		// the bound (11m), the new one is not (5m); at the next it is.
		advance(maxAge / 2)
		synctest.Wait()
		if got := remaining(t, dir); !slices.Equal(got, []string{"waproxy-upload-4"}) {
			t.Errorf("after one period: %v", got)
		}
		advance(maxAge)
		synctest.Wait()
		if got := remaining(t, dir); len(got) != 0 {
			t.Errorf("after two periods: %v", got)
		}
		cancel()
		<-done
	})
}

// TestSpoolSweeperNoMaxAge: without a bound nothing is removed (every
// file might be in use).
func TestSpoolSweeperNoMaxAge(t *testing.T) {
	dir := t.TempDir()
	makeSpoolFiles(t, dir, time.Now(), []spoolFile{{name: "waproxy-upload-1", age: time.Hour}})
	if n := (SpoolSweeper{Dir: dir}).Sweep(); n != 0 || len(remaining(t, dir)) != 1 {
		t.Errorf("swept %d without MaxAge", n)
	}
}

// TestSpoolFileSurvivesSweep: an upload's spool file carries the name a
// sweep recognises, and the upload still reads its bytes after the file
// was removed from the directory.
func TestSpoolFileSurvivesSweep(t *testing.T) {
	dir := t.TempDir()
	s := &Server{opt: Options{Media: &MediaOptions{SpoolDir: dir}}}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "a.txt")
	_, _ = fw.Write([]byte("hello spool"))
	_ = mw.Close()
	part, err := multipart.NewReader(&body, mw.Boundary()).NextPart()
	if err != nil {
		t.Fatal(err)
	}
	sp, err := s.spoolPart(part, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.remove()
	if name := filepath.Base(sp.f.Name()); !isSpoolName(name) {
		t.Fatalf("spool file %q does not carry the spool name", name)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(sp.f.Name(), old, old); err != nil {
		t.Fatal(err)
	}
	if n, err := SweepSpool(dir, time.Now()); n != 1 || err != nil {
		t.Fatalf("sweep: %d, %v", n, err)
	}
	for range 2 { // each upload attempt reads from the start
		rc, err := sp.open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		_ = rc.Close()
		if err != nil || string(b) != "hello spool" {
			t.Fatalf("read %q, %v", b, err)
		}
	}
}

// advance lets d of the bubble's fake time pass and returns once every
// goroutine in the bubble is blocked again: what was due within d has
// run. Call it only inside synctest.Test.
func advance(d time.Duration) {
	<-time.After(d)
	synctest.Wait()
}
