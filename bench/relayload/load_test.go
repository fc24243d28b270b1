package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"waproxy/store"
	"waproxy/translate"
	"waproxy/webhook"
)

var params = bodyParams{AppID: "bench-app-1", WABAID: "200000000000001", PhoneID: "158072934066266", DisplayPhone: "918375031069"}

// TestCallbacksTranslateToDistinctEvents feeds generated callbacks through
// the proxy's translator: each is valid v3, yields one status event with
// its own dedup key, and the delivered body names its event whether the
// status id is the gs_id or the wamid.
func TestCallbacksTranslateToDistinctEvents(t *testing.T) {
	const run = 0xdeadbeef
	keys := map[string]bool{}
	for seq := uint64(1); seq <= 6; seq++ {
		body := callback(nil, params, run, seq, 1710930461)
		if !json.Valid(body) {
			t.Fatalf("event %d: invalid JSON: %s", seq, body)
		}
		for _, fromGsID := range []bool{true, false} {
			res, err := translate.GupshupWebhook(body, translate.WebhookOptions{StatusIDFromGsID: fromGsID,
				Phone: translate.PhoneMeta{PhoneNumberID: "100000000000001"}})
			if err != nil {
				t.Fatalf("event %d: %v", seq, err)
			}
			if res.Version != 3 || len(res.Events) != 1 || res.Events[0].Kind != "status" {
				t.Fatalf("event %d: version %d, %d events", seq, res.Version, len(res.Events))
			}
			ev := res.Events[0]
			if ev.GsID != gsID(run, seq) || ev.WAMID != wamid(run, seq) {
				t.Errorf("event %d: ids %s %s", seq, ev.GsID, ev.WAMID)
			}
			if fromGsID {
				if keys[ev.Key] {
					t.Errorf("event %d: key %s repeated", seq, ev.Key)
				}
				keys[ev.Key] = true
			}
			got, ok := eventOf(ev.Body, run)
			if !ok || got != seq {
				t.Errorf("event %d (status id from gs_id %v): eventOf = %d, %v in %s", seq, fromGsID, got, ok, ev.Body)
			}
			if _, ok := eventOf(ev.Body, run+1); ok {
				t.Errorf("event %d: recognised as another run's", seq)
			}
		}
	}
	for _, bad := range []string{`{}`, `{"statuses":[{"id":"x"}]}`, `{"statuses":[{"id":"wamid.@@"}]}`} {
		if _, ok := eventOf([]byte(bad), run); ok {
			t.Errorf("eventOf(%s) ok", bad)
		}
	}
}

func TestReceiverChecksSignatures(t *testing.T) {
	const run = 7
	rc, err := newReceiver("127.0.0.1:0", "app-secret", run, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	post := func(body []byte, sig string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, rc.URL(), bytes.NewReader(body))
		req.Header.Set("X-Hub-Signature-256", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("receiver answered %d", resp.StatusCode)
		}
	}
	body := func(seq uint64) []byte {
		return []byte(`{"entry":[{"changes":[{"value":{"statuses":[{"id":"` + gsID(run, seq) + `","status":"sent"}]}}]}]}`)
	}
	sign := func(b []byte, secret string) string { s, _ := translate.SignWebhook(b, secret); return s }
	post(body(1), sign(body(1), "app-secret"))
	post(body(2), sign(body(2), "app-secret"))
	post(body(2), sign(body(2), "app-secret"))                               // duplicate
	post(body(3), sign(body(3), "wrong-secret"))                             // invalid, still counted as delivered
	post(body(4), "sha1=0000")                                               // invalid
	post([]byte(`{"entry":[]}`), sign([]byte(`{"entry":[]}`), "app-secret")) // unknown
	want := counts{Valid: 4, Invalid: 2, Duplicates: 1, Unknown: 1}
	if got := rc.counts(); got != want {
		t.Errorf("counts = %+v, want %+v", got, want)
	}
	if n := rc.distinct(); n != 4 {
		t.Errorf("distinct = %d, want 4", n)
	}
	if d := rc.deliveries(); len(d) != 4 || d[0].seq != 1 || d[3].seq != 4 {
		t.Errorf("deliveries = %+v", d)
	}
}

// TestLoadAgainstRelay runs the whole tool against the relay in-process
// (webhook.Relay on a NoSync store behind an httptest intake).
func TestLoadAgainstRelay(t *testing.T) {
	q, err := store.Open(filepath.Join(t.TempDir(), "q.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ports := &bytes.Buffer{}
	if err := printFreePorts(ports, 1); err != nil {
		t.Fatal(err)
	}
	recvAddr := "127.0.0.1:" + string(bytes.TrimSpace(ports.Bytes()))
	r, err := webhook.New(webhook.Options{
		Queue:     q,
		Targets:   []webhook.Target{{Tenant: "bench", URL: "http://" + recvAddr + "/webhook", AppSecret: "app-secret", Concurrency: 8}},
		Sources:   []webhook.Source{{AppID: params.AppID, Tenant: "bench", Secret: "cb-secret", Phone: translate.PhoneMeta{PhoneNumberID: "100000000000001"}}},
		Translate: translate.WebhookOptions{StatusIDFromGsID: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	intake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.ServeIntake(w, req, params.AppID)
	}))
	defer intake.Close()
	r.Start()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = r.Stop(ctx)
	}()

	c := config{intake: intake.URL + "/gupshup/callbacks/" + params.AppID, secretHeader: "X-Waproxy-Secret",
		callbackSecret: "cb-secret", appSecret: "app-secret", receiverAddr: recvAddr, body: params,
		senders: 4, events: 300, warmup: 20, drainTimeout: 30 * time.Second, ackTimeout: 10 * time.Second,
		target: 1, notes: map[string]string{"k": "v"}, syncProbeDir: t.TempDir()}
	res, err := load(context.Background(), c, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Complete || res.Sent != 300 || res.Accepted != 300 || res.Delivered != 300 || res.Missing != 0 {
		t.Errorf("complete %v sent %d accepted %d delivered %d missing %d", res.Complete, res.Sent, res.Accepted, res.Delivered, res.Missing)
	}
	if res.ValidSignatures != 320 || res.InvalidSignatures != 0 || res.Duplicates != 0 || res.Unknown != 0 {
		t.Errorf("signatures %d valid %d invalid, %d duplicates, %d unknown", res.ValidSignatures, res.InvalidSignatures, res.Duplicates, res.Unknown)
	}
	if res.AckMS.N != 300 || res.EndToEndMS.N != 300 || res.AcceptedPerSec <= 0 || res.DeliveredPerSec <= 0 {
		t.Errorf("ack %+v e2e %+v accepted/s %v delivered/s %v", res.AckMS, res.EndToEndMS, res.AcceptedPerSec, res.DeliveredPerSec)
	}
	if res.Proxy != nil || res.Settings.Proxy["k"] != "v" || res.Settings.BodyBytes < 500 {
		t.Errorf("proxy %+v settings %+v", res.Proxy, res.Settings)
	}
	if p := res.SyncProbe; p == nil || p.Before.N != 200 || p.After.N != 200 || p.Before.P50 <= 0 {
		t.Errorf("sync probe %+v", p)
	}
	sum := 0
	for _, tk := range res.Timeline {
		sum += tk.Accepted
	}
	if sum != 300 {
		t.Errorf("timeline accepts %d", sum)
	}

	// A wrong callback secret fails the warm-up with an explanation.
	c.callbackSecret = "nope"
	c.syncProbeDir = ""
	c.receiverAddr = "127.0.0.1:0"
	if _, err := load(context.Background(), c, io.Discard); err == nil {
		t.Error("load with a wrong secret succeeded")
	}
}
