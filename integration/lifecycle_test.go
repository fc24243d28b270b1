package integration

// Binary-level tests of the proxy's signals: SIGHUP reloads the config file
// under load, SIGTERM turns readiness off while the listeners serve on for
// server.shutdown_delay, then drains. The proxy command is built once
// (buildProxy) and runs on the embedded simulated Gupshup.

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

// Identities of the lifecycle tests: tenant "one" exists from the start,
// tenant "two" is added by a reload.
const (
	lcTokenOne = "EAAG-lifecycle-tenant-one"
	lcTokenTwo = "EAAG-lifecycle-tenant-two"
	lcPhoneOne = "100000000000401"
	lcPhoneTwo = "100000000000402"
	lcAppOne   = "6d1c0e7a-1111-4c3b-9a51-lifecycle001"
	lcAppTwo   = "6d1c0e7a-2222-4c3b-9a51-lifecycle002"
)

// lcConfig renders a lifecycle test's config: the embedded simulator,
// tenant one with a webhook at hookOne, and tenant two (with a webhook at
// hookTwo) when withTwo.
func lcConfig(listen, store, head, hookOne, hookTwo string, withTwo bool) string {
	yml := fmt.Sprintf(`
listen: %q
log_level: info
%s
gupshup:
  base_url: embedded
  partner: {email: partner@example.com, secret: sim-secret}
webhooks:
  store_path: %q
  verify_on_start: false
  poll_interval: 20ms
tenants:
  - name: one
    tokens: [%q]
    phone_numbers:
      - {id: %q, app_id: %q, app_name: One, app_token: sk_lifecycle_one, callback_secret: cb-one}
    webhook: {url: %q, app_secret: meta-one}
`, listen, head, store, lcTokenOne, lcPhoneOne, lcAppOne, hookOne)
	if withTwo {
		// Two's app token comes from partner login: the simulator must
		// learn the app for its token call to work.
		yml += fmt.Sprintf(`  - name: two
    tokens: [%q]
    phone_numbers:
      - {id: %q, app_id: %q, app_name: Two, callback_secret: cb-two}
    webhook: {url: %q, app_secret: meta-two}
`, lcTokenTwo, lcPhoneTwo, lcAppTwo, hookTwo)
	}
	return yml
}

// writeConfig replaces the config file atomically (as an editor or a
// config management tool would), so a reload never reads half a file.
func writeConfig(t *testing.T, path, yml string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// startLifecycleProxy writes the config and runs the proxy binary on it.
func startLifecycleProxy(t *testing.T, yml func(listen, store string) string) *faultProxy {
	t.Helper()
	bin := buildProxy(t)
	dir := t.TempDir()
	listen := "127.0.0.1:" + freePort(t)
	s := &faultSetup{bin: bin, config: filepath.Join(dir, "proxy.yaml"), store: filepath.Join(dir, "proxy.db"), base: "http://" + listen}
	writeConfig(t, s.config, yml(listen, s.store))
	return startFaultProxy(t, s)
}

// signal sends sig to the running proxy.
func (p *faultProxy) signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cur.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
}

// waitLog waits until the current run has logged n lines with message msg.
func (p *faultProxy) waitLog(msg string, n int) {
	p.t.Helper()
	want := `"msg":"` + msg + `"`
	exited := false
	ok := eventually(15*time.Second, 10*time.Millisecond, func() bool {
		run := p.logs.String()
		run = run[strings.LastIndex(run, "----- proxy run #"):]
		if strings.Count(run, want) >= n {
			return true
		}
		select {
		case <-p.cur.exited:
			exited = true
			return true
		default:
			return false
		}
	})
	switch {
	case exited:
		p.t.Fatalf("proxy exited while waiting for %q: %v", msg, p.cur.err)
	case !ok:
		p.t.Fatalf("no %d %q log lines within 15s", n, msg)
	}
}

// lcSend sends a text message and returns the HTTP status (0 on a transport
// error) and the body.
func lcSend(client *http.Client, base, token, phone string) (int, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v23.0/"+phone+"/messages",
		strings.NewReader(`{"messaging_product":"whatsapp","to":"15551234567","type":"text","text":{"body":"hi"}}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// load keeps workers sending as tenant one until stop is called, and
// counts the answers.
type load struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	failures   []string
	halt       atomic.Bool
	wg         sync.WaitGroup
}

func startLoad(base string, workers int, token, phone string) *load {
	l := &load{}
	client := &http.Client{Timeout: 10 * time.Second}
	for range workers {
		l.wg.Go(func() {
			for !l.halt.Load() {
				status, body := lcSend(client, base, token, phone)
				if status == http.StatusOK && gjson.Get(body, "messages.0.id").Str != "" {
					l.ok.Add(1)
					continue
				}
				l.failed.Add(1)
				l.mu.Lock()
				if len(l.failures) < 5 {
					l.failures = append(l.failures, fmt.Sprintf("HTTP %d %s", status, body))
				}
				l.mu.Unlock()
			}
		})
	}
	return l
}

// waitOK waits until n more sends than now succeeded.
func (l *load) waitOK(t *testing.T, n int64) {
	t.Helper()
	target := l.ok.Load() + n
	if !eventually(15*time.Second, 5*time.Millisecond, func() bool { return l.ok.Load() >= target }) {
		t.Fatalf("load: %d sends succeeded, waiting for %d (failed %d)", l.ok.Load(), target, l.failed.Load())
	}
}

func (l *load) stop(t *testing.T) {
	t.Helper()
	l.halt.Store(true)
	l.wg.Wait()
	if n := l.failed.Load(); n != 0 {
		t.Errorf("%d of %d sends failed, e.g. %q", n, n+l.ok.Load(), l.failures)
	}
}

// hook is a tenant's webhook endpoint that counts the signed deliveries it
// gets.
func hook(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Header.Get("X-Hub-Signature-256") != "" {
			n.Add(1)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// TestReloadAddsTenantUnderLoad rewrites the config while tenant one sends
// steadily, adding tenant two (a new client token, a new number on a new
// app whose token comes from partner login, a new webhook), and sends
// SIGHUP: tenant two sends at once and gets its webhooks, tenant one never
// sees a failure. Then an invalid config and SIGHUP: the reload fails, the
// process and both tenants go on as before.
func TestReloadAddsTenantUnderLoad(t *testing.T) {
	hookOne, _ := hook(t)
	hookTwo, deliveredTwo := hook(t)
	var listen, store string
	p := startLifecycleProxy(t, func(l, s string) string {
		listen, store = l, s
		return lcConfig(l, s, "", hookOne.URL, hookTwo.URL, false)
	})
	base := p.setup.base
	if status, body := lcSend(faultClient, base, lcTokenTwo, lcPhoneTwo); status != http.StatusUnauthorized {
		t.Fatalf("tenant two before the reload: HTTP %d %s", status, body)
	}

	l := startLoad(base, 3, lcTokenOne, lcPhoneOne)
	l.waitOK(t, 20)
	writeConfig(t, p.setup.config, lcConfig(listen, store, "", hookOne.URL, hookTwo.URL, true))
	p.signal(syscall.SIGHUP)
	p.waitLog("config reloaded", 1)
	if status, body := lcSend(faultClient, base, lcTokenTwo, lcPhoneTwo); status != http.StatusOK {
		t.Errorf("tenant two after the reload: HTTP %d %s", status, body)
	}
	// The simulator's status callbacks for two's send reach two's webhook
	// (subscribed at the reload, delivered by a new worker).
	if !eventually(15*time.Second, 10*time.Millisecond, func() bool { return deliveredTwo.Load() > 0 }) {
		t.Fatal("no webhook delivered to tenant two after the reload")
	}
	l.waitOK(t, 20)

	// An invalid file: the reload fails, nothing changes.
	writeConfig(t, p.setup.config, lcConfig(listen, store, "bogus_key: 1", hookOne.URL, hookTwo.URL, false))
	p.signal(syscall.SIGHUP)
	p.waitLog("config reload failed", 1)
	l.waitOK(t, 20)
	l.stop(t)
	if status, body := lcSend(faultClient, base, lcTokenTwo, lcPhoneTwo); status != http.StatusOK {
		t.Errorf("tenant two after a failed reload: HTTP %d %s", status, body)
	}
	run := p.logs.String()
	if !strings.Contains(run, "bogus_key") {
		t.Error("the failed reload's log line does not name the bad key")
	}
	if strings.Count(run, `"msg":"config reloaded"`) != 1 {
		t.Error("the invalid config was reported as reloaded")
	}
	p.term() // the process is alive and stops cleanly
}

// TestShutdownDelayUnderLoad sends SIGTERM to a proxy with
// server.shutdown_delay while a client sends steadily; the client, as a
// load balancer would, keeps sending until it sees /readyz answer 503 and
// then stops. No send fails; sends still succeed while /readyz is 503;
// the process drains and exits 0.
func TestShutdownDelayUnderLoad(t *testing.T) {
	hookOne, _ := hook(t)
	p := startLifecycleProxy(t, func(l, s string) string {
		return lcConfig(l, s, "server: {shutdown_delay: 2s, shutdown_grace: 5s}", hookOne.URL, "", false)
	})
	base := p.setup.base
	l := startLoad(base, 3, lcTokenOne, lcPhoneOne)
	l.waitOK(t, 20)

	p.signal(syscall.SIGTERM)
	// The load balancer's health check.
	var readyErr error
	draining := eventually(10*time.Second, 20*time.Millisecond, func() bool {
		resp, err := faultClient.Get(base + "/readyz")
		if err != nil {
			readyErr = err
			return true
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusServiceUnavailable
	})
	if readyErr != nil {
		t.Fatalf("/readyz unreachable before it answered 503: %v", readyErr)
	}
	if !draining {
		t.Fatal("/readyz never answered 503 after SIGTERM")
	}
	// Not ready, and still serving: sends in flight and new ones succeed.
	l.waitOK(t, 4)
	if status, body := lcSend(faultClient, base, lcTokenOne, lcPhoneOne); status != http.StatusOK {
		t.Errorf("a send while /readyz answers 503: HTTP %d %s", status, body)
	}
	if resp, err := faultClient.Get(base + "/readyz"); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/readyz during the delay: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	l.stop(t) // the balancer stopped sending
	select {
	case <-p.cur.exited:
		t.Fatal("the proxy exited before its shutdown delay was over")
	default:
	}
	p.waitLog("shutting down", 1)
	pr := p.cur
	select {
	case <-pr.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the proxy did not exit after the drain")
	}
	p.cur = nil
	if pr.err != nil {
		t.Errorf("exit: %v", pr.err)
	}
	if run := p.logs.String(); !strings.Contains(run, `"msg":"stopped"`) {
		t.Error("no \"stopped\" log line")
	}
}

// TestShutdownSecondSignalSkipsTheDelay: with a long shutdown delay, a
// second SIGTERM ends it, and the proxy drains and exits 0.
func TestShutdownSecondSignalSkipsTheDelay(t *testing.T) {
	hookOne, _ := hook(t)
	p := startLifecycleProxy(t, func(l, s string) string {
		return lcConfig(l, s, "server: {shutdown_delay: 10m}", hookOne.URL, "", false)
	})
	p.signal(syscall.SIGTERM)
	p.waitLog("readiness off; serving on before the drain", 1)
	if status, body := lcSend(faultClient, p.setup.base, lcTokenOne, lcPhoneOne); status != http.StatusOK {
		t.Errorf("a send during the delay: HTTP %d %s", status, body)
	}
	p.signal(syscall.SIGTERM)
	p.waitLog("second stop signal: the rest of the shutdown delay is skipped", 1)
	pr := p.cur
	select {
	case <-pr.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the proxy did not exit after the second SIGTERM")
	}
	p.cur = nil
	if pr.err != nil {
		t.Errorf("exit: %v", pr.err)
	}
}

// TestShutdownThroughScriptsRun starts the proxy with scripts/run as the
// README says: the script execs the built binary, so the process it
// started is the proxy, and SIGTERM to it drains and frees the port.
func TestShutdownThroughScriptsRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the proxy binary")
	}
	listen := "127.0.0.1:" + freePort(t)
	cmd := exec.Command("scripts/run")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "PROXY_LISTEN="+listen, "PROXY_STORE="+filepath.Join(t.TempDir(), "waproxy.db"))
	logs := &faultLogs{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("scripts/run output:\n%s", logs.String())
		}
	})
	waitReady(t, "http://"+listen+"/readyz")
	if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", cmd.Process.Pid)); err == nil && filepath.Base(exe) != "proxy" {
		t.Errorf("the process scripts/run started is %s, not the proxy", exe)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("scripts/run did not stop on SIGTERM")
	}
	if conn, err := net.Dial("tcp", listen); err == nil {
		conn.Close()
		t.Error("the port is still served after scripts/run exited")
	}
}
