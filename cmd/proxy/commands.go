package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"waproxy/app"
	"waproxy/config"
	"waproxy/internal/buildinfo"
	"waproxy/webhook"
)

// command is one command of the command line.
type command struct {
	// name is how it is called: "check", "deadletters list".
	name string
	// args follows the name in its usage line: "[-config FILE]".
	args string
	// short is its line in the command list.
	short string
	// long is the paragraph of `proxy help NAME`.
	long string
	// subs are the subcommands of a command that only groups them
	// (deadletters); such a command has no setup.
	subs []*command
	// setup defines the command's flags and returns what runs it.
	setup func(fs *flag.FlagSet) action
	// ownSignals: the command handles SIGINT, SIGTERM and SIGHUP itself
	// (serve: SIGHUP reloads, a second SIGTERM cuts the shutdown delay
	// short); others get a context that those signals cancel.
	ownSignals bool
}

// action runs a command whose flags are parsed.
type action func(ctx context.Context, c *cli) error

func (cmd *command) usageLine() string {
	if len(cmd.subs) > 0 {
		return "proxy " + cmd.name + " " + cmd.subNames() + " [flags]"
	}
	if cmd.args == "" {
		return "proxy " + cmd.name
	}
	return "proxy " + cmd.name + " " + cmd.args
}

func (cmd *command) subNames() string {
	names := make([]string, len(cmd.subs))
	for i, s := range cmd.subs {
		names[i] = strings.TrimPrefix(s.name, cmd.name+" ")
	}
	return strings.Join(names, "|")
}

// lookup finds the command called name (the last word of a subcommand's
// name) in cmds.
func lookup(cmds []*command, name string) *command {
	for _, c := range cmds {
		if c.name == name || strings.HasSuffix(c.name, " "+name) {
			return c
		}
	}
	return nil
}

// defaultConfig is the -config default of every command.
const defaultConfig = "config.yaml"

func configFlag(fs *flag.FlagSet) *string {
	return fs.String("config", defaultConfig, "configuration `FILE`")
}

// withConfig returns an action that loads the file named by -config and
// runs f with it.
func withConfig(fs *flag.FlagSet, f func(ctx context.Context, c *cli, path string, cfg *config.Config) error) action {
	path := configFlag(fs)
	return func(ctx context.Context, c *cli) error {
		cfg, err := config.Load(*path)
		if err != nil {
			return err
		}
		return f(ctx, c, *path, cfg)
	}
}

// commands are the commands in the order `proxy help` lists them.
var commands = []*command{
	{
		name:  "serve",
		args:  "[-config FILE]",
		short: "serve the API (the default command)",
		long: `Serve loads the config file, serves the API on listen (and tls.listen), and
runs until SIGINT or SIGTERM: then /readyz answers 503, the listeners serve on
for server.shutdown_delay (a second signal cuts it short), and in-flight
requests drain for up to server.shutdown_grace. SIGHUP re-reads the config
file and applies its tenants, tokens and webhooks; on any error the running
config stays. "proxy -config FILE" is "proxy serve -config FILE".`,
		ownSignals: true,
		setup: func(fs *flag.FlagSet) action {
			return withConfig(fs, func(ctx context.Context, c *cli, path string, cfg *config.Config) error {
				return serve(ctx, cfg, path, c.stderr)
			})
		},
	},
	{
		name:  "check",
		args:  "[-config FILE]",
		short: "validate a config file (and its TLS key pair) and exit",
		long: `Check loads the config file as serve would: environment references, unknown
keys, addresses, URLs, required values, the TLS key pair, and the demo values a
config for a real Gupshup must not hold. It prints a summary and exits 0, or
names every problem and exits 1.`,
		setup: func(fs *flag.FlagSet) action {
			return withConfig(fs, func(_ context.Context, c *cli, path string, cfg *config.Config) error {
				https := ""
				if cfg.TLS.Enabled() {
					https = ", HTTPS on " + cfg.TLS.Listen
				}
				fmt.Fprintf(c.stdout, "%s: OK (%d tenants%s)\n", path, len(cfg.Tenants), https)
				return nil
			})
		},
	},
	{
		name:  "subscribe",
		args:  "[-config FILE]",
		short: "create or update each app's Gupshup subscription",
		long: `Subscribe points the Gupshup subscription of every app whose tenant has a
webhook at the proxy's callback intake (under public_url), creating or updating
the subscription tagged webhooks.subscription_tag. It needs a real Gupshup; the
embedded simulator is subscribed when the proxy starts.`,
		setup: func(fs *flag.FlagSet) action {
			return withConfig(fs, func(ctx context.Context, c *cli, _ string, cfg *config.Config) error {
				return subscribe(ctx, cfg, c.stdout, c.stderr)
			})
		},
	},
	{
		name:  "verify-webhooks",
		args:  "[-config FILE]",
		short: "run Meta's verification handshake against tenant webhooks",
		long: `Verify-webhooks sends Meta's hub.challenge handshake to every tenant webhook
with a verify_token and prints one line per tenant; it exits 1 if any failed.`,
		setup: func(fs *flag.FlagSet) action {
			return withConfig(fs, func(ctx context.Context, c *cli, _ string, cfg *config.Config) error {
				return verifyWebhooks(ctx, cfg, c.stdout)
			})
		},
	},
	{
		name:  "deadletters",
		short: "list or requeue dead letters (proxy stopped)",
		long: `Deadletters reads the webhook store directly, so the proxy must be stopped;
a running proxy serves the same under /admin/deadletters (admin.token).`,
		subs: []*command{
			{
				name:  "deadletters list",
				args:  "[-config FILE] [-limit N]",
				short: "list dead letters, oldest first",
				long: `List prints one line per dead letter: event id, tenant, creation time,
key, attempts and last error.`,
				setup: func(fs *flag.FlagSet) action {
					limit := fs.Int("limit", 100, "list at most `N` dead letters")
					return withConfig(fs, func(ctx context.Context, c *cli, _ string, cfg *config.Config) error {
						if *limit <= 0 {
							return usageError(nil, "-limit: %d is not a positive number", *limit)
						}
						return listDeadLetters(ctx, cfg, *limit, c.stdout)
					})
				},
			},
			{
				name:  "deadletters replay",
				args:  "[-config FILE] [-ids 1,2,3]",
				short: "requeue dead letters for delivery",
				long:  `Replay queues dead letters for delivery again: those given by -ids, or all.`,
				setup: func(fs *flag.FlagSet) action {
					path := configFlag(fs)
					list := fs.String("ids", "", "comma-separated event `IDS` to requeue (default all)")
					return func(ctx context.Context, c *cli) error {
						ids, err := parseIDs(*list)
						if err != nil {
							return usageError(nil, "-ids: %v", err)
						}
						cfg, err := config.Load(*path)
						if err != nil {
							return err
						}
						return replayDeadLetters(ctx, cfg, ids, c.stdout)
					}
				},
			},
		},
	},
	{
		name:  "healthcheck",
		args:  "[-config FILE] [-url URL] [-timeout D]",
		short: "ask a running proxy's /healthz; exit 0 if healthy, 1 if not",
		long: `Healthcheck sends GET /healthz to a running proxy and exits 0 on HTTP 200, 1
otherwise (for container health checks: it needs no curl). The address is -url
(the proxy's base URL, or the full URL to ask), else the config file's listen
address, with a host that binds all interfaces (0.0.0.0, ::, empty) asked on
127.0.0.1.`,
		setup: setupHealthcheck,
	},
	{
		name:  "version",
		short: "print the version, VCS revision and Go version",
		long:  `Version prints the module version, the VCS revision the binary was built from, and the Go version.`,
		setup: func(*flag.FlagSet) action {
			return func(_ context.Context, c *cli) error {
				fmt.Fprintln(c.stdout, buildinfo.Read().String())
				return nil
			}
		},
	},
	{
		name:  "help",
		args:  "[COMMAND]",
		short: "print the command list, or one command's usage and flags",
		long:  `Help prints the command list, or the usage and flags of the command named.`,
	},
}

// subscribe points every app's Gupshup subscription at the intake.
func subscribe(ctx context.Context, cfg *config.Config, stdout, stderr io.Writer) error {
	if cfg.Gupshup.BaseURL == config.Embedded {
		return errors.New("subscribe talks to a real Gupshup: set gupshup.base_url (the embedded simulator is subscribed when the proxy starts)")
	}
	log, err := newLogger(cfg.LogLevel, stderr)
	if err != nil {
		return err
	}
	a, err := app.BuildClients(cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	failed := 0
	for _, r := range a.Subscribe(ctx, cfg) {
		if r.Err != nil {
			failed++
			fmt.Fprintf(stdout, "%s\tfailed\t%v\n", r.AppID, r.Err)
			continue
		}
		fmt.Fprintf(stdout, "%s\t%s\tsubscription %s\n", r.AppID, r.Action, r.SubscriptionID)
	}
	if failed > 0 {
		return fmt.Errorf("%d subscription(s) failed", failed)
	}
	return nil
}

// verifyWebhooks runs Meta's handshake against each tenant webhook with a
// verify token.
func verifyWebhooks(ctx context.Context, cfg *config.Config, stdout io.Writer) error {
	failed := 0
	for _, t := range cfg.Tenants {
		if t.Webhook.URL == "" || t.Webhook.VerifyToken == "" {
			continue
		}
		if err := webhook.VerifyEndpoint(ctx, nil, t.Webhook.URL, t.Webhook.VerifyToken, cfg.Webhooks.AttemptTimeout); err != nil {
			failed++
			fmt.Fprintf(stdout, "%s\tfailed\t%v\n", t.Name, err)
			continue
		}
		fmt.Fprintf(stdout, "%s\tverified\n", t.Name)
	}
	if failed > 0 {
		return fmt.Errorf("%d webhook(s) failed verification", failed)
	}
	return nil
}
