// Command proxy serves Meta's WhatsApp Cloud API in front of Gupshup.
//
//	proxy [serve] [-config FILE]                      serve (default config.yaml)
//	proxy check [-config FILE]                        validate a config file (and TLS key pair) and exit
//	proxy subscribe [-config FILE]                    create/update each app's Gupshup subscription
//	proxy verify-webhooks [-config FILE]              run Meta's handshake against tenant webhooks
//	proxy deadletters list [-config FILE] [-limit N]  list dead letters (proxy stopped)
//	proxy deadletters replay [-config FILE] [-ids …]  requeue dead letters (proxy stopped)
//	proxy healthcheck [-config FILE] [-url URL]       GET a running proxy's /healthz; exit 0 or 1
//	proxy version                                     module version, VCS revision, Go version
//	proxy help [COMMAND]                              the command list, or one command's usage
//
// Help goes to standard output and exits 0. Usage errors (an unknown
// command or flag, an unexpected argument) exit 2, other failures 1, each
// with one message on standard error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func main() {
	os.Exit(report(run(os.Args[1:], os.Stdout, os.Stderr), os.Stderr))
}

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // the command ran and failed
	exitUsage   = 2 // the command line is wrong
)

// exitError is an error with the process exit code it stands for. Errors
// of other types are failures (exitFailure).
type exitError struct {
	code int
	err  error
	// usage is the command whose usage the message points to ("" for the
	// command list); only for exitUsage.
	usage *command
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageError reports a wrong command line for cmd (nil: no command chosen,
// or, from a command's action, the command running).
func usageError(cmd *command, format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...), usage: cmd}
}

// exitCode is the exit code err stands for.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	if e, ok := errors.AsType[*exitError](err); ok {
		return e.code
	}
	return exitFailure
}

// report writes err to stderr the way Go's own tools do, and returns the
// exit code: a usage error names the command and points to its help.
func report(err error, stderr io.Writer) int {
	code := exitCode(err)
	if err == nil {
		return code
	}
	e, _ := errors.AsType[*exitError](err)
	if code != exitUsage || e == nil {
		fmt.Fprintln(stderr, "proxy:", err)
		return code
	}
	if e.usage == nil {
		fmt.Fprintf(stderr, "proxy: %v\nRun 'proxy help' for usage.\n", err)
		return code
	}
	fmt.Fprintf(stderr, "proxy %s: %v\nusage: %s\nRun 'proxy help %s' for details.\n", e.usage.name, err, e.usage.usageLine(), e.usage.name)
	return code
}

// run runs the command line args (without the program name).
func run(args []string, stdout, stderr io.Writer) error {
	c := &cli{stdout: stdout, stderr: stderr}
	if len(args) > 0 {
		switch args[0] {
		case "help", "-h", "-help", "--help":
			return c.help(args[1:])
		}
	}
	name := "serve" // the default: `proxy` and `proxy -config FILE`
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	cmd := lookup(commands, name)
	if cmd == nil {
		return usageError(nil, "unknown command %q", name)
	}
	if len(cmd.subs) > 0 {
		if len(args) == 0 {
			return usageError(cmd, "missing subcommand (%s)", cmd.subNames())
		}
		if isHelpFlag(args[0]) {
			c.commandHelp(cmd)
			return nil
		}
		sub := lookup(cmd.subs, args[0])
		if sub == nil {
			return usageError(cmd, "unknown subcommand %q (%s)", args[0], cmd.subNames())
		}
		cmd, args = sub, args[1:]
	}
	return c.execute(cmd, args)
}

// cli is where commands write.
type cli struct {
	stdout, stderr io.Writer
}

// execute parses cmd's flags from args and runs it until it returns or a
// SIGINT or SIGTERM cancels its context.
func (c *cli) execute(cmd *command, args []string) error {
	fs := flag.NewFlagSet("proxy "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported once, by report
	act := cmd.setup(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.commandHelp(cmd)
			return nil
		}
		return usageError(cmd, "%v", err)
	}
	if fs.NArg() > 0 {
		return usageError(cmd, "unexpected argument %q", fs.Arg(0))
	}
	ctx := context.Background()
	if !cmd.ownSignals {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
	}
	err := act(ctx, c)
	if e, ok := errors.AsType[*exitError](err); ok && e.code == exitUsage && e.usage == nil {
		e.usage = cmd // a flag value the command itself found wrong
	}
	return err
}

func isHelpFlag(s string) bool {
	switch s {
	case "-h", "-help", "--help":
		return true
	}
	return false
}

func newLogger(level string, w io.Writer) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, err
	}
	enc := zap.NewProductionEncoderConfig()
	enc.TimeKey = "ts"
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	core := zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.AddSync(w), lvl)
	return zap.New(core), nil
}
