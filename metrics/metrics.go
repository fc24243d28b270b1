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
)

// Metrics are the proxy's collectors.
type Metrics struct {
	reg        *prometheus.Registry
	requests   *prometheus.CounterVec
	upstream   *prometheus.HistogramVec
	metaErrors *prometheus.CounterVec
}

// New registers the collectors (plus Go and process collectors) on a fresh
// registry.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waproxy_requests_total",
			Help: "Requests served, by route and HTTP status.",
		}, []string{"route", "status"}),
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
	m.reg.MustRegister(m.requests, m.upstream, m.metaErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Request counts one served request.
func (m *Metrics) Request(route string, status int) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
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

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
