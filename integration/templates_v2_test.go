package integration

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"waproxy/gupshupsim"
)

// v2Templates are appA's Gupshup templates in the send_api v2 tests.
func v2Templates() []gupshupsim.Template {
	qr := func(texts ...string) []gupshupsim.TemplateButton {
		var out []gupshupsim.TemplateButton
		for _, t := range texts {
			out = append(out, gupshupsim.TemplateButton{Type: "QUICK_REPLY", Text: t})
		}
		return out
	}
	return []gupshupsim.Template{
		{AppID: appA, ElementName: "order_update", LanguageCode: "en", Header: "Order {{1}}",
			Data: "Hi {{1}}, your order of {{2}} ships {{3}}.", Buttons: qr("Track", "Stop")},
		{AppID: appA, ElementName: "named_greeting", LanguageCode: "en_US", Category: "UTILITY",
			Data: "Dear {{first_name}}, your ticket {{ticket}} is ready, {{first_name}}."},
		{AppID: appA, ElementName: "receipt_doc", LanguageCode: "en", TemplateType: "DOCUMENT", Data: "Your receipt, {{1}}."},
		{AppID: appA, ElementName: "summer_carousel", LanguageCode: "en", TemplateType: "CAROUSEL",
			Data: "Pick one, {{1}}", Buttons: qr("Buy")},
		{AppID: appA, ElementName: "flash_sale", LanguageCode: "en", TemplateType: "LTO", Data: "Hurry, {{1}}!",
			Buttons: []gupshupsim.TemplateButton{{Type: "COPY_CODE", Text: "Copy code"},
				{Type: "URL", Text: "Shop", URL: "https://shop.example.com/{{1}}"}}},
		{AppID: appA, ElementName: "catalog_mpm", LanguageCode: "en", TemplateType: "PRODUCT", Data: "New for you, {{1}}",
			Buttons: []gupshupsim.TemplateButton{{Type: "MPM", Text: "View items"}}},
		{AppID: appA, ElementName: "old_offer", LanguageCode: "en", Status: "PAUSED", Data: "Old"},
	}
}

// templateSends returns the simulator's template/msg requests by the
// messageId it answered, in order.
func templateSends(w *world) []gupshupsim.Request {
	var out []gupshupsim.Request
	for _, r := range w.sim.Requests() {
		if strings.HasSuffix(r.Path, "/template/msg") {
			out = append(out, r)
		}
	}
	return out
}

// templateID is the simulator's id of appA's template name/language.
func templateID(t *testing.T, w *world, name, lang string) string {
	t.Helper()
	for _, tpl := range w.sim.Templates(appA) {
		if tpl.ElementName == name && tpl.LanguageCode == lang {
			return tpl.ID
		}
	}
	t.Fatalf("no simulator template %s/%s", name, lang)
	return ""
}

// TestTemplatesV2SDK sends every kind of template through Kapso to a
// send_api v2 number and checks the exact template/msg fields Gupshup got,
// the errors for what the v2 call cannot carry, that status webhooks carry
// the ids /messages returned, and that a quick-reply tap reaches the
// tenant's webhook handler as Meta's button message with the payload the
// SDK sent.
func TestTemplatesV2SDK(t *testing.T) {
	rc := startNodeReceiver(t, metaSecretA, "")
	w := newWorld(t, worldOptions{
		v2A:       true,
		templates: v2Templates(),
		webhookA:  &tenantWebhook{url: rc.url, appSecret: metaSecretA},
		subscribe: true,
	})
	if subs := w.sim.Subscriptions(appA); len(subs) != 1 || subs[0].Version != 2 || subs[0].Has("FLOWS_MESSAGE") {
		t.Fatalf("appA's subscription is not a v2 one without FLOWS_MESSAGE: %+v", subs)
	}
	imageID := w.upload(t, tokenA, phoneA, "image/jpeg", append([]byte{0xff, 0xd8, 0xff, 0xe0}, make([]byte, 1000)...))
	res := nodeScript(t, "templates-v2.mjs",
		"PROXY_BASE_URL="+w.proxy.URL, "ACCESS_TOKEN="+tokenA, "PHONE_NUMBER_ID="+phoneA, "TO=+1 (631) 555-1234",
		"IMAGE_MEDIA_ID="+imageID, "GRAPH_VERSION=v23.0")

	sends := templateSends(w)
	if len(sends) != 6 {
		t.Fatalf("Gupshup got %d template/msg sends, want 6 (the refused ones must not reach it)", len(sends))
	}
	if n := len(w.sends()); n != 0 {
		t.Errorf("Gupshup got %d v3 sends from a v2 number, want 0", n)
	}
	type want struct {
		scenario, name, lang string
		template             string // the template field, exactly
		message              string // the message field ("" = absent)
		postbackTexts        string // "" = absent
	}
	wants := []want{
		{"text_params", "order_update", "en", `{"id":"ID","params":["#4711","Zoë","€12,50","tomorrow"]}`, "",
			`[{"index":0,"text":"TRACK-4711"},{"index":1,"text":"STOP-4711"}]`},
		{"named_params", "named_greeting", "en_US", `{"id":"ID","params":["Åsa","T-99"]}`, "", ""},
		{"media_header", "receipt_doc", "en", `{"id":"ID","params":["Zoë"]}`,
			`{"type":"document","document":{"link":"https://example.com/r/42.pdf","filename":"receipt-42.pdf"}}`, ""},
		{"carousel", "summer_carousel", "en", `{"id":"ID","params":["Zoë"]}`,
			`{"type":"carousel","cardHeaderType":"IMAGE","cards":[{"link":"https://example.com/c/1.jpg","postbackTexts":[{"index":0,"text":"CARD-1"}]},{"id":"` + imageID + `","postbackTexts":[{"index":0,"text":"CARD-2"}]}]}`, ""},
		{"lto", "flash_sale", "en", `{"id":"ID","params":["Zoë","SAVE25","sale/summer?ref=wa"],"expiration":1767225599000}`, "", ""},
		{"mpm", "catalog_mpm", "en", `{"id":"ID","params":["Zoë","sku-thumb"],"mpm":{"sections":[{"title":"Shoes","products":["sku-1","sku-2"]},{"title":"Hats","products":["sku-3"]}]}}`, "", ""},
	}
	for i, wt := range wants {
		r, ok := res[wt.scenario]
		if !ok || i >= len(sends) {
			t.Errorf("scenario %s did not run", wt.scenario)
			continue
		}
		f := sends[i].Form
		tpl := strings.Replace(wt.template, `"ID"`, `"`+templateID(t, w, wt.name, wt.lang)+`"`, 1)
		if got := f.Get("template"); !jsonEqual(got, tpl) {
			t.Errorf("%s: template\n got %s\nwant %s", wt.scenario, got, tpl)
		}
		if got := f.Get("message"); (wt.message == "") != (got == "") || (got != "" && !jsonEqual(got, wt.message)) {
			t.Errorf("%s: message\n got %s\nwant %s", wt.scenario, got, wt.message)
		}
		if got := f.Get("postbackTexts"); (wt.postbackTexts == "") != (got == "") || (got != "" && !jsonEqual(got, wt.postbackTexts)) {
			t.Errorf("%s: postbackTexts\n got %s\nwant %s", wt.scenario, got, wt.postbackTexts)
		}
		if f.Get("source") != sourceA || f.Get("src.name") != "AppA" || f.Get("destination") != "16315551234" ||
			f.Get("channel") != "whatsapp" || f.Get("sandbox") != "false" {
			t.Errorf("%s: form %v", wt.scenario, f)
		}
		if r.Get("message_id").Str == "" {
			t.Errorf("%s: no message id: %s", wt.scenario, r.Raw)
		}
	}
	for sc, details := range map[string]string{
		"unknown_template":      "no_such_template",
		"wrong_language":        "pt_BR",
		"session_text":          "text",
		"unsupported_card_body": "card",
	} {
		if d := res[sc].Get("error.details").Str; !strings.Contains(d, details) {
			t.Errorf("%s: details %q do not name %q", sc, d, details)
		}
	}

	// Status webhooks (v2 message events) carry the ids /messages returned.
	orderID := res["text_params"].Get("message_id").Str
	pollUntil(t, 15*time.Second, "the order's delivered status", func() bool {
		for _, p := range rc.posts() {
			if p.Get("status.id").Str == orderID && p.Get("status.status").Str == "delivered" {
				return true
			}
		}
		return false
	})

	// The user taps "Track": Gupshup's v2 quick_reply carries the postback
	// text the SDK sent as the button's payload.
	replyID, err := w.sim.Inbound(appA, gupshupsim.Inbound{From: userNumber, Type: "button", Text: "Track", ContextGsID: orderID})
	if err != nil {
		t.Fatal(err)
	}
	var reply gjson.Result
	pollUntil(t, 15*time.Second, "the quick-reply webhook", func() bool {
		for _, p := range rc.posts() {
			if p.Get("message.id").Str == replyID {
				reply = p
				return true
			}
		}
		return false
	})
	assertSDKsAccepted(t, reply, "kapso", "wajs", "great", "ascii", "json")
	m := gjson.Get(reply.Get("body").Str, "entry.0.changes.0.value.messages.0")
	if reply.Get("message.type").Str != "button" || m.Get("button.payload").Str != "TRACK-4711" ||
		m.Get("button.text").Str != "Track" || m.Get("context.id").Str != orderID {
		t.Errorf("quick-reply webhook: Kapso saw %s; message %s", reply.Get("message").Raw, m.Raw)
	}
	if ev := reply.Get("wajs_event"); ev.Get("kind").Str != "message" || ev.Get("type").Str != "button" {
		t.Errorf("whatsapp-api-js saw %s", ev.Raw)
	}
}

// TestTemplatesV2Lookup pins the template lookup of v2 numbers: one list
// call serves many sends, an unknown name is refused without asking
// Gupshup again within the negative TTL, an unapproved template is
// unknown, a template approved later is found after a refresh, and the
// seed's error answers map to Meta errors.
func TestTemplatesV2Lookup(t *testing.T) {
	w := newWorld(t, worldOptions{v2A: true, templates: v2Templates()})
	body := func(name, to string) string {
		return `{"messaging_product":"whatsapp","to":"` + to + `","type":"template","template":{"name":"` + name +
			`","language":{"code":"en"},"components":[{"type":"body","parameters":[{"type":"text","text":"Zoë"}]}]}}`
	}
	for range 5 {
		if a := w.send(t, tokenA, phoneA, body("receipt_doc", "15551234567")); a.status != http.StatusOK {
			t.Fatalf("send: HTTP %d %s", a.status, a.body)
		}
	}
	if n := w.sim.TemplateListCalls(appA); n != 1 {
		t.Errorf("%d template list calls for 5 sends, want 1", n)
	}
	for range 3 {
		assertMetaError(t, w.send(t, tokenA, phoneA, body("brand_new", "15551234567")), http.StatusNotFound, 132001)
	}
	assertMetaError(t, w.send(t, tokenA, phoneA, body("old_offer", "15551234567")), http.StatusNotFound, 132001)
	if n := w.sim.TemplateListCalls(appA); n > 2 {
		t.Errorf("%d template list calls after repeated misses, want at most 2 (misses are cached)", n)
	}

	// Approved at Gupshup after the misses: refused from the negative
	// cache until it expires (templates.negative_ttl), then found with one
	// more list call. Sends are repeated until it is found: how many are
	// refused first depends on the machine's speed, not on the behaviour.
	w.sim.AddTemplate(gupshupsim.Template{AppID: appA, ElementName: "brand_new", Data: "Hi {{1}}"})
	before := w.sim.TemplateListCalls(appA)
	var last answer
	found := eventually(10*time.Second, 20*time.Millisecond, func() bool {
		last = w.send(t, tokenA, phoneA, body("brand_new", "15551234567"))
		if last.status != http.StatusOK {
			assertMetaError(t, last, http.StatusNotFound, 132001)
		}
		return last.status == http.StatusOK
	})
	if !found {
		t.Errorf("a template approved later: still HTTP %d %s after 10s", last.status, last.body)
	}
	if n := w.sim.TemplateListCalls(appA) - before; n != 1 {
		t.Errorf("%d list calls to find the new template, want 1", n)
	}

	// Errors of template/msg itself, through the same table as v3.
	cases := []struct {
		name, to string
		status   int
		code     int64
	}{
		{"Gupshup's internal error", "91987" + gupshupsim.SuffixInternalError, http.StatusInternalServerError, 131000},
		{"Gupshup's Invalid Destination", "91" + gupshupsim.SuffixInvalidDestination, http.StatusBadRequest, 100},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assertMetaError(t, w.send(t, tokenA, phoneA, body("receipt_doc", tc.to)), tc.status, tc.code)
		})
	}

	// Phone B is a v3 number: its template sends still use the passthrough.
	if a := w.send(t, tokenB, phoneB, body("receipt_doc", "15551234567")); a.status != http.StatusOK || len(w.sends()) != 1 {
		t.Errorf("v3 number: HTTP %d %s, %d v3 sends", a.status, a.body, len(w.sends()))
	}
}

// jsonEqual compares two JSON texts by value, keeping numbers' digits.
func jsonEqual(a, b string) bool {
	return gjson.Valid(a) && gjson.Valid(b) && normJSON(gjson.Parse(a)) == normJSON(gjson.Parse(b))
}

func normJSON(v gjson.Result) string {
	switch {
	case v.IsObject():
		var parts []string
		v.ForEach(func(k, val gjson.Result) bool {
			parts = append(parts, k.Raw+":"+normJSON(val))
			return true
		})
		return "{" + strings.Join(parts, ",") + "}"
	case v.IsArray():
		var parts []string
		for _, e := range v.Array() {
			parts = append(parts, normJSON(e))
		}
		return "[" + strings.Join(parts, ",") + "]"
	case v.Type == gjson.String:
		return `"` + v.Str + `"`
	default:
		return v.Raw
	}
}
