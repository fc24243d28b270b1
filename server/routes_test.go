package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"
	"go.uber.org/zap"

	"waproxy/auth"
	"waproxy/config"
	"waproxy/metrics"
	"waproxy/store"
)

type nopIntake struct{}

func (nopIntake) ServeIntake(w http.ResponseWriter, _ *http.Request, _ string) []zap.Field {
	w.WriteHeader(http.StatusOK)
	return nil
}

func (nopIntake) MaxBodyBytes() int64 { return 3 << 20 }

type nopDeadLetters struct{}

func (nopDeadLetters) DeadLetters(context.Context, int) ([]store.Event, error) { return nil, nil }
func (nopDeadLetters) Replay(context.Context, []uint64, time.Time) (int, error) {
	return 0, nil
}

// fullServer has every optional route family enabled.
func fullServer(t *testing.T, m *metrics.Metrics, metricsElsewhere bool) *Server {
	t.Helper()
	dir, err := auth.NewDirectory([]config.Tenant{{Name: "t", Tokens: []string{"tok"},
		PhoneNumbers: []config.PhoneNumber{{ID: "100", AppID: "app", AppToken: "sk_x"}}}})
	if err != nil {
		t.Fatal(err)
	}
	return New(Options{Directory: dir, Tokens: auth.NewTokens(nil, auth.TokensConfig{}),
		Metrics: m, MetricsElsewhere: metricsElsewhere,
		Media: &MediaOptions{}, Flows: &FlowOptions{}, V2: &V2Options{},
		Intake: nopIntake{}, DeadLetters: nopDeadLetters{}, AdminToken: "admin"})
}

// TestRouteTemplates pins the route template of every registered route.
// It walks the engine's routes both ways: a route added without a template
// (or without a case here) fails, and so does a case whose route is gone.
func TestRouteTemplates(t *testing.T) {
	want := map[string]string{
		"GET /healthz": "/healthz",
		"GET /readyz":  "/readyz",
		"GET /metrics": "/metrics",

		"POST /:p1/messages":     "/{phone_number_id}/messages",
		"PUT /:p1/messages":      "/{phone_number_id}/messages",
		"POST /:p1/:p2/messages": "/{version}/{phone_number_id}/messages",
		"PUT /:p1/:p2/messages":  "/{version}/{phone_number_id}/messages",

		"POST /:p1/media":                  "/{phone_number_id}/media",
		"POST /:p1/:p2/media":              "/{version}/{phone_number_id}/media",
		"GET /waproxy/media/:id":           "/waproxy/media/{media_id}",
		"GET /:p1":                         "/{object_id}",
		"DELETE /:p1":                      "/{object_id}",
		"POST /:p1":                        "/{object_id}",
		"GET /:p1/:p2":                     "/{version}/{object_id}",
		"DELETE /:p1/:p2":                  "/{version}/{object_id}",
		"POST /:p1/:p2":                    "/{version}/{object_id}",
		"POST /:p1/flows":                  "/{waba_id}/flows",
		"GET /:p1/flows":                   "/{waba_id}/flows",
		"POST /:p1/:p2/flows":              "/{version}/{waba_id}/flows",
		"GET /:p1/:p2/flows":               "/{version}/{waba_id}/flows",
		"GET /:p1/assets":                  "/{flow_id}/assets",
		"POST /:p1/assets":                 "/{flow_id}/assets",
		"GET /:p1/:p2/assets":              "/{version}/{flow_id}/assets",
		"POST /:p1/:p2/assets":             "/{version}/{flow_id}/assets",
		"POST /:p1/publish":                "/{flow_id}/publish",
		"POST /:p1/:p2/publish":            "/{version}/{flow_id}/publish",
		"POST /:p1/deprecate":              "/{flow_id}/deprecate",
		"POST /:p1/:p2/deprecate":          "/{version}/{flow_id}/deprecate",
		"GET /waproxy/flows/:id/flow.json": "/waproxy/flows/{flow_id}/flow.json",

		"POST /gupshup/callbacks/:app": "/gupshup/callbacks/{app}",
		"GET /gupshup/callbacks/:app":  "/gupshup/callbacks/{app}",
		"HEAD /gupshup/callbacks/:app": "/gupshup/callbacks/{app}",

		"GET /admin/deadletters":         "/admin/deadletters",
		"POST /admin/deadletters/replay": "/admin/deadletters/replay",
	}
	s := fullServer(t, metrics.New(), false)
	seen := map[string]bool{}
	for _, ri := range s.engine.Routes() {
		key := ri.Method + " " + ri.Path
		seen[key] = true
		w, ok := want[key]
		if !ok {
			t.Errorf("route %s has no case here", key)
			continue
		}
		if _, ok := routeTemplates[ri.Path]; !ok {
			t.Errorf("route %s has no template in routeTemplates", key)
		}
		if got := s.routes[ri.Path].Template(); got != w {
			t.Errorf("route %s: template %q, want %q", key, got, w)
		}
		if strings.Contains(w, ":") {
			t.Errorf("route %s: template %q shows a gin wildcard", key, w)
		}
	}
	for key := range want {
		if !seen[key] {
			t.Errorf("case %s: no such route registered", key)
		}
	}
	for path := range routeTemplates {
		if s.routes[path] == nil {
			t.Errorf("routeTemplates has %s, which no route registers", path)
		}
	}
}

// TestRouteLabels pins the labels requests get: the template for a
// matched route, one fixed label for anything unmatched (never the raw
// path), methods outside the common set as _OTHER, and status classes.
func TestRouteLabels(t *testing.T) {
	m := metrics.New()
	s := fullServer(t, m, false)
	for _, r := range []struct{ method, path string }{
		{"POST", "/v23.0/100/messages"},         // 401: no directory token
		{"GET", "/v23.0/1234567890"},            // an object
		{"GET", "/no/such/secret-looking/path"}, // unmatched
		{"BREW", "/v23.0/100/messages"},         // unknown method: unmatched
		{"GET", "/healthz"},
	} {
		req := httptest.NewRequest(r.method, r.path, nil)
		s.ServeHTTP(httptest.NewRecorder(), req)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	body := w.Body.String()
	for _, want := range []string{
		`waproxy_http_server_request_duration_seconds_count{method="POST",route="/{version}/{phone_number_id}/messages",status_class="4xx"} 1`,
		`waproxy_http_server_request_duration_seconds_count{method="GET",route="unmatched",status_class="4xx"} 1`,
		`waproxy_http_server_request_duration_seconds_count{method="_OTHER",route="unmatched",status_class="4xx"} 1`,
		`waproxy_http_server_request_duration_seconds_count{method="GET",route="/healthz",status_class="2xx"} 1`,
		`waproxy_http_server_request_duration_seconds_bucket{method="GET",route="/healthz",status_class="2xx",le="0.001"}`,
		`waproxy_http_server_request_duration_seconds_bucket{method="GET",route="/healthz",status_class="2xx",le="15"} 1`,
		`waproxy_requests_total{route="/{version}/{phone_number_id}/messages",status="401"} 1`,
		`waproxy_requests_total{route="/healthz",status="200"} 1`,
		`waproxy_requests_total{route="unmatched",status="400"} 2`,
		`route="/{version}/{object_id}"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	for _, never := range []string{"secret-looking", "BREW", ":p1"} {
		if strings.Contains(body, never) {
			t.Errorf("metrics show %q", never)
		}
	}
}

// TestMetricsElsewhere pins both placements of /metrics: on the API
// listener by default, and with metrics.listen set, Graph's unknown-path
// error there (the registry is served elsewhere).
func TestMetricsElsewhere(t *testing.T) {
	for _, elsewhere := range []bool{false, true} {
		s := fullServer(t, metrics.New(), elsewhere)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
		switch {
		case !elsewhere && (w.Code != 200 || !strings.Contains(w.Body.String(), "waproxy_build_info")):
			t.Errorf("default: GET /metrics HTTP %d %.80s", w.Code, w.Body)
		case elsewhere && (w.Code != 400 || gjson.Get(w.Body.String(), "error.code").Int() != 2500 ||
			!strings.Contains(gjson.Get(w.Body.String(), "error.message").Str, "Unknown path components")):
			t.Errorf("metrics elsewhere: GET /metrics HTTP %d %s", w.Code, w.Body)
		}
	}
}
