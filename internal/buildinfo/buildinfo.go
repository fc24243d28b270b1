// Package buildinfo reports what binary this is: the module version, the
// VCS revision it was built from and the Go version, as Go's linker
// recorded them (runtime/debug.ReadBuildInfo). `proxy version` prints it and
// the waproxy_build_info metric carries it.
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"sync"
)

// Info describes the running binary.
type Info struct {
	// Version is the main module's version: a tag, a pseudo-version, or
	// "(devel)" for a build from a work tree.
	Version string
	// Revision is the VCS commit, with "-dirty" when the work tree had
	// changes; "unknown" when not recorded (go run, go test, -buildvcs=false).
	Revision string
	// Time is the commit time (RFC 3339), empty when not recorded.
	Time string
	// GoVersion is the toolchain that built the binary.
	GoVersion string
}

var read = sync.OnceValue(func() Info { return fromBuildInfo(debug.ReadBuildInfo()) })

// Read returns the running binary's build information.
func Read() Info { return read() }

func fromBuildInfo(bi *debug.BuildInfo, ok bool) Info {
	info := Info{Version: "(devel)", Revision: "unknown", GoVersion: runtime.Version()}
	if !ok || bi == nil {
		return info
	}
	if v := bi.Main.Version; v != "" {
		info.Version = v
	}
	if bi.GoVersion != "" {
		info.GoVersion = bi.GoVersion
	}
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Revision = s.Value
		case "vcs.time":
			info.Time = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty && info.Revision != "unknown" {
		info.Revision += "-dirty"
	}
	return info
}

// String is the one-line form `proxy version` prints.
func (i Info) String() string {
	s := "waproxy " + i.Version + " (" + i.Revision
	if i.Time != "" {
		s += ", " + i.Time
	}
	return s + ") " + i.GoVersion
}
