package translate

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// checkGolden compares got with the golden file, or rewrites it with -update.
func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("missing golden file (run go test ./translate -update): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

// fixtures lists testdata/<dir>/*.json with their golden paths.
func fixtures(t *testing.T, dir string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no fixtures in testdata/%s", dir)
	}
	out := make(map[string]string, len(files))
	for _, f := range files {
		out[f] = strings.TrimSuffix(f, ".json") + ".golden"
	}
	return out
}
