package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		ok   bool
		want Info
	}{
		{"nothing recorded: devel, unknown revision, the running Go", nil, false,
			Info{Version: "(devel)", Revision: "unknown", GoVersion: "go-test"}},
		{"a tagged module with its commit", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}, {Key: "vcs.modified", Value: "false"}}},
			true, Info{Version: "v1.2.3", Revision: "abc123", Time: "2026-12-01T10:00:00Z", GoVersion: "go1.26.8"}},
		{"a dirty work tree marks the revision", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.modified", Value: "true"}}},
			true, Info{Version: "(devel)", Revision: "abc123-dirty", GoVersion: "go1.26.8"}},
		{"modified without a revision stays unknown", &debug.BuildInfo{GoVersion: "go1.26.8",
			Settings: []debug.BuildSetting{{Key: "vcs.modified", Value: "true"}}},
			true, Info{Version: "(devel)", Revision: "unknown", GoVersion: "go1.26.8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fromBuildInfo(tt.bi, tt.ok)
			if tt.want.GoVersion == "go-test" {
				tt.want.GoVersion = got.GoVersion
				if got.GoVersion == "" {
					t.Error("GoVersion empty")
				}
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestString(t *testing.T) {
	got := Info{Version: "v1.2.3", Revision: "abc123", Time: "2026-12-01T10:00:00Z", GoVersion: "go1.26.8"}.String()
	if want := "waproxy v1.2.3 (abc123, 2026-12-01T10:00:00Z) go1.26.8"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := Read(); got.GoVersion == "" || got.Version == "" {
		t.Errorf("Read() = %+v", got)
	}
}
