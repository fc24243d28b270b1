package metrics

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"waproxy/internal/buildinfo"
)

// requestBuckets span what a proxy answers in: a cached or rejected
// request in about a millisecond, a send in tens to hundreds of
// milliseconds, up to Gupshup's default timeout of 15 s.
var requestBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15}

// Methods are the method label's values; any other method counts as
// OtherMethod (OpenTelemetry's convention), so a client cannot grow the
// label set.
var methods = [...]string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "CONNECT", "OPTIONS", "TRACE"}

// OtherMethod is the method label of a method not in the HTTP registry's
// common set.
const OtherMethod = "_OTHER"

var statusClasses = [...]string{"other", "1xx", "2xx", "3xx", "4xx", "5xx"}

// statusTexts are the status label's values, made once.
var statusTexts = func() (t [600]string) {
	for i := 100; i < len(t); i++ {
		t[i] = strconv.Itoa(i)
	}
	return t
}()

func methodIndex(m string) int {
	switch m {
	case "GET":
		return 0
	case "HEAD":
		return 1
	case "POST":
		return 2
	case "PUT":
		return 3
	case "PATCH":
		return 4
	case "DELETE":
		return 5
	case "CONNECT":
		return 6
	case "OPTIONS":
		return 7
	case "TRACE":
		return 8
	}
	return len(methods)
}

func statusClass(status int) int {
	if status < 100 || status > 599 {
		return 0
	}
	return status / 100
}

// Route holds one route template's request series. The server makes one
// per registered route when it starts, so a request looks its series up in
// fixed arrays: no label hashing and no allocation once a series exists.
type Route struct {
	m        *Metrics
	template string
	dur      [len(methods) + 1][len(statusClasses)]atomic.Pointer[prometheus.Observer]
	total    [len(statusTexts)]atomic.Pointer[prometheus.Counter]
}

// Route returns the series of requests served by a route; template is the
// route label (e.g. "/{version}/{phone_number_id}/messages"), from a fixed
// set, never a raw path.
func (m *Metrics) Route(template string) *Route {
	return &Route{m: m, template: template}
}

// Template is the route label.
func (r *Route) Template() string { return r.template }

// Observe counts one served request and observes its duration.
func (r *Route) Observe(method string, status int, d time.Duration) {
	mi, ci := methodIndex(method), statusClass(status)
	o := r.dur[mi][ci].Load()
	if o == nil {
		method := OtherMethod
		if mi < len(methods) {
			method = methods[mi]
		}
		obs := r.m.duration.WithLabelValues(r.template, method, statusClasses[ci])
		o = &obs
		r.dur[mi][ci].Store(o)
	}
	(*o).Observe(d.Seconds())

	if status < 100 || status >= len(r.total) {
		r.m.requests.WithLabelValues(r.template, strconv.Itoa(status)).Inc()
		return
	}
	c := r.total[status].Load()
	if c == nil {
		cnt := r.m.requests.WithLabelValues(r.template, statusTexts[status])
		c = &cnt
		r.total[status].Store(c)
	}
	(*c).Inc()
}

// buildInfo is waproxy_build_info: always 1, labelled with what binary this
// is, to join with other series (e.g. by revision during a roll-out).
func buildInfo(i buildinfo.Info) prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "waproxy_build_info",
		Help: "Always 1; labelled with the binary's version, VCS revision and Go version.",
		ConstLabels: prometheus.Labels{
			"version": i.Version, "revision": i.Revision, "goversion": i.GoVersion,
		},
	})
	g.Set(1)
	return g
}
