package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"waproxy/internal/buildinfo"
)

// execute runs the command line as main does and returns the exit code
// and what went to each stream.
func execute(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = report(run(args, &out, &errb), &errb)
	return code, out.String(), errb.String()
}

// writeConfig writes a valid config (embedded simulator) whose store is in
// dir, after head, and returns its path.
func writeConfig(t *testing.T, dir, head string) string {
	t.Helper()
	p := filepath.Join(dir, "proxy.yaml")
	body := fmt.Sprintf(`%s
webhooks:
  store_path: %q
tenants:
  - name: acme
    tokens: [tok-acme]
    phone_numbers: [{id: "111", app_id: app-1, app_token: sk_1}]
`, head, filepath.Join(dir, "waproxy.db"))
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// commandLines are the lines of the command list, one per command.
var commandLines = []string{"serve ", "check ", "subscribe ", "verify-webhooks ", "deadletters list ",
	"deadletters replay ", "healthcheck ", "version ", "help "}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	good := writeConfig(t, dir, "")
	badListen := writeConfig(t, t.TempDir(), "listen: nonsense")
	withTLS := writeConfig(t, t.TempDir(), "tls:\n  listen: 127.0.0.1:8443\n  cert_file: /nonexistent.crt\n  key_file: /nonexistent.key")
	missing := filepath.Join(dir, "nope.yaml")

	const (
		out  = iota // the content is on stdout, stderr is empty
		errs        // the content is on stderr, stdout is empty
	)
	tests := []struct {
		name   string
		args   []string
		code   int
		stream int
		want   []string // all on the stream
		absent []string // none on the stream
	}{
		// Help: stdout, exit 0.
		{"help", []string{"help"}, 0, out, commandLines, nil},
		{"-h", []string{"-h"}, 0, out, commandLines, nil},
		{"--help", []string{"--help"}, 0, out, commandLines, nil},
		{"-help", []string{"-help"}, 0, out, commandLines, nil},
		{"help check", []string{"help", "check"}, 0, out,
			[]string{"usage: proxy check [-config FILE]\n", "-config FILE", `(default "config.yaml")`}, []string{"-ids", "-limit", "-url", "subscribe "}},
		{"check -h", []string{"check", "-h"}, 0, out, []string{"usage: proxy check [-config FILE]\n", "-config FILE"}, []string{"-ids", "-limit"}},
		{"check --help", []string{"check", "--help"}, 0, out, []string{"usage: proxy check [-config FILE]\n"}, nil},
		{"serve -h", []string{"serve", "-h"}, 0, out, []string{"usage: proxy serve [-config FILE]\n", "-config FILE"}, []string{"-ids"}},
		{"flags only, -h, is serve's help", []string{"-config", "x.yaml", "-h"}, 0, out, []string{"usage: proxy serve "}, nil},
		{"help deadletters", []string{"help", "deadletters"}, 0, out,
			[]string{"usage: proxy deadletters list|replay [flags]\n", "list ", "replay "}, []string{"-ids", "-limit"}},
		{"deadletters -h", []string{"deadletters", "-h"}, 0, out, []string{"usage: proxy deadletters list|replay [flags]\n"}, []string{"-ids", "-limit"}},
		{"help deadletters list", []string{"help", "deadletters", "list"}, 0, out,
			[]string{"usage: proxy deadletters list [-config FILE] [-limit N]\n", "-limit N", "(default 100)", "-config FILE"}, []string{"-ids"}},
		{"deadletters list -h", []string{"deadletters", "list", "-h"}, 0, out, []string{"-limit N"}, []string{"-ids"}},
		{"help deadletters replay", []string{"help", "deadletters", "replay"}, 0, out,
			[]string{"usage: proxy deadletters replay [-config FILE] [-ids 1,2,3]\n", "-ids IDS", "-config FILE"}, []string{"-limit"}},
		{"deadletters replay -h", []string{"deadletters", "replay", "-h"}, 0, out, []string{"-ids IDS"}, []string{"-limit"}},
		{"help healthcheck", []string{"help", "healthcheck"}, 0, out,
			[]string{"usage: proxy healthcheck [-config FILE] [-url URL] [-timeout D]\n", "-url URL", "-timeout D", "-config FILE"}, []string{"-ids", "-limit"}},
		{"help version", []string{"help", "version"}, 0, out, []string{"usage: proxy version\n"}, []string{"Flags:", "-config"}},
		{"version -h", []string{"version", "-h"}, 0, out, []string{"usage: proxy version\n"}, []string{"Flags:"}},
		{"help help", []string{"help", "help"}, 0, out, []string{"usage: proxy help [COMMAND]\n"}, nil},
		{"help -h", []string{"help", "-h"}, 0, out, []string{"usage: proxy help [COMMAND]\n"}, nil},

		// Version.
		{"version", []string{"version"}, 0, out, []string{buildinfo.Read().String() + "\n"}, nil},

		// Usage errors: stderr, exit 2, a hint to help.
		{"unknown command", []string{"bogus"}, 2, errs, []string{`proxy: unknown command "bogus"`, "Run 'proxy help' for usage."}, nil},
		{"unknown help topic", []string{"help", "bogus"}, 2, errs, []string{`unknown command "bogus"`, "Run 'proxy help' for usage."}, nil},
		{"help with an extra argument", []string{"help", "check", "extra"}, 2, errs, []string{`proxy help: unexpected argument "extra"`}, nil},
		{"help of an unknown subcommand", []string{"help", "deadletters", "bogus"}, 2, errs, []string{`unknown subcommand "bogus"`}, nil},
		{"unknown flag", []string{"check", "-bogus"}, 2, errs,
			[]string{"proxy check: flag provided but not defined: -bogus", "usage: proxy check [-config FILE]", "Run 'proxy help check' for details."}, nil},
		{"unknown flag of serve", []string{"-bogus"}, 2, errs, []string{"proxy serve: flag provided but not defined: -bogus", "'proxy help serve'"}, nil},
		{"another command's flag", []string{"check", "-ids", "1"}, 2, errs, []string{"flag provided but not defined: -ids"}, nil},
		{"list's flag under replay", []string{"deadletters", "replay", "-limit", "5"}, 2, errs, []string{"flag provided but not defined: -limit"}, nil},
		{"replay's flag under list", []string{"deadletters", "list", "-ids", "5"}, 2, errs, []string{"flag provided but not defined: -ids"}, nil},
		{"flag without its value", []string{"check", "-config"}, 2, errs, []string{"flag needs an argument: -config"}, nil},
		{"bad flag value", []string{"deadletters", "list", "-limit", "many"}, 2, errs, []string{`invalid value "many" for flag -limit`, "'proxy help deadletters list'"}, nil},
		{"non-positive limit", []string{"deadletters", "list", "-limit", "0", "-config", good}, 2, errs,
			[]string{"proxy deadletters list: -limit: 0 is not a positive number", "'proxy help deadletters list'"}, nil},
		{"bad event id", []string{"deadletters", "replay", "-ids", "1,x", "-config", good}, 2, errs,
			[]string{`proxy deadletters replay: -ids: "x" is not an event id`, "'proxy help deadletters replay'"}, nil},
		{"unexpected argument", []string{"check", "extra-arg"}, 2, errs,
			[]string{`proxy check: unexpected argument "extra-arg"`, "Run 'proxy help check' for details."}, nil},
		{"argument after flags", []string{"check", "-config", good, "extra-arg"}, 2, errs, []string{`unexpected argument "extra-arg"`}, nil},
		{"version with an argument", []string{"version", "extra"}, 2, errs, []string{`proxy version: unexpected argument "extra"`}, nil},
		{"missing deadletters subcommand", []string{"deadletters"}, 2, errs,
			[]string{"proxy deadletters: missing subcommand (list|replay)", "Run 'proxy help deadletters' for details."}, nil},
		{"unknown deadletters subcommand", []string{"deadletters", "purge"}, 2, errs, []string{`proxy deadletters: unknown subcommand "purge" (list|replay)`}, nil},
		{"deadletters flag without subcommand", []string{"deadletters", "-ids", "1"}, 2, errs, []string{`unknown subcommand "-ids"`}, nil},
		{"healthcheck bad url", []string{"healthcheck", "-url", "localhost:8080"}, 2, errs, []string{"proxy healthcheck: -url:", "not an absolute http(s) URL"}, nil},
		{"healthcheck bad timeout", []string{"healthcheck", "-url", "http://127.0.0.1:1", "-timeout", "0s"}, 2, errs, []string{"-timeout: 0s is not a positive duration"}, nil},

		// Runs: exit 0 with output on stdout, or 1 with one message on stderr.
		{"check", []string{"check", "-config", good}, 0, out, []string{good + ": OK (1 tenants)\n"}, nil},
		{"check of a missing file", []string{"check", "-config", missing}, 1, errs, []string{"proxy: config: open " + missing}, []string{"usage:", "proxy help"}},
		{"check of a bad listen address", []string{"check", "-config", badListen}, 1, errs, []string{"listen: ", `"nonsense"`}, []string{"usage:"}},
		{"check of missing TLS files", []string{"check", "-config", withTLS}, 1, errs, []string{"tls.cert_file: "}, nil},
		{"subscribe with the simulator", []string{"subscribe", "-config", good}, 1, errs, []string{"subscribe talks to a real Gupshup"}, nil},
		{"deadletters list", []string{"deadletters", "list", "-config", good}, 0, out, []string{"0 dead letter(s)\n"}, nil},
		{"deadletters replay", []string{"deadletters", "replay", "-config", good, "-ids", "1, 2"}, 0, out, []string{"0 dead letter(s) queued for delivery\n"}, nil},
		{"verify-webhooks without webhooks", []string{"verify-webhooks", "-config", good}, 0, out, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := execute(tt.args...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
			}
			on, other, otherName := stdout, stderr, "stderr"
			if tt.stream == errs {
				on, other, otherName = stderr, stdout, "stdout"
			}
			if other != "" {
				t.Errorf("%s not empty: %q", otherName, other)
			}
			for _, w := range tt.want {
				if !strings.Contains(on, w) {
					t.Errorf("output lacks %q:\n%s", w, on)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(on, a) {
					t.Errorf("output has %q:\n%s", a, on)
				}
			}
		})
	}
}

// The command list has one line per command, each naming it and saying
// what it does.
func TestCommandListOneLineEach(t *testing.T) {
	_, stdout, _ := execute("help")
	for _, name := range commandLines {
		n := 0
		for _, l := range strings.Split(stdout, "\n") {
			if f := strings.TrimSpace(l); strings.HasPrefix(f, name) && len(f) > len(name)+5 {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d lines for %q in:\n%s", n, name, stdout)
		}
	}
}

// The usage line of every command is the one its help prints, and its
// flags are the ones its usage line names.
func TestUsageLinesNameTheFlags(t *testing.T) {
	var all []*command
	for _, c := range commands {
		if len(c.subs) == 0 {
			all = append(all, c)
		}
		all = append(all, c.subs...)
	}
	for _, c := range all {
		args := append([]string{"help"}, strings.Fields(c.name)...)
		_, stdout, _ := execute(args...)
		for _, f := range []string{"-config", "-limit", "-ids", "-url", "-timeout"} {
			if strings.Contains(c.args, f+" ") != strings.Contains(stdout, "\n  "+f+" ") {
				t.Errorf("%s: usage line %q and flags disagree on %s:\n%s", c.name, c.args, f, stdout)
			}
		}
	}
}
