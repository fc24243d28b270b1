package main

import (
	"encoding/json"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction with its continuation lines
// joined.
type instruction struct {
	cmd, args string
}

func readDockerfile(t *testing.T) []instruction {
	t.Helper()
	raw, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	var cur strings.Builder
	for _, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if more, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(more + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{strings.ToUpper(cmd), strings.Join(strings.Fields(args), " ")})
		cur.Reset()
	}
	return out
}

func find(ins []instruction, cmd string) []string {
	var args []string
	for _, in := range ins {
		if in.cmd == cmd {
			args = append(args, in.args)
		}
	}
	return args
}

// execForm decodes an exec-form argument list (["/proxy", "serve"]).
func execForm(t *testing.T, s string) []string {
	t.Helper()
	var argv []string
	if err := json.Unmarshal([]byte(s), &argv); err != nil {
		t.Fatalf("%s is not in exec form: %v", s, err)
	}
	return argv
}

var pinned = regexp.MustCompile(`^(\S+?)(?::(\S+))?@sha256:[0-9a-f]{64}(\s+AS\s+\S+)?$`)

// No image can be built here, so the Dockerfile is checked as text: what
// the image must be (pinned bases, the production config, a writable
// volume for the store, a health check without curl) and that the
// commands it runs are valid command lines of this binary.
func TestDockerfile(t *testing.T) {
	ins := readDockerfile(t)

	froms := find(ins, "FROM")
	if len(froms) < 2 {
		t.Fatalf("FROM: %q, want a build and a final stage", froms)
	}
	for _, f := range froms {
		if !pinned.MatchString(f) {
			t.Errorf("FROM %s is not pinned by @sha256 digest", f)
		}
	}
	if !strings.HasPrefix(froms[0], "golang:") {
		t.Errorf("build stage FROM %s, want golang", froms[0])
	} else {
		tag := pinned.FindStringSubmatch(froms[0])[2]
		if want := goDirective(t); !versionAtLeast(tag, want) {
			t.Errorf("build stage golang:%s is older than go.mod's go %s (the image builds with GOTOOLCHAIN=local)", tag, want)
		}
	}
	if last := froms[len(froms)-1]; !strings.HasPrefix(last, "gcr.io/distroless/static-debian12:nonroot@") {
		t.Errorf("final stage FROM %s, want gcr.io/distroless/static-debian12:nonroot@sha256:…", last)
	}

	copies := find(ins, "COPY")
	if !containsString(copies, "config.example.yaml /etc/waproxy/config.yaml") {
		t.Errorf("COPY: %q, want config.example.yaml baked as /etc/waproxy/config.yaml", copies)
	}
	for _, c := range copies {
		if strings.HasPrefix(c, "config.yaml ") {
			t.Errorf("COPY %s: the image bakes the demo config", c)
		}
	}
	if !containsString(copies, "--from=build --chown=65532:65532 /out/var/lib/waproxy /var/lib/waproxy") {
		t.Errorf("COPY: %q, want /var/lib/waproxy created in the build stage and owned by 65532", copies)
	}
	if v := find(ins, "VOLUME"); !containsString(v, "/var/lib/waproxy") {
		t.Errorf("VOLUME %q, want /var/lib/waproxy", v)
	}
	env := strings.Join(find(ins, "ENV"), " ")
	for _, want := range []string{"PROXY_STORE=/var/lib/waproxy/", "PROXY_LISTEN=0.0.0.0:8080"} {
		if !strings.Contains(env, want) {
			t.Errorf("ENV %q lacks %s", env, want)
		}
	}
	if u := find(ins, "USER"); len(u) != 1 || (u[0] != "nonroot:nonroot" && u[0] != "65532:65532") {
		t.Errorf("USER %q, want nonroot", u)
	}

	// The health check and the default command are valid command lines of
	// this binary (their flags parse: with -h they print help and exit 0).
	hc := find(ins, "HEALTHCHECK")
	if len(hc) != 1 {
		t.Fatalf("HEALTHCHECK %q, want one", hc)
	}
	_, cmdArgs, ok := strings.Cut(hc[0], "CMD ")
	if !ok {
		t.Fatalf("HEALTHCHECK %s has no CMD", hc[0])
	}
	probe := execForm(t, cmdArgs)
	if len(probe) < 2 || probe[0] != "/proxy" || probe[1] != "healthcheck" {
		t.Errorf("HEALTHCHECK runs %q, want /proxy healthcheck", probe)
	}
	entry := find(ins, "ENTRYPOINT")
	cmd := find(ins, "CMD")
	if len(entry) != 1 || len(cmd) != 1 {
		t.Fatalf("ENTRYPOINT %q, CMD %q", entry, cmd)
	}
	if e := execForm(t, entry[0]); len(e) != 1 || e[0] != "/proxy" {
		t.Errorf("ENTRYPOINT %q, want [/proxy]", e)
	}
	for _, argv := range [][]string{probe[1:], execForm(t, cmd[0])} {
		if code, _, stderr := execute(append(argv, "-h")...); code != 0 {
			t.Errorf("proxy %q: exit %d: %s", argv, code, stderr)
		}
		if !containsString(argv, "/etc/waproxy/config.yaml") {
			t.Errorf("proxy %q does not use the baked config", argv)
		}
	}
}

// What the image copies from the build context is not excluded by
// .dockerignore.
func TestDockerignoreKeepsWhatTheImageNeeds(t *testing.T) {
	raw, err := os.ReadFile("../../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"config.example.yaml", "go.mod", "go.sum", "cmd/proxy/main.go", "config/config.go"} {
		for _, pat := range strings.Split(string(raw), "\n") {
			pat = strings.TrimPrefix(strings.TrimSpace(pat), "/")
			if pat == "" || strings.HasPrefix(pat, "#") {
				continue
			}
			pat = strings.TrimPrefix(pat, "**/")
			if m, _ := path.Match(pat, f); m || strings.HasPrefix(f, pat+"/") {
				t.Errorf(".dockerignore %q excludes %s", pat, f)
			}
		}
	}
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// goDirective is go.mod's go version.
func goDirective(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "go "); ok {
			return v
		}
	}
	t.Fatal("go.mod has no go directive")
	return ""
}

// versionAtLeast compares dotted release numbers ("1.26.8" >= "1.26").
func versionAtLeast(v, min string) bool {
	a, b := strings.Split(v, "."), strings.Split(min, ".")
	for i := 0; i < len(b); i++ {
		if i >= len(a) {
			return false
		}
		x, err1 := strconv.Atoi(a[i])
		y, err2 := strconv.Atoi(b[i])
		if err1 != nil || err2 != nil {
			return false
		}
		if x != y {
			return x > y
		}
	}
	return true
}
