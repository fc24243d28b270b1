package integration

// Binary-level fault tests of the webhook relay: the proxy command is built
// once and run as a child process on a config in a temp dir (a real bbolt
// store, an httptest Gupshup simulator that generates no callbacks, fast
// backoff), and callbacks are posted to its intake by the tests. The
// tenant's webhook is a receiver the tests control: it hangs, refuses,
// times out, answers 5xx, or goes away entirely, and the process is killed
// with SIGKILL, stopped with SIGTERM and restarted on the same store.

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"waproxy/gupshupsim"
)

// Identities of the relay fault tests' single tenant.
const (
	faultTenant      = "fault"
	faultApp         = "5f3a9c1e-7d2b-4e8a-9c61-relayfault01"
	faultAppToken    = "sk_relay_fault_app"
	faultCbSecret    = "relay-fault-callback-secret"
	faultMetaSecret  = "relay-fault-meta-app-secret"
	faultClientToken = "EAAG-relay-fault-client-token"
	faultPhoneID     = "100000000000777"
)

// faultProxyBuild holds the proxy binary built once per test binary run.
var faultProxyBuild struct {
	once sync.Once
	path string
	err  error
}

// buildProxy builds ../cmd/proxy once per test binary run and returns the
// binary's path. It lives in a directory of the system temp dir named after
// this checkout and is replaced atomically by every run, so runs do not pile
// up binaries and concurrent runs do not see a half-written file.
func buildProxy(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the proxy binary")
	}
	faultProxyBuild.once.Do(func() {
		wd, err := os.Getwd()
		if err != nil {
			faultProxyBuild.err = err
			return
		}
		dir := filepath.Join(os.TempDir(), "waproxy-itest-"+sha256hex(wd)[:12])
		if err := os.MkdirAll(dir, 0o755); err != nil {
			faultProxyBuild.err = err
			return
		}
		tmp, err := os.MkdirTemp(dir, "build-")
		if err != nil {
			faultProxyBuild.err = err
			return
		}
		defer os.RemoveAll(tmp)
		out := filepath.Join(tmp, "proxy")
		if b, err := exec.Command("go", "build", "-o", out, "../cmd/proxy").CombinedOutput(); err != nil {
			faultProxyBuild.err = fmt.Errorf("go build: %v\n%s", err, b)
			return
		}
		final := filepath.Join(dir, "proxy")
		if err := os.Rename(out, final); err != nil {
			faultProxyBuild.err = err
			return
		}
		faultProxyBuild.path = final
	})
	if faultProxyBuild.err != nil {
		t.Fatal(faultProxyBuild.err)
	}
	return faultProxyBuild.path
}

// faultConfig is what varies between the fault tests' config files.
type faultConfig struct {
	hookURL        string
	attemptTimeout time.Duration // default 2s
	horizon        time.Duration // default 1h
	concurrency    int           // default 4
	adminToken     string        // default: admin endpoints off
}

// faultSetup is one proxy configuration: its files, its simulated Gupshup
// and its intake address, stable across restarts.
type faultSetup struct {
	bin, config, store, base string
}

// newFaultSetup starts a simulated Gupshup (which generates no callbacks:
// nothing is sent through it) and writes a config file into a temp dir.
func newFaultSetup(t *testing.T, c faultConfig) *faultSetup {
	t.Helper()
	bin := buildProxy(t)
	if c.attemptTimeout == 0 {
		c.attemptTimeout = 2 * time.Second
	}
	if c.horizon == 0 {
		c.horizon = time.Hour
	}
	if c.concurrency == 0 {
		c.concurrency = 4
	}
	sim := gupshupsim.New(gupshupsim.Options{Apps: []gupshupsim.App{{ID: faultApp, Name: "FaultApp", Token: faultAppToken}}})
	simTS := httptest.NewServer(sim)
	t.Cleanup(func() {
		simTS.Close()
		sim.Close()
	})
	dir := t.TempDir()
	listen := "127.0.0.1:" + freePort(t)
	s := &faultSetup{bin: bin, config: filepath.Join(dir, "proxy.yaml"), store: filepath.Join(dir, "relay.db"), base: "http://" + listen}
	yml := fmt.Sprintf(`
listen: %q
log_level: info
server:
  shutdown_grace: 5s
gupshup:
  base_url: %q
webhooks:
  store_path: %q
  backoff_base: 50ms
  backoff_max: 500ms
  poll_interval: 20ms
  attempt_timeout: %s
  horizon: %s
  concurrency: %d
  verify_on_start: false
admin:
  token: %q
tenants:
  - name: %s
    tokens: [%q]
    phone_numbers:
      - id: %q
        app_id: %q
        app_name: FaultApp
        app_token: %q
        callback_secret: %q
    webhook:
      url: %q
      app_secret: %q
`, listen, simTS.URL, s.store, c.attemptTimeout, c.horizon, c.concurrency, c.adminToken,
		faultTenant, faultClientToken, faultPhoneID, faultApp, faultAppToken, faultCbSecret, c.hookURL, faultMetaSecret)
	if err := os.WriteFile(s.config, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "check", "-config", s.config).CombinedOutput(); err != nil {
		t.Fatalf("proxy check: %v\n%s", err, out)
	}
	return s
}

// cli runs a proxy subcommand on the setup's config and returns its
// combined output.
func (s *faultSetup) cli(args ...string) (string, error) {
	args = append(args, "-config", s.config)
	out, err := exec.Command(s.bin, args...).CombinedOutput()
	return string(out), err
}

// faultLogs collects the output of every run of the proxy.
type faultLogs struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *faultLogs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *faultLogs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// faultProc is one run of the proxy binary.
type faultProc struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // cmd.Wait's result, once exited is closed
}

// faultProxy runs a faultSetup's proxy, restartably. Its logs (all runs)
// are printed when the test fails; the running process is killed at the
// end of the test in any case.
type faultProxy struct {
	t      *testing.T
	setup  *faultSetup
	logs   *faultLogs
	starts int
	cur    *faultProc
}

func startFaultProxy(t *testing.T, s *faultSetup) *faultProxy {
	t.Helper()
	p := &faultProxy{t: t, setup: s, logs: &faultLogs{}}
	t.Cleanup(func() {
		if p.cur != nil {
			_ = p.cur.cmd.Process.Kill()
			<-p.cur.exited
		}
		if t.Failed() {
			t.Logf("proxy output:\n%s", p.logs.String())
		}
	})
	p.start()
	return p
}

// start runs the proxy and waits until it is ready.
func (p *faultProxy) start() {
	p.t.Helper()
	if p.cur != nil {
		p.t.Fatal("proxy already running")
	}
	p.starts++
	fmt.Fprintf(p.logs, "----- proxy run #%d -----\n", p.starts)
	cmd := exec.Command(p.setup.bin, "serve", "-config", p.setup.config)
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	pr := &faultProc{cmd: cmd, exited: make(chan struct{})}
	go func() {
		pr.err = cmd.Wait()
		close(pr.exited)
	}()
	p.cur = pr
	p.waitReady()
}

// waitReady polls /readyz like the package's waitReady but gives up as
// soon as the process exits.
func (p *faultProxy) waitReady() {
	p.t.Helper()
	ready := eventually(15*time.Second, 20*time.Millisecond, func() bool {
		select {
		case <-p.cur.exited:
			p.t.Fatalf("proxy exited at start-up: %v", p.cur.err)
		default:
		}
		resp, err := faultClient.Get(p.setup.base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	if !ready {
		p.t.Fatal("proxy never became ready")
	}
}

// kill sends SIGKILL and waits for the process to go.
func (p *faultProxy) kill() {
	p.t.Helper()
	if err := p.cur.cmd.Process.Kill(); err != nil {
		p.t.Fatal(err)
	}
	select {
	case <-p.cur.exited:
	case <-time.After(10 * time.Second):
		p.t.Fatal("proxy survived SIGKILL")
	}
	p.cur = nil
}

// term sends SIGTERM and checks the process stops cleanly: exit status 0
// and a "stopped" log line, within the shutdown grace.
func (p *faultProxy) term() {
	p.t.Helper()
	if err := p.cur.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatal(err)
	}
	pr := p.cur
	select {
	case <-pr.exited:
	case <-time.After(10 * time.Second):
		p.t.Fatal("proxy did not stop within 10s of SIGTERM")
	}
	p.cur = nil
	if pr.err != nil {
		p.t.Errorf("proxy exited with %v after SIGTERM", pr.err)
	}
	run := p.logs.String()
	run = run[strings.LastIndex(run, "----- proxy run #"):]
	if !strings.Contains(run, `"msg":"stopped"`) {
		p.t.Errorf("no \"stopped\" log line after SIGTERM")
	}
}

// metrics scrapes /metrics into series → value, the series written as
// the exposition writes it (labels sorted by name). nil when unreachable.
func (p *faultProxy) metrics() map[string]float64 {
	resp, err := faultClient.Get(p.setup.base + "/metrics")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil
	}
	m := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			m[line[:i]] = v
		}
	}
	return m
}

// faultDeliveries names the delivery counter series for a result.
func faultDeliveries(result string) string {
	return `waproxy_webhook_deliveries_total{result="` + result + `",tenant="` + faultTenant + `"}`
}

const (
	faultRetriesSeries        = `waproxy_webhook_retries_total{tenant="` + faultTenant + `"}`
	faultDeadTotalSeries      = `waproxy_webhook_dead_letters_total{tenant="` + faultTenant + `"}`
	faultDeadGaugeSeries      = `waproxy_webhook_dead_letters`
	faultQueueDepthSeries     = `waproxy_webhook_queue_depth{tenant="` + faultTenant + `"}`
	faultDedupHitsSeries      = `waproxy_webhook_dedup_hits_total`
	faultIntakeAcceptedSeries = `waproxy_webhook_intake_total{result="accepted"}`
)

// faultClient talks to the proxy (intake, metrics, readiness).
var faultClient = &http.Client{Timeout: 10 * time.Second}

// postStatus posts one v3 status callback (one status, gs_id gsID) to the
// intake and fails the test unless it is answered 200.
func (p *faultProxy) postStatus(gsID, status string) {
	p.t.Helper()
	body := `{"object":"whatsapp_business_account","gs_app_id":"` + faultApp + `","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"1555","phone_number_id":"1"},"statuses":[{"gs_id":"` + gsID + `","id":"wamid.` + gsID + `","recipient_id":"15551234567","status":"` + status + `","timestamp":"1710930461"}]}}]}]}`
	req, err := http.NewRequest(http.MethodPost, p.setup.base+"/gupshup/callbacks/"+faultApp, strings.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Waproxy-Secret", faultCbSecret)
	resp, err := faultClient.Do(req)
	if err != nil {
		p.t.Fatalf("intake: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		p.t.Fatalf("intake answered %d %s for %s/%s", resp.StatusCode, b, gsID, status)
	}
}

// faultHit is one request the receiver got.
type faultHit struct {
	at     time.Time
	status int // what the receiver answered; 0 while in flight or when it gave up
}

// faultHook is the tenant's webhook. It records every request by
// "<statuses[0].id>:<statuses[0].status>" and answers what answer says;
// answer may block (it must give up on stop or the request's context).
type faultHook struct {
	stop chan struct{} // closed at the end of the test

	mu          sync.Mutex
	answer      func(r *http.Request, key string, attempt int) int
	hits        map[string][]*faultHit
	inflight    int
	maxInflight int
	bad         []string // signature or body problems
}

func newFaultHook(t *testing.T) *faultHook {
	h := &faultHook{stop: make(chan struct{}), hits: map[string][]*faultHit{},
		answer: func(*http.Request, string, int) int { return http.StatusOK }}
	t.Cleanup(func() { close(h.stop) }) // runs before the servers' Close
	return h
}

// serve runs the receiver on a new httptest server and returns its URL.
func (h *faultHook) serve(t *testing.T) string {
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts.URL + "/meta/webhook"
}

// serveOn runs the receiver on ln.
func (h *faultHook) serveOn(t *testing.T, ln net.Listener) {
	ts := httptest.NewUnstartedServer(h)
	ts.Listener.Close()
	ts.Listener = ln
	ts.Start()
	t.Cleanup(ts.Close)
}

func (h *faultHook) setAnswer(f func(r *http.Request, key string, attempt int) int) {
	h.mu.Lock()
	h.answer = f
	h.mu.Unlock()
}

func (h *faultHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	body, err := io.ReadAll(r.Body)
	var problem string
	switch {
	case err != nil:
		problem = "reading body: " + err.Error()
	case r.Method != http.MethodPost || r.URL.Path != "/meta/webhook":
		problem = "request " + r.Method + " " + r.URL.Path
	case r.Header.Get("X-Hub-Signature-256") != "sha256="+faultHMAC(sha256.New, body):
		problem = "bad X-Hub-Signature-256 " + r.Header.Get("X-Hub-Signature-256")
	case r.Header.Get("X-Hub-Signature") != "sha1="+faultHMAC(sha1.New, body):
		problem = "bad X-Hub-Signature " + r.Header.Get("X-Hub-Signature")
	}
	st := gjson.GetBytes(body, "entry.0.changes.0.value.statuses.0")
	key := st.Get("id").Str + ":" + st.Get("status").Str
	h.mu.Lock()
	if problem != "" {
		h.bad = append(h.bad, key+": "+problem)
	}
	hit := &faultHit{at: at}
	h.hits[key] = append(h.hits[key], hit)
	attempt := len(h.hits[key])
	h.inflight++
	h.maxInflight = max(h.maxInflight, h.inflight)
	answer := h.answer
	h.mu.Unlock()

	status := answer(r, key, attempt)

	h.mu.Lock()
	hit.status = status
	h.inflight--
	h.mu.Unlock()
	if status == 0 {
		status = http.StatusServiceUnavailable // nobody is listening any more
	}
	w.WriteHeader(status)
}

func faultHMAC(h func() hash.Hash, body []byte) string {
	m := hmac.New(h, []byte(faultMetaSecret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// hang blocks until release or stop is closed or the caller goes away.
func (h *faultHook) hang(r *http.Request, release <-chan struct{}) {
	select {
	case <-release:
	case <-h.stop:
	case <-r.Context().Done():
	}
}

// snapshot copies the hits of key.
func (h *faultHook) snapshot(key string) []faultHit {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]faultHit, len(h.hits[key]))
	for i, x := range h.hits[key] {
		out[i] = *x
	}
	return out
}

// count returns how many requests key got and how many were answered 200.
func (h *faultHook) count(key string) (all, ok int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, x := range h.hits[key] {
		all++
		if x.status == http.StatusOK {
			ok++
		}
	}
	return all, ok
}

// allOK reports whether every key got at least one 200.
func (h *faultHook) allOK(keys []string) bool {
	for _, k := range keys {
		if _, ok := h.count(k); ok == 0 {
			return false
		}
	}
	return true
}

func (h *faultHook) inFlight() (now, peak int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.inflight, h.maxInflight
}

func (h *faultHook) problems() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.bad)
}

// totalOK counts 200 answers over all keys.
func (h *faultHook) totalOK() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, hs := range h.hits {
		for _, x := range hs {
			if x.status == http.StatusOK {
				n++
			}
		}
	}
	return n
}

// faultWait polls cond until it holds or d passes.
func faultWait(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	if !eventually(d, 10*time.Millisecond, cond) {
		t.Fatalf("timed out after %s waiting for %s", d, what)
	}
}

// waitMetrics polls /metrics until every series has its value (a series
// not exposed counts as 0, as with a label set never incremented).
func (p *faultProxy) waitMetrics(d time.Duration, want map[string]float64) map[string]float64 {
	p.t.Helper()
	var last map[string]float64
	missing := ""
	if !eventually(d, 20*time.Millisecond, func() bool {
		last, missing = p.metrics(), ""
		if last == nil {
			missing = "\n  /metrics unreachable"
		}
		for series, v := range want {
			if got := last[series]; got != v { // absent counts as 0
				missing += fmt.Sprintf("\n  %s = %v, want %v", series, got, v)
			}
		}
		return missing == ""
	}) {
		p.t.Fatalf("metrics after %s:%s", d, missing)
	}
	return last
}

func faultKeys(prefix string, n int) (gsIDs, keys []string) {
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("%s-%d", prefix, i)
		gsIDs = append(gsIDs, id)
		keys = append(keys, id+":sent")
	}
	return gsIDs, keys
}

func faultCheckRequests(t *testing.T, h *faultHook) {
	t.Helper()
	for _, p := range h.problems() {
		t.Errorf("webhook request problem: %s", p)
	}
}

// TestRelaySurvivesSIGKILL kills the proxy while deliveries hang at the
// endpoint, restarts it on the same store and checks every accepted event
// is delivered (at least once), events acknowledged before the kill are not
// delivered again, and concurrency stays bounded.
func TestRelaySurvivesSIGKILL(t *testing.T) {
	hook := newFaultHook(t)
	s := newFaultSetup(t, faultConfig{hookURL: hook.serve(t), attemptTimeout: 30 * time.Second, concurrency: 4})

	// The first 8 requests are answered at once (acknowledged before the
	// kill); every later one hangs until released.
	const answered = 8
	release := make(chan struct{})
	var mu sync.Mutex
	n := 0
	hook.setAnswer(func(r *http.Request, key string, attempt int) int {
		mu.Lock()
		n++
		first := n <= answered
		mu.Unlock()
		if first {
			return http.StatusOK
		}
		hook.hang(r, release)
		return 0
	})

	p := startFaultProxy(t, s)
	gsIDs, keys := faultKeys("gs", 40)
	for _, id := range gsIDs {
		p.postStatus(id, "sent")
	}
	faultWait(t, 10*time.Second, "4 deliveries hanging at the endpoint", func() bool {
		now, _ := hook.inFlight()
		return now >= 4
	})
	if now, peak := hook.inFlight(); now != 4 || peak > 4 {
		t.Errorf("in flight %d (peak %d) with webhooks.concurrency 4", now, peak)
	}
	var ackedBeforeKill []string
	for _, k := range keys {
		if _, ok := hook.count(k); ok > 0 {
			ackedBeforeKill = append(ackedBeforeKill, k)
		}
	}
	if len(ackedBeforeKill) != answered {
		t.Fatalf("%d events answered 200 before the kill, want %d", len(ackedBeforeKill), answered)
	}

	p.kill()
	close(release)
	faultWait(t, 10*time.Second, "the killed proxy's requests to end", func() bool {
		now, _ := hook.inFlight()
		return now == 0
	})
	hook.setAnswer(func(*http.Request, string, int) int { return http.StatusOK })
	hook.mu.Lock()
	hook.maxInflight = 0
	hook.mu.Unlock()

	restarted := time.Now()
	p.start()
	faultWait(t, 20*time.Second, "all 40 events answered 200 after the restart", func() bool { return hook.allOK(keys) })
	t.Logf("all 40 delivered %s after the restart", time.Since(restarted).Round(time.Millisecond))

	faultCheckRequests(t, hook)
	received2, ok2 := 0, 0
	for _, k := range keys {
		all, ok := hook.count(k)
		if all > 1 {
			received2++
		}
		if ok > 1 {
			ok2++
		}
	}
	for _, k := range ackedBeforeKill {
		if all, _ := hook.count(k); all != 1 {
			t.Errorf("%s was acknowledged before the kill but received %d times", k, all)
		}
	}
	if _, peak := hook.inFlight(); peak > 4 {
		t.Errorf("%d deliveries in flight after the restart with webhooks.concurrency 4", peak)
	}
	t.Logf("SIGKILL: %d of 40 events received more than once (the in-flight ones), %d answered 200 more than once",
		received2, ok2)
	if received2 < 4 {
		t.Errorf("only %d events were received twice; the 4 in flight at the kill must be delivered again", received2)
	}
	p.waitMetrics(5*time.Second, map[string]float64{faultDeliveries("ok"): 32, faultQueueDepthSeries: 0})
	p.term()
}

// TestRelayEndpointDownThenUp delivers events queued while the endpoint
// refused connections once it listens, then checks the backoff between
// attempts of events an endpoint answers 503 for a while.
func TestRelayEndpointDownThenUp(t *testing.T) {
	hook := newFaultHook(t)
	port := freePort(t)
	s := newFaultSetup(t, faultConfig{hookURL: "http://127.0.0.1:" + port + "/meta/webhook"})
	p := startFaultProxy(t, s)

	down := time.Now()
	gsIDs, keys := faultKeys("down", 10)
	for _, id := range gsIDs {
		p.postStatus(id, "sent")
	}
	// The endpoint stays down through several backoff rounds: 40 refused
	// attempts, four per event on average (counted, not timed, so a slow
	// machine cannot shorten the outage).
	faultWait(t, 20*time.Second, "40 refused attempts", func() bool {
		return p.metrics()[faultDeliveries("error")] >= 40
	})
	refused := p.metrics()[faultDeliveries("error")]

	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		t.Fatalf("listening on the webhook's port: %v", err)
	}
	up := time.Now()
	hook.serveOn(t, ln)
	faultWait(t, 10*time.Second, "the 10 events after the endpoint came up", func() bool { return hook.allOK(keys) })
	t.Logf("endpoint down %s: %v refused attempts; all 10 delivered %s after it came up",
		up.Sub(down).Round(time.Millisecond), refused, time.Since(up).Round(time.Millisecond))
	for _, k := range keys {
		if all, ok := hook.count(k); all != 1 || ok != 1 {
			t.Errorf("%s: %d requests, %d answered 200; want exactly 1", k, all, ok)
		}
	}

	// Variant: the endpoint answers 503 for 1.5s.
	recoverAt := time.Now().Add(1500 * time.Millisecond)
	hook.setAnswer(func(*http.Request, string, int) int {
		if time.Now().Before(recoverAt) {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	gsIDs, keys = faultKeys("flaky", 5)
	for _, id := range gsIDs {
		p.postStatus(id, "sent")
	}
	faultWait(t, 10*time.Second, "the 5 events after the endpoint recovered", func() bool { return hook.allOK(keys) })
	const base, maxDelay, slack = 50 * time.Millisecond, 500 * time.Millisecond, 400 * time.Millisecond
	for i, k := range keys {
		hits := hook.snapshot(k)
		if len(hits) < 4 {
			t.Errorf("%s: only %d attempts in 1.5s of 503s", k, len(hits))
		}
		var gaps []string
		for n := 1; n < len(hits); n++ {
			if hits[n-1].status != http.StatusServiceUnavailable {
				t.Errorf("%s attempt %d answered %d before the last attempt", k, n, hits[n-1].status)
			}
			gap := hits[n].at.Sub(hits[n-1].at)
			// The delay after failed attempt n is d = base·2^(n-1), capped,
			// spread over [d/2, d].
			nominal := time.Duration(math.Min(float64(base)*math.Pow(2, float64(n-1)), float64(maxDelay)))
			if gap < nominal/2-time.Millisecond {
				t.Errorf("%s: %s between attempts %d and %d, below half the nominal %s", k, gap, n, n+1, nominal)
			}
			if gap > nominal+slack {
				t.Errorf("%s: %s between attempts %d and %d, far above the nominal %s", k, gap, n, n+1, nominal)
			}
			gaps = append(gaps, fmt.Sprintf("%s/%s", gap.Round(time.Millisecond), nominal))
		}
		if last := hits[len(hits)-1]; last.status != http.StatusOK || last.at.Before(recoverAt) {
			t.Errorf("%s: last attempt answered %d", k, last.status)
		}
		if i == 0 {
			t.Logf("%s: %d attempts, gaps (measured/nominal): %s", k, len(hits), strings.Join(gaps, " "))
		}
	}
	faultCheckRequests(t, hook)
	p.term()
}

// TestRelayTimeoutsAndServerErrors: the first attempt of every event times
// out, the second is answered 500, the third 200.
func TestRelayTimeoutsAndServerErrors(t *testing.T) {
	hook := newFaultHook(t)
	s := newFaultSetup(t, faultConfig{hookURL: hook.serve(t), attemptTimeout: 200 * time.Millisecond})
	hook.setAnswer(func(r *http.Request, key string, attempt int) int {
		switch attempt {
		case 1:
			select { // until the proxy gives up (or much longer than its timeout)
			case <-r.Context().Done():
			case <-hook.stop:
			case <-time.After(2 * time.Second):
			}
			return 0
		case 2:
			return http.StatusInternalServerError
		default:
			return http.StatusOK
		}
	})
	p := startFaultProxy(t, s)
	const events = 8
	gsIDs, keys := faultKeys("slow", events)
	for _, id := range gsIDs {
		p.postStatus(id, "sent")
	}
	faultWait(t, 15*time.Second, "every event answered 200", func() bool { return hook.allOK(keys) })
	p.waitMetrics(5*time.Second, map[string]float64{
		faultDeliveries("timeout"):  events,
		faultDeliveries("http_5xx"): events,
		faultDeliveries("ok"):       events,
		faultRetriesSeries:          2 * events,
		faultQueueDepthSeries:       0,
	})
	for _, k := range keys {
		hits := hook.snapshot(k)
		if len(hits) != 3 {
			t.Errorf("%s: %d attempts, want 3", k, len(hits))
			continue
		}
		if hits[0].status != 0 || hits[1].status != 500 || hits[2].status != 200 {
			t.Errorf("%s: answers %d %d %d", k, hits[0].status, hits[1].status, hits[2].status)
		}
		if gap := hits[1].at.Sub(hits[0].at); gap < 200*time.Millisecond {
			t.Errorf("%s: second attempt %s after the first, before the 200ms attempt timeout", k, gap)
		}
	}
	faultCheckRequests(t, hook)
	p.term()
}

// TestDeadLettersCLI: an event the endpoint refuses past the retry horizon
// becomes a dead letter; the CLI refuses to open the store while the proxy
// runs, lists and replays it once it is stopped, and the restarted proxy
// delivers it.
func TestDeadLettersCLI(t *testing.T) {
	hook := newFaultHook(t)
	hook.setAnswer(func(*http.Request, string, int) int { return http.StatusInternalServerError })
	// A horizon of a second leaves room for several 50ms-backoff attempts
	// even when the first one is slow to start on a loaded machine.
	s := newFaultSetup(t, faultConfig{hookURL: hook.serve(t), horizon: time.Second})
	p := startFaultProxy(t, s)
	p.postStatus("gs-dead-1", "sent")
	p.waitMetrics(5*time.Second, map[string]float64{faultDeadGaugeSeries: 1, faultDeadTotalSeries: 1, faultQueueDepthSeries: 0})
	attempts, _ := hook.count("gs-dead-1:sent")
	if attempts < 2 {
		t.Errorf("dead-lettered after %d attempts within a 1s horizon with a 50ms backoff", attempts)
	}

	// The running proxy holds the store.
	out, err := s.cli("deadletters", "list")
	if err == nil || !strings.Contains(out, "/admin/deadletters") || !strings.Contains(out, "locked") {
		t.Errorf("deadletters list while the proxy runs: %v\n%s", err, out)
	}
	p.term()

	out, err = s.cli("deadletters", "list")
	if err != nil {
		t.Fatalf("deadletters list: %v\n%s", err, out)
	}
	line := regexp.MustCompile(`(?m)^(\d+)\t` + faultTenant + `\t\S+\tstatus:gs-dead-1:sent\tattempts=(\d+)\tHTTP 500$`).FindStringSubmatch(out)
	if line == nil || !strings.Contains(out, "\n1 dead letter(s)\n") {
		t.Fatalf("deadletters list:\n%s", out)
	}
	if line[2] != strconv.Itoa(attempts) {
		t.Errorf("listed attempts=%s, the endpoint saw %d", line[2], attempts)
	}
	out, err = s.cli("deadletters", "replay")
	if err != nil || !strings.Contains(out, "1 dead letter(s) queued for delivery") {
		t.Fatalf("deadletters replay: %v\n%s", err, out)
	}
	if out, err = s.cli("deadletters", "list"); err != nil || !strings.Contains(out, "0 dead letter(s)") {
		t.Errorf("deadletters list after replay: %v\n%s", err, out)
	}

	hook.setAnswer(func(*http.Request, string, int) int { return http.StatusOK })
	p.start()
	faultWait(t, 10*time.Second, "the replayed event to be delivered", func() bool {
		_, ok := hook.count("gs-dead-1:sent")
		return ok == 1
	})
	p.waitMetrics(5*time.Second, map[string]float64{faultDeadGaugeSeries: 0, faultQueueDepthSeries: 0, faultDeliveries("ok"): 1})
	if all, _ := hook.count("gs-dead-1:sent"); all != attempts+1 {
		t.Errorf("%d requests in all, want %d refused + 1", all, attempts)
	}
	faultCheckRequests(t, hook)
	p.term()
}

// TestIntakeDuplicateAcrossRestart: the dedup window is in the store, so a
// callback Gupshup sends again after a restart (clean or SIGKILL) is not
// delivered again.
func TestIntakeDuplicateAcrossRestart(t *testing.T) {
	hook := newFaultHook(t)
	s := newFaultSetup(t, faultConfig{hookURL: hook.serve(t)})
	p := startFaultProxy(t, s)
	p.postStatus("gs-dup-1", "sent")
	faultWait(t, 10*time.Second, "the first delivery", func() bool { _, ok := hook.count("gs-dup-1:sent"); return ok == 1 })

	for i, restart := range []func(){p.term, p.kill} {
		restart()
		p.start()
		p.postStatus("gs-dup-1", "sent")
		p.waitMetrics(5*time.Second, map[string]float64{faultDedupHitsSeries: 1, faultIntakeAcceptedSeries: 1})
		// A later status of the same message is no duplicate: once it is
		// delivered, a queued duplicate would have been delivered too
		// (events are leased in due order).
		status := []string{"delivered", "read"}[i]
		p.postStatus("gs-dup-1", status)
		faultWait(t, 10*time.Second, "the "+status+" status", func() bool { _, ok := hook.count("gs-dup-1:" + status); return ok == 1 })
		// An empty queue means every queued event was answered (an event
		// leaves the queue only after its POST): a duplicate that had been
		// queued would have reached the hook by now.
		p.waitMetrics(5*time.Second, map[string]float64{faultQueueDepthSeries: 0})
		if all, _ := hook.count("gs-dup-1:sent"); all != 1 {
			t.Fatalf("the duplicate callback was delivered again after restart %d: %d requests", i+1, all)
		}
	}
	if got := hook.totalOK(); got != 3 {
		t.Errorf("%d deliveries, want 3 (sent, delivered, read)", got)
	}
	faultCheckRequests(t, hook)
	p.term()
}

// TestRelayReplayedDeadLetterIsRetried replays a dead letter (through the
// admin API of the running proxy) to an endpoint that fails once more and
// then recovers: the replayed event must be retried, not dead-lettered again
// at its first failure.
func TestRelayReplayedDeadLetterIsRetried(t *testing.T) {
	const admin = "relay-fault-admin-token"
	hook := newFaultHook(t)
	hook.setAnswer(func(*http.Request, string, int) int { return http.StatusInternalServerError })
	s := newFaultSetup(t, faultConfig{hookURL: hook.serve(t), horizon: 300 * time.Millisecond, adminToken: admin})
	p := startFaultProxy(t, s)
	const key = "gs-replay-1:sent"
	p.postStatus("gs-replay-1", "sent")
	p.waitMetrics(5*time.Second, map[string]float64{faultDeadGaugeSeries: 1})
	before, _ := hook.count(key)
	// Replay once the horizon has passed since the event's creation (as
	// the relay recorded it), as an operator would (usually days later):
	// the event may have been dead-lettered up to a backoff before its
	// horizon ended.
	adminGet := func(path string) []byte {
		req, _ := http.NewRequest(http.MethodGet, s.base+path, nil)
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := faultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		return b
	}
	createdAt := gjson.GetBytes(adminGet("/admin/deadletters"), "data.0.created").Str
	created, err := time.Parse(time.RFC3339Nano, createdAt)
	if err != nil {
		t.Fatalf("dead letter created %q: %v", createdAt, err)
	}
	faultWait(t, 5*time.Second, "the horizon since the event's creation", func() bool {
		return time.Since(created) > 400*time.Millisecond
	})

	// After the replay: one more 503, then 200.
	hook.setAnswer(func(_ *http.Request, _ string, attempt int) int {
		if attempt == before+1 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	req, _ := http.NewRequest(http.MethodPost, s.base+"/admin/deadletters/replay", nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := faultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || gjson.GetBytes(b, "replayed").Int() != 1 {
		t.Fatalf("replay: %d %s", resp.StatusCode, b)
	}
	faultWait(t, 5*time.Second, "the replayed event to be delivered or dead-lettered again", func() bool {
		if _, ok := hook.count(key); ok == 1 {
			return true
		}
		all, _ := hook.count(key)
		return all > before && p.metrics()[faultDeadTotalSeries] == 2
	})
	all, ok := hook.count(key)
	if ok != 1 {
		t.Errorf("the replayed dead letter got %d attempt(s) after the replay and is a dead letter again "+
			"(waproxy_webhook_dead_letters_total 2): one failure after a replay ends it, because the retry "+
			"horizon counts from Created, which Replay keeps", all-before)
	}
	p.term()
}
