package gupshupsim

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image/jpeg"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

// received is one callback as a receiver saw it.
type received struct {
	path   string
	header http.Header
	body   []byte
}

// receiver is a callback endpoint over a real socket. It answers the queued
// statuses in order, then 200.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	got     []received
	answers []int
	delay   time.Duration // stall this long before answering
	hold    chan struct{} // if set before the first callback, answers wait until it is closed
}

func newReceiver(t *testing.T, answers ...int) *receiver {
	t.Helper()
	rc := &receiver{answers: answers}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{path: r.URL.Path, header: r.Header.Clone(), body: body})
		status := http.StatusOK
		if len(rc.answers) > 0 {
			status, rc.answers = rc.answers[0], rc.answers[1:]
		}
		delay, hold := rc.delay, rc.hold
		rc.mu.Unlock()
		if hold != nil {
			select {
			case <-hold:
			case <-r.Context().Done():
				return
			}
		}
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) all() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// wait returns the callbacks once at least n arrived (failing after 10s).
func (rc *receiver) wait(t *testing.T, n int) []received {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d callbacks at %s", n, rc.URL), func() bool { return len(rc.all()) >= n })
	return rc.all()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// quiet waits until sim has ended every callback it started (so nothing
// more can arrive from what happened so far) and asserts that the receiver
// got exactly n.
func (rc *receiver) quiet(t *testing.T, sim *Sim, n int) {
	t.Helper()
	waitCallbacks(t, sim)
	if got := rc.all(); len(got) != n {
		t.Fatalf("receiver got %d callbacks, want %d", len(got), n)
	}
}

// waitCallbacks waits until sim has ended every callback it started.
func waitCallbacks(t *testing.T, sim *Sim) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sim.WaitCallbacks(ctx); err != nil {
		t.Fatal(err)
	}
}

func fastOptions() Options {
	o := testOptions()
	o.CallbackInterval = 5 * time.Millisecond
	o.CallbackRetryDelay = 10 * time.Millisecond
	o.CallbackTimeout = 10 * time.Second // bounds only a stuck attempt
	return o
}

// startCallbackSim starts a Sim with a fixed clock, closed at cleanup.
func startCallbackSim(t *testing.T, opts Options) (*Sim, *httptest.Server, *fakeClock) {
	t.Helper()
	sim, srv, clock := startSimWithClock(t, opts)
	t.Cleanup(sim.Close)
	return sim, srv, clock
}

// send makes a v3 send to `to` of the given type and returns the Gupshup id.
func send(t *testing.T, base, to, typ string) string {
	t.Helper()
	obj := `{"body":"hi"}`
	if typ == "template" {
		obj = `{"name":"hello","language":{"code":"en"}}`
	}
	r := doRequest(t, nil, "POST", sendURL(base, testAppID),
		map[string]string{"Authorization": testAppToken, "Content-Type": "application/json"},
		fmt.Sprintf(`{"messaging_product":"whatsapp","to":%q,"type":%q,%q:%s}`, to, typ, typ, obj))
	r.check(t, 200, "")
	id := gjson.GetBytes(r.body, "messages.0.id").String()
	if id == "" {
		t.Fatalf("send answer %s", r.body)
	}
	return id
}

var wamidRE = regexp.MustCompile(`^wamid\.[A-Za-z0-9+/]+=*$`)

func statusOf(body []byte) string {
	if s := gjson.GetBytes(body, "entry.0.changes.0.value.statuses.0.status"); s.Exists() {
		return s.String()
	}
	return gjson.GetBytes(body, "payload.type").String()
}

func statuses(got []received) []string {
	out := []string{}
	for _, r := range got {
		out = append(out, statusOf(r.body))
	}
	return out
}

// compactJSON re-encodes want with the placeholders replaced.
func expand(t *testing.T, want string, repl ...string) string {
	t.Helper()
	s := strings.NewReplacer(repl...).Replace(want)
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatalf("bad expected JSON %s: %v", s, err)
	}
	return b.String()
}

func TestStatusCallbacksV3(t *testing.T) {
	sim, srv, clock := startCallbackSim(t, fastOptions())
	rc := newReceiver(t)
	const meta = `{"headers":{"X-Waproxy-Secret":"s3cr3t","X-Count":7}}`
	sub := createSub(t, srv.URL, "url", rc.URL+"/v3", "tag", "v3", "version", "3",
		"modes", "ENQUEUED,SENT,DELIVERED,READ,FAILED,MESSAGE", "meta", meta)
	app, _ := sim.App(testAppID)

	gsID := send(t, srv.URL, "+91 98765 43210", "text")
	got := rc.wait(t, 3)
	rc.quiet(t, sim, 3) // read is not in the default sequence
	if s := statuses(got); !reflect.DeepEqual(s, []string{"enqueued", "sent", "delivered"}) {
		t.Fatalf("statuses = %v", s)
	}
	wamid := sim.WAMID(gsID)
	if !wamidRE.MatchString(wamid) {
		t.Fatalf("WAMID = %q", wamid)
	}
	base := clock.Now()
	for i, r := range got {
		if r.path != "/v3" {
			t.Errorf("path = %q", r.path)
		}
		h := r.header
		if h.Get("Content-Type") != "application/json" || h.Get("User-Agent") != "Gupshup-Callback-Simulator" ||
			h.Get("X-Waproxy-Secret") != "s3cr3t" || h.Get("X-Count") != "7" {
			t.Errorf("callback %d headers = %v", i, h)
		}
		b := r.body
		st := gjson.GetBytes(b, "entry.0.changes.0.value.statuses.0")
		if gjson.GetBytes(b, "object").String() != "whatsapp_business_account" || gjson.GetBytes(b, "gs_app_id").String() != testAppID ||
			gjson.GetBytes(b, "entry.0.changes.0.field").String() != "messages" ||
			gjson.GetBytes(b, "entry.0.changes.0.value.messaging_product").String() != "whatsapp" {
			t.Errorf("callback %d envelope: %s", i, b)
		}
		if st.Get("gs_id").String() != gsID || st.Get("id").String() != wamid || st.Get("recipient_id").String() != "919876543210" {
			t.Errorf("callback %d ids: %s (gs_id want %s, id want %s)", i, st.Raw, gsID, wamid)
		}
		at := base.Add(time.Duration(i+1) * 5 * time.Millisecond)
		ts := st.Get("timestamp")
		if i == 0 {
			if ts.Type != gjson.Number || ts.Int() != at.UnixMilli() {
				t.Errorf("enqueued timestamp = %s, want number %d", ts.Raw, at.UnixMilli())
			}
			if gjson.GetBytes(b, "entry.0.id").Exists() || gjson.GetBytes(b, "entry.0.changes.0.value.metadata").Exists() || st.Get("conversation").Exists() {
				t.Errorf("enqueued has entry id, metadata or conversation: %s", b)
			}
			continue
		}
		if ts.Type != gjson.String || ts.String() != fmt.Sprint(at.Unix()) {
			t.Errorf("callback %d timestamp = %s, want string %d", i, ts.Raw, at.Unix())
		}
		if gjson.GetBytes(b, "entry.0.id").String() != app.WABAID ||
			gjson.GetBytes(b, "entry.0.changes.0.value.metadata.phone_number_id").String() != app.PhoneNumberID ||
			gjson.GetBytes(b, "entry.0.changes.0.value.metadata.display_phone_number").String() != app.DisplayPhoneNumber {
			t.Errorf("callback %d entry/metadata: %s", i, b)
		}
	}
	// The sent status, byte for byte.
	want := expand(t, `{"object":"whatsapp_business_account","gs_app_id":"APP","entry":[{"id":"WABA","changes":[{"field":"messages",
		"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"DISPLAY","phone_number_id":"PNID"},
		"statuses":[{"gs_id":"GSID","id":"WAMID","recipient_id":"919876543210","status":"sent","timestamp":"TS",
		"conversation":{"id":"CONV","expiration_timestamp":"EXP","origin":{"type":"service"}},
		"pricing":{"billable":false,"category":"service","pricing_model":"PMP","type":"free_customer_service"}}]}}]}]}`,
		"APP", testAppID, "WABA", app.WABAID, "DISPLAY", app.DisplayPhoneNumber, "PNID", app.PhoneNumberID, "GSID", gsID, "WAMID", wamid,
		"TS", fmt.Sprint(base.Add(10*time.Millisecond).Unix()), "EXP", fmt.Sprint(base.Add(24*time.Hour).Unix()),
		"CONV", gjson.GetBytes(got[1].body, "entry.0.changes.0.value.statuses.0.conversation.id").String())
	if string(got[1].body) != want {
		t.Errorf("sent body\n got %s\nwant %s", got[1].body, want)
	}
	if c1, c2 := gjson.GetBytes(got[1].body, "entry.0.changes.0.value.statuses.0.conversation.id").String(),
		gjson.GetBytes(got[2].body, "entry.0.changes.0.value.statuses.0.conversation.id").String(); len(c1) != 32 || c1 != c2 {
		t.Errorf("conversation ids %q %q", c1, c2)
	}

	// Every attempt is recorded (after its answer was read).
	waitFor(t, "3 records", func() bool { return len(sim.Callbacks()) >= 3 })
	cbs := sim.Callbacks()
	if len(cbs) != 3 {
		t.Fatalf("Callbacks = %d", len(cbs))
	}
	for i, c := range cbs {
		if c.SubscriptionID != sub.ID || c.URL != rc.URL+"/v3" || c.Version != 3 || c.Status != 200 || c.Err != "" || !c.OK() ||
			!bytes.Equal(c.Body, got[i].body) || !c.At.Equal(base) {
			t.Errorf("Callbacks[%d] = %+v", i, c)
		}
	}
}

func TestStatusCallbacksV2(t *testing.T) {
	sim, srv, clock := startCallbackSim(t, fastOptions())
	rc := newReceiver(t)
	// A flat meta object is accepted too.
	createSub(t, srv.URL, "url", rc.URL, "tag", "v2", "version", "2", "modes", "ENQUEUED,SENT,DELIVERED,READ,FAILED",
		"meta", `{"Authorisation":"Bearer x.y","Ignored":{"a":1}}`)
	gsID := send(t, srv.URL, "919876543210", "template")
	got := rc.wait(t, 3)
	wamid := sim.WAMID(gsID)
	base := clock.Now()
	if s := statuses(got); !reflect.DeepEqual(s, []string{"enqueued", "sent", "delivered"}) {
		t.Fatalf("statuses = %v", s)
	}
	if h := got[0].header; h.Get("Authorisation") != "Bearer x.y" || h.Get("Ignored") != "" || h.Get("User-Agent") != CallbackUserAgent {
		t.Errorf("headers = %v", h)
	}
	wants := []string{
		`{"app":"TestApp","timestamp":TS1,"version":2,"type":"message-event","payload":{"id":"GSID","gsId":"GSID","type":"enqueued","destination":"919876543210","payload":{"type":"template","whatsappMessageId":"WAMID"}}}`,
		`{"app":"TestApp","timestamp":TS2,"version":2,"type":"message-event","payload":{"id":"WAMID","gsId":"GSID","type":"sent","destination":"919876543210","payload":{"ts":S2}}}`,
		`{"app":"TestApp","timestamp":TS3,"version":2,"type":"message-event","payload":{"id":"WAMID","gsId":"GSID","type":"delivered","destination":"919876543210","payload":{"ts":S3}}}`,
	}
	for i, w := range wants {
		var repl []string
		for j := 1; j <= 3; j++ {
			at := base.Add(time.Duration(j) * 5 * time.Millisecond)
			repl = append(repl, fmt.Sprint("TS", j), fmt.Sprint(at.UnixMilli()), fmt.Sprint("S", j), fmt.Sprint(at.Unix()))
		}
		repl = append(repl, "GSID", gsID, "WAMID", wamid)
		if want := expand(t, w, repl...); string(got[i].body) != want {
			t.Errorf("callback %d\n got %s\nwant %s", i, got[i].body, want)
		}
	}
}

func TestTemplatePricingAndStatusSequence(t *testing.T) {
	opts := fastOptions()
	opts.StatusSequence = []string{"sent", "Delivered", "read"}
	sim, srv, _ := startCallbackSim(t, opts)
	rc := newReceiver(t)
	createSub(t, srv.URL, "url", rc.URL, "tag", "v3", "version", "3", "modes", "ENQUEUED,SENT,DELIVERED,READ")
	gsID := send(t, srv.URL, "15550001111", "template")
	got := rc.wait(t, 3)
	rc.quiet(t, sim, 3)
	if s := statuses(got); !reflect.DeepEqual(s, []string{"sent", "delivered", "read"}) {
		t.Fatalf("statuses = %v", s)
	}
	st := gjson.GetBytes(got[0].body, "entry.0.changes.0.value.statuses.0")
	if st.Get("pricing").Raw != `{"billable":true,"category":"marketing","pricing_model":"PMP","type":"regular"}` ||
		st.Get("conversation.origin.type").String() != "marketing" {
		t.Errorf("template pricing: %s", st.Raw)
	}
	read := gjson.GetBytes(got[2].body, "entry.0.changes.0.value.statuses.0")
	if read.Get("conversation").Exists() || read.Get("pricing").Exists() || read.Get("gs_id").String() != gsID {
		t.Errorf("read status: %s", read.Raw)
	}
}

func TestNewPanicsOnUnknownStatus(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "bounced") {
			t.Errorf("recover() = %v", r)
		}
	}()
	New(Options{StatusSequence: []string{"sent", "bounced"}})
}

func TestModesFilterStatuses(t *testing.T) {
	sim, srv, _ := startCallbackSim(t, fastOptions())
	tests := []struct {
		modes  string
		active string
		want   []string
	}{
		{"ENQUEUED,SENT", "true", []string{"enqueued", "sent"}},
		{"DELIVERED", "true", []string{"delivered"}},
		{"SENT,READ", "true", []string{"sent"}},
		{"MESSAGE,ALL,OTHERS", "true", nil},       // no status mode: no statuses
		{"ENQUEUED,SENT,DELIVERED", "false", nil}, // inactive
	}
	rcs := make([]*receiver, len(tests))
	for i, tc := range tests {
		rcs[i] = newReceiver(t)
		createSub(t, srv.URL, "url", rcs[i].URL, "tag", fmt.Sprint("t", i), "version", fmt.Sprint(2+i%2), "modes", tc.modes, "active", tc.active)
	}
	send(t, srv.URL, "919876543210", "text")
	waitCallbacks(t, sim)
	for i, tc := range tests {
		if got := statuses(rcs[i].all()); len(got) != len(tc.want) || (len(got) > 0 && !reflect.DeepEqual(got, tc.want)) {
			t.Errorf("modes %s active %s: statuses %v, want %v", tc.modes, tc.active, got, tc.want)
		}
	}
}

func TestSubscriptionChangesApplyToPendingStatuses(t *testing.T) {
	sim, srv, _ := startCallbackSim(t, fastOptions())
	rc := newReceiver(t)
	rc.hold = make(chan struct{})
	sub := createSub(t, srv.URL, "url", rc.URL, "tag", "v3", "version", "3", "modes", "ENQUEUED,SENT,DELIVERED")
	send(t, srv.URL, "919876543210", "text")
	rc.wait(t, 1) // enqueued arrived; its answer is held, so sent is not due yet
	// Deactivated before sent is due: sent and delivered are dropped.
	doRequest(t, nil, "PUT", subURL(srv.URL, testAppID)+"/"+sub.ID, appAuth, formBody("active", "false")).check(t, 200, "")
	close(rc.hold)
	waitFor(t, "the enqueued attempt", func() bool { return len(sim.Callbacks()) == 1 })
	rc.quiet(t, sim, 1)
	if got := statuses(rc.all()); !reflect.DeepEqual(got, []string{"enqueued"}) {
		t.Errorf("statuses = %v", got)
	}
	if n := len(sim.Callbacks()); n != 1 {
		t.Errorf("Callbacks = %d", n)
	}
}

func TestCallbackRetry(t *testing.T) {
	sim, srv, _ := startCallbackSim(t, fastOptions())
	rc := newReceiver(t, 500, 503) // enqueued: 500, then 503, then 200
	createSub(t, srv.URL, "url", rc.URL, "tag", "v3", "version", "3", "modes", "ENQUEUED,SENT")
	send(t, srv.URL, "919876543210", "text")
	got := rc.wait(t, 4)
	rc.quiet(t, sim, 4)
	if s := statuses(got); !reflect.DeepEqual(s, []string{"enqueued", "enqueued", "enqueued", "sent"}) {
		t.Fatalf("statuses = %v", s)
	}
	if !bytes.Equal(got[0].body, got[2].body) {
		t.Error("a retry changed the body")
	}
	waitFor(t, "4 records", func() bool { return len(sim.Callbacks()) >= 4 })
	var codes []int
	for _, c := range sim.Callbacks() {
		codes = append(codes, c.Status)
	}
	if !reflect.DeepEqual(codes, []int{500, 503, 200, 200}) {
		t.Errorf("recorded statuses %v", codes)
	}
}

func TestCallbackRetriesExhaustedAndTimeout(t *testing.T) {
	tests := []struct {
		name     string
		retries  int
		answers  []int
		stall    bool // the receiver never answers
		attempts int
		errs     bool
	}{
		{"default three retries", 0, []int{500, 500, 500, 500, 500}, false, 4, false},
		{"one retry", 1, []int{502, 502, 502}, false, 2, false},
		{"no retries", -1, []int{500}, false, 1, false},
		{"3xx is a failure", -1, []int{302}, false, 1, false},
		{"timeout", 1, nil, true, 2, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := fastOptions()
			opts.StatusSequence = []string{"sent"}
			opts.CallbackRetries = tc.retries
			if tc.stall {
				opts.CallbackTimeout = 50 * time.Millisecond
			}
			sim, srv, _ := startCallbackSim(t, opts)
			rc := newReceiver(t, tc.answers...)
			if tc.stall {
				// Never released: each answer waits until the sim gives up.
				rc.hold = make(chan struct{})
			}
			createSub(t, srv.URL, "url", rc.URL, "tag", "v3", "version", "3", "modes", "SENT")
			send(t, srv.URL, "919876543210", "text")
			waitCallbacks(t, sim)
			cbs := sim.Callbacks()
			if len(cbs) != tc.attempts {
				t.Fatalf("attempts = %d, want %d", len(cbs), tc.attempts)
			}
			for _, c := range cbs {
				if c.OK() || (c.Err != "") != tc.errs || (tc.errs && c.Status != 0) {
					t.Errorf("attempt %+v", c)
				}
			}
		})
	}
}

func TestFailsLater(t *testing.T) {
	sim, srv, _ := startCallbackSim(t, fastOptions())
	v3 := newReceiver(t)
	v2 := newReceiver(t)
	createSub(t, srv.URL, "url", v3.URL, "tag", "v3", "version", "3", "modes", "ENQUEUED,SENT,DELIVERED,FAILED")
	createSub(t, srv.URL, "url", v2.URL, "tag", "v2", "version", "2", "modes", "ENQUEUED,SENT,DELIVERED,FAILED")
	gsID := send(t, srv.URL, "91987"+SuffixFailsLater, "text")
	g3, g2 := v3.wait(t, 2), v2.wait(t, 2)
	v3.quiet(t, sim, 2)
	v2.quiet(t, sim, 2)
	if s := statuses(g3); !reflect.DeepEqual(s, []string{"enqueued", "failed"}) {
		t.Fatalf("v3 statuses = %v", s)
	}
	if s := statuses(g2); !reflect.DeepEqual(s, []string{"enqueued", "failed"}) {
		t.Fatalf("v2 statuses = %v", s)
	}
	st := gjson.GetBytes(g3[1].body, "entry.0.changes.0.value.statuses.0")
	if st.Get("errors").Raw != `[{"code":131047,"title":"Re-engagement message","href":"https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}]` ||
		st.Get("gs_id").String() != gsID || st.Get("id").String() != sim.WAMID(gsID) || st.Get("pricing").Exists() {
		t.Errorf("v3 failed = %s", st.Raw)
	}
	p := gjson.GetBytes(g2[1].body, "payload")
	if p.Get("type").String() != "failed" || p.Get("id").String() != sim.WAMID(gsID) || p.Get("gsId").String() != gsID ||
		p.Get("payload.code").Int() != 131047 || p.Get("payload.reason").String() == "" {
		t.Errorf("v2 failed = %s", p.Raw)
	}
}

func TestMagicFailuresEmitNothing(t *testing.T) {
	sim, srv, _ := startCallbackSim(t, fastOptions())
	rc := newReceiver(t)
	createSub(t, srv.URL, "url", rc.URL, "tag", "v3", "version", "3", "modes", "ENQUEUED,SENT,DELIVERED,FAILED")
	r := doRequest(t, nil, "POST", sendURL(srv.URL, testAppID), map[string]string{"Authorization": testAppToken},
		`{"messaging_product":"whatsapp","to":"91`+SuffixNotOnWhatsApp+`","type":"text","text":{"body":"x"}}`)
	r.check(t, 400, "")
	rc.quiet(t, sim, 0)
	if len(sim.Callbacks()) != 0 {
		t.Error("callbacks recorded")
	}
}

func TestWAMID(t *testing.T) {
	sim, srv, _ := startCallbackSim(t, fastOptions())
	a, b := send(t, srv.URL, "919876543210", "text"), send(t, srv.URL, "919876543210", "text")
	wa, wb := sim.WAMID(a), sim.WAMID(b)
	if wa == "" || wa == wb || sim.WAMID(a) != wa || sim.WAMID("unknown") != "" {
		t.Fatalf("WAMIDs %q %q", wa, wb)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(wa, "wamid."))
	if err != nil || !bytes.Contains(raw, []byte("919876543210")) {
		t.Errorf("wamid %q decodes to %q, %v", wa, raw, err)
	}
	if !strings.HasPrefix(wa, "wamid.HBgM") { // like WhatsApp's for 12-digit numbers
		t.Errorf("wamid %q", wa)
	}
}

func TestAppPhoneFields(t *testing.T) {
	opts := testOptions()
	opts.Apps = append(opts.Apps, App{ID: "explicit", PhoneNumberID: "111", DisplayPhoneNumber: "15550001111", WABAID: "222"})
	s1, s2 := New(opts), New(opts)
	defer s1.Close()
	defer s2.Close()
	a1, ok1 := s1.App(testAppID)
	a2, _ := s2.App(testAppID)
	o, _ := s1.App(otherAppID)
	if !ok1 || a1 != a2 || a1.Token != testAppToken {
		t.Errorf("derived fields differ between sims: %+v %+v", a1, a2)
	}
	if !regexp.MustCompile(`^\d{15}$`).MatchString(a1.PhoneNumberID) || !regexp.MustCompile(`^\d{15}$`).MatchString(a1.WABAID) ||
		!regexp.MustCompile(`^91\d{10}$`).MatchString(a1.DisplayPhoneNumber) {
		t.Errorf("derived fields %+v", a1)
	}
	if o.PhoneNumberID == a1.PhoneNumberID || o.WABAID == a1.WABAID {
		t.Errorf("two apps share derived ids: %+v %+v", a1, o)
	}
	if e, _ := s1.App("explicit"); e.PhoneNumberID != "111" || e.DisplayPhoneNumber != "15550001111" || e.WABAID != "222" {
		t.Errorf("explicit fields %+v", e)
	}
	if _, ok := s1.App("nope"); ok {
		t.Error("unknown app found")
	}
}

func TestInboundV3(t *testing.T) {
	opts := fastOptions()
	sim, srv, clock := startCallbackSim(t, opts)
	rc := newReceiver(t)
	v2only := newReceiver(t)
	statusOnly := newReceiver(t)
	createSub(t, srv.URL, "url", rc.URL, "tag", "v3", "version", "3", "modes", "MESSAGE")
	createSub(t, srv.URL, "url", statusOnly.URL, "tag", "st", "version", "3", "modes", "SENT,DELIVERED")
	createSub(t, srv.URL, "url", v2only.URL, "tag", "v2", "version", "2", "modes", "ALL")
	app, _ := sim.App(testAppID)
	ts := fmt.Sprint(clock.Now().Unix())

	wamid, err := sim.Inbound(testAppID, Inbound{From: "+91 98765 43210", Name: "Asha", Text: "Hi & <bye>"})
	if err != nil {
		t.Fatal(err)
	}
	got := rc.wait(t, 1)
	want := expand(t, `{"object":"whatsapp_business_account","gs_app_id":"APP","entry":[{"id":"WABA","changes":[{"field":"messages",
		"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"DISPLAY","phone_number_id":"PNID"},
		"contacts":[{"profile":{"name":"Asha"},"wa_id":"919876543210"}],
		"messages":[{"from":"919876543210","id":"WAMID","timestamp":"TS","type":"text","text":{"body":"Hi & <bye>"}}]}}]}]}`,
		"APP", testAppID, "WABA", app.WABAID, "DISPLAY", app.DisplayPhoneNumber, "PNID", app.PhoneNumberID, "WAMID", wamid, "TS", ts)
	if string(got[0].body) != want {
		t.Errorf("inbound text\n got %s\nwant %s", got[0].body, want)
	}
	if !wamidRE.MatchString(wamid) {
		t.Errorf("wamid %q", wamid)
	}

	// A reply to a message the sim sent, of each type.
	gsID := send(t, srv.URL, "919876543210", "text")
	statusOnly.wait(t, 2)
	tests := []struct {
		in   Inbound
		msg  string // expected messages[0] without context, from, id, timestamp (keys sorted)
		path string
	}{
		{Inbound{From: "919876543210", Type: "button", Text: "Yes", Postback: "yes-1"}, `{"button":{"payload":"yes-1","text":"Yes"},"type":"button"}`, ""},
		{Inbound{From: "919876543210", Type: "button", Text: "No"}, `{"button":{"payload":"No","text":"No"},"type":"button"}`, ""},
		{Inbound{From: "919876543210", Type: "button_reply", Text: "Track", Postback: "track"}, `{"interactive":{"type":"button_reply","button_reply":{"id":"track","title":"Track"}},"type":"interactive"}`, ""},
		{Inbound{From: "919876543210", Type: "image", Text: "look"}, "", "image"},
	}
	for i, tc := range tests {
		tc.in.ContextGsID = gsID
		w, err := sim.Inbound(testAppID, tc.in)
		if err != nil {
			t.Fatal(err)
		}
		got := rc.wait(t, 2+i)
		m := gjson.GetBytes(got[1+i].body, "entry.0.changes.0.value.messages.0")
		if m.Get("id").String() != w || m.Get("from").String() != "919876543210" || m.Get("timestamp").String() != ts {
			t.Errorf("%d: message %s", i, m.Raw)
		}
		ctx := m.Get("context")
		if ctx.Get("gs_id").String() != gsID || ctx.Get("meta_msg_id").String() != sim.WAMID(gsID) ||
			ctx.Get("from").String() != app.DisplayPhoneNumber || len(ctx.Get("id").String()) != 22 {
			t.Errorf("%d: context %s", i, ctx.Raw)
		}
		if tc.msg != "" {
			var typed map[string]json.RawMessage
			json.Unmarshal([]byte(m.Raw), &typed)
			delete(typed, "context")
			delete(typed, "from")
			delete(typed, "id")
			delete(typed, "timestamp")
			b, _ := json.Marshal(typed)
			if want := expand(t, tc.msg); string(b) != want {
				t.Errorf("%d: message %s, want %s", i, b, want)
			}
			continue
		}
		img := m.Get("image")
		if m.Get("type").String() != "image" || img.Get("caption").String() != "look" || img.Get("mime_type").String() != "image/jpeg" ||
			!strings.HasPrefix(img.Get("url").String(), "https://filemanager.gupshup.io/wa/"+testAppID+"/wa/media/"+img.Get("id").String()+"?download=false") ||
			img.Get("sha256").String() == "" {
			t.Errorf("image %s", m.Raw)
		}
	}
	if n := len(statusOnly.all()); n != 2 {
		t.Errorf("status-only subscription got %d callbacks, want only the 2 statuses", n)
	}
	if n := len(v2only.wait(t, 5)); n != 5 {
		t.Errorf("v2 ALL subscription got %d", n)
	}
}

func TestInboundV2(t *testing.T) {
	sim, srv, clock := startCallbackSim(t, fastOptions())
	rc := newReceiver(t)
	createSub(t, srv.URL, "url", rc.URL, "tag", "v2", "version", "2", "modes", "MESSAGE")
	ms := fmt.Sprint(clock.Now().UnixMilli())
	gsID := send(t, srv.URL, "919876543210", "text")

	tests := []struct {
		in   Inbound
		want string
	}{
		{Inbound{From: "919876543210", Name: "Asha", Text: "Hi"},
			`{"app":"TestApp","timestamp":MS,"version":2,"type":"message","payload":{"id":"WAMID","source":"919876543210","type":"text","payload":{"text":"Hi"},"sender":{"phone":"919876543210","name":"Asha","country_code":"91","dial_code":"9876543210"}}}`},
		{Inbound{From: "15550001111", Type: "button", Text: "Yes", Postback: "hello", ContextGsID: "GSID"},
			`{"app":"TestApp","timestamp":MS,"version":2,"type":"message","payload":{"id":"WAMID","source":"15550001111","type":"quick_reply","payload":{"text":"Yes","type":"button","postbackText":"hello"},"sender":{"phone":"15550001111","name":"Sim User","country_code":"1","dial_code":"5550001111"},"context":{"id":"CTXWAMID","gsId":"GSID","forwarded":false,"frequently_forwarded":false}}}`},
		{Inbound{From: "447700900123", Name: "Bo", Type: "button_reply", Text: "Track", Postback: "track"},
			`{"app":"TestApp","timestamp":MS,"version":2,"type":"message","payload":{"id":"WAMID","source":"447700900123","type":"button_reply","payload":{"title":"Track","id":"track","postbackText":"track"},"sender":{"phone":"447700900123","name":"Bo","country_code":"44","dial_code":"7700900123"}}}`},
	}
	for i, tc := range tests {
		tc.in.ContextGsID = strings.ReplaceAll(tc.in.ContextGsID, "GSID", gsID)
		w, err := sim.Inbound(testAppID, tc.in)
		if err != nil {
			t.Fatal(err)
		}
		got := rc.wait(t, i+1)
		want := expand(t, tc.want, "MS", ms, "CTXWAMID", sim.WAMID(gsID), "WAMID", w, "GSID", gsID)
		if string(got[i].body) != want {
			t.Errorf("%d\n got %s\nwant %s", i, got[i].body, want)
		}
	}
	// Image: url, caption, contentType, expiry.
	if _, err := sim.Inbound(testAppID, Inbound{From: "919876543210", Type: "image"}); err != nil {
		t.Fatal(err)
	}
	p := gjson.GetBytes(rc.wait(t, 4)[3].body, "payload")
	if p.Get("type").String() != "image" || p.Get("payload.contentType").String() != "image/jpeg" ||
		!strings.Contains(p.Get("payload.url").String(), "/wa/media/") || p.Get("payload.urlExpiry").Int() <= clock.Now().UnixMilli() ||
		!p.Get("payload.caption").Exists() {
		t.Errorf("v2 image %s", p.Raw)
	}
}

func TestInboundMediaIsServed(t *testing.T) {
	sim := New(testOptions())
	t.Cleanup(sim.Close)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	sim.cb.mediaBase = srv.URL // what Options.MediaBaseURL sets
	rc := newReceiver(t)
	createSub(t, srv.URL, "url", rc.URL, "tag", "v3", "version", "3", "modes", "MESSAGE")
	if _, err := sim.Inbound(testAppID, Inbound{From: "919876543210", Type: "image"}); err != nil {
		t.Fatal(err)
	}
	img := gjson.GetBytes(rc.wait(t, 1)[0].body, "entry.0.changes.0.value.messages.0.image")
	res, err := http.Get(img.Get("url").String())
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("media answer %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if _, err := jpeg.Decode(res.Body); err != nil {
		t.Errorf("not a JPEG: %v", err)
	}
	if img.Get("sha256").String() != simJPEGSHA256() {
		t.Error("sha256 mismatch")
	}
	doRequest(t, nil, "GET", srv.URL+"/wa/"+testAppID+"/wa/media/123", nil, "").check(t, 404, errJSON("Not Found"))
}

func TestInboundErrors(t *testing.T) {
	sim := New(testOptions())
	defer sim.Close()
	tests := []struct {
		app  string
		in   Inbound
		want error
	}{
		{"nope", Inbound{From: "1", Text: "x"}, ErrUnknownApp},
		{testAppID, Inbound{From: "+", Text: "x"}, ErrInvalidInbound},
		{testAppID, Inbound{From: "1"}, ErrInvalidInbound},
		{testAppID, Inbound{From: "1", Type: "button"}, ErrInvalidInbound},
		{testAppID, Inbound{From: "1", Type: "button_reply"}, ErrInvalidInbound},
		{testAppID, Inbound{From: "1", Type: "video", Text: "x"}, ErrInvalidInbound},
	}
	for _, tc := range tests {
		if _, err := sim.Inbound(tc.app, tc.in); !errors.Is(err, tc.want) {
			t.Errorf("Inbound(%q, %+v) = %v, want %v", tc.app, tc.in, err, tc.want)
		}
	}
}

func TestInboundHTTP(t *testing.T) {
	_, srv, _ := startCallbackSim(t, fastOptions())
	rc := newReceiver(t)
	createSub(t, srv.URL, "url", rc.URL, "tag", "v3", "version", "3", "modes", "MESSAGE")
	u := srv.URL + "/sim/apps/" + testAppID + "/inbound"
	r := doRequest(t, nil, "POST", u, nil, `{"from":"919876543210","name":"Asha","type":"text","text":"hello"}`)
	r.check(t, 200, "")
	id := gjson.GetBytes(r.body, "id").String()
	got := rc.wait(t, 1)
	m := gjson.GetBytes(got[0].body, "entry.0.changes.0.value.messages.0")
	if m.Get("id").String() != id || m.Get("text.body").String() != "hello" {
		t.Errorf("inbound %s, answer %s", m.Raw, r.body)
	}
	gsID := send(t, srv.URL, "919876543210", "text")
	doRequest(t, nil, "POST", u, nil, `{"from":"919876543210","type":"button","text":"Yes","postback":"p","contextGsId":"`+gsID+`"}`).check(t, 200, "")
	if c := gjson.GetBytes(rc.wait(t, 2)[1].body, "entry.0.changes.0.value.messages.0.context.gs_id").String(); c != gsID {
		t.Errorf("context gs_id %q", c)
	}

	tests := []struct {
		method, path, body string
		status             int
		msg                string
	}{
		{"POST", "/sim/apps/nope/inbound", `{"from":"1","text":"x"}`, 400, "Invalid App Details"},
		{"POST", "/sim/apps/" + testAppID + "/inbound", `{"from":"1"}`, 400, "invalid inbound message: text needs text"},
		{"POST", "/sim/apps/" + testAppID + "/inbound", `not json`, 400, "body is missing/invalid"},
		{"GET", "/sim/apps/" + testAppID + "/inbound", ``, 405, "Method Not Allowed"},
		{"POST", "/sim/apps/" + testAppID + "/outbound", `{}`, 404, "Not Found"},
	}
	for _, tc := range tests {
		doRequest(t, nil, tc.method, srv.URL+tc.path, nil, tc.body).check(t, tc.status, errJSON(tc.msg))
	}
}

func TestEmitRaw(t *testing.T) {
	sim, srv, _ := startCallbackSim(t, fastOptions())
	v3a, v3b, v2, off := newReceiver(t), newReceiver(t), newReceiver(t), newReceiver(t)
	createSub(t, srv.URL, "url", v3a.URL, "tag", "a", "version", "3", "modes", "SENT")
	createSub(t, srv.URL, "url", v3b.URL, "tag", "b", "version", "3", "modes", "NONE")
	createSub(t, srv.URL, "url", v2.URL, "tag", "c", "version", "2", "modes", "SENT")
	createSub(t, srv.URL, "url", off.URL, "tag", "d", "version", "3", "modes", "SENT", "active", "false")
	body := []byte(`{"object":"whatsapp_business_account","entry":[]}`)
	sim.EmitRaw(testAppID, 3, body)
	sim.EmitRaw(testAppID, 3, body) // a duplicate
	body[0] = 'X'                   // EmitRaw keeps its own copy
	for _, rc := range []*receiver{v3a, v3b} {
		got := rc.wait(t, 2)
		for _, r := range got {
			if string(r.body) != `{"object":"whatsapp_business_account","entry":[]}` || r.header.Get("User-Agent") != CallbackUserAgent {
				t.Errorf("body %s headers %v", r.body, r.header)
			}
		}
	}
	sim.EmitRaw(testAppID, 2, []byte(`{"v":2}`))
	sim.EmitRaw("unknown", 3, []byte(`{}`))
	if got := v2.wait(t, 1); string(got[0].body) != `{"v":2}` {
		t.Errorf("v2 got %s", got[0].body)
	}
	v3a.quiet(t, sim, 2)
	v2.quiet(t, sim, 1)
	off.quiet(t, sim, 0)
}

func TestCloseStopsPendingRetries(t *testing.T) {
	opts := fastOptions()
	opts.CallbackRetryDelay = time.Hour
	opts.CallbackInterval = time.Millisecond
	sim, srv, _ := startSimWithClock(t, opts)
	rc := newReceiver(t, 500, 500, 500, 500)
	createSub(t, srv.URL, "url", rc.URL, "tag", "v3", "version", "3", "modes", "ENQUEUED,SENT,DELIVERED")
	send(t, srv.URL, "919876543210", "text")
	rc.wait(t, 1)
	// The receiver has answered; wait until the sim has recorded the
	// failed attempt (an attempt Close cuts short is not recorded).
	waitFor(t, "the failed attempt's record", func() bool { return len(sim.Callbacks()) == 1 })

	done := make(chan struct{})
	go func() {
		sim.Close()
		sim.Close() // twice is fine
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not return while a retry was pending")
	}
	if n := len(sim.Callbacks()); n != 1 {
		t.Errorf("Callbacks = %d, want the single failed attempt", n)
	}
	// Nothing is emitted after Close; the Sim still answers.
	send(t, srv.URL, "919876543210", "text")
	if _, err := sim.Inbound(testAppID, Inbound{From: "1", Text: "x"}); err != nil {
		t.Fatal(err)
	}
	sim.EmitRaw(testAppID, 3, []byte(`{}`))
	rc.quiet(t, sim, 1)
}

func TestCloseCancelsAttemptInFlight(t *testing.T) {
	opts := fastOptions()
	opts.CallbackTimeout = time.Hour
	sim, srv, _ := startSimWithClock(t, opts)
	rc := newReceiver(t)
	rc.delay = time.Hour
	createSub(t, srv.URL, "url", rc.URL, "tag", "v3", "version", "3", "modes", "MESSAGE")
	sim.EmitRaw(testAppID, 3, []byte(`{}`))
	rc.wait(t, 1)
	// The attempt would take an hour: Close returning at all shows it was
	// cut short (10s only bounds a failing test).
	closed := make(chan struct{})
	go func() {
		sim.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited for the attempt in flight")
	}
	if n := len(sim.Callbacks()); n != 0 {
		t.Errorf("a canceled attempt was recorded: %+v", sim.Callbacks())
	}
}

func TestDisableCallbacks(t *testing.T) {
	opts := fastOptions()
	opts.DisableCallbacks = true
	sim, srv, _ := startCallbackSim(t, opts)
	rc := newReceiver(t)
	createSub(t, srv.URL, "url", rc.URL, "tag", "v3", "version", "3", "modes", "ENQUEUED,SENT,DELIVERED,MESSAGE")
	gsID := send(t, srv.URL, "919876543210", "text")
	if sim.WAMID(gsID) == "" {
		t.Error("no WAMID with callbacks disabled")
	}
	if w, err := sim.Inbound(testAppID, Inbound{From: "1", Text: "x"}); err != nil || w == "" {
		t.Errorf("Inbound = %q, %v", w, err)
	}
	sim.EmitRaw(testAppID, 3, []byte(`{}`))
	rc.quiet(t, sim, 0)
	if len(sim.Callbacks()) != 0 {
		t.Error("callbacks recorded")
	}
}

func TestResetClearsSubscriptionsAndCallbacks(t *testing.T) {
	opts := fastOptions()
	opts.CallbackRetryDelay = time.Hour
	sim, srv, _ := startCallbackSim(t, opts)
	rc := newReceiver(t, 500)
	createSub(t, srv.URL, "url", rc.URL, "tag", "v3", "version", "3", "modes", "ENQUEUED,SENT")
	gsID := send(t, srv.URL, "919876543210", "text")
	waitFor(t, "first attempt", func() bool { return len(sim.Callbacks()) == 1 })
	sim.Reset()
	if len(sim.Subscriptions(testAppID)) != 0 || len(sim.Callbacks()) != 0 || sim.Count("") != 0 {
		t.Error("Reset kept subscriptions, callbacks or requests")
	}
	if sim.WAMID(gsID) == "" {
		t.Error("Reset forgot message ids")
	}
	rc.quiet(t, sim, 1)
	// The Sim keeps working: same tag, new subscription, callbacks again.
	rc2 := newReceiver(t)
	createSub(t, srv.URL, "url", rc2.URL, "tag", "v3", "version", "3", "modes", "SENT")
	send(t, srv.URL, "919876543210", "text")
	rc2.wait(t, 1)
}

func TestOnCallbackHook(t *testing.T) {
	opts := fastOptions()
	var mu sync.Mutex
	var seen []Callback
	opts.OnCallback = func(c Callback) {
		mu.Lock()
		seen = append(seen, c)
		mu.Unlock()
	}
	sim, srv, _ := startCallbackSim(t, opts)
	rc := newReceiver(t)
	createSub(t, srv.URL, "url", rc.URL, "tag", "v3", "version", "3", "modes", "MESSAGE")
	sim.EmitRaw(testAppID, 3, []byte(`{"a":1}`))
	waitFor(t, "hook", func() bool { mu.Lock(); defer mu.Unlock(); return len(seen) == 1 })
	mu.Lock()
	defer mu.Unlock()
	if string(seen[0].Body) != `{"a":1}` || seen[0].Status != 200 {
		t.Errorf("hook saw %+v", seen[0])
	}
}

func TestMetaHeaders(t *testing.T) {
	tests := []struct {
		meta string
		want map[string]string
	}{
		{``, nil},
		{`not json`, nil},
		{`{"headers":{"X-A":"1","X-N":2,"X-B":true,"X-O":{"a":1},"bad name":"x"}}`, map[string]string{"X-A": "1", "X-N": "2", "X-B": "true"}},
		{`{"X-Flat":"v","headers2":"w"}`, map[string]string{"X-Flat": "v", "headers2": "w"}},
		{`{"headers":"not an object","X-A":"1"}`, map[string]string{"headers": "not an object", "X-A": "1"}},
		{`{"headers":{}}`, map[string]string{}},
	}
	for _, tc := range tests {
		if got := metaHeaders(tc.meta); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("metaHeaders(%s) = %v, want %v", tc.meta, got, tc.want)
		}
	}
}

func TestCallbacksToTLSReceiver(t *testing.T) {
	rc := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(rc.Close)
	opts := fastOptions()
	opts.CallbackTransport = rc.Client().Transport
	sim, srv, _ := startCallbackSim(t, opts)
	createSub(t, srv.URL, "url", rc.URL+"/cb", "tag", "v3", "version", "3", "modes", "MESSAGE")
	sim.EmitRaw(testAppID, 3, []byte(`{}`))
	waitFor(t, "callback", func() bool { return len(sim.Callbacks()) == 1 })
	if c := sim.Callbacks()[0]; !c.OK() {
		t.Errorf("TLS callback %+v", c)
	}
}

// TestInboundFlowReply pins that a completed flow (nfm_reply) reaches only
// v3 subscriptions with FLOWS_MESSAGE, in Gupshup's interactive shape.
func TestInboundFlowReply(t *testing.T) {
	sim, srv, _ := startCallbackSim(t, fastOptions())
	flows := newReceiver(t)
	messages := newReceiver(t)
	v2all := newReceiver(t)
	createSub(t, srv.URL, "url", flows.URL, "tag", "flows", "version", "3", "modes", "FLOWS_MESSAGE")
	createSub(t, srv.URL, "url", messages.URL, "tag", "msg", "version", "3", "modes", "MESSAGE,ALL")
	createSub(t, srv.URL, "url", v2all.URL, "tag", "v2", "version", "2", "modes", "ALL,FLOWS_MESSAGE")

	gsID := send(t, srv.URL, "919876543210", "text")
	const response = `{"flow_token":"tok-1","rating":"5"}`
	wamid, err := sim.Inbound(testAppID, Inbound{From: "919876543210", Type: "nfm_reply", Text: response, ContextGsID: gsID})
	if err != nil {
		t.Fatal(err)
	}
	m := gjson.GetBytes(flows.wait(t, 1)[0].body, "entry.0.changes.0.value.messages.0")
	if m.Get("id").Str != wamid || m.Get("type").Str != "interactive" || m.Get("context.gs_id").Str != gsID {
		t.Errorf("flow reply %s", m.Raw)
	}
	if got := m.Get("interactive").Raw; got != `{"type":"nfm_reply","nfm_reply":{"body":"Sent","name":"flow","response_json":"{\"flow_token\":\"tok-1\",\"rating\":\"5\"}"}}` {
		t.Errorf("interactive %s", got)
	}
	// A text message afterwards reaches the other two; the flow reply never did.
	if _, err := sim.Inbound(testAppID, Inbound{From: "919876543210", Text: "after"}); err != nil {
		t.Fatal(err)
	}
	for name, rc := range map[string]*receiver{"v3 MESSAGE,ALL": messages, "v2 ALL": v2all} {
		for _, c := range rc.wait(t, 1) {
			if strings.Contains(string(c.body), "nfm_reply") {
				t.Errorf("%s subscription got the flow reply: %s", name, c.body)
			}
		}
	}
	if _, err := sim.Inbound(testAppID, Inbound{From: "919876543210", Type: "nfm_reply"}); !errors.Is(err, ErrInvalidInbound) {
		t.Errorf("nfm_reply without response_json: %v", err)
	}
}
