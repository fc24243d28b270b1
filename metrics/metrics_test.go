package metrics

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"waproxy/internal/buildinfo"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	return w.Body.String()
}

// sample is one series of a gathered family.
type sample struct {
	labels  map[string]string
	value   float64   // a gauge's or a counter's
	buckets []float64 // a histogram's upper bounds
}

// gather returns the series of every family by name.
func gather(t *testing.T, m *Metrics) map[string][]sample {
	t.Helper()
	fams, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]sample{}
	for _, f := range fams {
		for _, mt := range f.GetMetric() {
			s := sample{labels: map[string]string{}, value: mt.GetGauge().GetValue() + mt.GetCounter().GetValue()}
			for _, l := range mt.GetLabel() {
				s.labels[l.GetName()] = l.GetValue()
			}
			for _, b := range mt.GetHistogram().GetBucket() {
				s.buckets = append(s.buckets, b.GetUpperBound())
			}
			out[f.GetName()] = append(out[f.GetName()], s)
		}
	}
	return out
}

// TestRouteObserve pins the request series: the duration histogram's
// labels (method outside the common set as _OTHER, status classes) and
// buckets, and the request counter by exact status.
func TestRouteObserve(t *testing.T) {
	m := New()
	r := m.Route("/{version}/{phone_number_id}/messages")
	r.Observe("POST", 200, 3*time.Millisecond)
	r.Observe("POST", 201, 20*time.Second)
	r.Observe("POST", 503, time.Millisecond)
	r.Observe("PROPFIND", 405, time.Millisecond)
	r.Observe("get", 400, time.Millisecond) // methods are case-sensitive
	body := scrape(t, m)
	for _, want := range []string{
		`waproxy_http_server_request_duration_seconds_count{method="POST",route="/{version}/{phone_number_id}/messages",status_class="2xx"} 2`,
		`waproxy_http_server_request_duration_seconds_bucket{method="POST",route="/{version}/{phone_number_id}/messages",status_class="2xx",le="0.0025"} 0`,
		`waproxy_http_server_request_duration_seconds_bucket{method="POST",route="/{version}/{phone_number_id}/messages",status_class="2xx",le="0.005"} 1`,
		`waproxy_http_server_request_duration_seconds_bucket{method="POST",route="/{version}/{phone_number_id}/messages",status_class="2xx",le="15"} 1`,
		`waproxy_http_server_request_duration_seconds_bucket{method="POST",route="/{version}/{phone_number_id}/messages",status_class="2xx",le="+Inf"} 2`,
		`waproxy_http_server_request_duration_seconds_count{method="POST",route="/{version}/{phone_number_id}/messages",status_class="5xx"} 1`,
		`waproxy_http_server_request_duration_seconds_count{method="_OTHER",route="/{version}/{phone_number_id}/messages",status_class="4xx"} 2`,
		`waproxy_requests_total{route="/{version}/{phone_number_id}/messages",status="200"} 1`,
		`waproxy_requests_total{route="/{version}/{phone_number_id}/messages",status="201"} 1`,
		`waproxy_requests_total{route="/{version}/{phone_number_id}/messages",status="405"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
	if strings.Contains(body, "PROPFIND") || strings.Contains(body, `method="get"`) {
		t.Error("a method outside the common set is a label value")
	}
	b := gather(t, m)["waproxy_http_server_request_duration_seconds"][0].buckets
	if lo, hi := b[0], b[len(b)-1]; lo != 0.001 || hi != 15 {
		t.Errorf("buckets from %v to %v, want 1 ms to 15 s", lo, hi)
	}
}

// TestRouteObserveAllocatesNothing pins the hot path: once a series
// exists, observing a request allocates nothing.
func TestRouteObserveAllocatesNothing(t *testing.T) {
	r := New().Route("/healthz")
	r.Observe("GET", 200, time.Millisecond)
	if n := testing.AllocsPerRun(100, func() { r.Observe("GET", 200, time.Millisecond) }); n != 0 {
		t.Errorf("%v allocations per observed request", n)
	}
}

func TestBuildInfo(t *testing.T) {
	fam := gather(t, New())["waproxy_build_info"]
	if len(fam) != 1 {
		t.Fatalf("waproxy_build_info: %v", fam)
	}
	got := fam[0].labels
	i := buildinfo.Read()
	want := map[string]string{"version": i.Version, "revision": i.Revision, "goversion": i.GoVersion}
	if len(got) != len(want) || fam[0].value != 1 {
		t.Errorf("labels %v value %v, want %v and 1", got, fam[0].value, want)
	}
	for k, v := range want {
		if got[k] != v || v == "" {
			t.Errorf("label %s = %q, want %q", k, got[k], v)
		}
	}
}

// TestTenantLabels pins that once the configured tenants are named, every
// metric with a tenant label (deliveries, their duration, retries, dead
// letters, queue depth) shows only those names, anything else as
// OtherTenant, and the queue depth of unknown tenants adds up there.
func TestTenantLabels(t *testing.T) {
	m := New()
	m.SetTenants([]string{"acme", "globex"})
	m.WebhookDelivery("acme", "ok", time.Millisecond)
	m.WebhookDelivery("sk_live_secret", "ok", time.Millisecond)
	m.WebhookRetry("globex")
	m.WebhookRetry("https://client.example/hook?token=x")
	m.WebhookDeadLetter("acme")
	m.WebhookDeadLetter("919970123444")
	m.WatchQueue(func() (map[string]int, time.Time, int, error) {
		return map[string]int{"acme": 2, "globex": 0, "removed-tenant": 3, "another-gone": 4}, time.Time{}, 0, nil
	})
	allowed := map[string]bool{"acme": true, "globex": true, OtherTenant: true}
	tenantFamilies := 0
	for name, fam := range gather(t, m) {
		for _, s := range fam {
			tenant, ok := s.labels["tenant"]
			if !ok {
				continue
			}
			tenantFamilies++
			if !allowed[tenant] {
				t.Errorf("%s has tenant=%q, not a configured tenant", name, tenant)
			}
		}
	}
	if tenantFamilies == 0 {
		t.Fatal("no tenant labels gathered")
	}
	body := scrape(t, m)
	for _, want := range []string{
		`waproxy_webhook_deliveries_total{result="ok",tenant="_other"} 1`,
		`waproxy_webhook_retries_total{tenant="_other"} 1`,
		`waproxy_webhook_dead_letters_total{tenant="_other"} 1`,
		`waproxy_webhook_queue_depth{tenant="acme"} 2`,
		`waproxy_webhook_queue_depth{tenant="globex"} 0`,
		`waproxy_webhook_queue_depth{tenant="_other"} 7`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
}
