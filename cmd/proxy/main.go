// Command proxy serves Meta's WhatsApp Cloud API in front of Gupshup.
//
//	proxy [serve] [-config FILE]              serve (default config.yaml)
//	proxy check -config FILE                  validate a config file (and TLS key pair) and exit
//	proxy subscribe -config FILE              create/update each app's Gupshup subscription
//	proxy verify-webhooks -config FILE        run Meta's handshake against tenant webhooks
//	proxy deadletters list|replay [-ids 1,2]  inspect or requeue dead letters (proxy stopped)
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

	"waproxy/config"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "proxy:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	sub := ""
	if cmd == "deadletters" {
		if len(args) == 0 || (args[0] != "list" && args[0] != "replay") {
			return errors.New("usage: proxy deadletters list|replay [-config FILE] [-ids 1,2,3] [-limit N]")
		}
		sub, args = args[0], args[1:]
	}
	switch cmd {
	case "serve", "check", "subscribe", "verify-webhooks", "deadletters":
	default:
		return fmt.Errorf("unknown command %q (serve, check, subscribe, verify-webhooks, deadletters)", cmd)
	}
	fs := flag.NewFlagSet("proxy "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "config.yaml", "configuration file")
	ids := fs.String("ids", "", "deadletters replay: comma-separated event ids (default all)")
	limit := fs.Int("limit", 100, "deadletters list: how many")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	if cmd == "serve" {
		// serve handles its signals itself: SIGHUP reloads, a second
		// SIGTERM cuts the shutdown delay short.
		return serve(context.Background(), cfg, *cfgPath, stderr)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch cmd {
	case "check":
		// Load has checked the TLS key pair too.
		https := ""
		if cfg.TLS.Enabled() {
			https = ", HTTPS on " + cfg.TLS.Listen
		}
		fmt.Fprintf(stdout, "%s: OK (%d tenants%s)\n", *cfgPath, len(cfg.Tenants), https)
		return nil
	case "subscribe":
		return subscribe(ctx, cfg, stdout, stderr)
	case "verify-webhooks":
		return verifyWebhooks(ctx, cfg, stdout)
	default: // "deadletters"
		return deadLetters(ctx, cfg, sub, *ids, *limit, stdout)
	}
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
