package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

// TestLogsCarryNoSecrets sends requests full of secrets and content and
// checks the log output: one line per request with the useful fields, and
// none of the secrets.
func TestLogsCarryNoSecrets(t *testing.T) {
	w := newWorld(t, worldOptions{})
	const content = "SECRET-MESSAGE-CONTENT-42"
	body := `{"messaging_product":"whatsapp","to":"919876543210","type":"text","text":{"body":"` + content + `"}}`
	if a := w.send(t, tokenB, phoneB, body); a.status != 200 { // partner login + app token
		t.Fatalf("HTTP %d %s", a.status, a.body)
	}
	w.call(t, "POST", "/v23.0/"+phoneA+"/messages?access_token="+tokenA, "application/json", "", []byte(body))
	w.send(t, "EAAG-wrong-token-SECRET", phoneA, body)
	w.sim.Inject(gupshupsim401())
	w.send(t, tokenA, phoneA, body)

	logs := w.logs.String()
	for _, secret := range []string{tokenA, tokenB, appTokA, w.sim.AppToken(appB), secret, "EAAG-wrong-token-SECRET", content, "919876543210", "9876543210"} {
		if strings.Contains(logs, secret) {
			t.Errorf("log output contains a secret or content: %q", secret)
		}
	}
	var requests []gjson.Result
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		line := gjson.Parse(sc.Text())
		if line.Get("msg").Str == "request" {
			requests = append(requests, line)
		}
	}
	if len(requests) != 4 {
		t.Fatalf("%d request log lines, want 4:\n%s", len(requests), logs)
	}
	first := requests[0]
	for _, f := range []string{"request_id", "tenant", "phone_number_id", "message_type", "upstream_status", "latency", "status", "to"} {
		if !first.Get(f).Exists() {
			t.Errorf("log line lacks %s: %s", f, first.Raw)
		}
	}
	if first.Get("to").Str != "91********10" {
		t.Errorf("recipient not masked: %s", first.Get("to").Str)
	}
	if requests[2].Get("meta_code").Int() != 190 || requests[3].Get("meta_code").Int() != 1 ||
		!requests[3].Get("operator_action_needed").Bool() {
		t.Errorf("error lines: %s / %s", requests[2].Raw, requests[3].Raw)
	}
}

func TestHealthReadyMetrics(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.send(t, tokenA, phoneA, textBody)
	w.send(t, "nope", phoneA, textBody)
	for path, want := range map[string]string{"/healthz": `"ok"`, "/readyz": `"ready"`} {
		a := w.call(t, "GET", path, "", "", nil)
		if a.status != 200 || !strings.Contains(string(a.body), want) {
			t.Errorf("%s: %d %s", path, a.status, a.body)
		}
	}
	a := w.call(t, "GET", "/metrics", "", "", nil)
	m := string(a.body)
	for _, want := range []string{
		`waproxy_requests_total{route="/{version}/{phone_number_id}/messages",status="200"} 1`,
		`waproxy_requests_total{route="/{version}/{phone_number_id}/messages",status="401"} 1`,
		`waproxy_meta_errors_total{code="190"} 1`,
		`waproxy_upstream_duration_seconds_count{endpoint="v3_message",outcome="200"} 1`,
		`waproxy_http_server_request_duration_seconds_count{method="POST",route="/{version}/{phone_number_id}/messages",status_class="2xx"} 1`,
		`waproxy_http_server_request_duration_seconds_count{method="POST",route="/{version}/{phone_number_id}/messages",status_class="4xx"} 1`,
		`waproxy_http_server_request_duration_seconds_bucket{method="POST",route="/{version}/{phone_number_id}/messages",status_class="2xx",le="15"} 1`,
		`waproxy_build_info{goversion="go`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestBinaryQuickStart builds the proxy command and runs it exactly as the
// README says, on the repo's config.yaml (embedded simulator), sends the
// README's curl request, then stops it with SIGTERM.
func TestBinaryQuickStart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "proxy")
	build := exec.Command("go", "build", "-o", bin, "../cmd/proxy")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	port, pprofPort := freePort(t), freePort(t)
	cmd := exec.Command(bin, "-config", "../config.yaml")
	cmd.Env = append(os.Environ(), "PROXY_LISTEN=127.0.0.1:"+port, "PROXY_STORE="+filepath.Join(t.TempDir(), "waproxy.db"),
		"PROXY_PPROF_LISTEN=127.0.0.1:"+pprofPort)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs <- sc.Text()
		}
		close(logs)
	}()
	defer func() { _ = cmd.Process.Kill() }()
	base := "http://127.0.0.1:" + port
	waitReady(t, base+"/readyz")

	// The profiler (debug.pprof_listen) is on its own port only.
	if a := fetch(t, "http://127.0.0.1:"+pprofPort+"/debug/pprof/cmdline", ""); a.status != http.StatusOK || !strings.Contains(string(a.body), "proxy") {
		t.Errorf("pprof cmdline: HTTP %d %q", a.status, a.body)
	}
	if a := fetch(t, base+"/debug/pprof/cmdline", ""); a.status == http.StatusOK {
		t.Errorf("the API listener serves the profiler")
	}

	// The README's curl example.
	req, _ := http.NewRequest("POST", base+"/v23.0/100000000000001/messages",
		strings.NewReader(`{"messaging_product":"whatsapp","to":"15551234567","type":"text","text":{"body":"Hello from the proxy"}}`))
	req.Header.Set("Authorization", "Bearer demo-token")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || gjson.GetBytes(b, "messages.0.id").Str == "" || gjson.GetBytes(b, "contacts.0.wa_id").Str != "15551234567" {
		t.Fatalf("quick start answer: %d %s", resp.StatusCode, b)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("proxy exited with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("proxy did not stop on SIGTERM")
	}
	var sawStopped bool
	for l := range logs {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "stopped" {
			sawStopped = true
		}
	}
	if !sawStopped {
		t.Error("no 'stopped' log line after SIGTERM")
	}

	// proxy check validates without serving.
	out, err := exec.Command(bin, "check", "-config", "../config.yaml").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "OK") {
		t.Errorf("check: %v %s", err, out)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	_ = os.WriteFile(bad, []byte("listen: x\nbogus_key: 1\n"), 0o600)
	out, err = exec.Command(bin, "check", "-config", bad).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "bogus_key") {
		t.Errorf("check of a bad file: %v %s", err, out)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

func waitReady(t *testing.T, url string) {
	t.Helper()
	ready := eventually(15*time.Second, 50*time.Millisecond, func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	if !ready {
		t.Fatalf("%s never became ready", url)
	}
}
