// Command proxy serves Meta's WhatsApp Cloud API in front of Gupshup.
//
//	proxy [-config FILE]          serve (default config.yaml)
//	proxy check -config FILE      validate a config file and exit
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"waproxy/auth"
	"waproxy/config"
	"waproxy/gupshupsim"
	"waproxy/metrics"
	"waproxy/server"
	"waproxy/translate"
	"waproxy/upstream"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "proxy:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && (args[0] == "check" || args[0] == "serve") {
		cmd, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("proxy "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "config.yaml", "configuration file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	if cmd == "check" {
		fmt.Fprintf(stdout, "%s: OK (%d tenants)\n", *cfgPath, len(cfg.Tenants))
		return nil
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serve(ctx, cfg, stderr)
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

	baseURL := cfg.Gupshup.BaseURL
	if baseURL == config.Embedded {
		url, shutdown, err := startSimulator(cfg)
		if err != nil {
			return err
		}
		defer shutdown()
		baseURL = url
		log.Info("using the embedded simulated Gupshup", zap.String("base_url", baseURL))
	}

	dir, err := auth.NewDirectory(cfg.Tenants)
	if err != nil {
		return err
	}
	up := upstream.New(upstream.Config{
		BaseURL:             baseURL,
		Timeout:             cfg.Gupshup.Timeout,
		DialTimeout:         cfg.Gupshup.DialTimeout,
		MaxIdleConnsPerHost: cfg.Gupshup.MaxIdleConnsPerHost,
		MaxConnsPerHost:     cfg.Gupshup.MaxConnsPerHost,
	})
	tokens := auth.NewTokens(up, auth.TokensConfig{
		Email:           cfg.Gupshup.Partner.Email,
		Secret:          cfg.Gupshup.Partner.Secret,
		AppTokenTTL:     cfg.Gupshup.AppTokenTTL,
		PartnerTokenTTL: cfg.Gupshup.PartnerTokenTTL,
	})
	h := server.New(server.Options{
		Directory:    dir,
		Tokens:       tokens,
		Upstream:     up,
		Logger:       log,
		Metrics:      metrics.New(),
		MaxBodyBytes: cfg.MaxBodyBytes,
		Translate:    translate.SendOptions{NormalizeTemplateButtons: cfg.Translate.NormalizeTemplateButtonsOrDefault()},
	})
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
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	log.Info("listening", zap.String("addr", ln.Addr().String()), zap.String("public_url", cfg.PublicURL))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc:
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
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// startSimulator runs the simulated Gupshup on a loopback port with the
// config's apps, tokens and partner credentials.
func startSimulator(cfg *config.Config) (string, func(), error) {
	opts := gupshupsim.Options{PartnerEmail: cfg.Gupshup.Partner.Email, PartnerSecret: cfg.Gupshup.Partner.Secret}
	seen := map[string]bool{}
	for _, t := range cfg.Tenants {
		for _, p := range t.PhoneNumbers {
			if seen[p.AppID] {
				continue
			}
			seen[p.AppID] = true
			opts.Apps = append(opts.Apps, gupshupsim.App{ID: p.AppID, Name: p.AppName, Token: p.AppToken})
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: gupshupsim.New(opts), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}
