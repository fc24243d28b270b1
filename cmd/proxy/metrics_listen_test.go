package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"waproxy/config"
)

func get(t *testing.T, method, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeMetrics pins the metrics listener: GET /metrics serves the
// handler, nothing else is served, stop closes it, and a taken address
// is an error naming the key.
func TestServeMetrics(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "metric 1\n") })
	stop, addr, err := serveMetrics("127.0.0.1:0", h, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + addr
	for _, tc := range []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", "/metrics", 200, "metric 1\n"},
		{"HEAD", "/metrics", 200, ""},
		{"POST", "/metrics", 405, ""},
		{"GET", "/", 404, ""},
		{"GET", "/v23.0/100/messages", 404, ""},
		{"GET", "/debug/pprof/", 404, ""},
	} {
		status, body := get(t, tc.method, base+tc.path)
		if status != tc.status || (tc.body != "" && body != tc.body) {
			t.Errorf("%s %s: HTTP %d %q, want %d %q", tc.method, tc.path, status, body, tc.status, tc.body)
		}
	}
	if _, _, err := serveMetrics(addr, h, zap.NewNop()); err == nil || !strings.Contains(err.Error(), "metrics.listen") {
		t.Errorf("a taken address: %v", err)
	}
	stop()
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("the metrics listener still accepts after stop")
	}
}

// lines hands a writer's lines to a channel (the serve command's log).
type lines chan string

func (l lines) Write(p []byte) (int, error) {
	sc := bufio.NewScanner(strings.NewReader(string(p)))
	for sc.Scan() {
		select {
		case l <- sc.Text():
		default: // nobody is waiting for more
		}
	}
	return len(p), nil
}

// TestServeWithMetricsListen runs the serve command with metrics.listen
// set: /metrics is on its own listener and the API's answers it with
// Graph's unknown-path error.
func TestServeWithMetricsListen(t *testing.T) {
	yml := fmt.Sprintf(`
listen: 127.0.0.1:0
metrics: {listen: "127.0.0.1:0"}
webhooks: {store_path: %q}
media: {spool_dir: %q}
server: {shutdown_grace: 2s}
tenants:
  - name: acme
    tokens: [tok]
    phone_numbers: [{id: "100", app_id: app-1, app_name: One, app_token: sk_1}]
`, filepath.Join(t.TempDir(), "waproxy.db"), t.TempDir())
	cfg, err := config.Parse([]byte(yml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	log := make(lines, 64)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, "", log) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not return after its context ended")
		}
	}()

	var listening struct {
		Addr        string `json:"addr"`
		MetricsAddr string `json:"metrics_addr"`
	}
	deadline := time.After(30 * time.Second)
	for listening.Addr == "" {
		select {
		case l := <-log:
			if strings.Contains(l, `"msg":"listening"`) {
				if err := json.Unmarshal([]byte(l), &listening); err != nil {
					t.Fatal(err)
				}
			}
		case err := <-done:
			done <- err
			t.Fatalf("serve returned %v before listening", err)
		case <-deadline:
			t.Fatal("no listening log line")
		}
	}
	if listening.MetricsAddr == "" || listening.MetricsAddr == listening.Addr {
		t.Fatalf("listening line: %+v", listening)
	}
	if status, body := get(t, "GET", "http://"+listening.Addr+"/metrics"); status != 400 || !strings.Contains(body, "Unknown path components") {
		t.Errorf("API GET /metrics: HTTP %d %s", status, body)
	}
	status, body := get(t, "GET", "http://"+listening.MetricsAddr+"/metrics")
	if status != 200 || !strings.Contains(body, `waproxy_requests_total{route="/metrics",status="400"} 1`) ||
		!strings.Contains(body, "waproxy_build_info{") {
		t.Errorf("metrics listener GET /metrics: HTTP %d %.300s", status, body)
	}
}
