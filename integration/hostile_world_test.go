package integration

// Hostile cases that need a world of their own: a webhook endpoint that
// redirects or answers with garbage, callbacks that point media at a
// foreign host or at another tenant's media, a flood of requests held
// open, and a Gupshup whose token endpoint fails for a while.

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"waproxy/gupshupsim"
)

// hostileEndpoint is a tenant webhook whose nth POST (from 1) is answered
// by answer(n, w, r); it counts every POST.
type hostileEndpoint struct {
	*httptest.Server
	posts  atomic.Int32
	answer func(n int, w http.ResponseWriter, r *http.Request)
}

func newHostileEndpoint(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *hostileEndpoint {
	t.Helper()
	e := &hostileEndpoint{answer: answer}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		e.answer(int(e.posts.Add(1)), w, r)
	}))
	t.Cleanup(e.Close)
	return e
}

// deliverOne posts one status callback for app a and waits until the
// queue is empty again, returning whether it emptied in time.
func deliverOne(t *testing.T, w *world, d time.Duration) bool {
	t.Helper()
	a := w.intake(t, http.MethodPost, appA, cbSecretA, w.v3StatusCallback("gs-hostile-1", "wamid.HOSTILE1", "delivered", time.Now().Unix()))
	if a.status != http.StatusOK {
		t.Fatalf("intake: HTTP %d", a.status)
	}
	return eventually(d, 10*time.Millisecond, func() bool { return w.pending(t) == 0 })
}

// TestHostileWebhookEndpoint: what a tenant's webhook endpoint answers
// cannot make the relay follow it elsewhere, read without bound, or lose
// the event.
func TestHostileWebhookEndpoint(t *testing.T) {
	for _, c := range []struct {
		name string
		// answer answers the nth POST; sink is a server's URL a
		// redirect may point at.
		answer func(n int, sink string, w http.ResponseWriter, r *http.Request)
		posts  int32 // POSTs the endpoint gets until the event is delivered
		fix    int
	}{
		{name: "a 64 MB answer is read in part, the event delivered once", posts: 1,
			answer: func(n int, sink string, w http.ResponseWriter, r *http.Request) {
				chunk := []byte(strings.Repeat("x", 64<<10))
				for i := 0; i < 1024; i++ {
					if _, err := w.Write(chunk); err != nil {
						return
					}
				}
			}},
		{name: "a 500 with a 16 MB body is a failed attempt", posts: 2,
			answer: func(n int, sink string, w http.ResponseWriter, r *http.Request) {
				if n > 1 {
					return
				}
				w.WriteHeader(http.StatusInternalServerError)
				_, _ = w.Write([]byte(strings.Repeat("e", 16<<20)))
			}},
		{name: "an answer that is not HTTP is a failed attempt", posts: 2,
			answer: func(n int, sink string, w http.ResponseWriter, r *http.Request) {
				if n > 1 {
					return
				}
				conn, buf, err := http.NewResponseController(w).Hijack()
				if err != nil {
					return
				}
				_, _ = buf.WriteString("SMTP ready\r\n\x00\x01garbage\r\n\r\n")
				_ = buf.Flush()
				_ = conn.Close()
			}},
		{name: "an answer slower than the attempt timeout is a failed attempt", posts: 2,
			answer: func(n int, sink string, w http.ResponseWriter, r *http.Request) {
				if n > 1 {
					return
				}
				select {
				case <-r.Context().Done():
				case <-time.After(10 * time.Second):
				}
			}},
		{name: "a redirect is a failed attempt, never followed", posts: 3, fix: 1,
			answer: func(n int, sink string, w http.ResponseWriter, r *http.Request) {
				if n > 2 {
					return
				}
				w.Header().Set("Location", sink+"/stolen")
				w.WriteHeader(http.StatusTemporaryRedirect)
			}},
	} {
		name := c.name
		if c.fix != 0 {
			name = fmt.Sprintf("fix%d/%s", c.fix, c.name)
		}
		t.Run(name, func(t *testing.T) {
			sink := &hitLog{}
			sinkTS := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { sink.record(r) }))
			t.Cleanup(sinkTS.Close)
			ep := newHostileEndpoint(t, func(n int, w http.ResponseWriter, r *http.Request) {
				c.answer(n, sinkTS.URL, w, r)
			})
			w := newWorld(t, worldOptions{noVerifyOnStart: true,
				webhookA: &tenantWebhook{url: ep.URL, appSecret: metaSecretA, concurrency: 1}})
			if !deliverOne(t, w, 8*time.Second) {
				t.Errorf("the event is still queued after %d POSTs", ep.posts.Load())
			}
			if got := ep.posts.Load(); got != c.posts {
				t.Errorf("the endpoint got %d POSTs, want %d", got, c.posts)
			}
			if hits := sink.all(); len(hits) != 0 {
				t.Errorf("the redirect target got %d requests", len(hits))
			}
		})
	}
}

// TestHostileInboundMedia: a callback (with the right secret) names media
// at a host that is not Gupshup's, or another tenant's media id.
func TestHostileInboundMedia(t *testing.T) {
	t.Run("fix2/a foreign media url never gets the app token", func(t *testing.T) {
		evil := &hitLog{}
		evilTS := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			evil.record(r)
			w.Header().Set("Content-Type", "image/jpeg")
			_, _ = w.Write([]byte("\xff\xd8\xff not really"))
		}))
		t.Cleanup(evilTS.Close)
		_, port, _ := net.SplitHostPort(evilTS.Listener.Addr().String())
		rc := newGoReceiver(t, metaSecretA, "")
		h := newHostile(t, worldOptions{noVerifyOnStart: true, webhookA: &tenantWebhook{url: rc.URL, appSecret: metaSecretA}})
		const id = "8880000000000001"
		body := fill(t, "testdata/hostile/inbound_image.json", "APP_ID", appA, "WABA_ID", wabaA, "WAMID", "wamid.EVIL1",
			"MEDIA_ID", id, "MEDIA_URL", "http://localhost:"+port+"/wa/"+appA+"/wa/media/"+id+"?download=false")
		if a := h.intake(t, http.MethodPost, appA, cbSecretA, body); a.status != 200 {
			t.Fatalf("intake: HTTP %d", a.status)
		}
		for _, a := range []answer{h.lookup(t, tokenA, id, ""), h.downloadByBearer(t, tokenA, id)} {
			if a.status != 200 {
				assertEnvelope(t, a, a.json("error.code").Int(), 0)
			}
		}
		if evil.carries(appTokA) {
			t.Errorf("the app token went to %s", evilTS.URL)
		}
	})
	t.Run("fix2/another tenant's media id keeps its owner", func(t *testing.T) {
		h := newHostile(t, worldOptions{noVerifyOnStart: true,
			webhookA: &tenantWebhook{url: newGoReceiver(t, metaSecretA, "").URL, appSecret: metaSecretA},
			webhookB: &tenantWebhook{url: newGoReceiver(t, "meta-secret-b", "").URL, appSecret: "meta-secret-b"}})
		id := h.upload(t, tokenA, phoneA, "image/png", randomData(1024, 9))
		body := fill(t, "testdata/hostile/inbound_image.json", "APP_ID", appB, "WABA_ID", wabaB, "WAMID", "wamid.EVIL2",
			"MEDIA_ID", id, "MEDIA_URL", h.simTS.URL+"/wa/"+appB+"/wa/media/"+id+"?download=false")
		if a := h.intake(t, http.MethodPost, appB, cbSecretB, body); a.status != 200 {
			t.Fatalf("intake: HTTP %d", a.status)
		}
		if a := h.lookup(t, tokenA, id, ""); a.status != 200 || a.json("id").Str != id {
			t.Errorf("the owner's lookup: HTTP %d %s", a.status, a.body)
		}
		b := h.lookup(t, tokenB, id, "")
		if b.status != http.StatusBadRequest {
			t.Errorf("the other tenant's lookup: HTTP %d, want 400", b.status)
		}
		assertEnvelope(t, b, 100, 33)
	})
}

// TestHostileInFlightBound (fix 3): requests held open mid-body pile up
// until the proxy refuses more with Graph's 429 or 503 and a Retry-After.
// A held request's own refusal cannot be seen (net/http reads the rest of
// the body before answering), so after every batch held, a complete
// request probes whether the bound is reached; none reaches Gupshup.
func TestHostileInFlightBound(t *testing.T) {
	const maxHeld, batch = 1500, 50
	h := newHostile(t, worldOptions{})
	var conns []net.Conn
	t.Cleanup(func() {
		for _, c := range conns {
			_ = c.Close()
		}
	})
	head := "POST " + msgPath + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer " + tokenA +
		"\r\nContent-Length: 4096\r\n\r\n{\"messaging_product\":"
	// The probe is refused before Gupshup whatever happens: an empty
	// object is 400/100 when the proxy has room for it.
	probe := post(msgPath, jsonCT, tokenA, []byte(`{}`))
	var got rawAnswer
	for len(conns) < maxHeld {
		for i := 0; i < batch; i++ {
			c, err := net.DialTimeout("tcp", h.addr, 5*time.Second)
			if err != nil {
				t.Fatalf("connection %d: %v", len(conns), err)
			}
			conns = append(conns, c)
			if _, err := c.Write([]byte(head)); err != nil {
				t.Fatalf("connection %d: %v", len(conns), err)
			}
		}
		if got = h.do(t, probe); got.status != http.StatusBadRequest {
			break
		}
	}
	if got.status == http.StatusBadRequest {
		t.Fatalf("%d requests held open mid-body, a further one still served", len(conns))
	}
	if got.status != http.StatusTooManyRequests && got.status != http.StatusServiceUnavailable {
		t.Errorf("refused with HTTP %d: %s", got.status, got.body)
	}
	assertEnvelope(t, got.answer, -1, 0)
	if got.header.Get("Retry-After") == "" {
		t.Errorf("no Retry-After: %v", got.header)
	}
	if n := len(h.sim.Requests()); n != 0 {
		t.Errorf("%d requests reached Gupshup", n)
	}
}

// TestHostileTransientUpstream (fix 7): while Gupshup's token endpoint
// fails, sends and media downloads are Meta's transient error (503, code
// 2), not a configuration error.
func TestHostileTransientUpstream(t *testing.T) {
	h := newHostile(t, worldOptions{noVerifyOnStart: true,
		webhookB: &tenantWebhook{url: newGoReceiver(t, "meta-secret-b", "").URL, appSecret: "meta-secret-b"}})
	// Tenant b's media, known from a callback: no token fetched yet.
	const id = "8880000000000002"
	body := fill(t, "testdata/hostile/inbound_image.json", "APP_ID", appB, "WABA_ID", wabaB, "WAMID", "wamid.T1",
		"MEDIA_ID", id, "MEDIA_URL", h.simTS.URL+"/wa/"+appB+"/wa/media/"+id+"?download=false")
	if a := h.intake(t, http.MethodPost, appB, cbSecretB, body); a.status != 200 {
		t.Fatalf("intake: HTTP %d", a.status)
	}
	h.sim.Inject(gupshupsim.Fault{PathSuffix: "/token", Times: 100, Status: 503, Body: `{"status":"error","message":"Service Unavailable"}`})
	for name, a := range map[string]answer{
		"send":     h.send(t, tokenB, phoneB, textBody),
		"download": h.downloadByBearer(t, tokenB, id),
	} {
		if a.status != http.StatusServiceUnavailable {
			t.Errorf("%s: HTTP %d, want 503: %s", name, a.status, a.body)
		}
		assertEnvelope(t, a, 2, 0)
	}
	if n := h.sim.Count(v3msg); n != 0 {
		t.Errorf("%d sends reached Gupshup without a token", n)
	}
}
