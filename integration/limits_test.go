package integration

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"waproxy/gupshupsim"
)

// bigText is a text send whose body is exactly n bytes.
func bigText(n int) string {
	head := `{"messaging_product":"whatsapp","to":"15551234567","type":"text","text":{"body":"`
	tail := `"}}`
	return head + strings.Repeat("a", n-len(head)-len(tail)) + tail
}

// expectAnswer is what a raw socket read: the answer and whether the server
// then closed the connection cleanly (EOF, not a reset).
type expectAnswer struct {
	status    int
	header    http.Header
	body      []byte
	closedEOF bool
	close     bool // the answer said Connection: close
	err       error
}

// rawExpectContinue writes only the head of a request announcing a body of
// contentLength bytes with "Expect: 100-continue", as a client does that
// waits for "100 Continue" before sending the body, and reads the first
// answer and then to the end of the connection.
func rawExpectContinue(addr, path string, header map[string]string, contentLength int64) expectAnswer {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return expectAnswer{err: err}
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return expectAnswer{err: err}
	}
	var head bytes.Buffer
	fmt.Fprintf(&head, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n", path, addr, contentLength)
	for k, v := range header {
		fmt.Fprintf(&head, "%s: %s\r\n", k, v)
	}
	head.WriteString("\r\n")
	if _, err := conn.Write(head.Bytes()); err != nil {
		return expectAnswer{err: err}
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return expectAnswer{err: err}
	}
	a := expectAnswer{status: resp.StatusCode, header: resp.Header, close: resp.Close}
	if resp.StatusCode != http.StatusContinue {
		a.body, a.err = io.ReadAll(resp.Body)
		_, rest := br.ReadByte()
		a.closedEOF = rest == io.EOF
	}
	return a
}

// TestExpectContinueOverLimitIsRefusedBeforeReading pins that a body whose
// Content-Length is over its route's limit is answered 413 from its head:
// the client waiting with "Expect: 100-continue" never gets "100 Continue",
// and the connection is closed cleanly after the answer (no reset). Run 50
// times per route: the old reset was racy.
func TestExpectContinueOverLimitIsRefusedBeforeReading(t *testing.T) {
	w := newWorld(t, worldOptions{webhookA: &tenantWebhook{url: newGoReceiver(t, metaSecretA, "").URL, appSecret: metaSecretA}})
	addr := strings.TrimPrefix(w.proxy.URL, "http://")
	cases := []struct {
		name   string
		path   string
		header map[string]string
		length int64
		json   bool // the answer is Meta's error envelope (the intake answers Gupshup bare)
	}{
		{"send over max_body_bytes", "/v23.0/" + phoneA + "/messages",
			map[string]string{"Authorization": "Bearer " + tokenA}, w.cfg.MaxBodyBytes + 1, true},
		{"send of 100 MB", "/v23.0/" + phoneA + "/messages",
			map[string]string{"Authorization": "Bearer " + tokenA}, 100 << 20, true},
		{"callback over the intake's 3 MiB", intakePath(appA),
			map[string]string{w.cfg.Webhooks.SecretHeader: cbSecretA}, 3<<20 + 1, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for i := range 50 {
				a := rawExpectContinue(addr, tc.path, tc.header, tc.length)
				if a.err != nil {
					t.Fatalf("try %d: %v", i, a.err)
				}
				if a.status != http.StatusRequestEntityTooLarge {
					t.Fatalf("try %d: HTTP %d %s, want 413 before the body is sent", i, a.status, a.body)
				}
				if !a.closedEOF {
					t.Fatalf("try %d: the connection was not closed cleanly after the answer", i)
				}
				if !a.close {
					t.Errorf("try %d: no Connection: close", i)
				}
				if tc.json {
					env := gjson.ParseBytes(a.body)
					if env.Get("error.code").Int() != 100 || env.Get("error.fbtrace_id").Str == "" ||
						!strings.Contains(env.Get("error.message").Str, "Request body too large") {
						t.Fatalf("try %d: not Meta's body-too-large error: %s", i, a.body)
					}
				}
			}
		})
	}
	if n := len(w.sends()); n != 0 {
		t.Errorf("%d sends reached Gupshup", n)
	}
}

// TestChunkedBodyOverLimitIs413 pins the limit on a body without a
// Content-Length: it applies as the body is read, still a 413 in Meta's
// envelope, and the client gets it rather than a reset although it keeps
// sending (an 8 MiB body, with and without "Expect: 100-continue"; 10
// tries each, a reset was racy).
func TestChunkedBodyOverLimitIs413(t *testing.T) {
	w := newWorld(t, worldOptions{})
	body := bigText(8 << 20)
	for _, expect := range []bool{false, true} {
		for i := range 10 {
			req, err := http.NewRequest(http.MethodPost, w.proxy.URL+"/v23.0/"+phoneA+"/messages",
				io.MultiReader(strings.NewReader(body))) // no length: sent chunked
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+tokenA)
			req.Header.Set("Content-Type", "application/json")
			if expect {
				req.Header.Set("Expect", "100-continue")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("expect %v, try %d: %v", expect, i, err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("expect %v, try %d: reading the answer: %v", expect, i, err)
			}
			assertMetaError(t, answer{status: resp.StatusCode, header: resp.Header, body: b}, http.StatusRequestEntityTooLarge, 100)
			if !resp.Close {
				t.Errorf("expect %v, try %d: no Connection: close", expect, i)
			}
		}
	}
}

// assertOverloaded checks the answer to a request refused by a limit:
// Meta's transient overload error (503, code 2) with Retry-After.
func assertOverloaded(t *testing.T, a answer) {
	t.Helper()
	assertMetaError(t, a, http.StatusServiceUnavailable, 2)
	if ra := a.header.Get("Retry-After"); ra != "1" {
		t.Errorf("Retry-After %q, want 1", ra)
	}
}

// holdSends makes the next n sends wait d in the simulator (after it
// recorded them), starts them and waits until all n are held.
func holdSends(t *testing.T, w *world, n int, d time.Duration, body string) (wait func() []answer) {
	t.Helper()
	before := len(w.sends())
	w.sim.Inject(gupshupsim.Fault{PathSuffix: "/v3/message", Times: n, Delay: d})
	answers := make([]answer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { answers[i] = w.send(t, tokenA, phoneA, body) })
	}
	pollUntil(t, 10*time.Second, fmt.Sprintf("%d sends held upstream", n), func() bool { return len(w.sends()) >= before+n })
	return func() []answer { wg.Wait(); return answers }
}

// TestInFlightLimit: with max_in_flight requests being handled, one more
// is refused at once with the overload error; probes and /metrics still
// answer; the held requests complete.
func TestInFlightLimit(t *testing.T) {
	w := newWorld(t, worldOptions{timeout: 10 * time.Second, maxInFlight: 2, maxBuffered: 64 << 20})
	wait := holdSends(t, w, 2, 2*time.Second, textBody)
	assertOverloaded(t, w.send(t, tokenA, phoneA, textBody))
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		if a := w.call(t, http.MethodGet, p, "", "", nil); a.status != http.StatusOK {
			t.Errorf("%s: HTTP %d while saturated", p, a.status)
		}
	}
	if got := w.metric(t, "waproxy_requests_rejected_total", `reason="in_flight"`); got != 1 {
		t.Errorf("rejected{in_flight} = %v, want 1", got)
	}
	for i, a := range wait() {
		if a.status != http.StatusOK {
			t.Errorf("held send %d: HTTP %d %s", i, a.status, a.body)
		}
	}
	if got := len(w.sends()); got != 2 {
		t.Errorf("Gupshup got %d sends, want the 2 accepted", got)
	}
}

// TestBufferedBytesLimit: bodies reserve their Content-Length while their
// request is handled. With 4 MB held, a 1 MB send and a callback that do
// not fit in 4 MiB are refused before being read (the send with Meta's
// overload error, the callback 503 with Retry-After so Gupshup retries),
// while a small send fits; once the held ones are done, the budget is
// free again.
func TestBufferedBytesLimit(t *testing.T) {
	rc := newGoReceiver(t, metaSecretA, "")
	w := newWorld(t, worldOptions{timeout: 10 * time.Second, maxBuffered: 4 << 20,
		webhookA: &tenantWebhook{url: rc.URL, appSecret: metaSecretA}})
	big := bigText(1_000_000)
	wait := holdSends(t, w, 4, 2*time.Second, big)
	if got := w.metric(t, "waproxy_request_body_bytes_buffered"); got != 4_000_000 {
		t.Errorf("buffered gauge %v with four 1 MB sends held, want 4000000", got)
	}

	assertOverloaded(t, w.send(t, tokenA, phoneA, big))
	cb := w.v3StatusCallback("gs-limit-1", "wamid.limit1", "sent", time.Now().Unix())
	cb = append(cb[:len(cb)-1], []byte(`,"pad":"`+strings.Repeat("x", 300_000)+`"}`)...)
	ia := w.intake(t, http.MethodPost, appA, cbSecretA, cb)
	if ia.status != http.StatusServiceUnavailable || ia.header.Get("Retry-After") == "" {
		t.Errorf("callback over the budget: HTTP %d Retry-After %q, want 503 with Retry-After", ia.status, ia.header.Get("Retry-After"))
	}
	if a := w.send(t, tokenA, phoneA, textBody); a.status != http.StatusOK {
		t.Errorf("a small send while 4 MB are held: HTTP %d %s", a.status, a.body)
	}
	if got := w.metric(t, "waproxy_requests_rejected_total", `reason="buffered_bytes"`); got != 2 {
		t.Errorf("rejected{buffered_bytes} = %v, want 2", got)
	}

	for i, a := range wait() {
		if a.status != http.StatusOK {
			t.Errorf("held send %d: HTTP %d %s", i, a.status, a.body)
		}
	}
	if got := w.metric(t, "waproxy_request_body_bytes_buffered"); got != 0 {
		t.Errorf("buffered gauge %v after the requests, want 0", got)
	}
	if a := w.send(t, tokenA, phoneA, big); a.status != http.StatusOK {
		t.Errorf("a 1 MB send once the budget is free: HTTP %d %s", a.status, a.body)
	}
	if ia := w.intake(t, http.MethodPost, appA, cbSecretA, cb); ia.status != http.StatusOK {
		t.Errorf("the callback again once the budget is free: HTTP %d", ia.status)
	}
}

// TestConcurrentLargeSendsUnderBudget: many large sends at once against a
// small budget; each is either sent (200 with a message id) or refused
// with the overload error before it reached Gupshup, never another error,
// and every accepted send reached Gupshup exactly once.
func TestConcurrentLargeSendsUnderBudget(t *testing.T) {
	w := newWorld(t, worldOptions{timeout: 10 * time.Second, maxBuffered: 4 << 20})
	const n = 16
	// Each accepted send is held a while upstream, so the burst overlaps.
	w.sim.Inject(gupshupsim.Fault{PathSuffix: "/v3/message", Times: n, Delay: 500 * time.Millisecond})
	big := bigText(1_000_000)
	answers := make([]answer, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			answers[i] = w.send(t, tokenA, phoneA, big)
		})
	}
	close(start)
	wg.Wait()
	ok, refused := 0, 0
	ids := map[string]bool{}
	for i, a := range answers {
		switch a.status {
		case http.StatusOK:
			ok++
			ids[a.json("messages.0.id").Str] = true
		case http.StatusServiceUnavailable:
			refused++
			assertOverloaded(t, a)
		default:
			t.Errorf("send %d: HTTP %d %s", i, a.status, a.body)
		}
	}
	if refused == 0 || ok == 0 {
		t.Errorf("%d sent, %d refused: want both with %d concurrent 1 MB sends and a 4 MiB budget", ok, refused, n)
	}
	if got := len(w.sends()); got != ok || len(ids) != ok {
		t.Errorf("Gupshup got %d sends, %d distinct ids answered, for %d accepted", got, len(ids), ok)
	}
	if got := w.metric(t, "waproxy_requests_rejected_total", `reason="buffered_bytes"`); int(got) != refused {
		t.Errorf("rejected{buffered_bytes} = %v, want %d", got, refused)
	}
}

// TestMediaUploadIsNotCountedAsBuffered: an upload streams to the spool,
// so a file larger than the whole buffered-bytes budget is taken (it
// reserves only its read buffers) and leaves the budget as it found it.
func TestMediaUploadIsNotCountedAsBuffered(t *testing.T) {
	w := newWorld(t, worldOptions{maxBuffered: 4 << 20})
	data := bytes.Repeat([]byte{0x42}, 5<<20) // a 5 MiB PDF: more than the 4 MiB budget
	if id := w.upload(t, tokenA, phoneA, "application/pdf", data); id == "" {
		t.Fatal("no media id")
	}
	if got := w.metric(t, "waproxy_request_body_bytes_buffered"); got != 0 {
		t.Errorf("buffered gauge %v after the upload, want 0", got)
	}
	if got := w.metric(t, "waproxy_requests_rejected_total"); got != 0 {
		t.Errorf("%v requests rejected", got)
	}
}
