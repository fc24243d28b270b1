// Package app wires the proxy's parts from a config: the directory of
// tenants, the Gupshup client (or the embedded simulator), app tokens,
// metrics and the HTTP handler. The proxy command and the integration tests
// build the proxy through it, so both run the same thing.
package app

import (
	"net"
	"net/http"
	"time"

	"go.uber.org/zap"

	"waproxy/auth"
	"waproxy/config"
	"waproxy/gupshupsim"
	"waproxy/metrics"
	"waproxy/server"
	"waproxy/translate"
	"waproxy/upstream"
)

// App is a wired proxy.
type App struct {
	// Handler serves the Graph API routes, /healthz, /readyz and /metrics.
	Handler *server.Server
	// UpstreamURL is the Gupshup base URL in use (the simulator's loopback
	// URL when gupshup.base_url is "embedded").
	UpstreamURL string
	// Simulator is the embedded simulated Gupshup, nil otherwise.
	Simulator *gupshupsim.Sim

	closers []func()
}

// Build wires a proxy. Call Close when done.
func Build(cfg *config.Config, log *zap.Logger) (*App, error) {
	a := &App{UpstreamURL: cfg.Gupshup.BaseURL}
	if cfg.Gupshup.BaseURL == config.Embedded {
		if err := a.startSimulator(cfg); err != nil {
			return nil, err
		}
		log.Info("using the embedded simulated Gupshup", zap.String("base_url", a.UpstreamURL))
	}
	dir, err := auth.NewDirectory(cfg.Tenants)
	if err != nil {
		a.Close()
		return nil, err
	}
	up := upstream.New(upstream.Config{
		BaseURL:             a.UpstreamURL,
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
	a.Handler = server.New(server.Options{
		Directory:    dir,
		Tokens:       tokens,
		Upstream:     up,
		Logger:       log,
		Metrics:      metrics.New(),
		MaxBodyBytes: cfg.MaxBodyBytes,
		Translate:    translate.SendOptions{NormalizeTemplateButtons: cfg.Translate.NormalizeTemplateButtonsOrDefault()},
	})
	return a, nil
}

// Close stops what Build started.
func (a *App) Close() {
	for _, c := range a.closers {
		c()
	}
	a.closers = nil
}

// startSimulator runs the simulated Gupshup on a loopback port with the
// config's apps, tokens and partner credentials.
func (a *App) startSimulator(cfg *config.Config) error {
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
		return err
	}
	a.Simulator = gupshupsim.New(opts)
	srv := &http.Server{Handler: a.Simulator, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	a.UpstreamURL = "http://" + ln.Addr().String()
	a.closers = append(a.closers, func() { _ = srv.Close() })
	return nil
}
