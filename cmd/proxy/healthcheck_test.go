package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// healthServer answers status and records the requests it got.
type healthServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []string
}

func newHealthServer(t *testing.T, status int) *healthServer {
	t.Helper()
	s := &healthServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.reqs = append(s.reqs, r.Method+" "+r.URL.Path)
		s.mu.Unlock()
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *healthServer) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.reqs...)
}

func TestHealthcheck(t *testing.T) {
	healthy := newHealthServer(t, http.StatusOK)
	draining := newHealthServer(t, http.StatusServiceUnavailable)
	_, port, _ := net.SplitHostPort(healthy.Listener.Addr().String())
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	tests := []struct {
		name     string
		args     []string
		server   *healthServer // that must have been asked, or nil
		wantPath string
		code     int
		want     string // on stdout (code 0) or stderr
	}{
		{"base url", []string{"-url", healthy.URL}, healthy, "GET /healthz", 0, "healthy: GET " + healthy.URL + "/healthz: HTTP 200\n"},
		{"base url with slash", []string{"-url", healthy.URL + "/"}, healthy, "GET /healthz", 0, "HTTP 200"},
		{"full url", []string{"-url", healthy.URL + "/readyz"}, healthy, "GET /readyz", 0, "GET " + healthy.URL + "/readyz"},
		{"not 200", []string{"-url", draining.URL}, draining, "GET /healthz", 1, "proxy: healthcheck: GET " + draining.URL + "/healthz: HTTP 503\n"},
		{"nothing listening", []string{"-url", closedURL}, nil, "", 1, "proxy: healthcheck: "},
		{"from the config's listen, all interfaces", []string{"-config", writeConfig(t, t.TempDir(), "listen: 0.0.0.0:"+port)},
			healthy, "GET /healthz", 0, "GET http://127.0.0.1:" + port + "/healthz"},
		{"from the config's listen, empty host", []string{"-config", writeConfig(t, t.TempDir(), "listen: :"+port)},
			healthy, "GET /healthz", 0, "GET http://127.0.0.1:" + port + "/healthz"},
		{"from the config's listen, loopback", []string{"-config", writeConfig(t, t.TempDir(), "listen: 127.0.0.1:"+port)},
			healthy, "GET /healthz", 0, "HTTP 200"},
		{"config listen on port 0", []string{"-config", writeConfig(t, t.TempDir(), "listen: 127.0.0.1:0")}, nil, "", 1, "proxy: listen: "},
		{"invalid config", []string{"-config", writeConfig(t, t.TempDir(), "listen: nonsense")}, nil, "", 1, "proxy: config "},
		{"-url wins over the config", []string{"-config", "/nonexistent.yaml", "-url", healthy.URL}, healthy, "GET /healthz", 0, "HTTP 200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before int
			if tt.server != nil {
				before = len(tt.server.requests())
			}
			code, stdout, stderr := execute(append([]string{"healthcheck"}, tt.args...)...)
			if code != tt.code {
				t.Fatalf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
			}
			on, other := stdout, stderr
			if tt.code != 0 {
				on, other = stderr, stdout
			}
			if !strings.Contains(on, tt.want) || other != "" {
				t.Errorf("stdout %q, stderr %q; want %q on the exit code's stream only", stdout, stderr, tt.want)
			}
			if tt.server != nil {
				got := tt.server.requests()[before:]
				if len(got) != 1 || got[0] != tt.wantPath {
					t.Errorf("server got %q, want [%s]", got, tt.wantPath)
				}
			}
		})
	}
}

// A proxy that does not answer within -timeout is unhealthy.
func TestHealthcheckTimeout(t *testing.T) {
	asked := make(chan struct{}, 1)
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked <- struct{}{}
		<-r.Context().Done() // until the client gives up
	}))
	defer hung.Close()
	code, stdout, stderr := execute("healthcheck", "-url", hung.URL, "-timeout", "100ms")
	if code != 1 || stdout != "" || !strings.Contains(stderr, "context deadline exceeded") {
		t.Errorf("exit %d, stdout %q, stderr %q; want 1 and a deadline error", code, stdout, stderr)
	}
	select {
	case <-asked:
	default:
		t.Error("the server was not asked")
	}
}
