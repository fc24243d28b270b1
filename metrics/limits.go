package metrics

import "github.com/prometheus/client_golang/prometheus"

// Reasons a request is refused before its body is read (the reason label
// of waproxy_requests_rejected_total).
const (
	RejectInFlight      = "in_flight"
	RejectBufferedBytes = "buffered_bytes"
)

// limits are the series of the server's admission limits.
type limits struct {
	rejected *prometheus.CounterVec
	inFlight prometheus.Gauge
	buffered prometheus.Gauge
}

func newLimits(reg *prometheus.Registry) limits {
	l := limits{
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waproxy_requests_rejected_total",
			Help: "Requests answered at once with the overload error (503, Retry-After) before their body was read, " +
				"by reason: in_flight (server.max_in_flight requests were being handled) or buffered_bytes " +
				"(the body did not fit in server.max_buffered_bytes).",
		}, []string{"reason"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "waproxy_requests_in_flight",
			Help: "Requests being handled (probes and /metrics not counted); bounded by server.max_in_flight.",
		}),
		buffered: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "waproxy_request_body_bytes_buffered",
			Help: "Bytes of request bodies reserved for reading into memory across requests; bounded by " +
				"server.max_buffered_bytes.",
		}),
	}
	for _, r := range []string{RejectInFlight, RejectBufferedBytes} {
		l.rejected.WithLabelValues(r)
	}
	reg.MustRegister(l.rejected, l.inFlight, l.buffered)
	return l
}

// Rejected counts one request refused for reason (RejectInFlight or
// RejectBufferedBytes).
func (m *Metrics) Rejected(reason string) { m.limits.rejected.WithLabelValues(reason).Inc() }

// InFlight moves the requests-in-flight gauge by delta.
func (m *Metrics) InFlight(delta int) { m.limits.inFlight.Add(float64(delta)) }

// Buffered moves the buffered-bytes gauge by delta bytes.
func (m *Metrics) Buffered(delta int64) { m.limits.buffered.Add(float64(delta)) }
