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
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"waproxy/app"
	"waproxy/config"
	"waproxy/store"
	"waproxy/webhook"
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
	case "deadletters":
		return deadLetters(ctx, cfg, sub, *ids, *limit, stdout)
	}
	return serve(ctx, cfg, stderr)
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

// deadLetters lists or replays dead letters straight from the store file
// (while the proxy is stopped; a running proxy serves /admin/deadletters).
func deadLetters(ctx context.Context, cfg *config.Config, sub, idList string, limit int, stdout io.Writer) error {
	q, err := app.OpenQueue(cfg)
	if err != nil {
		if errors.Is(err, store.ErrLocked) {
			return fmt.Errorf("%w (a running proxy holds it: use its /admin/deadletters endpoints, enabled by admin.token, or stop it first)", err)
		}
		return err
	}
	defer q.Close()
	if sub == "list" {
		evs, err := q.DeadLetters(ctx, limit)
		if err != nil {
			return err
		}
		for _, e := range evs {
			fmt.Fprintf(stdout, "%d\t%s\t%s\t%s\tattempts=%d\t%s\n", e.ID, e.Tenant,
				e.Created.UTC().Format(time.RFC3339), e.Key, e.Attempts, e.LastError)
		}
		fmt.Fprintf(stdout, "%d dead letter(s)\n", len(evs))
		return nil
	}
	var ids []uint64
	for _, f := range strings.Split(idList, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		id, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return fmt.Errorf("-ids: %q is not an event id", f)
		}
		ids = append(ids, id)
	}
	n, err := q.Replay(ctx, ids, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d dead letter(s) queued for delivery\n", n)
	return nil
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

// serve wires the parts together and runs until ctx ends, then drains.
func serve(ctx context.Context, cfg *config.Config, logOut io.Writer) error {
	log, err := newLogger(cfg.LogLevel, logOut)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()

	a, err := app.Build(cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	h := a.Handler
	srv := &http.Server{
		Addr:              cfg.Listen,
		Handler:           h,
		ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout,
		ReadTimeout:       cfg.Server.ReadTimeout,
		WriteTimeout:      cfg.Server.WriteTimeout,
		IdleTimeout:       cfg.Server.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          zap.NewStdLog(log.Named("http")),
	}
	// One server on both listeners: the same handler and timeouts, and one
	// Shutdown drains the connections of both.
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	lns := []net.Listener{ln}
	fields := []zap.Field{zap.String("addr", ln.Addr().String())}
	if cfg.TLS.Enabled() {
		tln, err := app.TLSListener(cfg)
		if err != nil {
			_ = ln.Close()
			return err
		}
		lns = append(lns, tln)
		fields = append(fields, zap.String("tls_addr", tln.Addr().String()))
	}
	if cfg.Debug.PprofListen != "" {
		stop, addr, err := servePprof(cfg.Debug.PprofListen, log)
		if err != nil {
			for _, l := range lns {
				_ = l.Close()
			}
			return err
		}
		defer stop()
		fields = append(fields, zap.String("pprof_addr", addr))
	}
	log.Info("listening", append(fields, zap.String("public_url", cfg.PublicURL))...)
	errc := make(chan error, len(lns))
	for _, l := range lns {
		go func() { errc <- srv.Serve(l) }()
	}
	if a.Simulator != nil && a.Relay != nil {
		// The embedded simulator lives and dies with the process: point its
		// subscriptions at the intake now.
		for _, r := range a.Subscribe(ctx, cfg) {
			if r.Err != nil {
				log.Warn("subscribing the simulated app failed", zap.String("app_id", r.AppID), zap.Error(r.Err))
			}
		}
	}

	select {
	case err := <-errc:
		_ = srv.Close() // the other listener too
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", zap.Duration("grace", cfg.Server.ShutdownGrace))
	h.SetReady(false)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("drain did not finish in time", zap.Error(err))
		_ = srv.Close()
	}
	for range lns {
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	log.Info("stopped")
	return nil
}

// servePprof serves net/http/pprof's handlers at addr on a listener of its
// own (config debug.pprof_listen), never on the API's.
func servePprof(addr string, log *zap.Logger) (stop func(), bound string, err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("debug.pprof_listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ErrorLog: zap.NewStdLog(log.Named("pprof"))}
	go func() { _ = srv.Serve(ln) }()
	return func() { _ = srv.Close() }, ln.Addr().String(), nil
}
