// Package metrics holds the proxy's Prometheus collectors on a registry of
// its own (no global state), served at GET /metrics.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"waproxy/internal/buildinfo"
)

// Metrics are the proxy's collectors.
type Metrics struct {
	reg        *prometheus.Registry
	requests   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	upstream   *prometheus.HistogramVec
	metaErrors *prometheus.CounterVec

	intake     *prometheus.CounterVec
	dedupHits  prometheus.Counter
	mediaClash prometheus.Counter
	deliveries *prometheus.CounterVec
	deliverDur *prometheus.HistogramVec
	retries    *prometheus.CounterVec
	dead       *prometheus.CounterVec

	limits limits // admission limits (limits.go)

	tenants tenantSet // allowed values of the tenant label
}

// QueueStats reports the webhook queue for scrapes: pending events per
// tenant, the creation time of the oldest (zero when empty) and the number
// of dead letters.
type QueueStats func() (pending map[string]int, oldest time.Time, dead int, err error)

// New registers the collectors (plus Go and process collectors and
// waproxy_build_info) on a fresh registry.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waproxy_requests_total",
			Help: "Requests served, by route template and HTTP status.",
		}, []string{"route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "waproxy_http_server_request_duration_seconds",
			Help: "Duration of requests served, by route template, method and status class " +
				"(OpenTelemetry's http.server.request.duration).",
			Buckets: requestBuckets,
		}, []string{"route", "method", "status_class"}),
		upstream: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "waproxy_upstream_duration_seconds",
			Help:    "Latency of Gupshup calls, by endpoint and outcome (HTTP status, or 'error').",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15},
		}, []string{"endpoint", "outcome"}),
		metaErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waproxy_meta_errors_total",
			Help: "Meta error answers sent to clients, by Meta error code.",
		}, []string{"code"}),
	}
	m.intake = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "waproxy_webhook_intake_total",
		Help: "Gupshup callbacks received, by result (accepted, check, malformed, unauthorized, forbidden, unknown_app, unknown_shape, too_large, busy, unreadable, store_error).",
	}, []string{"result"})
	m.dedupHits = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "waproxy_webhook_dedup_hits_total",
		Help: "Webhook events not queued because the same event was queued within the dedup window.",
	})
	m.mediaClash = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "waproxy_webhook_media_conflicts_total",
		Help: "Media ids named by a callback that another tenant or app owns (not taken over).",
	})
	m.deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "waproxy_webhook_deliveries_total",
		Help: "Webhook delivery attempts, by tenant and result (ok, http_3xx, http_4xx, http_5xx, timeout, error).",
	}, []string{"tenant", "result"})
	m.deliverDur = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "waproxy_webhook_delivery_duration_seconds",
		Help:    "Duration of webhook delivery attempts, by tenant.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 20},
	}, []string{"tenant"})
	m.retries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "waproxy_webhook_retries_total",
		Help: "Webhook deliveries scheduled for another attempt, by tenant.",
	}, []string{"tenant"})
	m.dead = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "waproxy_webhook_dead_letters_total",
		Help: "Webhook events given up after the retry horizon, by tenant.",
	}, []string{"tenant"})
	m.limits = newLimits(m.reg)
	m.reg.MustRegister(m.intake, m.dedupHits, m.mediaClash, m.deliveries, m.deliverDur, m.retries, m.dead)
	m.reg.MustRegister(m.requests, m.duration, m.upstream, m.metaErrors, buildInfo(buildinfo.Read()),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Upstream observes one Gupshup call; status 0 means a transport error.
func (m *Metrics) Upstream(endpoint string, status int, d time.Duration) {
	outcome := "error"
	if status != 0 {
		outcome = strconv.Itoa(status)
	}
	m.upstream.WithLabelValues(endpoint, outcome).Observe(d.Seconds())
}

// MetaError counts one Meta error answer.
func (m *Metrics) MetaError(code int) {
	m.metaErrors.WithLabelValues(strconv.Itoa(code)).Inc()
}

// WebhookIntake counts one callback by result.
func (m *Metrics) WebhookIntake(result string) { m.intake.WithLabelValues(result).Inc() }

// WebhookDedup counts events dropped as duplicates.
func (m *Metrics) WebhookDedup(n int) { m.dedupHits.Add(float64(n)) }

// WebhookMediaConflict counts a callback's media id left with its owner.
func (m *Metrics) WebhookMediaConflict() { m.mediaClash.Inc() }

// WebhookDelivery observes one delivery attempt.
func (m *Metrics) WebhookDelivery(tenant, result string, d time.Duration) {
	tenant = m.tenants.label(tenant)
	m.deliveries.WithLabelValues(tenant, result).Inc()
	m.deliverDur.WithLabelValues(tenant).Observe(d.Seconds())
}

// WebhookRetry counts one rescheduled delivery.
func (m *Metrics) WebhookRetry(tenant string) {
	m.retries.WithLabelValues(m.tenants.label(tenant)).Inc()
}

// WebhookDeadLetter counts one event given up.
func (m *Metrics) WebhookDeadLetter(tenant string) {
	m.dead.WithLabelValues(m.tenants.label(tenant)).Inc()
}

// WatchQueue exports the queue's depth (per tenant), oldest event age and
// dead-letter count, read from stats at every scrape.
func (m *Metrics) WatchQueue(stats QueueStats) {
	m.reg.MustRegister(queueCollector{stats: stats, tenants: &m.tenants})
}

var (
	queueDepthDesc = prometheus.NewDesc("waproxy_webhook_queue_depth",
		"Webhook events waiting for delivery (including retries), by tenant.", []string{"tenant"}, nil)
	queueOldestDesc = prometheus.NewDesc("waproxy_webhook_queue_oldest_age_seconds",
		"Age of the oldest webhook event waiting for delivery (0 when none).", nil, nil)
	queueDeadDesc = prometheus.NewDesc("waproxy_webhook_dead_letters",
		"Webhook events currently in the dead letters.", nil, nil)
)

type queueCollector struct {
	stats   QueueStats
	tenants *tenantSet
}

func (queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueDepthDesc
	ch <- queueOldestDesc
	ch <- queueDeadDesc
}

func (q queueCollector) Collect(ch chan<- prometheus.Metric) {
	pending, oldest, dead, err := q.stats()
	if err != nil {
		return
	}
	// Events of a tenant no longer configured add up under OtherTenant.
	depth := make(map[string]int, len(pending))
	for tenant, n := range pending {
		depth[q.tenants.label(tenant)] += n
	}
	for tenant, n := range depth {
		ch <- prometheus.MustNewConstMetric(queueDepthDesc, prometheus.GaugeValue, float64(n), tenant)
	}
	age := 0.0
	if !oldest.IsZero() {
		age = time.Since(oldest).Seconds()
	}
	ch <- prometheus.MustNewConstMetric(queueOldestDesc, prometheus.GaugeValue, age)
	ch <- prometheus.MustNewConstMetric(queueDeadDesc, prometheus.GaugeValue, float64(dead))
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
