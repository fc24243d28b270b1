package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
	"waproxy/app"
	"waproxy/config"

	"go.uber.org/zap"
)

// serve wires the parts together and runs until SIGINT/SIGTERM or until ctx
// ends; then /readyz answers 503, the listeners serve on for
// server.shutdown_delay, and the bounded drain follows. SIGHUP re-reads
// cfgPath and reloads what can be reloaded (app.Reload).
func serve(ctx context.Context, cfg *config.Config, cfgPath string, logOut io.Writer) error {
	sigs, stopSignals := notifySignals()
	defer stopSignals()
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
	if cfg.Metrics.Listen != "" {
		stop, addr, err := serveMetrics(cfg.Metrics.Listen, a.Metrics.Handler(), log)
		if err != nil {
			for _, l := range lns {
				_ = l.Close()
			}
			return err
		}
		defer stop()
		fields = append(fields, zap.String("metrics_addr", addr))
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

	reload := func() { reloadConfig(ctx, a, cfgPath, log) }
	if err := awaitStop(ctx, sigs, errc, reload, log); err != nil {
		_ = srv.Close() // the other listener too
		return err
	}
	h.SetReady(false)
	shutdownDelay(sigs, cfg.Server.ShutdownDelay, log)
	log.Info("shutting down", zap.Duration("grace", cfg.Server.ShutdownGrace))
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

// serveMetrics serves the metrics handler at GET /metrics on a listener of
// its own (config metrics.listen), plain HTTP; other paths get 404.
func serveMetrics(addr string, metrics http.Handler, log *zap.Logger) (stop func(), bound string, err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("metrics.listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, ErrorLog: zap.NewStdLog(log.Named("metrics"))}
	go func() { _ = srv.Serve(ln) }()
	return func() { _ = srv.Close() }, ln.Addr().String(), nil
}
