// Package config loads and validates the proxy's YAML configuration.
//
// Every string value may reference the environment as ${NAME} or
// ${NAME:-default}; a reference to an unset variable without a default is an
// error naming the key. Unknown keys and missing required values are errors
// too. Defaults are applied by Load and documented on each field.
package config

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Embedded is the gupshup.base_url value that runs the built-in simulated
// Gupshup on a loopback port instead of calling the real partner API.
const Embedded = "embedded"

// Config is the whole file.
type Config struct {
	// Listen is the address the proxy serves on. Default "127.0.0.1:8080".
	Listen string `yaml:"listen"`
	// PublicURL is the absolute URL clients reach the proxy at (used for
	// media URLs it hands out). Default "http://" + Listen.
	PublicURL string `yaml:"public_url"`
	// LogLevel is debug, info, warn or error. Default "info".
	LogLevel string `yaml:"log_level"`
	// MaxBodyBytes caps request bodies; larger ones get a Meta error with
	// HTTP 413. Default 1048576 (1 MiB).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// Server holds the HTTP server timeouts (of both listeners).
	Server ServerConfig `yaml:"server"`
	// TLS configures an optional second listener serving the same routes
	// over HTTPS. Default: off.
	TLS TLSConfig `yaml:"tls"`
	// Gupshup is the upstream.
	Gupshup GupshupConfig `yaml:"gupshup"`
	// Translate tunes the Meta → Gupshup translation.
	Translate TranslateConfig `yaml:"translate"`
	// Webhooks configures the relay of Gupshup callbacks to tenants'
	// webhooks.
	Webhooks WebhooksConfig `yaml:"webhooks"`
	// Admin configures the admin endpoints (dead letters).
	Admin AdminConfig `yaml:"admin"`
	// Media configures media upload, lookup and download.
	Media MediaConfig `yaml:"media"`
	// Debug holds diagnostics that are off by default.
	Debug DebugConfig `yaml:"debug"`
	// Metrics configures where the Prometheus metrics are served.
	Metrics MetricsConfig `yaml:"metrics"`
	// Templates configures the template lookup of numbers that send
	// through Gupshup's template/msg call (send_api: v2).
	Templates TemplatesConfig `yaml:"templates"`
	// Tenants are the businesses served. At least one is required.
	Tenants []Tenant `yaml:"tenants"`
}

// WebhooksConfig configures intake, queue and delivery of webhooks.
type WebhooksConfig struct {
	// StorePath is the single-file durable store (bbolt): the webhook
	// queue, the id map and the media index. Default "waproxy.db" in the
	// working directory.
	StorePath string `yaml:"store_path"`
	// SecretHeader is the header Gupshup's subscription sends with every
	// callback (set through the subscription's meta); its value must equal
	// the phone number's callback_secret. Default "X-Waproxy-Secret".
	SecretHeader string `yaml:"secret_header"`
	// AllowIPs, when not empty, restricts the intake to these source
	// addresses (IPs or CIDRs). Default: any.
	AllowIPs []string `yaml:"allow_ips"`
	// StatusIDFromGsID makes statuses[].id the Gupshup message id that
	// /messages returned (instead of the wamid). Default true.
	StatusIDFromGsID *bool `yaml:"status_id_from_gs_id"`
	// ForwardFields are callback fields other than "messages" that are
	// forwarded (e.g. billing-event). Default: none (dropped).
	ForwardFields []string `yaml:"forward_fields"`
	// DedupWindow is how long an event id is remembered to drop
	// duplicates. Default 24h.
	DedupWindow time.Duration `yaml:"dedup_window"`
	// IDMapTTL is how long a Gupshup id → wamid pair is remembered.
	// Default 168h (7 days).
	IDMapTTL time.Duration `yaml:"id_map_ttl"`
	// AttemptTimeout bounds one delivery attempt. Default 10s.
	AttemptTimeout time.Duration `yaml:"attempt_timeout"`
	// Horizon is how long delivery is retried before an event becomes a
	// dead letter. Default 168h (7 days, like Meta).
	Horizon time.Duration `yaml:"horizon"`
	// BackoffBase is the first retry delay; it doubles per attempt (with
	// jitter). Default 1s.
	BackoffBase time.Duration `yaml:"backoff_base"`
	// BackoffMax caps the retry delay. Default 1h.
	BackoffMax time.Duration `yaml:"backoff_max"`
	// Concurrency is the default number of deliveries in flight per tenant
	// (requests to its endpoint at once). Default 16.
	Concurrency int `yaml:"concurrency"`
	// PollInterval is how often due retries are looked for. Default 250ms.
	PollInterval time.Duration `yaml:"poll_interval"`
	// VerifyOnStart runs Meta's verification handshake against every
	// tenant webhook with a verify_token at start-up. Default true.
	VerifyOnStart *bool `yaml:"verify_on_start"`
	// SubscriptionTag names the Gupshup subscription "proxy subscribe"
	// manages. Default "waproxy".
	SubscriptionTag string `yaml:"subscription_tag"`
	// SubscriptionModes are the modes subscribed. Default MESSAGE,
	// FLOWS_MESSAGE, ENQUEUED, SENT, DELIVERED, READ, FAILED, DELETED
	// (enqueued statuses are not delivered, but they teach the id map the
	// wamid before the first "sent").
	SubscriptionModes []string `yaml:"subscription_modes"`
}

// MediaConfig tunes the media routes.
type MediaConfig struct {
	// URLKey signs the download URLs handed out by media lookups (at least
	// 32 characters). Default: a random key per process, so URLs stop
	// working at a restart; set it when several instances serve one host.
	URLKey string `yaml:"url_key"`
	// URLTTL is how long a download URL works. Default 5m.
	URLTTL time.Duration `yaml:"url_ttl"`
	// CacheBytes bounds the in-memory cache of downloaded media. Default
	// 67108864 (64 MiB).
	CacheBytes int64 `yaml:"cache_bytes"`
	// CacheItemBytes is the largest object cached; larger ones are
	// streamed. Default 16777216 (16 MiB).
	CacheItemBytes int64 `yaml:"cache_item_bytes"`
	// CacheTTL is how long a cached object is served. Default 10m.
	CacheTTL time.Duration `yaml:"cache_ttl"`
	// SpoolDir holds uploads while they are checked. Default: the system
	// temporary directory.
	SpoolDir string `yaml:"spool_dir"`
	// TransferTimeout replaces server.read_timeout and write_timeout for
	// media uploads and downloads (up to 100 MB). Default 10m.
	TransferTimeout time.Duration `yaml:"transfer_timeout"`
}

// DebugConfig holds diagnostics that are off by default.
type DebugConfig struct {
	// PprofListen serves Go's profiler (net/http/pprof, /debug/pprof/) on
	// its own listener at this address, e.g. "127.0.0.1:6060", never on the
	// API's. Default "": off. It exposes internals: bind it to loopback.
	PprofListen string `yaml:"pprof_listen"`
}

// MetricsConfig places the Prometheus metrics.
type MetricsConfig struct {
	// Listen serves GET /metrics on a plain-HTTP listener of its own at
	// this address, e.g. "127.0.0.1:9090", and no longer on the API's
	// listeners (there /metrics gets Graph's unknown-path error). Default
	// "": /metrics is served on the API's listeners.
	Listen string `yaml:"listen"`
}

// TemplatesConfig tunes the cache of Gupshup template lists (Meta template
// name and language → Gupshup template id) used by send_api v2 numbers.
type TemplatesConfig struct {
	// CacheTTL is how long an app's fetched template list is used. Default
	// 10m.
	CacheTTL time.Duration `yaml:"cache_ttl"`
	// NegativeTTL is how long a name and language found missing is answered
	// "template does not exist" without asking Gupshup again. Default 1m.
	NegativeTTL time.Duration `yaml:"negative_ttl"`
	// MinRefresh spaces the list calls of one app (Gupshup allows 10 per
	// minute per app). Default 6s.
	MinRefresh time.Duration `yaml:"min_refresh"`
}

// AdminConfig guards the admin endpoints.
type AdminConfig struct {
	// Token enables /admin/* for callers sending it as a bearer token.
	// Default: empty, admin endpoints disabled.
	Token string `yaml:"token"`
}

// TenantWebhook is where a tenant receives Meta webhooks.
type TenantWebhook struct {
	// URL of the tenant's webhook endpoint (the callback URL it had at
	// Meta). Empty: callbacks for the tenant's apps are refused.
	URL string `yaml:"url"`
	// AppSecret is the Meta app secret the tenant's handler checks
	// X-Hub-Signature-256 with. Required with url.
	AppSecret string `yaml:"app_secret"`
	// VerifyToken is the hub.verify_token the endpoint expects in Meta's
	// verification handshake. Optional: no handshake without it.
	VerifyToken string `yaml:"verify_token"`
	// Concurrency overrides webhooks.concurrency for this tenant.
	Concurrency int `yaml:"concurrency"`
}

// TLSConfig configures the optional HTTPS listener. It serves exactly
// what listen serves, with the same server timeouts; clients that can only
// speak HTTPS on port 443 to a host name (Meta's official Node SDK) use it.
// Relative file names are relative to the working directory.
type TLSConfig struct {
	// Listen is the address of the HTTPS listener, e.g. "127.0.0.1:8443"
	// or ":443" (binding a port below 1024 needs the privilege to do so).
	// Default "": no HTTPS listener.
	Listen string `yaml:"listen"`
	// CertFile is the PEM certificate chain, leaf first. Required with
	// listen; no default.
	CertFile string `yaml:"cert_file"`
	// KeyFile is the PEM private key of the leaf certificate. Required with
	// listen; no default.
	KeyFile string `yaml:"key_file"`
}

// Enabled reports whether the HTTPS listener is configured.
func (t TLSConfig) Enabled() bool { return t.Listen != "" }

// Certificate loads and checks the key pair (cert_file, key_file).
func (t TLSConfig) Certificate() (tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tls.cert_file, tls.key_file: %s and %s are not a valid key pair: %w", t.CertFile, t.KeyFile, err)
	}
	return cert, nil
}

// validate checks the keys and that the files exist (Load also checks that
// they form a key pair).
func (t TLSConfig) validate(listen string) error {
	if t.Listen == "" {
		if t.CertFile != "" || t.KeyFile != "" {
			return errors.New("tls.listen: required with tls.cert_file and tls.key_file (the HTTPS listener's address)")
		}
		return nil
	}
	if err := checkListen("tls.listen", t.Listen); err != nil {
		return err
	}
	if t.Listen == listen {
		return fmt.Errorf("tls.listen: %q is also listen; the HTTPS listener needs its own address", t.Listen)
	}
	for _, f := range []struct{ key, path string }{{"tls.cert_file", t.CertFile}, {"tls.key_file", t.KeyFile}} {
		if f.path == "" {
			return fmt.Errorf("%s: required with tls.listen (PEM file)", f.key)
		}
		st, err := os.Stat(f.path)
		if err != nil {
			return fmt.Errorf("%s: %w", f.key, err)
		}
		if st.IsDir() {
			return fmt.Errorf("%s: %s is a directory, not a PEM file", f.key, f.path)
		}
	}
	return nil
}

// ServerConfig holds the HTTP server's timeouts.
type ServerConfig struct {
	// ReadHeaderTimeout default 5s.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// ReadTimeout (whole request) default 30s.
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// WriteTimeout default 60s; keep it above gupshup.timeout.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// IdleTimeout for keep-alive connections, default 120s.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// ShutdownGrace bounds the drain of in-flight requests on SIGTERM,
	// default 20s.
	ShutdownGrace time.Duration `yaml:"shutdown_grace"`
	// ShutdownDelay is how long, on SIGTERM or SIGINT, the listeners keep
	// serving every request while /readyz already answers 503, so a load
	// balancer stops sending before the drain begins; a second signal ends
	// it early. Default 0 (drain at once); behind a load balancer 5–15s is
	// typical (more than its health-check interval times its threshold).
	ShutdownDelay time.Duration `yaml:"shutdown_delay"`
	// MaxInFlight bounds the requests being handled at once (both
	// listeners together; /healthz, /readyz and /metrics not counted).
	// More are answered at once with Meta's overload error (HTTP 503,
	// code 2, Retry-After: 1; the intake: 503 with Retry-After). Default
	// 1024: far more than two cores keep busy (a send waits on Gupshup
	// most of its time), few enough that small requests cannot pile up.
	MaxInFlight int `yaml:"max_in_flight"`
	// MaxBufferedBytes bounds the request bodies held in memory across
	// requests: a body reserves its Content-Length before it is read (a
	// chunked one reserves as it is read); one that does not fit gets the
	// same overload answer. Media uploads stream to disk and reserve only
	// 64 KiB. Default 67108864 (64 MiB): 64 bodies at the default 1 MiB
	// max_body_bytes, or 21 callbacks at the intake's 3 MiB, at once; a
	// send holds a few times its body while translating (about 4 MB for
	// a 1 MiB ASCII text, 8 MB for non-ASCII), so this keeps request
	// memory to a few hundred MB. At least max_body_bytes and 3 MiB, so
	// any accepted body can fit.
	MaxBufferedBytes int64 `yaml:"max_buffered_bytes"`
}

// IntakeMaxBodyBytes is the largest Gupshup callback body the intake
// takes (Meta's webhook payload cap).
const IntakeMaxBodyBytes = 3 << 20

// GupshupConfig is the upstream partner API.
type GupshupConfig struct {
	// BaseURL of the partner API, e.g. https://partner.gupshup.io, or
	// "embedded" for the built-in simulator. Default "embedded".
	BaseURL string `yaml:"base_url"`
	// Timeout for one upstream call, default 15s.
	Timeout time.Duration `yaml:"timeout"`
	// DialTimeout for new connections, default 5s.
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// MaxConnsPerHost caps upstream connections (0 = no cap). Default 0.
	MaxConnsPerHost int `yaml:"max_conns_per_host"`
	// MaxIdleConnsPerHost keeps this many idle keep-alive connections,
	// default 256.
	MaxIdleConnsPerHost int `yaml:"max_idle_conns_per_host"`
	// Partner holds partner credentials, needed by phone numbers without a
	// static app_token.
	Partner PartnerConfig `yaml:"partner"`
	// AppTokenTTL is how long an app token fetched with partner credentials
	// is used before it is fetched again (Gupshup reports no expiry), default
	// 22h. It is refreshed in the background during the last tenth.
	AppTokenTTL time.Duration `yaml:"app_token_ttl"`
	// PartnerTokenTTL is how long a partner login is used (Gupshup: 24h),
	// default 22h.
	PartnerTokenTTL time.Duration `yaml:"partner_token_ttl"`
	// MediaHosts are the hosts, besides base_url's own, that may receive an
	// app token when the proxy downloads an inbound media url, over https
	// only: exact host names or "*.suffix" wildcards for subdomains. A url
	// on another host is downloaded without the token (https) or not at all
	// (http). Default [filemanager.gupshup.io], the host Gupshup documents
	// for inbound media.
	MediaHosts []string `yaml:"media_hosts"`
}

// DefaultMediaHosts is gupshup.media_hosts when the file leaves it out:
// the host Gupshup's documentation shows in inbound media urls.
var DefaultMediaHosts = []string{"filemanager.gupshup.io"}

// PartnerConfig are partner portal credentials.
type PartnerConfig struct {
	// Email of the partner account. No default.
	Email string `yaml:"email"`
	// Secret is the client secret. No default.
	Secret string `yaml:"secret"`
}

// TranslateConfig tunes translation.
type TranslateConfig struct {
	// NormalizeTemplateButtons sends template button "index" as a string and
	// "sub_type" in lower case, as Meta documents them. Default true.
	NormalizeTemplateButtons *bool `yaml:"normalize_template_buttons"`
	// V2ButtonParams says how URL-button suffixes and copy codes of template
	// sends on send_api v2 numbers travel, where Gupshup documents nothing:
	// "append" adds them to the template params after the body's; "reject"
	// answers a Meta error instead. Default "append".
	V2ButtonParams string `yaml:"v2_button_params"`
}

// Tenant is one business: its client tokens and its phone numbers.
type Tenant struct {
	// Name identifies the tenant in logs and metrics. Required, unique.
	Name string `yaml:"name"`
	// Tokens are the bearer tokens the tenant's clients send (what they sent
	// to Meta), either the token itself or "sha256:<hex>" of it. At least one.
	Tokens []string `yaml:"tokens"`
	// PhoneNumbers are the Meta phone-number-ids the tenant sends from.
	// At least one.
	PhoneNumbers []PhoneNumber `yaml:"phone_numbers"`
	// Webhook is the tenant's webhook endpoint. Optional.
	Webhook TenantWebhook `yaml:"webhook"`
}

// PhoneNumber maps a Meta phone-number-id to a Gupshup app.
type PhoneNumber struct {
	// ID is the phone-number-id clients put in the path. Required, unique.
	ID string `yaml:"id"`
	// AppID is the Gupshup app id. Required.
	AppID string `yaml:"app_id"`
	// AppName is the Gupshup app name. Optional.
	AppName string `yaml:"app_name"`
	// AppToken is the Gupshup app token (sk_…). When empty, the token is
	// obtained with gupshup.partner credentials.
	AppToken string `yaml:"app_token"`
	// CallbackSecret is the value Gupshup's subscription sends in
	// webhooks.secret_header for this app. Required when the tenant has a
	// webhook url.
	CallbackSecret string `yaml:"callback_secret"`
	// WABAID is the WhatsApp Business Account id written as entry[].id in
	// webhooks. Optional: Gupshup's is kept.
	WABAID string `yaml:"waba_id"`
	// DisplayPhoneNumber fills metadata.display_phone_number when a
	// callback lacks it (v2 callbacks), and is the sending number ("source")
	// of template/msg sends. Optional; required with send_api v2.
	DisplayPhoneNumber string `yaml:"display_phone_number"`
	// SendAPI is the Gupshup call /messages uses: "v3" (the passthrough,
	// every message type) or "v2" (template/msg: template messages only,
	// for apps without the v3 passthrough). Default "v3".
	SendAPI string `yaml:"send_api"`
	// Sandbox is template/msg's sandbox flag (send_api v2). Default false.
	Sandbox bool `yaml:"sandbox"`
	// CallbackVersion is the callback format "proxy subscribe" asks Gupshup
	// for: 3 (Meta-shaped) or 2 (for apps that only have v2 callbacks; no
	// flow replies). Default 3.
	CallbackVersion int `yaml:"callback_version"`
}

// NormalizeTemplateButtonsOrDefault reports the effective setting.
func (t TranslateConfig) NormalizeTemplateButtonsOrDefault() bool {
	return t.NormalizeTemplateButtons == nil || *t.NormalizeTemplateButtons
}

// StatusIDFromGsIDOrDefault reports the effective setting.
func (w WebhooksConfig) StatusIDFromGsIDOrDefault() bool {
	return w.StatusIDFromGsID == nil || *w.StatusIDFromGsID
}

// VerifyOnStartOrDefault reports the effective setting.
func (w WebhooksConfig) VerifyOnStartOrDefault() bool {
	return w.VerifyOnStart == nil || *w.VerifyOnStart
}

// TokenDigest returns the SHA-256 digest a configured token stands for.
func TokenDigest(token string) ([32]byte, error) {
	var d [32]byte
	if hexd, ok := strings.CutPrefix(token, "sha256:"); ok {
		b, err := hex.DecodeString(hexd)
		if err != nil || len(b) != 32 {
			return d, errors.New("sha256: token must be 64 hex digits")
		}
		copy(d[:], b)
		return d, nil
	}
	return sha256.Sum256([]byte(token)), nil
}

// Load reads, expands, decodes, defaults and validates a config file, and
// checks that tls.cert_file and tls.key_file form a key pair.
func Load(path string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cfg, err := Parse(raw, os.LookupEnv)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if cfg.TLS.Enabled() {
		if _, err := cfg.TLS.Certificate(); err != nil {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
	}
	return cfg, nil
}

// Parse is Load for bytes, with the environment given as lookup. It checks
// that the TLS files exist but does not load them.
func Parse(raw []byte, lookup func(string) (string, bool)) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(raw, &root); err != nil {
		return nil, err
	}
	if err := expandNode(&root, "", lookup); err != nil {
		return nil, err
	}
	var cfg Config
	if len(root.Content) > 0 {
		if err := checkKeys(root.Content[0], reflect.TypeOf(cfg), ""); err != nil {
			return nil, err
		}
		if err := root.Decode(&cfg); err != nil {
			return nil, err
		}
	}
	cfg.applyDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// checkKeys reports the first mapping key that names no field of t (by its
// yaml tag), with its line, so typos are errors rather than silently ignored.
func checkKeys(n *yaml.Node, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct:
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name != "" && name != "-" {
				fields[name] = f.Type
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			p := k.Value
			if path != "" {
				p = path + "." + p
			}
			ft, ok := fields[k.Value]
			if !ok {
				return fmt.Errorf("line %d: unknown key %q", k.Line, p)
			}
			if err := checkKeys(n.Content[i+1], ft, p); err != nil {
				return err
			}
		}
	case n.Kind == yaml.SequenceNode && t.Kind() == reflect.Slice:
		for i, c := range n.Content {
			if err := checkKeys(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *Config) applyDefaults() {
	setDefault(&c.Listen, "127.0.0.1:8080")
	setDefault(&c.LogLevel, "info")
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 1 << 20
	}
	s := &c.Server
	setDefaultDur(&s.ReadHeaderTimeout, 5*time.Second)
	setDefaultDur(&s.ReadTimeout, 30*time.Second)
	setDefaultDur(&s.WriteTimeout, 60*time.Second)
	setDefaultDur(&s.IdleTimeout, 120*time.Second)
	setDefaultDur(&s.ShutdownGrace, 20*time.Second)
	setDefaultDur(&s.ShutdownDelay, 0) // drain at once
	if s.MaxInFlight == 0 {
		s.MaxInFlight = 1024
	}
	if s.MaxBufferedBytes == 0 {
		s.MaxBufferedBytes = 64 << 20
	}
	g := &c.Gupshup
	setDefault(&g.BaseURL, Embedded)
	g.BaseURL = strings.TrimRight(g.BaseURL, "/")
	setDefault(&c.PublicURL, c.defaultPublicURL())
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	setDefaultDur(&g.Timeout, 15*time.Second)
	setDefaultDur(&g.DialTimeout, 5*time.Second)
	if g.MaxIdleConnsPerHost == 0 {
		g.MaxIdleConnsPerHost = 256
	}
	setDefaultDur(&g.AppTokenTTL, 22*time.Hour)
	setDefaultDur(&g.PartnerTokenTTL, 22*time.Hour)
	if g.MediaHosts == nil {
		g.MediaHosts = slices.Clone(DefaultMediaHosts)
	}
	md := &c.Media
	setDefaultDur(&md.URLTTL, 5*time.Minute)
	setDefaultDur(&md.CacheTTL, 10*time.Minute)
	setDefaultDur(&md.TransferTimeout, 10*time.Minute)
	if md.CacheBytes == 0 {
		md.CacheBytes = 64 << 20
	}
	if md.CacheItemBytes == 0 {
		md.CacheItemBytes = 16 << 20
	}
	w := &c.Webhooks
	setDefault(&w.StorePath, "waproxy.db")
	setDefault(&w.SecretHeader, "X-Waproxy-Secret")
	setDefaultDur(&w.DedupWindow, 24*time.Hour)
	setDefaultDur(&w.IDMapTTL, 7*24*time.Hour)
	setDefaultDur(&w.AttemptTimeout, 10*time.Second)
	setDefaultDur(&w.Horizon, 7*24*time.Hour)
	setDefaultDur(&w.BackoffBase, time.Second)
	setDefaultDur(&w.BackoffMax, time.Hour)
	setDefaultDur(&w.PollInterval, 250*time.Millisecond)
	if w.Concurrency == 0 {
		w.Concurrency = 16
	}
	setDefault(&c.Translate.V2ButtonParams, "append")
	tp := &c.Templates
	setDefaultDur(&tp.CacheTTL, 10*time.Minute)
	setDefaultDur(&tp.NegativeTTL, time.Minute)
	setDefaultDur(&tp.MinRefresh, 6*time.Second)
	for i := range c.Tenants {
		for j := range c.Tenants[i].PhoneNumbers {
			p := &c.Tenants[i].PhoneNumbers[j]
			setDefault(&p.SendAPI, "v3")
			if p.CallbackVersion == 0 {
				p.CallbackVersion = 3
			}
		}
	}
	setDefault(&w.SubscriptionTag, "waproxy")
	if len(w.SubscriptionModes) == 0 {
		w.SubscriptionModes = []string{"MESSAGE", "FLOWS_MESSAGE", "ENQUEUED", "SENT", "DELIVERED", "READ", "FAILED", "DELETED"}
	}
}

func setDefault(s *string, v string) {
	if *s == "" {
		*s = v
	}
}

func setDefaultDur(d *time.Duration, v time.Duration) {
	if *d == 0 {
		*d = v
	}
}

func (c *Config) validate() error {
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log_level: %q is not one of debug, info, warn, error", c.LogLevel)
	}
	if c.MaxBodyBytes < 0 {
		return errors.New("max_body_bytes: must be positive")
	}
	if err := c.validateEndpoints(); err != nil {
		return err
	}
	if c.Server.ShutdownDelay < 0 {
		return errors.New("server.shutdown_delay: must not be negative")
	}
	if c.Server.MaxInFlight < 0 {
		return errors.New("server.max_in_flight: must be positive")
	}
	if b := c.Server.MaxBufferedBytes; b < c.MaxBodyBytes || b < IntakeMaxBodyBytes {
		return fmt.Errorf("server.max_buffered_bytes: %d is less than max_body_bytes (%d) or the intake's %d: "+
			"a body of the largest size accepted would never fit", b, c.MaxBodyBytes, IntakeMaxBodyBytes)
	}
	if err := c.TLS.validate(c.Listen); err != nil {
		return err
	}
	if err := c.Webhooks.validate(); err != nil {
		return err
	}
	if k := c.Media.URLKey; k != "" && len(k) < 32 {
		return errors.New("media.url_key: must be at least 32 characters")
	}
	if c.Media.CacheBytes < 0 || c.Media.CacheItemBytes < 0 {
		return errors.New("media.cache_bytes, media.cache_item_bytes: must be positive")
	}
	switch c.Translate.V2ButtonParams {
	case "append", "reject":
	default:
		return fmt.Errorf("translate.v2_button_params: %q is not append or reject", c.Translate.V2ButtonParams)
	}
	if c.Templates.CacheTTL < 0 || c.Templates.NegativeTTL < 0 || c.Templates.MinRefresh < 0 {
		return errors.New("templates.cache_ttl, negative_ttl, min_refresh: must be positive")
	}
	if len(c.Tenants) == 0 {
		return errors.New("tenants: at least one tenant is required")
	}
	names := map[string]bool{}
	apps := map[string]string{}
	phones := map[string]string{}
	tokens := map[[32]byte]string{}
	for i, t := range c.Tenants {
		at := fmt.Sprintf("tenants[%d]", i)
		if t.Name == "" {
			return fmt.Errorf("%s.name: required", at)
		}
		if names[t.Name] {
			return fmt.Errorf("%s.name: duplicate tenant %q", at, t.Name)
		}
		names[t.Name] = true
		if len(t.Tokens) == 0 {
			return fmt.Errorf("%s.tokens: at least one token is required", at)
		}
		for j, tok := range t.Tokens {
			if tok == "" {
				return fmt.Errorf("%s.tokens[%d]: empty token", at, j)
			}
			d, err := TokenDigest(tok)
			if err != nil {
				return fmt.Errorf("%s.tokens[%d]: %w", at, j, err)
			}
			if other, dup := tokens[d]; dup {
				return fmt.Errorf("%s.tokens[%d]: token already used by tenant %q", at, j, other)
			}
			tokens[d] = t.Name
		}
		if len(t.PhoneNumbers) == 0 {
			return fmt.Errorf("%s.phone_numbers: at least one phone number is required", at)
		}
		for j, p := range t.PhoneNumbers {
			pat := fmt.Sprintf("%s.phone_numbers[%d]", at, j)
			if p.ID == "" {
				return fmt.Errorf("%s.id: required", pat)
			}
			if other, dup := phones[p.ID]; dup {
				return fmt.Errorf("%s.id: phone number %s already belongs to tenant %q", pat, p.ID, other)
			}
			phones[p.ID] = t.Name
			if p.AppID == "" {
				return fmt.Errorf("%s.app_id: required", pat)
			}
			if p.AppToken == "" && (c.Gupshup.Partner.Email == "" || c.Gupshup.Partner.Secret == "") {
				return fmt.Errorf("%s.app_token: required unless gupshup.partner.email and gupshup.partner.secret are set", pat)
			}
			if other, dup := apps[p.AppID]; dup {
				return fmt.Errorf("%s.app_id: app %s is already mapped to phone number %s (one Gupshup app is one number)", pat, p.AppID, other)
			}
			apps[p.AppID] = p.ID
			if t.Webhook.URL != "" && p.CallbackSecret == "" {
				return fmt.Errorf("%s.callback_secret: required when the tenant has a webhook url", pat)
			}
			if err := p.validateSendAPI(pat); err != nil {
				return err
			}
		}
		if err := t.Webhook.validate(at + ".webhook"); err != nil {
			return err
		}
	}
	return c.refuseDemoValues()
}

// validateSendAPI checks send_api and what a v2 number needs.
func (p PhoneNumber) validateSendAPI(at string) error {
	switch p.SendAPI {
	case "v3":
	case "v2":
		if len(Digits(p.DisplayPhoneNumber)) < 8 {
			return fmt.Errorf("%s.display_phone_number: required with send_api v2 (the number template/msg sends from, with country code)", at)
		}
		if p.AppName == "" {
			return fmt.Errorf("%s.app_name: required with send_api v2 (template/msg's src.name)", at)
		}
	default:
		return fmt.Errorf("%s.send_api: %q is not v3 or v2", at, p.SendAPI)
	}
	if p.CallbackVersion != 2 && p.CallbackVersion != 3 {
		return fmt.Errorf("%s.callback_version: %d is not 2 or 3", at, p.CallbackVersion)
	}
	return nil
}

// Digits keeps the digits of a phone number as written ("+91 98100-12345"
// → "919810012345").
func Digits(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b = append(b, s[i])
		}
	}
	return string(b)
}

func (w *WebhooksConfig) validate() error {
	for i, a := range w.AllowIPs {
		if _, _, err := net.ParseCIDR(a); err == nil {
			continue
		}
		if net.ParseIP(a) == nil {
			return fmt.Errorf("webhooks.allow_ips[%d]: %q is neither an IP nor a CIDR", i, a)
		}
	}
	if w.Concurrency < 0 {
		return errors.New("webhooks.concurrency: must be positive")
	}
	if w.BackoffMax < w.BackoffBase {
		return errors.New("webhooks.backoff_max: must not be below backoff_base")
	}
	if !validHeaderName(w.SecretHeader) {
		return fmt.Errorf("webhooks.secret_header: %q is not a valid header name", w.SecretHeader)
	}
	return nil
}

func (w TenantWebhook) validate(at string) error {
	if w.URL == "" {
		return nil
	}
	u, err := url.Parse(w.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s.url: %q must be an absolute http(s) URL", at, w.URL)
	}
	if w.AppSecret == "" {
		return fmt.Errorf("%s.app_secret: required with url (webhooks are signed with it)", at)
	}
	if w.Concurrency < 0 {
		return fmt.Errorf("%s.concurrency: must be positive", at)
	}
	return nil
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}
