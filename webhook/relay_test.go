package webhook

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"waproxy/metrics"
	"waproxy/store"
	"waproxy/translate"
)

const (
	appA    = "app-a"
	secretA = "cb-secret-a"
	appSec  = "meta-app-secret"
)

// statusCallback is a v3 "sent" status as Gupshup posts it.
func statusCallback(gsID, status string) string {
	return `{"object":"whatsapp_business_account","gs_app_id":"app-a","entry":[{"id":"1111","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"999"},"statuses":[{"gs_id":"` + gsID + `","id":"wamid.` + gsID + `","recipient_id":"15551234567","status":"` + status + `","timestamp":"1710930461"}]}}]}]}`
}

// receiver is a tenant webhook endpoint on an in-process network that
// records what it gets and answers with whatever respond says.
type receiver struct {
	URL     string
	mu      sync.Mutex
	got     [][]byte
	headers []http.Header
	times   []time.Time
	respond func(n int, w http.ResponseWriter) // n = 1-based request number
	count   atomic.Int32
}

func newReceiver(nw *network, host string, respond func(n int, w http.ResponseWriter)) *receiver {
	rc := &receiver{respond: respond}
	rc.URL = nw.listen(host, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		n := int(rc.count.Add(1))
		rc.mu.Lock()
		rc.got = append(rc.got, body)
		rc.headers = append(rc.headers, r.Header.Clone())
		rc.times = append(rc.times, time.Now())
		rc.mu.Unlock()
		if rc.respond != nil {
			rc.respond(n, w)
		}
	})) + "/hook"
	return rc
}

func (rc *receiver) bodies() [][]byte {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([][]byte(nil), rc.got...)
}

type fixture struct {
	relay *Relay
	q     *store.Bolt
}

// newRelay builds a relay whose deliveries go over nw (nil: the default
// client, for tests that never deliver).
func newRelay(t *testing.T, nw *network, targets []Target, tweak func(*Options)) *fixture {
	t.Helper()
	q, err := store.Open(filepath.Join(t.TempDir(), "q.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close() })
	opt := Options{
		Queue:   q,
		Targets: targets,
		Sources: []Source{
			{AppID: appA, Tenant: "a", Secret: secretA, Phone: translate.PhoneMeta{PhoneNumberID: "100000000000001"}},
			{AppID: "app-b", Tenant: "b", Secret: "cb-secret-b", Phone: translate.PhoneMeta{PhoneNumberID: "100000000000002"}},
		},
		Translate:    translate.WebhookOptions{StatusIDFromGsID: true},
		BackoffBase:  10 * time.Millisecond,
		BackoffMax:   40 * time.Millisecond,
		PollInterval: 5 * time.Millisecond,
	}
	if nw != nil {
		opt.Client = nw.client()
	}
	if tweak != nil {
		tweak(&opt)
	}
	r, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = r.Stop(ctx)
	})
	return &fixture{relay: r, q: q}
}

// post sends a callback to the intake and returns the status code.
func (f *fixture) post(t *testing.T, app, secret, body string) int {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/gupshup/callbacks/"+app, strings.NewReader(body))
	req.RemoteAddr = "192.0.2.10:4000"
	if secret != "" {
		req.Header.Set("X-Waproxy-Secret", secret)
	}
	w := httptest.NewRecorder()
	f.relay.ServeIntake(w, req, app)
	if w.Body.Len() != 0 {
		t.Errorf("intake answered with a body %q; Gupshup wants an empty 2xx", w.Body.String())
	}
	return w.Code
}

func (f *fixture) pending(t *testing.T) int {
	t.Helper()
	st, err := f.q.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range st.Pending {
		n += v
	}
	return n
}

func TestIntakeAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		app        string
		secret     string
		body       string
		remote     string
		wantStatus int
		wantQueued int
	}{
		{"a valid status is stored before the 200", appA, secretA, statusCallback("gs-1", "sent"), "", 200, 1},
		{"an enqueued status is acknowledged and dropped", appA, secretA, statusCallback("gs-1", "enqueued"), "", 200, 0},
		{"unknown app is 401 like a wrong secret", "app-x", secretA, statusCallback("gs-1", "sent"), "", 401, 0},
		{"an app whose tenant has no webhook is unknown", "app-b", "cb-secret-b", statusCallback("gs-1", "sent"), "", 401, 0},
		{"wrong secret is 401", appA, "nope", statusCallback("gs-1", "sent"), "", 401, 0},
		{"missing secret is 401", appA, "", statusCallback("gs-1", "sent"), "", 401, 0},
		{"another app's secret is 401", appA, "cb-secret-b", statusCallback("gs-1", "sent"), "", 401, 0},
		{"malformed JSON is 400 and not queued", appA, secretA, `{"object":`, "", 400, 0},
		{"valid JSON of an unknown kind is acknowledged", appA, secretA, `{"ping":true}`, "", 200, 0},
		{"a v2 system event is acknowledged", appA, secretA, `{"app":"A","timestamp":1716900845926,"version":2,"type":"system-event","payload":{"type":"partner-app-live"}}`, "", 200, 0},
		{"a peer outside the allow-list is 403", appA, secretA, statusCallback("gs-1", "sent"), "203.0.113.9:1", 403, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newRelay(t, nil, []Target{{Tenant: "a", URL: "http://127.0.0.1:1/hook", AppSecret: appSec}}, func(o *Options) {
				if tt.remote != "" {
					o.AllowIPs, _ = ParseAllowList([]string{"192.0.2.0/24"})
				}
			})
			req := httptest.NewRequest(http.MethodPost, "/gupshup/callbacks/"+tt.app, strings.NewReader(tt.body))
			req.RemoteAddr = "192.0.2.10:4000"
			if tt.remote != "" {
				req.RemoteAddr = tt.remote
			}
			if tt.secret != "" {
				req.Header.Set("X-Waproxy-Secret", tt.secret)
			}
			w := httptest.NewRecorder()
			f.relay.ServeIntake(w, req, tt.app)
			if w.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", w.Code, tt.wantStatus)
			}
			if w.Body.Len() != 0 {
				t.Errorf("body = %q, want none", w.Body.String())
			}
			if got := f.pending(t); got != tt.wantQueued {
				t.Errorf("queued = %d, want %d", got, tt.wantQueued)
			}
		})
	}
}

func TestIntakeRefusesOversizedBodies(t *testing.T) {
	t.Parallel()
	f := newRelay(t, nil, []Target{{Tenant: "a", URL: "http://127.0.0.1:1/hook", AppSecret: appSec}}, func(o *Options) { o.MaxBodyBytes = 64 })
	if got := f.post(t, appA, secretA, statusCallback("gs-1", "sent")); got != http.StatusRequestEntityTooLarge {
		t.Errorf("status = %d, want 413", got)
	}
}

// TestIntakeDoesNotRevealApps pins that a caller without an app's secret
// cannot tell a configured app from one that is not: every probe gets the
// same answer (status, headers, body) for both, while the metric keeps the
// cases apart. Only the app's secret gets an answer of its own.
func TestIntakeDoesNotRevealApps(t *testing.T) {
	t.Parallel()
	type answer struct {
		status int
		header http.Header
		body   string
	}
	m := metrics.New()
	f := newRelay(t, nil, []Target{{Tenant: "a", URL: "http://127.0.0.1:1/hook", AppSecret: appSec}}, func(o *Options) { o.Metrics = m })
	serve := func(method, app string, secret *string) answer {
		var body io.Reader
		if method == http.MethodPost {
			body = strings.NewReader(statusCallback("gs-1", "sent"))
		}
		req := httptest.NewRequest(method, "/gupshup/callbacks/"+app, body)
		if secret != nil {
			req.Header.Set("X-Waproxy-Secret", *secret)
		}
		w := httptest.NewRecorder()
		f.relay.ServeIntake(w, req, app)
		return answer{w.Code, w.Header(), w.Body.String()}
	}
	none, wrong, other := (*string)(nil), ptr("nope"), ptr("cb-secret-b")
	tests := []struct {
		name   string
		method string
		secret *string
		want   int // for the configured app-a and the unknown app-x alike
	}{
		{"a reachability check without the secret header", http.MethodGet, none, 200},
		{"a HEAD reachability check", http.MethodHead, none, 200},
		{"a check with a wrong secret", http.MethodGet, wrong, 401},
		{"a HEAD check with another app's secret", http.MethodHead, other, 401},
		{"a callback without secret", http.MethodPost, none, 401},
		{"a callback with a wrong secret", http.MethodPost, wrong, 401},
		{"a callback with an empty secret", http.MethodPost, ptr(""), 401},
	}
	for _, tt := range tests {
		known, unknown := serve(tt.method, appA, tt.secret), serve(tt.method, "app-x", tt.secret)
		if known.status != tt.want || unknown.status != tt.want || known.body != "" || unknown.body != "" ||
			!reflect.DeepEqual(known.header, unknown.header) {
			t.Errorf("%s: configured app %+v, unknown app %+v; want both HTTP %d with no body", tt.name, known, unknown, tt.want)
		}
	}
	// The secret itself is the only way to learn the app is configured.
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		if a := serve(method, appA, ptr(secretA)); a.status != 200 {
			t.Errorf("%s with app-a's secret: HTTP %d, want 200", method, a.status)
		}
		if a := serve(method, "app-x", ptr(secretA)); a.status != 401 {
			t.Errorf("%s of an unknown app with a secret: HTTP %d, want 401", method, a.status)
		}
	}
	s := scrape(t, m)
	for result, want := range map[string]string{"check": "4", "unknown_app": "9", "unauthorized": "5"} {
		if line := `waproxy_webhook_intake_total{result="` + result + `"} ` + want; !strings.Contains(s, line) {
			t.Errorf("want %s in\n%s", line, grepLines(s, "waproxy_webhook_intake_total"))
		}
	}
}

func ptr(s string) *string { return &s }

func TestBackoffAndRetryAfterParsing(t *testing.T) {
	t.Parallel()
	r := &Relay{opt: Options{BackoffBase: time.Second, BackoffMax: time.Minute, Jitter: func() float64 { return 1 }}}
	for _, tt := range []struct {
		attempt int
		want    time.Duration
	}{
		{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {7, time.Minute}, {500, time.Minute},
	} {
		if got := r.backoff(tt.attempt); got != tt.want {
			t.Errorf("backoff(%d) with full jitter = %v, want %v", tt.attempt, got, tt.want)
		}
	}
	r.opt.Jitter = func() float64 { return 0 }
	if got := r.backoff(2); got != time.Second {
		t.Errorf("backoff(2) with no jitter = %v, want the lower half bound 1s", got)
	}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		header string
		want   time.Duration
	}{
		{"", 0}, {"30", 30 * time.Second}, {"-5", 0}, {"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
	} {
		if got := retryAfter(tt.header, now); got != tt.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tt.header, got, tt.want)
		}
	}
}

func TestVerifyEndpoint(t *testing.T) {
	t.Parallel()
	echo := func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("hub.mode") == "subscribe" && q.Get("hub.verify_token") == "vt" {
			_, _ = io.WriteString(w, q.Get("hub.challenge"))
			return
		}
		w.WriteHeader(http.StatusForbidden)
	}
	good := httptest.NewServer(http.HandlerFunc(echo))
	defer good.Close()
	wrongEcho := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	defer wrongEcho.Close()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closedURL := "http://" + ln.Addr().String() + "/hook"
	ln.Close()
	tests := []struct {
		name, url, token, wantErr string
	}{
		{"echoes the challenge", good.URL + "/hook?x=1", "vt", ""},
		{"wrong token is refused", good.URL, "other", "HTTP 403"},
		{"an answer without the challenge", wrongEcho.URL, "vt", "did not echo"},
		{"nothing listening", closedURL, "vt", "no answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyEndpoint(context.Background(), nil, tt.url, tt.token, 2*time.Second)
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("err = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
	f := newRelay(t, nil, []Target{{Tenant: "a", URL: good.URL, AppSecret: appSec, VerifyToken: "vt"}}, nil)
	if st := f.relay.VerifyStatus()["a"]; st != "unverified" {
		t.Errorf("before Verify: %q", st)
	}
	res := f.relay.Verify(context.Background())
	if len(res) != 1 || !res[0].OK || f.relay.VerifyStatus()["a"] != "verified" {
		t.Errorf("Verify = %+v, status %v", res, f.relay.VerifyStatus())
	}
}
