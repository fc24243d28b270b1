// Package app wires the proxy's parts from a config: the directory of
// tenants, the Gupshup client (or the embedded simulator), app tokens,
// metrics and the HTTP handler. The proxy command and the integration tests
// build the proxy through it, so both run the same thing.
package app

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"

	"waproxy/auth"
	"waproxy/config"
	"waproxy/gupshupsim"
	"waproxy/mediacache"
	"waproxy/metrics"
	"waproxy/server"
	"waproxy/store"
	"waproxy/templates"
	"waproxy/translate"
	"waproxy/upstream"
	"waproxy/webhook"
)

// App is a wired proxy.
type App struct {
	// Handler serves the Graph API routes, /healthz, /readyz and, unless
	// metrics.listen is set, /metrics.
	Handler *server.Server
	// Metrics are the proxy's collectors; serve Metrics.Handler() at
	// metrics.listen when it is set.
	Metrics *metrics.Metrics
	// UpstreamURL is the Gupshup base URL in use (the simulator's loopback
	// URL when gupshup.base_url is "embedded").
	UpstreamURL string
	// Simulator is the embedded simulated Gupshup, nil otherwise.
	Simulator *gupshupsim.Sim
	// Relay is the webhook relay; nil when no tenant has a webhook.
	Relay *webhook.Relay
	// Queue is the relay's durable store; nil with Relay.
	Queue *store.Bolt
	// Upstream is the Gupshup client.
	Upstream *upstream.Client
	// Tokens hands out Gupshup app tokens.
	Tokens *auth.Tokens
	// Directory holds tenants and phone numbers.
	Directory *auth.Directory

	log      *zap.Logger
	reloadMu sync.Mutex     // one Reload at a time
	cfg      *config.Config // the configuration in force (see Reload)
	closers  []func()
}

// Build wires a proxy. Call Close when done.
func Build(cfg *config.Config, log *zap.Logger) (*App, error) {
	return build(cfg, log, true)
}

// BuildClients wires only the Gupshup side (directory, client, tokens):
// what commands that talk to Gupshup need, without opening the webhook
// store a running proxy holds.
func BuildClients(cfg *config.Config, log *zap.Logger) (*App, error) {
	return build(cfg, log, false)
}

func build(cfg *config.Config, log *zap.Logger, relay bool) (*App, error) {
	a := &App{UpstreamURL: cfg.Gupshup.BaseURL, log: log, cfg: cfg}
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
		MediaHosts:          cfg.Gupshup.MediaHosts,
	})
	tokens := auth.NewTokens(up, auth.TokensConfig{
		Email:           cfg.Gupshup.Partner.Email,
		Secret:          cfg.Gupshup.Partner.Secret,
		AppTokenTTL:     cfg.Gupshup.AppTokenTTL,
		PartnerTokenTTL: cfg.Gupshup.PartnerTokenTTL,
	})
	a.Upstream, a.Tokens, a.Directory = up, tokens, dir
	a.Metrics = newMetrics(cfg)
	m := a.Metrics
	opts := server.Options{
		Directory:        dir,
		Tokens:           tokens,
		Upstream:         up,
		Logger:           log,
		Metrics:          m,
		MetricsElsewhere: cfg.Metrics.Listen != "",
		MaxBodyBytes:     cfg.MaxBodyBytes,
		Limits:           server.Limits{MaxInFlight: cfg.Server.MaxInFlight, MaxBufferedBytes: cfg.Server.MaxBufferedBytes},
		Translate:        translate.SendOptions{NormalizeTemplateButtons: cfg.Translate.NormalizeTemplateButtonsOrDefault()},
		V2: &server.V2Options{API: up, ButtonParams: cfg.Translate.V2ButtonParams, Cache: templates.Config{
			TTL: cfg.Templates.CacheTTL, NegativeTTL: cfg.Templates.NegativeTTL, MinRefresh: cfg.Templates.MinRefresh}},
	}
	if relay {
		// The store holds the media index (and, with webhooks, the queue
		// and the id map).
		q, err := OpenQueue(cfg)
		if err != nil {
			a.Close()
			return nil, err
		}
		a.Queue = q
		a.closers = append(a.closers, func() { _ = q.Close() })
		if err := a.media(cfg, up, &opts); err != nil {
			a.Close()
			return nil, err
		}
		if hasWebhooks(cfg) {
			if err := a.startRelay(cfg, log, m, &opts); err != nil {
				a.Close()
				return nil, err
			}
		}
	}
	a.Handler = server.New(opts)
	return a, nil
}

// Subscribe creates or updates the Gupshup subscription of every app whose
// tenant has a webhook, pointing it at the intake (see webhook.Subscribe).
func (a *App) Subscribe(ctx context.Context, cfg *config.Config) []webhook.SubscribeResult {
	secrets := map[string]string{}
	versions := map[string]int{}
	for _, t := range cfg.Tenants {
		if t.Webhook.URL == "" {
			continue
		}
		for _, p := range t.PhoneNumbers {
			secrets[p.ID] = p.CallbackSecret
			versions[p.ID] = p.CallbackVersion
		}
	}
	var apps []webhook.SubscribeApp
	for _, p := range a.Directory.Phones() {
		secret, ok := secrets[p.ID]
		if !ok {
			continue
		}
		apps = append(apps, webhook.SubscribeApp{AppID: p.AppID, Secret: secret, Version: versions[p.ID],
			Token: func(ctx context.Context) (string, error) { return a.Tokens.Token(ctx, p) }})
	}
	return webhook.Subscribe(ctx, a.Upstream, apps, webhook.SubscribeConfig{
		PublicURL:    cfg.PublicURL,
		Tag:          cfg.Webhooks.SubscriptionTag,
		Modes:        cfg.Webhooks.SubscriptionModes,
		SecretHeader: cfg.Webhooks.SecretHeader,
	})
}

// newMetrics makes the collectors; the tenant label takes the config's
// tenant names only.
func newMetrics(cfg *config.Config) *metrics.Metrics {
	m := metrics.New()
	m.SetTenants(tenantNames(cfg))
	return m
}

func tenantNames(cfg *config.Config) []string {
	names := make([]string, len(cfg.Tenants))
	for i, t := range cfg.Tenants {
		names[i] = t.Name
	}
	return names
}

// relayRoutes are the relay's endpoints (tenants with a webhook) and the
// apps whose callbacks it accepts.
func relayRoutes(cfg *config.Config) ([]webhook.Target, []webhook.Source) {
	var targets []webhook.Target
	var sources []webhook.Source
	for _, t := range cfg.Tenants {
		if t.Webhook.URL == "" {
			continue
		}
		conc := t.Webhook.Concurrency
		if conc == 0 {
			conc = cfg.Webhooks.Concurrency
		}
		targets = append(targets, webhook.Target{Tenant: t.Name, URL: t.Webhook.URL,
			AppSecret: t.Webhook.AppSecret, VerifyToken: t.Webhook.VerifyToken, Concurrency: conc})
		for _, p := range t.PhoneNumbers {
			sources = append(sources, webhook.Source{AppID: p.AppID, Tenant: t.Name, Secret: p.CallbackSecret,
				Phone: translate.PhoneMeta{PhoneNumberID: p.ID, DisplayPhoneNumber: p.DisplayPhoneNumber, WABAID: p.WABAID}})
		}
	}
	return targets, sources
}

func hasWebhooks(cfg *config.Config) bool {
	for _, t := range cfg.Tenants {
		if t.Webhook.URL != "" {
			return true
		}
	}
	return false
}

// media enables the media routes (uploads spooled and checked, lookups
// with signed download URLs, downloads through a bounded cache) and the
// Flows API, which shares the URL signer.
func (a *App) media(cfg *config.Config, up *upstream.Client, opts *server.Options) error {
	key := []byte(cfg.Media.URLKey)
	if len(key) == 0 {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return err
		}
	}
	signer, err := auth.NewURLSigner(key)
	if err != nil {
		return fmt.Errorf("media.url_key: %w", err)
	}
	opts.Flows = &server.FlowOptions{API: up, Index: a.Queue, Signer: signer, PublicURL: cfg.PublicURL, URLTTL: cfg.Media.URLTTL}
	opts.Media = &server.MediaOptions{
		API:             up,
		Index:           a.Queue,
		Signer:          signer,
		PublicURL:       cfg.PublicURL,
		URLTTL:          cfg.Media.URLTTL,
		SpoolDir:        cfg.Media.SpoolDir,
		TransferTimeout: cfg.Media.TransferTimeout,
		Cache: mediacache.New(mediacache.Options{
			MaxBytes: cfg.Media.CacheBytes, MaxItemBytes: cfg.Media.CacheItemBytes, TTL: cfg.Media.CacheTTL}),
	}
	// Spool files older than a transfer can last were left by a killed
	// process: swept before serving and then periodically.
	sweeper := server.SpoolSweeper{Dir: cfg.Media.SpoolDir, MaxAge: cfg.Media.TransferTimeout, Logger: a.log}
	sweeper.Sweep()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		sweeper.Run(ctx)
	}()
	a.closers = append(a.closers, func() {
		cancel()
		<-done
	})
	return nil
}

// OpenQueue opens the store named by the config.
func OpenQueue(cfg *config.Config) (*store.Bolt, error) {
	q, err := store.Open(cfg.Webhooks.StorePath, store.Options{
		DedupWindow: cfg.Webhooks.DedupWindow,
		IDTTL:       cfg.Webhooks.IDMapTTL,
	})
	if err != nil {
		return nil, fmt.Errorf("webhook store: %w", err)
	}
	return q, nil
}

// startRelay opens the queue, starts delivery and, when configured, the
// verification handshake; it adds the intake, id map, admin and readiness
// hooks to opts.
func (a *App) startRelay(cfg *config.Config, log *zap.Logger, m *metrics.Metrics, opts *server.Options) error {
	q := a.Queue
	allow, err := webhook.ParseAllowList(cfg.Webhooks.AllowIPs)
	if err != nil {
		return err
	}
	ropt := webhook.Options{
		Queue:        q,
		MaxBodyBytes: config.IntakeMaxBodyBytes,
		SecretHeader: cfg.Webhooks.SecretHeader,
		AllowIPs:     allow,
		Translate: translate.WebhookOptions{
			StatusIDFromGsID: cfg.Webhooks.StatusIDFromGsIDOrDefault(),
			ForwardFields:    cfg.Webhooks.ForwardFields,
		},
		AttemptTimeout: cfg.Webhooks.AttemptTimeout,
		Horizon:        cfg.Webhooks.Horizon,
		BackoffBase:    cfg.Webhooks.BackoffBase,
		BackoffMax:     cfg.Webhooks.BackoffMax,
		PollInterval:   cfg.Webhooks.PollInterval,
		Logger:         log,
		Metrics:        m,
		Media:          q,
	}
	ropt.Targets, ropt.Sources = relayRoutes(cfg)
	r, err := webhook.New(ropt)
	if err != nil {
		return err
	}
	a.Relay = r
	m.WatchQueue(func() (map[string]int, time.Time, int, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		st, err := q.Stats(ctx)
		tenants := r.Tenants()
		pending := make(map[string]int, len(tenants))
		for _, t := range tenants {
			pending[t] = 0 // an empty queue shows as 0, not as no series
		}
		for k, v := range st.Pending {
			pending[k] = v
		}
		return pending, st.Oldest, st.Dead, err
	})
	r.Start()
	// Stop delivery before the store closes (closers run in reverse).
	a.closers = append(a.closers, func() {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownGrace)
		defer cancel()
		_ = r.Stop(ctx)
	})
	if cfg.Webhooks.VerifyOnStartOrDefault() {
		go r.Verify(context.Background())
	}
	opts.Intake = r
	opts.IDs = r
	opts.DeadLetters = q
	opts.ReplayNow = r.Now
	opts.AdminToken = cfg.Admin.Token
	opts.Readiness = r.VerifyStatus
	return nil
}

// Close stops what Build started.
func (a *App) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}

// startSimulator runs the simulated Gupshup on a loopback port with the
// config's apps, tokens and partner credentials.
func (a *App) startSimulator(cfg *config.Config) error {
	opts := gupshupsim.Options{PartnerEmail: cfg.Gupshup.Partner.Email, PartnerSecret: cfg.Gupshup.Partner.Secret,
		Apps: simulatorApps(cfg)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	a.Simulator = gupshupsim.New(opts)
	srv := &http.Server{Handler: a.Simulator, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	a.UpstreamURL = "http://" + ln.Addr().String()
	a.closers = append(a.closers, func() {
		_ = srv.Close()
		a.Simulator.Close()
	})
	return nil
}

// simulatorApps are the config's Gupshup apps as the simulator knows them
// (config validation keeps one number per app).
func simulatorApps(cfg *config.Config) []gupshupsim.App {
	var apps []gupshupsim.App
	for _, t := range cfg.Tenants {
		for _, p := range t.PhoneNumbers {
			apps = append(apps, gupshupsim.App{ID: p.AppID, Name: p.AppName, Token: p.AppToken,
				DisplayPhoneNumber: p.DisplayPhoneNumber, WABAID: p.WABAID})
		}
	}
	return apps
}
