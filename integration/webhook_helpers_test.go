package integration

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"waproxy/webhook"
)

// pollUntil polls cond every few milliseconds until it holds, failing the
// test with what (and the state describe returns) after timeout.
func pollUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !eventually(timeout, 5*time.Millisecond, cond) {
		t.Fatalf("timed out after %s waiting for %s", timeout, what)
	}
}

// nodeReceiver is integration/sdk/webhook-receiver.mjs running as a
// tenant's webhook endpoint: every POST checked by three Meta SDKs.
type nodeReceiver struct {
	url    string
	stderr *syncBuffer

	mu    sync.Mutex
	lines []gjson.Result
}

// startNodeReceiver starts the Node receiver with the app secret (and
// verify token) and waits until it listens. It is stopped with SIGTERM when
// the test ends, its stderr logged if the test failed; start it before
// newWorld so it outlives the proxy.
func startNodeReceiver(t *testing.T, appSecret, verifyToken string) *nodeReceiver {
	t.Helper()
	node := nodeForSDKs(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	rc := &nodeReceiver{stderr: &syncBuffer{}}
	cmd := exec.Command(node, "webhook-receiver.mjs")
	cmd.Dir = "sdk"
	cmd.Env = append(os.Environ(), "APP_SECRET="+appSecret, "VERIFY_TOKEN="+verifyToken, "PORT=0")
	cmd.Stdout, cmd.Stderr = pw, rc.stderr
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		t.Fatal(err)
	}
	pw.Close() // the child holds its own copy
	port := make(chan string, 1)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		defer pr.Close()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		first := true
		for sc.Scan() {
			line := gjson.Parse(sc.Text())
			if first {
				first = false
				port <- line.Get("listening").String()
				continue
			}
			rc.mu.Lock()
			rc.lines = append(rc.lines, line)
			rc.mu.Unlock()
		}
		if first {
			port <- ""
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("webhook-receiver.mjs exited with %v", err)
			}
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("webhook-receiver.mjs ignored SIGTERM")
		}
		<-readDone
		if t.Failed() {
			t.Logf("receiver stderr:\n%s", rc.stderr.String())
		}
	})
	select {
	case p := <-port:
		if p == "" || p == "0" {
			t.Fatal("webhook-receiver.mjs did not start")
		}
		rc.url = "http://127.0.0.1:" + p + "/webhook"
	case <-time.After(20 * time.Second):
		t.Fatal("webhook-receiver.mjs did not report its port")
	}
	return rc
}

// posts returns the receiver's lines for POSTs, in arrival order.
func (rc *nodeReceiver) posts() []gjson.Result { return rc.linesWith("kapso") }

// verifies returns the receiver's lines for GET handshakes.
func (rc *nodeReceiver) verifies() []gjson.Result { return rc.linesWith("verify") }

// linesWith returns the receiver's lines that have the member, in arrival
// order.
func (rc *nodeReceiver) linesWith(member string) []gjson.Result {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []gjson.Result
	for _, l := range rc.lines {
		if l.Get(member).Exists() {
			out = append(out, l)
		}
	}
	return out
}

// assertSDKsAccepted checks a receiver line for a POST: every named check
// true, no error from whatsapp-api-js or great.
func assertSDKsAccepted(t *testing.T, p gjson.Result, checks ...string) {
	t.Helper()
	for _, check := range checks {
		if p.Get(check).Type != gjson.True {
			t.Errorf("%s is %s: %s", check, p.Get(check).Raw, p.Raw)
		}
	}
	if p.Get("wajs_error").Type != gjson.Null || p.Get("great_error").Type != gjson.Null {
		t.Errorf("SDK error: wajs %s great %s", p.Get("wajs_error").Raw, p.Get("great_error").Raw)
	}
}

// delivery is one POST a goReceiver got.
type delivery struct {
	body   []byte
	header http.Header
	sigOK  bool // X-Hub-Signature-256 is the HMAC of body with the app secret
	status int  // what it was answered
}

// ok reports whether the delivery was answered 2xx.
func (d delivery) ok() bool { return d.status/100 == 2 }

func (d delivery) json(path string) gjson.Result { return gjson.GetBytes(d.body, path) }

// goReceiver is a tenant webhook in Go: it records every POST, checks its
// signature and answers with the status set (200 by default); GETs run
// Meta's handshake against verifyToken.
type goReceiver struct {
	*httptest.Server
	appSecret   string
	verifyToken string
	answer      atomic.Int32
	// failNext is how many of the next POSTs are answered 503 whatever
	// answer says.
	failNext atomic.Int32

	mu   sync.Mutex
	got  []delivery
	gets []string // raw queries of GETs
}

func newGoReceiver(t *testing.T, appSecret, verifyToken string) *goReceiver {
	t.Helper()
	rc := &goReceiver{appSecret: appSecret, verifyToken: verifyToken}
	rc.answer.Store(http.StatusOK)
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *goReceiver) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		q := r.URL.Query()
		rc.mu.Lock()
		rc.gets = append(rc.gets, r.URL.RawQuery)
		rc.mu.Unlock()
		if q.Get("hub.mode") == "subscribe" && rc.verifyToken != "" && q.Get("hub.verify_token") == rc.verifyToken {
			_, _ = io.WriteString(w, q.Get("hub.challenge"))
			return
		}
		w.WriteHeader(http.StatusForbidden)
		return
	}
	body, _ := io.ReadAll(r.Body)
	mac := hmac.New(sha256.New, []byte(rc.appSecret))
	mac.Write(body)
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	d := delivery{body: body, header: r.Header.Clone(), status: int(rc.answer.Load()),
		sigOK: hmac.Equal([]byte(r.Header.Get("X-Hub-Signature-256")), []byte(want))}
	for n := rc.failNext.Load(); n > 0; n = rc.failNext.Load() {
		if rc.failNext.CompareAndSwap(n, n-1) {
			d.status = http.StatusServiceUnavailable
			break
		}
	}
	rc.mu.Lock()
	rc.got = append(rc.got, d)
	rc.mu.Unlock()
	w.WriteHeader(d.status)
}

// all returns every POST received, in arrival order.
func (rc *goReceiver) all() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivery(nil), rc.got...)
}

// delivered returns the POSTs answered 2xx, in arrival order.
func (rc *goReceiver) delivered() []delivery {
	var out []delivery
	for _, d := range rc.all() {
		if d.ok() {
			out = append(out, d)
		}
	}
	return out
}

// statusKey names a status delivery "id/status" ("" when not a status).
func statusKey(body []byte) string {
	st := gjson.GetBytes(body, "entry.0.changes.0.value.statuses.0")
	if !st.Exists() {
		return ""
	}
	return st.Get("id").Str + "/" + st.Get("status").Str
}

// metric sums the samples of a Prometheus metric on the proxy's /metrics
// whose labels include every name="value" pair given.
func (w *world) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	a := w.call(t, http.MethodGet, "/metrics", "", "", nil)
	if a.status != http.StatusOK {
		t.Fatalf("/metrics: HTTP %d", a.status)
	}
	var sum float64
	sc := bufio.NewScanner(bytes.NewReader(a.body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest != "" && rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		sp := strings.LastIndexByte(rest, ' ')
		if sp < 0 {
			continue
		}
		match := true
		for _, l := range labels {
			if !strings.Contains(rest[:sp], l) {
				match = false
			}
		}
		if !match {
			continue
		}
		v, err := strconv.ParseFloat(rest[sp+1:], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		sum += v
	}
	return sum
}

// pending is the number of webhook events waiting in the relay's queue.
func (w *world) pending(t *testing.T) int {
	t.Helper()
	st, err := w.app.Queue.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range st.Pending {
		n += p
	}
	return n
}

// intakePath is the path Gupshup posts an app's callbacks to.
func intakePath(app string) string { return "/gupshup/callbacks/" + app }

// intake calls the proxy's callback intake over its socket, with the secret
// header when secret is not empty.
func (w *world) intake(t *testing.T, method, app, secret string, body []byte) answer {
	t.Helper()
	req, err := http.NewRequest(method, w.proxy.URL+intakePath(app), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set(w.cfg.Webhooks.SecretHeader, secret)
	}
	return roundTrip(t, req)
}

// v3StatusCallback is a Gupshup v3 status callback for app A as the
// simulator (and Gupshup) posts it: Gupshup's own phone_number_id and WABA
// id, gs_id next to the wamid.
func (w *world) v3StatusCallback(gsID, wamid, status string, ts int64) []byte {
	app, _ := w.sim.App(appA)
	return fmt.Appendf(nil, `{"object":"whatsapp_business_account","gs_app_id":%q,"entry":[{"id":%q,"changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":%q,"phone_number_id":%q},"statuses":[{"gs_id":%q,"id":%q,"recipient_id":"15551234567","status":%q,"timestamp":"%d"}]}}]}]}`,
		appA, app.WABAID, app.DisplayPhoneNumber, app.PhoneNumberID, gsID, wamid, status, ts)
}

// callbackURL is the intake URL of an app on this world's proxy.
func (w *world) callbackURL(app string) string { return webhook.CallbackURL(w.proxy.URL, app) }
