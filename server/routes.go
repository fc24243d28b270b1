package server

import (
	"github.com/gin-gonic/gin"

	"waproxy/metrics"
)

// routeTemplates maps each path as registered with gin to the route
// template that the metrics' route label and the log line's route field
// show. gin needs one wildcard name per path position across all routes
// (:p1, :p2), so the registration cannot say what a segment is; the
// template does, in Graph's terms. Every registered path needs an entry
// (TestRouteTemplates walks the engine's routes).
var routeTemplates = map[string]string{
	"/healthz": "/healthz",
	"/readyz":  "/readyz",
	"/metrics": "/metrics",

	"/:p1/messages":      "/{phone_number_id}/messages",
	"/:p1/:p2/messages":  "/{version}/{phone_number_id}/messages",
	"/:p1/media":         "/{phone_number_id}/media",
	"/:p1/:p2/media":     "/{version}/{phone_number_id}/media",
	"/:p1/flows":         "/{waba_id}/flows",
	"/:p1/:p2/flows":     "/{version}/{waba_id}/flows",
	"/:p1/assets":        "/{flow_id}/assets",
	"/:p1/:p2/assets":    "/{version}/{flow_id}/assets",
	"/:p1/publish":       "/{flow_id}/publish",
	"/:p1/:p2/publish":   "/{version}/{flow_id}/publish",
	"/:p1/deprecate":     "/{flow_id}/deprecate",
	"/:p1/:p2/deprecate": "/{version}/{flow_id}/deprecate",
	// A flow or a media id (GET, DELETE) or a flow update (POST).
	"/:p1":     "/{object_id}",
	"/:p1/:p2": "/{version}/{object_id}",

	downloadPath + ":id":               downloadPath + "{media_id}",
	flowDownloadPath + ":id/flow.json": flowDownloadPath + "{flow_id}/flow.json",
	"/gupshup/callbacks/:app":          "/gupshup/callbacks/{app}",
	"/admin/deadletters":               "/admin/deadletters",
	"/admin/deadletters/replay":        "/admin/deadletters/replay",
}

// unmatchedRoute is the route label of every request no route matched
// (unknown path or method): one label, never the raw path.
const unmatchedRoute = "unmatched"

// route is what observe needs of the route a request matched.
type route struct {
	*metrics.Route
	// quiet routes (probes and scrapes) get no log line.
	quiet bool
}

// mapRoutes builds the table observe looks requests up in, once, after
// the routes are registered: gin's registered path → its route. A path
// missing from routeTemplates is labelled with the registered path itself
// (bounded, but a test catches it).
func (s *Server) mapRoutes() {
	m := s.opt.Metrics
	s.routes = make(map[string]*route)
	for _, ri := range s.engine.Routes() {
		if _, ok := s.routes[ri.Path]; ok {
			continue
		}
		tmpl, ok := routeTemplates[ri.Path]
		if !ok {
			tmpl = ri.Path
		}
		s.routes[ri.Path] = &route{Route: m.Route(tmpl), quiet: ri.Path == "/healthz" || ri.Path == "/readyz" ||
			(ri.Path == "/metrics" && !s.opt.MetricsElsewhere)}
	}
	s.unmatched = &route{Route: m.Route(unmatchedRoute)}
}

// routeOf is the route c matched, or the unmatched route.
func (s *Server) routeOf(c *gin.Context) *route {
	if r := s.routes[c.FullPath()]; r != nil {
		return r
	}
	return s.unmatched
}
