package integration

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"waproxy/gupshupsim"
	"waproxy/upstream"
)

// The tenants' Meta app secrets and verify token in the webhook tests.
const (
	metaSecretA  = "meta-app-secret-of-tenant-a"
	metaSecretB  = "meta-app-secret-of-tenant-b"
	verifyTokenA = "verify-token-of-tenant-a"
	userNumber   = "919876543210"
)

// okCallbacks counts the simulator's callback attempts answered 2xx and
// reports whether any failed.
func okCallbacks(w *world) (ok int, failed bool) {
	for _, c := range w.sim.Callbacks() {
		if c.OK() {
			ok++
		} else {
			failed = true
		}
	}
	return ok, failed
}

// quiesce waits until the simulator made n callback attempts, all answered
// 2xx, and the relay's queue is empty: nothing more will be delivered.
func quiesce(t *testing.T, w *world, n int) {
	t.Helper()
	pollUntil(t, 15*time.Second, fmt.Sprintf("%d answered callbacks", n), func() bool {
		ok, failed := okCallbacks(w)
		if failed {
			t.Fatalf("a callback to the intake failed: %+v", w.sim.Callbacks())
		}
		return ok >= n
	})
	pollUntil(t, 15*time.Second, "an empty webhook queue", func() bool { return w.pending(t) == 0 })
	if ok, _ := okCallbacks(w); ok != n {
		t.Fatalf("%d callbacks, want %d", ok, n)
	}
}

// TestWebhookSDKsAcceptStatusDeliveries sends three messages through the
// proxy (plus one that fails later) and checks every status webhook the
// tenant gets with three Meta SDKs' signature checks: statuses carry the id
// /messages returned, Gupshup's "enqueued" is not relayed, a failure carries
// Meta's error fields, and each status arrives exactly once.
func TestWebhookSDKsAcceptStatusDeliveries(t *testing.T) {
	rc := startNodeReceiver(t, metaSecretA, "")
	w := newWorld(t, worldOptions{
		webhookA:  &tenantWebhook{url: rc.url, appSecret: metaSecretA},
		subscribe: true,
		// ENQUEUED too, so that Gupshup's enqueued statuses reach the
		// intake (the default modes leave it out).
		subscriptionModes: []string{"MESSAGE", "ENQUEUED", "SENT", "DELIVERED", "READ", "FAILED"},
		statusSequence:    []string{"enqueued", "sent", "delivered", "read"},
	})
	ids := map[string]bool{}
	send := func(body string) string {
		a := w.send(t, tokenA, phoneA, body)
		if a.status != http.StatusOK || a.json("messages.0.id").Str == "" {
			t.Fatalf("send: HTTP %d %s", a.status, a.body)
		}
		ids[a.json("messages.0.id").Str] = true
		return a.json("messages.0.id").Str
	}
	for range 3 {
		send(textBody)
	}
	// A message that fails after the send: enqueued, then failed (131047).
	failing := send(`{"messaging_product":"whatsapp","to":"91987` + gupshupsim.SuffixFailsLater + `","type":"text","text":{"body":"late"}}`)
	pollUntil(t, 15*time.Second, "10 status webhooks", func() bool { return len(rc.posts()) >= 10 })
	quiesce(t, w, 3*4+2)

	posts := rc.posts()
	if len(posts) != 10 {
		t.Errorf("%d webhooks, want 10 (3 messages × sent, delivered, read; one failed)", len(posts))
	}
	seen := map[string]int{}
	for _, p := range posts {
		assertSDKsAccepted(t, p, "kapso", "wajs", "great", "ascii", "content_length", "sha1", "sha1_valid", "json")
		if ct := p.Get("content_type").Str; ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		id, status := p.Get("status.id").Str, p.Get("status.status").Str
		if !ids[id] {
			t.Errorf("status id %q is not an id /messages returned (%v)", id, ids)
		}
		if status == "enqueued" {
			t.Errorf("Gupshup's enqueued status was relayed: %s", p.Get("body").Str)
		}
		// whatsapp-api-js dispatched the same status to its handler.
		if ev := p.Get("wajs_event"); ev.Get("kind").Str != "status" || ev.Get("id").Str != id || ev.Get("status").Str != status {
			t.Errorf("whatsapp-api-js saw %s, Kapso %s/%s", ev.Raw, id, status)
		}
		if got := gjson.Get(p.Get("body").Str, "entry.0.changes.0.value.metadata.phone_number_id").Str; got != phoneA {
			t.Errorf("metadata.phone_number_id %q, want %q", got, phoneA)
		}
		seen[id+"/"+status]++
		if status == "failed" {
			e := gjson.Get(p.Get("body").Str, "entry.0.changes.0.value.statuses.0.errors.0")
			if e.Get("code").Int() != 131047 || e.Get("title").Str == "" || e.Get("message").Str == "" ||
				e.Get("error_data.details").Str == "" {
				t.Errorf("failed status errors: %s", e.Raw)
			}
		}
	}
	if seen[failing+"/failed"] != 1 {
		t.Errorf("%s/failed delivered %d times, want once", failing, seen[failing+"/failed"])
	}
	for id := range ids {
		if id == failing {
			continue
		}
		for _, st := range []string{"sent", "delivered", "read"} {
			if n := seen[id+"/"+st]; n != 1 {
				t.Errorf("%s/%s delivered %d times, want once", id, st, n)
			}
		}
	}
	if n := w.metric(t, "waproxy_webhook_deliveries_total", `result="ok"`, `tenant="a"`); n < 10 {
		t.Errorf("waproxy_webhook_deliveries_total{result=\"ok\"} = %v, want >= 10", n)
	}
}

// TestWebhookSDKsAcceptInboundWithNonASCII relays user messages with
// Devanagari, Latin-1, an emoji and a "/" and checks Meta's escaping, the
// three SDKs' signature checks and the phone number id clients know.
func TestWebhookSDKsAcceptInboundWithNonASCII(t *testing.T) {
	rc := startNodeReceiver(t, metaSecretA, "")
	w := newWorld(t, worldOptions{
		webhookA:  &tenantWebhook{url: rc.url, appSecret: metaSecretA},
		subscribe: true,
	})
	if app, _ := w.sim.App(appA); app.PhoneNumberID == phoneA {
		t.Fatal("the simulator reports the configured phone number id: the metadata check would prove nothing")
	}
	const text = "नमस्ते äöå 😀 a/b"
	textID, err := w.sim.Inbound(appA, gupshupsim.Inbound{From: "+" + userNumber, Name: "Åsa 😀", Text: text})
	if err != nil {
		t.Fatal(err)
	}
	buttonID, err := w.sim.Inbound(appA, gupshupsim.Inbound{From: userNumber, Type: "button_reply", Text: "Ja ✅", Postback: "yes/1"})
	if err != nil {
		t.Fatal(err)
	}
	pollUntil(t, 15*time.Second, "2 message webhooks", func() bool { return len(rc.posts()) >= 2 })
	quiesce(t, w, 2)

	byID := map[string]gjson.Result{}
	for _, p := range rc.posts() {
		assertSDKsAccepted(t, p, "kapso", "wajs", "great", "ascii", "content_length", "sha1_valid")
		if from := p.Get("message.from").Str; from != userNumber {
			t.Errorf("message.from %q, want %s", from, userNumber)
		}
		if ev := p.Get("wajs_event"); ev.Get("kind").Str != "message" || ev.Get("from").Str != userNumber {
			t.Errorf("whatsapp-api-js saw %s", ev.Raw)
		}
		body := p.Get("body").Str
		if got := gjson.Get(body, "entry.0.changes.0.value.metadata.phone_number_id").Str; got != phoneA {
			t.Errorf("metadata.phone_number_id %q, want %q", got, phoneA)
		}
		byID[p.Get("message.id").Str] = p
	}
	if len(byID) != 2 || len(rc.posts()) != 2 {
		t.Fatalf("%d webhooks of %d distinct messages, want 2 of 2", len(rc.posts()), len(byID))
	}
	tp, ok := byID[textID]
	if !ok {
		t.Fatalf("no webhook for the text message %s", textID)
	}
	body := tp.Get("body").Str
	for _, want := range []string{`\u0928\u092e\u0938\u094d\u0924\u0947`, `\u00e4\u00f6\u00e5`, `\ud83d\ude00`, `a\/b`} {
		if !strings.Contains(body, want) {
			t.Errorf("text webhook lacks %s: %s", want, body)
		}
	}
	v := gjson.Get(body, "entry.0.changes.0.value")
	if v.Get("messages.0.text.body").Str != text || v.Get("contacts.0.profile.name").Str != "Åsa 😀" ||
		v.Get("contacts.0.wa_id").Str != userNumber || tp.Get("message.type").Str != "text" {
		t.Errorf("text webhook content: %s", body)
	}
	bp, ok := byID[buttonID]
	if !ok {
		t.Fatalf("no webhook for the button reply %s", buttonID)
	}
	body = bp.Get("body").Str
	br := gjson.Get(body, "entry.0.changes.0.value.messages.0.interactive")
	if bp.Get("message.type").Str != "interactive" || br.Get("type").Str != "button_reply" ||
		br.Get("button_reply.id").Str != "yes/1" || br.Get("button_reply.title").Str != "Ja ✅" ||
		!strings.Contains(body, `yes\/1`) || !strings.Contains(body, `\u2705`) {
		t.Errorf("button reply webhook: %s", body)
	}
}

// TestWebhookDuplicatesDeliveredOnce subscribes the app twice (v2 and v3,
// as a migration leaves it) and has Gupshup repeat a callback: every status
// still reaches the tenant once.
func TestWebhookDuplicatesDeliveredOnce(t *testing.T) {
	rc := newGoReceiver(t, metaSecretA, "")
	w := newWorld(t, worldOptions{
		webhookA:          &tenantWebhook{url: rc.URL, appSecret: metaSecretA},
		subscribe:         true,
		subscriptionModes: []string{"MESSAGE", "ENQUEUED", "SENT", "DELIVERED", "READ", "FAILED"},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	up := upstream.New(upstream.Config{BaseURL: w.simTS.URL})
	meta := fmt.Sprintf(`{"headers":{%q:%q}}`, w.cfg.Webhooks.SecretHeader, cbSecretA)
	if _, err := up.CreateSubscription(ctx, appA, appTokA, upstream.SubscriptionSpec{
		URL: w.callbackURL(appA), Tag: "legacy-v2", Version: 2, Modes: w.cfg.Webhooks.SubscriptionModes, Meta: meta,
	}); err != nil {
		t.Fatal(err)
	}
	if subs := w.sim.Subscriptions(appA); len(subs) != 2 || subs[0].Version == subs[1].Version {
		t.Fatalf("subscriptions: %+v", subs)
	}

	var gsIDs []string
	for range 2 {
		a := w.send(t, tokenA, phoneA, textBody)
		if a.status != http.StatusOK {
			t.Fatalf("send: HTTP %d %s", a.status, a.body)
		}
		gsIDs = append(gsIDs, a.json("messages.0.id").Str)
	}
	raw := w.v3StatusCallback("gs-raw-dup-1", "wamid.raw-dup-1", "delivered", time.Now().Unix())
	w.sim.EmitRaw(appA, 3, raw)
	w.sim.EmitRaw(appA, 3, raw)
	// A user message comes in both formats too.
	wamid, err := w.sim.Inbound(appA, gupshupsim.Inbound{From: userNumber, Text: "once, please"})
	if err != nil {
		t.Fatal(err)
	}

	// 2 sends × 3 statuses × 2 subscriptions, the raw body twice, the
	// message twice.
	quiesce(t, w, 2*3*2+2+2)
	want := map[string]int{"gs-raw-dup-1/delivered": 1, "message:" + wamid: 1}
	for _, id := range gsIDs {
		want[id+"/sent"], want[id+"/delivered"] = 1, 1
	}
	got := map[string]int{}
	for _, d := range rc.all() {
		if !d.ok() || !d.sigOK || d.header.Get("Content-Type") != "application/json" ||
			d.header.Get("User-Agent") != "facebookexternalua" || !strings.HasPrefix(d.header.Get("X-Hub-Signature"), "sha1=") {
			t.Errorf("delivery answered %d, signature ok %v, headers %v: %s", d.status, d.sigOK, d.header, d.body)
		}
		k := statusKey(d.body)
		if id := d.json("entry.0.changes.0.value.messages.0.id").Str; id != "" {
			k = "message:" + id
		}
		got[k]++
	}
	for k := range want {
		if got[k] != 1 {
			t.Errorf("%s delivered %d times, want once", k, got[k])
		}
	}
	for k, n := range got {
		if want[k] == 0 {
			t.Errorf("unexpected webhook %q (%d times)", k, n)
		}
	}
	// Every status and the message came twice (v2 and v3), the raw body
	// twice; the enqueued statuses are dropped before deduplication.
	if n := w.metric(t, "waproxy_webhook_dedup_hits_total"); n != 6 {
		t.Errorf("waproxy_webhook_dedup_hits_total = %v, want 6", n)
	}
	if n := w.metric(t, "waproxy_webhook_intake_total", `result="accepted"`); n != 16 {
		t.Errorf("waproxy_webhook_intake_total{result=\"accepted\"} = %v, want 16", n)
	}
}

// TestWebhookStatusRegressionStillDelivered has Gupshup report "delivered"
// and then, late, "sent" for the same message: both are relayed, once each,
// in the order they came (clients must cope with it, as with Meta).
func TestWebhookStatusRegressionStillDelivered(t *testing.T) {
	rc := newGoReceiver(t, metaSecretA, "")
	w := newWorld(t, worldOptions{
		webhookA:  &tenantWebhook{url: rc.URL, appSecret: metaSecretA},
		subscribe: true,
	})
	now := time.Now().Unix()
	w.sim.EmitRaw(appA, 3, w.v3StatusCallback("gs-late-1", "wamid.late-1", "delivered", now))
	pollUntil(t, 10*time.Second, "the delivered status", func() bool { return len(rc.delivered()) >= 1 })
	w.sim.EmitRaw(appA, 3, w.v3StatusCallback("gs-late-1", "wamid.late-1", "sent", now-1))
	quiesce(t, w, 2)
	var keys []string
	for _, d := range rc.all() {
		if !d.ok() || !d.sigOK {
			t.Errorf("delivery answered %d, signature ok %v", d.status, d.sigOK)
		}
		keys = append(keys, statusKey(d.body))
	}
	if want := []string{"gs-late-1/delivered", "gs-late-1/sent"}; !slices.Equal(keys, want) {
		t.Errorf("webhooks %q, want %q", keys, want)
	}
}

// TestWebhookIDMapTranslatesReplies: the tenant knows messages by the id
// /messages returned (Gupshup's); replies and reactions naming it reach
// Gupshup with the wamid once a status revealed the pair.
func TestWebhookIDMapTranslatesReplies(t *testing.T) {
	rc := newGoReceiver(t, metaSecretA, "")
	w := newWorld(t, worldOptions{
		webhookA:  &tenantWebhook{url: rc.URL, appSecret: metaSecretA},
		subscribe: true,
	})
	a := w.send(t, tokenA, phoneA, textBody)
	gs := a.json("messages.0.id").Str
	if a.status != http.StatusOK || gs == "" {
		t.Fatalf("send: HTTP %d %s", a.status, a.body)
	}
	pollUntil(t, 10*time.Second, "the sent status webhook", func() bool {
		for _, d := range rc.delivered() {
			if statusKey(d.body) == gs+"/sent" {
				return true
			}
		}
		return false
	})
	wamid := w.sim.WAMID(gs)
	if wamid == "" || wamid == gs {
		t.Fatalf("simulator wamid %q for %q", wamid, gs)
	}
	const unknown = "6f1c2d3e-0000-4000-8000-00000000abcd"
	bodies := []string{
		fmt.Sprintf(`{"messaging_product":"whatsapp","to":"15551234567","type":"text","context":{"message_id":%q},"text":{"body":"a reply"}}`, gs),
		fmt.Sprintf(`{"messaging_product":"whatsapp","recipient_type":"individual","to":"15551234567","type":"reaction","reaction":{"message_id":%q,"emoji":"👍"}}`, gs),
		fmt.Sprintf(`{"messaging_product":"whatsapp","to":"15551234567","type":"text","context":{"message_id":%q},"text":{"body":"a reply to an unknown message"}}`, unknown),
		// Mark as read goes to Gupshup's v1/event call.
		fmt.Sprintf(`{"messaging_product":"whatsapp","status":"read","message_id":%q}`, gs),
	}
	before := len(w.sends())
	for _, b := range bodies {
		if a := w.send(t, tokenA, phoneA, b); a.status != http.StatusOK {
			t.Fatalf("HTTP %d %s", a.status, a.body)
		}
	}
	sends := w.sends()[before:]
	if len(sends) != 3 {
		t.Fatalf("Gupshup got %d sends, want 3", len(sends))
	}
	events := w.sim.Events()
	if len(events) != 1 {
		t.Fatalf("Gupshup got %d read events, want 1", len(events))
	}
	if got := gjson.GetBytes(events[0], "message_id").Str; got != wamid {
		t.Errorf("mark-as-read message_id reached Gupshup as %q, want the wamid %q: %s", got, wamid, events[0])
	}
	if got := gjson.Get(sends[0].Form.Get("context"), "message_id").Str; got != wamid {
		t.Errorf("reply context.message_id reached Gupshup as %q, want the wamid %q", got, wamid)
	}
	if got := gjson.Get(sends[1].Form.Get("reaction"), "message_id").Str; got != wamid {
		t.Errorf("reaction.message_id reached Gupshup as %q, want the wamid %q", got, wamid)
	}
	if got := gjson.Get(sends[1].Form.Get("reaction"), "emoji").Str; got != "👍" {
		t.Errorf("reaction emoji %q", got)
	}
	if got := gjson.Get(sends[2].Form.Get("context"), "message_id").Str; got != unknown {
		t.Errorf("unknown context.message_id reached Gupshup as %q, want it unchanged", got)
	}
	if n := strings.Count(w.logs.String(), `"ids_mapped":1`); n != 3 {
		t.Errorf("%d request log lines with ids_mapped 1, want 3", n)
	}

	// The other way round: a user's reply to the message names it, in the
	// webhook, by the id the client knows.
	replyID, err := w.sim.Inbound(appA, gupshupsim.Inbound{From: "15551234567", Text: "a user reply", ContextGsID: gs})
	if err != nil {
		t.Fatal(err)
	}
	var reply delivery
	pollUntil(t, 10*time.Second, "the user's reply webhook", func() bool {
		for _, d := range rc.delivered() {
			if d.json("entry.0.changes.0.value.messages.0.id").Str == replyID {
				reply = d
				return true
			}
		}
		return false
	})
	if ctxID := reply.json("entry.0.changes.0.value.messages.0.context.id").Str; ctxID != gs {
		t.Errorf("reply webhook context.id %q, want %q: %s", ctxID, gs, reply.body)
	}
}

// TestWebhookIntakeAuth calls the intake over the proxy's socket as
// strangers, Gupshup with a bad body, and Gupshup itself: only the last is
// relayed.
func TestWebhookIntakeAuth(t *testing.T) {
	rc := newGoReceiver(t, metaSecretA, "")
	w := newWorld(t, worldOptions{webhookA: &tenantWebhook{url: rc.URL, appSecret: metaSecretA}})
	valid := w.v3StatusCallback("gs-intake-1", "wamid.intake-1", "sent", time.Now().Unix())
	cases := []struct {
		name, method, app, secret string
		body                      []byte
		status                    int
	}{
		{"wrong secret", "POST", appA, "not-the-secret", valid, 401},
		{"no secret", "POST", appA, "", valid, 401},
		{"secret of another app", "POST", appA, cbSecretB, valid, 401},
		{"unknown app", "POST", "00000000-dead-beef-0000-000000000000", cbSecretA, valid, 401},
		{"app of a tenant without webhook", "POST", appB, cbSecretB, valid, 401},
		{"malformed JSON", "POST", appA, cbSecretA, []byte(`{"object":"whatsapp_business_account","entry":[`), 400},
		{"unknown shape", "POST", appA, cbSecretA, []byte(`{"hello":"world"}`), 200},
		{"reachability check", "GET", appA, "", nil, 200},
	}
	for _, c := range cases {
		a := w.intake(t, c.method, c.app, c.secret, c.body)
		if a.status != c.status {
			t.Errorf("%s: HTTP %d, want %d", c.name, a.status, c.status)
		}
		if c.status != 200 && c.status != 400 && len(a.body) != 0 {
			t.Errorf("%s: body %q, want none", c.name, a.body)
		}
	}
	// Gupshup with the right secret, last: once it is delivered and the
	// queue is empty, anything the rejected calls had queued would have
	// been delivered too.
	if a := w.intake(t, "POST", appA, cbSecretA, valid); a.status != 200 || len(a.body) != 0 {
		t.Fatalf("valid callback: HTTP %d %q", a.status, a.body)
	}
	pollUntil(t, 10*time.Second, "the valid callback's webhook", func() bool { return len(rc.delivered()) >= 1 })
	pollUntil(t, 10*time.Second, "an empty queue", func() bool { return w.pending(t) == 0 })
	all := rc.all()
	if len(all) != 1 || statusKey(all[0].body) != "gs-intake-1/sent" || !all[0].sigOK {
		for _, d := range all {
			t.Logf("delivered: %s", d.body)
		}
		t.Fatalf("%d webhooks, want only gs-intake-1/sent", len(all))
	}
	for result, want := range map[string]float64{"unauthorized": 3, "unknown_app": 2, "malformed": 1, "unknown_shape": 1, "check": 1, "accepted": 1} {
		if n := w.metric(t, "waproxy_webhook_intake_total", `result="`+result+`"`); n != want {
			t.Errorf("waproxy_webhook_intake_total{result=%q} = %v, want %v", result, n, want)
		}
	}
	for _, secret := range []string{cbSecretA, cbSecretB, "not-the-secret"} {
		if strings.Contains(w.logs.String(), secret) {
			t.Errorf("logs contain the callback secret %q", secret)
		}
	}
}

// TestWebhookVerificationAndReadyz runs Meta's handshake at start-up:
// against whatsapp-api-js with the right token (verified) and against an
// endpoint expecting another token (failed); /readyz reports both and stays
// ready.
func TestWebhookVerificationAndReadyz(t *testing.T) {
	node := startNodeReceiver(t, metaSecretA, verifyTokenA)
	other := newGoReceiver(t, metaSecretB, "the-token-b-expects")
	w := newWorld(t, worldOptions{
		webhookA: &tenantWebhook{url: node.url, appSecret: metaSecretA, verifyToken: verifyTokenA},
		webhookB: &tenantWebhook{url: other.URL, appSecret: metaSecretB, verifyToken: "a-wrong-token"},
	})
	var last answer
	pollUntil(t, 10*time.Second, "/readyz to report both handshakes", func() bool {
		last = w.call(t, "GET", "/readyz", "", "", nil)
		if last.status != http.StatusOK || last.json("status").Str != "ready" {
			t.Fatalf("/readyz: HTTP %d %s", last.status, last.body)
		}
		return last.json("webhooks.a").Str == "verified" && strings.HasPrefix(last.json("webhooks.b").Str, "failed: ")
	})
	if b := last.json("webhooks.b").Str; !strings.Contains(b, "403") {
		t.Errorf("webhooks.b = %q, want the reason (HTTP 403)", b)
	}
	if v := node.verifies(); len(v) != 1 || !v[0].Get("verify").Bool() {
		t.Errorf("whatsapp-api-js handshakes: %v", v)
	}
	other.mu.Lock()
	gets := slices.Clone(other.gets)
	other.mu.Unlock()
	if len(gets) != 1 || !strings.Contains(gets[0], "hub.verify_token=a-wrong-token") || !strings.Contains(gets[0], "hub.mode=subscribe") {
		t.Errorf("handshakes at b: %q", gets)
	}
}

// TestWebhookAdminDeadLetters lets an endpoint fail past the retry horizon,
// lists the dead letter through the admin API (without content), then
// replays it once the endpoint works.
func TestWebhookAdminDeadLetters(t *testing.T) {
	rc := newGoReceiver(t, metaSecretA, "")
	rc.answer.Store(http.StatusInternalServerError)
	w := newWorld(t, worldOptions{
		webhookA:  &tenantWebhook{url: rc.URL, appSecret: metaSecretA},
		subscribe: true,
		horizon:   300 * time.Millisecond,
	})
	const content = "DEAD-LETTER-CONTENT-7f3a"
	wamid, err := w.sim.Inbound(appA, gupshupsim.Inbound{From: userNumber, Text: content})
	if err != nil {
		t.Fatal(err)
	}
	list := func() answer {
		a := w.call(t, "GET", "/admin/deadletters", "", adminToken, nil)
		if a.status != http.StatusOK {
			t.Fatalf("/admin/deadletters: HTTP %d %s", a.status, a.body)
		}
		return a
	}
	var dl answer
	pollUntil(t, 10*time.Second, "a dead letter", func() bool {
		dl = list()
		return len(dl.json("data").Array()) > 0
	})
	if n := len(dl.json("data").Array()); n != 1 {
		t.Fatalf("%d dead letters: %s", n, dl.body)
	}
	e := dl.json("data.0")
	if e.Get("tenant").Str != "a" || e.Get("key").Str != "message:"+wamid || e.Get("attempts").Int() < 2 ||
		e.Get("last_error").Str != "HTTP 500" || e.Get("bytes").Int() == 0 || e.Get("id").Uint() == 0 {
		t.Errorf("dead letter: %s", e.Raw)
	}
	if e.Get("body").Exists() || strings.Contains(string(dl.body), content) || strings.Contains(string(dl.body), userNumber) {
		t.Errorf("the admin API shows message content: %s", dl.body)
	}
	if n := len(rc.all()); n < 2 || len(rc.delivered()) != 0 || e.Get("attempts").Int() != int64(n) {
		t.Errorf("%d attempts (dead letter says %d), %d answered 2xx; want >= 2, all failed",
			n, e.Get("attempts").Int(), len(rc.delivered()))
	}
	// The metrics follow the store's move to the dead letters (just after
	// it, from the delivery worker).
	pollUntil(t, 5*time.Second, "an empty queue and the dead-letter counter", func() bool {
		return w.pending(t) == 0 && w.metric(t, "waproxy_webhook_dead_letters_total", `tenant="a"`) == 1
	})
	if n := w.metric(t, "waproxy_webhook_dead_letters"); n != 1 {
		t.Errorf("waproxy_webhook_dead_letters = %v, want 1", n)
	}
	for _, tok := range []string{"", "wrong-admin-token", tokenA} {
		for _, m := range []string{"GET /admin/deadletters", "POST /admin/deadletters/replay"} {
			method, path, _ := strings.Cut(m, " ")
			if a := w.call(t, method, path, "", tok, nil); a.status != http.StatusUnauthorized {
				t.Errorf("%s with token %q: HTTP %d %s", m, tok, a.status, a.body)
			}
		}
	}
	if n := len(list().json("data").Array()); n != 1 {
		t.Fatalf("unauthorized replay changed the dead letters: %d left", n)
	}

	rc.answer.Store(http.StatusOK)
	a := w.call(t, "POST", "/admin/deadletters/replay", "", adminToken, nil)
	if a.status != http.StatusOK || a.json("replayed").Int() != 1 {
		t.Fatalf("replay: HTTP %d %s", a.status, a.body)
	}
	pollUntil(t, 10*time.Second, "the replayed webhook", func() bool { return len(rc.delivered()) >= 1 })
	pollUntil(t, 10*time.Second, "an empty queue", func() bool { return w.pending(t) == 0 })
	d := rc.delivered()
	if len(d) != 1 || !d[0].sigOK || d[0].json("entry.0.changes.0.value.messages.0.text.body").Str != content ||
		d[0].json("entry.0.changes.0.value.messages.0.id").Str != wamid {
		t.Errorf("replayed deliveries: %d", len(d))
	}
	if n := len(list().json("data").Array()); n != 0 {
		t.Errorf("%d dead letters after the replay", n)
	}
}

// TestSubscribeIsIdempotent points the app's Gupshup subscription at the
// intake: created, then unchanged, updated when the modes change; the
// subscription then carries callbacks to the tenant.
func TestSubscribeIsIdempotent(t *testing.T) {
	rc := newGoReceiver(t, metaSecretA, "")
	w := newWorld(t, worldOptions{webhookA: &tenantWebhook{url: rc.URL, appSecret: metaSecretA}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	run := func(cfgModes []string, want string) string {
		t.Helper()
		cfg := *w.cfg
		if cfgModes != nil {
			cfg.Webhooks.SubscriptionModes = cfgModes
		}
		res := w.app.Subscribe(ctx, &cfg)
		if len(res) != 1 || res[0].AppID != appA || res[0].Err != nil || res[0].Action != want || res[0].SubscriptionID == "" {
			t.Fatalf("Subscribe: %+v, want one %s for %s", res, want, appA)
		}
		return res[0].SubscriptionID
	}
	id := run(nil, "created")
	if got := run(nil, "unchanged"); got != id {
		t.Errorf("unchanged subscription %s, created %s", got, id)
	}
	modes := []string{"MESSAGE", "SENT", "DELIVERED"}
	if got := run(modes, "updated"); got != id {
		t.Errorf("updated subscription %s, created %s", got, id)
	}
	run(modes, "unchanged")

	subs := w.sim.Subscriptions(appA)
	if len(subs) != 1 {
		t.Fatalf("app A has %d subscriptions: %+v", len(subs), subs)
	}
	s := subs[0]
	got := slices.Clone(s.Modes)
	slices.Sort(got)
	if s.ID != id || s.Version != 3 || !s.Active || s.URL != w.proxy.URL+"/gupshup/callbacks/"+appA ||
		s.Tag != w.cfg.Webhooks.SubscriptionTag || !slices.Equal(got, []string{"DELIVERED", "MESSAGE", "SENT"}) {
		t.Errorf("subscription: %+v", s)
	}
	if h := gjson.Get(s.Meta, "headers").Get(gjson.Escape(w.cfg.Webhooks.SecretHeader)).Str; h != cbSecretA {
		t.Errorf("meta %s does not send %s: %s", s.Meta, w.cfg.Webhooks.SecretHeader, cbSecretA)
	}
	if subs := w.sim.Subscriptions(appB); len(subs) != 0 {
		t.Errorf("app B (tenant without webhook) got subscriptions: %+v", subs)
	}

	// The subscription works: a user message reaches the tenant.
	wamid, err := w.sim.Inbound(appA, gupshupsim.Inbound{From: userNumber, Text: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	pollUntil(t, 10*time.Second, "the inbound message's webhook", func() bool { return len(rc.delivered()) >= 1 })
	if d := rc.delivered()[0]; d.json("entry.0.changes.0.value.messages.0.id").Str != wamid || !d.sigOK {
		t.Errorf("webhook: %s", d.body)
	}
}

// TestWebhookReplayedDeadLetterIsRetried: a replayed dead letter goes
// through the retry policy again, so one more failure of an endpoint that
// has just come back does not make it a dead letter at once.
func TestWebhookReplayedDeadLetterIsRetried(t *testing.T) {
	rc := newGoReceiver(t, metaSecretA, "")
	rc.answer.Store(http.StatusServiceUnavailable)
	w := newWorld(t, worldOptions{
		webhookA:  &tenantWebhook{url: rc.URL, appSecret: metaSecretA},
		subscribe: true,
		horizon:   300 * time.Millisecond,
	})
	wamid, err := w.sim.Inbound(appA, gupshupsim.Inbound{From: userNumber, Text: "replay me"})
	if err != nil {
		t.Fatal(err)
	}
	list := func() []gjson.Result {
		a := w.call(t, "GET", "/admin/deadletters", "", adminToken, nil)
		if a.status != http.StatusOK {
			t.Fatalf("/admin/deadletters: HTTP %d %s", a.status, a.body)
		}
		return a.json("data").Array()
	}
	var dead []gjson.Result
	pollUntil(t, 10*time.Second, "a dead letter", func() bool { dead = list(); return len(dead) == 1 })
	// Replays come later than the horizon, typically days after the event
	// was created: let the (short) horizon pass since its creation.
	created, err := time.Parse(time.RFC3339Nano, dead[0].Get("created").Str)
	if err != nil {
		t.Fatalf("dead letter created %q: %v", dead[0].Get("created").Str, err)
	}
	pollUntil(t, 5*time.Second, "the horizon since the event's creation", func() bool {
		return time.Since(created) > 300*time.Millisecond+100*time.Millisecond
	})

	// The endpoint is back but its first answer is still a 503, as when a
	// deploy finishes: the replayed event must be retried, not given up.
	failures := len(rc.all())
	rc.failNext.Store(1)
	rc.answer.Store(http.StatusOK)
	if a := w.call(t, "POST", "/admin/deadletters/replay", "application/json", adminToken, []byte(`{}`)); a.status != http.StatusOK || a.json("replayed").Int() != 1 {
		t.Fatalf("replay: HTTP %d %s", a.status, a.body)
	}
	eventually(10*time.Second, 5*time.Millisecond, func() bool {
		if len(rc.delivered()) > 0 {
			return true
		}
		if dl := list(); len(dl) == 1 && len(rc.all()) > failures {
			// Dead again after the replay's first attempt.
			t.Fatalf("the replayed event was dead-lettered again after %d attempt(s) (last_error %q), "+
				"without a retry: the horizon still counts from its first creation",
				len(rc.all())-failures, dl[0].Get("last_error").Str)
		}
		return false
	})
	d := rc.delivered()
	if len(d) != 1 || d[0].json("entry.0.changes.0.value.messages.0.id").Str != wamid {
		t.Fatalf("replayed event not delivered: %d deliveries", len(d))
	}
}

// TestWebhookIntakeHeadReachability: the intake answers a HEAD reachability
// check like a GET one (ServeIntake treats both as checks).
func TestWebhookIntakeHeadReachability(t *testing.T) {
	rc := newGoReceiver(t, metaSecretA, "")
	w := newWorld(t, worldOptions{webhookA: &tenantWebhook{url: rc.URL, appSecret: metaSecretA}})
	if a := w.intake(t, http.MethodGet, appA, "", nil); a.status != http.StatusOK {
		t.Fatalf("GET: HTTP %d", a.status)
	}
	if a := w.intake(t, http.MethodHead, appA, "", nil); a.status != http.StatusOK {
		t.Errorf("HEAD %s: HTTP %d, want 200 like GET", intakePath(appA), a.status)
	}
}

// TestSubscribeIdempotentWithModeSpellings: Gupshup matches modes
// case-insensitively, stores them upper-case, canonicalises the aliases
// FLOW_MESSAGE and DELETE and drops duplicates (as the simulator does), so
// such spellings in the config must not make every run an update.
func TestSubscribeIdempotentWithModeSpellings(t *testing.T) {
	for name, modes := range map[string][]string{
		"lower case": {"message", "sent", "delivered", "read", "failed"},
		"aliases":    {"MESSAGE", "FLOW_MESSAGE", "DELETE", "SENT"},
		"duplicates": {"MESSAGE", "SENT", "sent", "DELIVERED"},
	} {
		t.Run(name, func(t *testing.T) {
			rc := newGoReceiver(t, metaSecretA, "")
			w := newWorld(t, worldOptions{
				webhookA:          &tenantWebhook{url: rc.URL, appSecret: metaSecretA},
				subscriptionModes: modes,
			})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for i, want := range []string{"created", "unchanged", "unchanged"} {
				res := w.app.Subscribe(ctx, w.cfg)
				if len(res) != 1 || res[0].Err != nil {
					t.Fatalf("run %d: %+v", i+1, res)
				}
				if res[0].Action != want {
					t.Errorf("run %d with modes %q: %s, want %s (Gupshup holds %q)",
						i+1, modes, res[0].Action, want, w.sim.Subscriptions(appA)[0].Modes)
				}
			}
		})
	}
}
