package translate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// testAppSecret signs the bodies shown in the webhook goldens.
const testAppSecret = "test-app-secret"

// fixturePhone is the number the webhook fixtures are translated for.
func fixturePhone() PhoneMeta {
	return PhoneMeta{PhoneNumberID: "106540352242922", DisplayPhoneNumber: "15550783881"}
}

// webhookFixtureOptions are the options a webhook fixture is translated
// with: the configuration defaults (gs_id in statuses, no forwarded fields)
// and fixturePhone, except where the fixture's name asks for something else.
func webhookFixtureOptions(name string) WebhookOptions {
	opts := WebhookOptions{StatusIDFromGsID: true, Phone: fixturePhone()}
	switch {
	case strings.HasSuffix(name, "_keep_wamid"):
		opts.StatusIDFromGsID = false
	case name == "billing_event_forwarded":
		opts.ForwardFields = []string{"billing-event"}
	case name == "template_status_forwarded":
		opts.ForwardFields = []string{"message_template_status_update", "billing-event"}
	case strings.HasSuffix(name, "_wabaid"):
		opts.Phone.WABAID = "999888777666555"
	}
	return opts
}

// renderWebhook is the golden form of a translation: the options, then per
// event its metadata, the signature headers for testAppSecret and the exact
// body (followed by an indented copy for review), then what was dropped.
func renderWebhook(opts WebhookOptions, res WebhookResult, err error) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "options: status_id_from_gs_id=%t forward_fields=%q phone_number_id=%q display_phone_number=%q waba_id=%q\n",
		opts.StatusIDFromGsID, opts.ForwardFields, opts.Phone.PhoneNumberID, opts.Phone.DisplayPhoneNumber, opts.Phone.WABAID)
	if err != nil {
		fmt.Fprintf(&b, "error: %v\n", err)
		return b.Bytes()
	}
	fmt.Fprintf(&b, "version: %d\nevents: %d\n", res.Version, len(res.Events))
	for i, ev := range res.Events {
		s256, s1 := SignWebhook(ev.Body, testAppSecret)
		fmt.Fprintf(&b, "\n=== event %d\nkind: %s\nfield: %s\nkey: %s\ngs_id: %s\nwamid: %s\n", i+1, ev.Kind, ev.Field, ev.Key, ev.GsID, ev.WAMID)
		for _, m := range ev.Media {
			fmt.Fprintf(&b, "media: id=%q mime_type=%q sha256=%q url=%q\n", m.ID, m.MimeType, m.SHA256, m.URL)
		}
		fmt.Fprintf(&b, "X-Hub-Signature-256: %s\nX-Hub-Signature: %s\nbody:\n%s\n", s256, s1, ev.Body)
		var ind bytes.Buffer
		if json.Indent(&ind, ev.Body, "", "  ") == nil {
			fmt.Fprintf(&b, "body, indented for review:\n%s\n", ind.Bytes())
		}
	}
	fmt.Fprintf(&b, "\ndropped: %d\n", len(res.Dropped))
	for _, d := range res.Dropped {
		fmt.Fprintf(&b, "  %s\n", d)
	}
	for _, p := range res.IDs {
		fmt.Fprintf(&b, "learned id pair: gs_id=%s wamid=%s\n", p.GsID, p.WAMID)
	}
	return b.Bytes()
}

// assertWebhookEvent checks what every event must satisfy, independently of
// the goldens: one Meta envelope with one change, pure ASCII in Graph's
// canonical escaping, no Gupshup member left, one status or message.
func assertWebhookEvent(t *testing.T, ev WebhookEvent) {
	t.Helper()
	body := ev.Body
	if !gjson.ValidBytes(body) {
		t.Fatalf("body is not valid JSON: %s", body)
	}
	for i, c := range body {
		if c >= 0x80 || c < 0x20 {
			t.Fatalf("byte %d of the body is %#x, not printable ASCII", i, c)
		}
	}
	if re := AppendMetaJSON(nil, body); !bytes.Equal(re, body) {
		t.Errorf("body is not in canonical Meta form:\n%s\nre-encoded:\n%s", body, re)
	}
	root := gjson.ParseBytes(body)
	if root.Get("object").String() != "whatsapp_business_account" {
		t.Errorf("object: %s", root.Get("object").Raw)
	}
	if n := len(root.Get("entry").Array()); n != 1 {
		t.Errorf("%d entries", n)
	}
	if id := root.Get("entry.0.id"); id.Type != gjson.String || id.Str == "" {
		t.Errorf("entry id %s", id.Raw)
	}
	if n := len(root.Get("entry.0.changes").Array()); n != 1 {
		t.Errorf("%d changes", n)
	}
	if f := root.Get("entry.0.changes.0.field").String(); f != ev.Field {
		t.Errorf("field %q, event says %q", f, ev.Field)
	}
	value := root.Get("entry.0.changes.0.value")
	walkJSON(value, func(name string, _ gjson.Result) {
		if strings.HasPrefix(name, "gs_") || name == "meta_msg_id" {
			t.Errorf("Gupshup member %q left in the body", name)
		}
	})
	statuses, messages := value.Get("statuses").Array(), value.Get("messages").Array()
	switch ev.Kind {
	case "status":
		if len(statuses) != 1 || value.Get("messages").Exists() {
			t.Fatalf("status event with %d statuses / messages %s", len(statuses), value.Get("messages").Raw)
		}
		s := statuses[0]
		if ts := s.Get("timestamp"); ts.Type != gjson.String || (isDigits(ts.Str) && len(ts.Str) > 12) {
			t.Errorf("status timestamp %s is not a string of seconds", ts.Raw)
		}
		if !strings.HasPrefix(ev.Key, "status:") || !strings.HasSuffix(ev.Key, ":"+s.Get("status").String()) {
			t.Errorf("key %q for status %s", ev.Key, s.Get("status").Raw)
		}
		if s.Get("status").String() == "enqueued" {
			t.Errorf("enqueued status forwarded")
		}
	case "message":
		if len(messages) != 1 || value.Get("statuses").Exists() {
			t.Fatalf("message event with %d messages / statuses %s", len(messages), value.Get("statuses").Raw)
		}
		m := messages[0]
		if ev.Key != "message:"+m.Get("id").String() {
			t.Errorf("key %q for message id %s", ev.Key, m.Get("id").Raw)
		}
		if ts := m.Get("timestamp"); ts.Exists() && ts.Type != gjson.String {
			t.Errorf("message timestamp %s is not a string", ts.Raw)
		}
		for _, typ := range []string{"image", "video", "audio", "document", "sticker"} {
			if m.Get(typ + ".url").Exists() {
				t.Errorf("%s.url left in the message", typ)
			}
		}
	case "other":
		if ev.Key != bodyKey(body) {
			t.Errorf("key %q is not the body hash", ev.Key)
		}
	default:
		t.Errorf("kind %q", ev.Kind)
	}
	if ev.Kind != "other" && ev.Field != "messages" {
		t.Errorf("%s event with field %q", ev.Kind, ev.Field)
	}
	if ev.Kind != "other" && (value.Get("messaging_product").String() != "whatsapp" || !value.Get("metadata").IsObject()) {
		t.Errorf("value lacks messaging_product or metadata: %s", value.Raw)
	}
}

// walkJSON calls fn for every object member at any depth of v.
func walkJSON(v gjson.Result, fn func(name string, value gjson.Result)) {
	v.ForEach(func(k, m gjson.Result) bool {
		if k.Type == gjson.String {
			fn(k.Str, m)
		}
		if m.IsObject() || m.IsArray() {
			walkJSON(m, fn)
		}
		return true
	})
}

// runWebhookGoldens translates every fixture of testdata/webhook/<dir>.
func runWebhookGoldens(t *testing.T, dir string, version int) {
	for in, golden := range fixtures(t, filepath.Join("webhook", dir)) {
		name := strings.TrimSuffix(filepath.Base(in), ".json")
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			opts := webhookFixtureOptions(name)
			res, err := GupshupWebhook(body, opts)
			checkGolden(t, golden, renderWebhook(opts, res, err))
			if err != nil {
				t.Fatalf("translation failed: %v", err)
			}
			if res.Version != version {
				t.Errorf("version %d, want %d", res.Version, version)
			}
			if len(res.Events)+len(res.Dropped) == 0 {
				t.Errorf("no event and nothing dropped")
			}
			for _, ev := range res.Events {
				assertWebhookEvent(t, ev)
			}
		})
	}
}

// TestWebhookGoldenV3 pins the translation of every v3 fixture.
func TestWebhookGoldenV3(t *testing.T) { runWebhookGoldens(t, "v3", 3) }

// TestWebhookGoldenV2 pins the translation of every v2 fixture.
func TestWebhookGoldenV2(t *testing.T) { runWebhookGoldens(t, "v2", 2) }

// translateFixture translates one fixture with its options.
func translateFixture(t *testing.T, path string) WebhookResult {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", "webhook", path))
	if err != nil {
		t.Fatal(err)
	}
	res, err := GupshupWebhook(body, webhookFixtureOptions(strings.TrimSuffix(filepath.Base(path), ".json")))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestWebhookOutcomes checks the facts the goldens show, so a careless
// -update cannot bless a regression.
func TestWebhookOutcomes(t *testing.T) {
	type want struct {
		kinds   string // event kinds, space separated
		keys    string // event keys, space separated
		dropped string
	}
	cases := map[string]want{
		"v3/status_sent.json":                     {"status", "status:7daeb742-f2dc-4c09-90e0-d879d20f7b98:sent", ""},
		"v3/status_enqueued.json":                 {"", "", "status:enqueued"},
		"v3/status_batch.json":                    {"status status status", "status:a1a1a1a1-0000-4000-8000-000000000001:sent status:b2b2b2b2-0000-4000-8000-000000000002:delivered status:a1a1a1a1-0000-4000-8000-000000000001:read", "status:enqueued"},
		"v3/multi_entry.json":                     {"status message", "status:7daeb742-f2dc-4c09-90e0-d879d20f7b98:read message:wamid.ENTRY2", "field:billing-event"},
		"v3/contacts_multi.json":                  {"message message", "message:wamid.MULTI1 message:wamid.MULTI2", ""},
		"v3/billing_event_dropped.json":           {"", "", "field:billing-event"},
		"v3/billing_event_forwarded.json":         {"other", "", ""},
		"v3/errors_only.json":                     {"other", "", ""},
		"v2/message_event_enqueued.json":          {"", "", "status:enqueued"},
		"v2/system_event.json":                    {"", "", "v2:system-event"},
		"v2/user_event.json":                      {"", "", "v2:user-event"},
		"v2/quick_reply_seed.json":                {"message", "message:wamid.HBgMOTE4ODg4OTk4NTQ1FQIAEhgUM0EzODA1NkE2OENBNEFGQjFFQjkA", ""},
		"v2/message_event_failed.json":            {"status", "status:59f8db80-1c2d-4e5f-8a9b-0c1d2e3f4a5b:failed", ""},
		"v3/status_delivered_ms_no_metadata.json": {"status", "status:7daeb742-f2dc-4c09-90e0-d879d20f7b98:delivered", ""},
	}
	for path, w := range cases {
		t.Run(path, func(t *testing.T) {
			res := translateFixture(t, path)
			var kinds, keys []string
			for _, ev := range res.Events {
				kinds = append(kinds, ev.Kind)
				if ev.Kind != "other" {
					keys = append(keys, ev.Key)
				}
			}
			if got := strings.Join(kinds, " "); got != w.kinds {
				t.Errorf("kinds %q, want %q", got, w.kinds)
			}
			if got := strings.Join(keys, " "); got != w.keys {
				t.Errorf("keys %q, want %q", got, w.keys)
			}
			if got := strings.Join(res.Dropped, " "); got != w.dropped {
				t.Errorf("dropped %q, want %q", got, w.dropped)
			}
		})
	}

	t.Run("status id and envelope", func(t *testing.T) {
		ev := translateFixture(t, "v3/status_sent.json").Events[0]
		v := gjson.GetBytes(ev.Body, "entry.0.changes.0.value")
		checks := map[string]string{
			"statuses.0.id":                                "7daeb742-f2dc-4c09-90e0-d879d20f7b98",
			"metadata.phone_number_id":                     "106540352242922",
			"metadata.display_phone_number":                "918375031069",
			"statuses.0.conversation.expiration_timestamp": "1710936120",
		}
		for path, want := range checks {
			if got := v.Get(path).String(); got != want {
				t.Errorf("%s = %q, want %q", path, got, want)
			}
		}
		if ev.GsID != "7daeb742-f2dc-4c09-90e0-d879d20f7b98" || !strings.HasPrefix(ev.WAMID, "wamid.") {
			t.Errorf("gs_id %q wamid %q", ev.GsID, ev.WAMID)
		}
		if id := gjson.GetBytes(ev.Body, "entry.0.id").String(); id != "102290129340398" {
			t.Errorf("entry id %q", id)
		}
		keep := translateFixture(t, "v3/status_sent_keep_wamid.json").Events[0]
		if id := gjson.GetBytes(keep.Body, "entry.0.changes.0.value.statuses.0.id").String(); id != ev.WAMID || keep.Key != ev.Key {
			t.Errorf("keep wamid: id %q key %q", id, keep.Key)
		}
	})

	t.Run("missing envelope parts", func(t *testing.T) {
		ev := translateFixture(t, "v3/status_delivered_ms_no_metadata.json").Events[0]
		root := gjson.ParseBytes(ev.Body)
		if got := root.Get("entry.0.id").String(); got != "0" {
			t.Errorf("entry id %q, want 0", got)
		}
		v := root.Get("entry.0.changes.0.value")
		if got := v.Get("metadata").Raw; got != `{"display_phone_number":"15550783881","phone_number_id":"106540352242922"}` {
			t.Errorf("metadata %s", got)
		}
		if got := v.Get("statuses.0.timestamp").Raw; got != `"1710941395"` {
			t.Errorf("timestamp %s", got)
		}
		if got := v.Get("statuses.0.conversation.expiration_timestamp").Raw; got != `"1710936120"` {
			t.Errorf("expiration %s", got)
		}
	})

	t.Run("failed status errors completed", func(t *testing.T) {
		ev := translateFixture(t, "v3/status_failed.json").Events[0]
		e := gjson.GetBytes(ev.Body, "entry.0.changes.0.value.statuses.0.errors.0")
		title := e.Get("title").String()
		if e.Get("message").String() != title || e.Get("error_data.details").String() != title || e.Get("code").Raw != "131047" {
			t.Errorf("error %s", e.Raw)
		}
	})

	t.Run("media and context", func(t *testing.T) {
		ev := translateFixture(t, "v3/document.json").Events[0]
		if len(ev.Media) != 1 || ev.Media[0].ID != "1130524398765432" || ev.Media[0].MimeType != "application/pdf" ||
			!strings.HasPrefix(ev.Media[0].URL, "https://filemanager.gupshup.io/") || ev.Media[0].SHA256 == "" {
			t.Errorf("media %+v", ev.Media)
		}
		flow := translateFixture(t, "v3/flow_nfm_reply.json").Events[0]
		if got := gjson.GetBytes(flow.Body, "entry.0.changes.0.value.messages.0.context").Raw; got != `{"from":"9876543210_1","id":"0e74fb92-2d8b-4d4c-9b7e-5f6a7b8c9d0e"}` {
			t.Errorf("context %s", got)
		}
		if flow.GsID != "0e74fb92-2d8b-4d4c-9b7e-5f6a7b8c9d0e" || !strings.HasPrefix(flow.WAMID, "wamid.") {
			t.Errorf("context ids %q %q", flow.GsID, flow.WAMID)
		}
		v2 := translateFixture(t, "v2/quick_reply_seed.json").Events[0]
		m := gjson.GetBytes(v2.Body, "entry.0.changes.0.value.messages.0")
		if got := m.Get("context").Raw; got != `{"from":"15550783881","id":"3d749fe7-36fb-44b6-8209-f79efed697f9"}` {
			t.Errorf("v2 context %s", got)
		}
		if got := m.Get("button").Raw; got != `{"payload":"hello","text":"Yes"}` {
			t.Errorf("v2 button %s", got)
		}
		if got := m.Get("timestamp").Raw; got != `"1716900845"` {
			t.Errorf("v2 timestamp %s", got)
		}
	})

	t.Run("contacts narrowed per message", func(t *testing.T) {
		for _, ev := range translateFixture(t, "v3/contacts_multi.json").Events {
			v := gjson.GetBytes(ev.Body, "entry.0.changes.0.value")
			cs := v.Get("contacts").Array()
			if len(cs) != 1 || cs[0].Get("wa_id").String() != v.Get("messages.0.from").String() {
				t.Errorf("contacts %s for message from %s", v.Get("contacts").Raw, v.Get("messages.0.from").Raw)
			}
		}
	})

	t.Run("forwarded fields stripped", func(t *testing.T) {
		ev := translateFixture(t, "v3/template_status_forwarded.json").Events[0]
		v := gjson.GetBytes(ev.Body, "entry.0.changes.0.value")
		if v.Get("gs_template_id").Exists() || v.Get("message_template_id").Raw != "1234567890123456" || ev.Field != "message_template_status_update" {
			t.Errorf("value %s field %q", v.Raw, ev.Field)
		}
	})

	t.Run("v2 location digits", func(t *testing.T) {
		for path, want := range map[string]string{
			"v2/location.json":         `{"latitude":12.9716,"longitude":77.5946,"name":"Cubbon Park","address":"Kasturba Road, Bengaluru"}`,
			"v2/location_numbers.json": `{"latitude":37.7749295,"longitude":-122.4194155}`,
		} {
			ev := translateFixture(t, path).Events[0]
			if got := gjson.GetBytes(ev.Body, "entry.0.changes.0.value.messages.0.location").Raw; got != want {
				t.Errorf("%s: location %s, want %s", path, got, want)
			}
		}
	})
}

// TestWebhookV2V3SameKeys checks that Gupshup's v2 and v3 deliveries of the
// same status and of the same inbound message carry the same Key, so the
// dedupe store drops the second one.
func TestWebhookV2V3SameKeys(t *testing.T) {
	const gsID, wamid = "7daeb742-f2dc-4c09-90e0-d879d20f7b98", "wamid.HBgMOTE5OTcwNzU0NjczFQIAERgSQjNGNTg4RjA4QTlGNUE5RjFDAA=="
	opts := WebhookOptions{StatusIDFromGsID: true, Phone: fixturePhone()}
	pairs := []struct{ name, v3, v2 string }{
		{"sent",
			`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","statuses":[{"gs_id":"` + gsID + `","id":"` + wamid + `","recipient_id":"919970754673","status":"sent","timestamp":"1710930461"}]}}]}]}`,
			`{"app":"DemoApp","timestamp":1710930461512,"version":2,"type":"message-event","payload":{"id":"` + wamid + `","gsId":"` + gsID + `","type":"sent","destination":"919970754673","payload":{"ts":1710930461}}}`},
		{"read",
			`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"statuses":[{"gs_id":"` + gsID + `","id":"` + wamid + `","recipient_id":"919970754673","status":"read","timestamp":1710930470000}]}}]}]}`,
			`{"app":"DemoApp","timestamp":1710930470777,"version":"2","type":"message-event","payload":{"id":"` + wamid + `","gsId":"` + gsID + `","type":"read","destination":"919970754673","payload":{"ts":1710930470}}}`},
		{"failed",
			`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"statuses":[{"gs_id":"` + gsID + `","id":"` + wamid + `","recipient_id":"919970754673","status":"failed","timestamp":"1710930470","errors":[{"code":131026,"title":"Message undeliverable"}]}]}}]}]}`,
			`{"app":"DemoApp","timestamp":1710930470777,"version":2,"type":"message-event","payload":{"id":"` + wamid + `","gsId":"` + gsID + `","type":"failed","destination":"919970754673","payload":{"code":131026,"reason":"Message undeliverable"}}}`},
		{"inbound text",
			`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","contacts":[{"profile":{"name":"S"},"wa_id":"919970754673"}],"messages":[{"from":"919970754673","id":"wamid.IN1","timestamp":"1705574871","type":"text","text":{"body":"Hi"}}]}}]}]}`,
			`{"app":"DemoApp","timestamp":1705574871123,"version":2,"type":"message","payload":{"id":"wamid.IN1","source":"919970754673","type":"text","payload":{"text":"Hi"},"sender":{"phone":"919970754673","name":"S"}}}`},
	}
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			r3, err := GupshupWebhook([]byte(p.v3), opts)
			if err != nil || len(r3.Events) != 1 || r3.Version != 3 {
				t.Fatalf("v3: %v %+v", err, r3)
			}
			r2, err := GupshupWebhook([]byte(p.v2), opts)
			if err != nil || len(r2.Events) != 1 || r2.Version != 2 {
				t.Fatalf("v2: %v %+v", err, r2)
			}
			e3, e2 := r3.Events[0], r2.Events[0]
			if e3.Key != e2.Key {
				t.Errorf("keys differ: v3 %q, v2 %q", e3.Key, e2.Key)
			}
			if e3.GsID != e2.GsID || e3.WAMID != e2.WAMID || e3.Kind != e2.Kind {
				t.Errorf("ids differ: v3 %q/%q/%s, v2 %q/%q/%s", e3.GsID, e3.WAMID, e3.Kind, e2.GsID, e2.WAMID, e2.Kind)
			}
			// Both say the same thing to the client.
			for _, path := range []string{"statuses.0.id", "statuses.0.status", "statuses.0.timestamp", "statuses.0.recipient_id",
				"messages.0.id", "messages.0.from", "messages.0.timestamp", "messages.0.text.body", "statuses.0.errors.0.code"} {
				a := gjson.GetBytes(e3.Body, "entry.0.changes.0.value."+path).Raw
				b := gjson.GetBytes(e2.Body, "entry.0.changes.0.value."+path).Raw
				if a != b {
					t.Errorf("%s: v3 %s, v2 %s", path, a, b)
				}
			}
		})
	}
}

// TestGupshupWebhookErrors covers bodies that are not callbacks at all and
// malformed callbacks that must neither fail nor panic.
func TestGupshupWebhookErrors(t *testing.T) {
	cases := []struct {
		name, body string
		err        error
		version    int
		dropped    string
	}{
		{"empty", ``, ErrNotJSON, 0, ""},
		{"spaces", "  \n", ErrNotJSON, 0, ""},
		{"truncated", `{"object":"whatsapp_business_account","entry":[{"changes":[`, ErrNotJSON, 0, ""},
		{"not json", `status=sent&id=1`, ErrNotJSON, 0, ""},
		{"trailing garbage", `{"object":"x"} {}`, ErrNotJSON, 0, ""},
		{"unknown object", `{"foo":1}`, ErrUnknownCallback, 0, ""},
		{"array", `[{"object":"whatsapp_business_account"}]`, ErrUnknownCallback, 0, ""},
		{"string", `"object"`, ErrUnknownCallback, 0, ""},
		{"version 3 without object", `{"version":3,"type":"message"}`, ErrUnknownCallback, 0, ""},
		{"entry not an array", `{"object":"whatsapp_business_account","entry":{"id":"1"}}`, nil, 3, "v3:no-entry"},
		{"no entry", `{"object":"whatsapp_business_account"}`, nil, 3, "v3:no-entry"},
		{"changes not an array", `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":"x"}]}`, nil, 3, "entry:no-changes"},
		{"entry item not an object", `{"object":"whatsapp_business_account","entry":[1,null]}`, nil, 3, "entry:no-changes entry:no-changes"},
		{"value not an object", `{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":[]}]}]}`, nil, 3, "messages:empty"},
		{"empty value", `{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{}}]}]}`, nil, 3, "messages:empty"},
		{"items not objects", `{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"statuses":[1],"messages":["x"]}}]}]}`, nil, 3, "status:invalid message:invalid"},
		{"no field", `{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{}}]}]}`, nil, 3, "field:"},
		{"v2 type and payload", `{"type":"user-event","payload":{}}`, nil, 2, "v2:user-event"},
		{"v2 version string", `{"version":"2","type":"template-event"}`, nil, 2, "v2:template-event"},
		{"v2 version only", `{"version":2}`, nil, 2, "v2:"},
		{"v2 message without payload", `{"version":2,"type":"message","payload":"x"}`, nil, 2, "v2:message:no-payload"},
		{"v2 event without payload", `{"version":2,"type":"message-event"}`, nil, 2, "v2:message-event:no-payload"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := GupshupWebhook([]byte(c.body), WebhookOptions{})
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("err %v, want %v", err, c.err)
				}
				if len(res.Events) != 0 || res.Version != 0 {
					t.Errorf("result with an error: %+v", res)
				}
				return
			}
			if err != nil {
				t.Fatalf("err %v", err)
			}
			if res.Version != c.version || len(res.Events) != 0 || strings.Join(res.Dropped, " ") != c.dropped {
				t.Errorf("got version %d, %d events, dropped %q; want version %d, dropped %q",
					res.Version, len(res.Events), res.Dropped, c.version, c.dropped)
			}
		})
	}
}

// TestWebhookEdgeShapes covers shapes the fixtures do not: members in odd
// places, numbers where strings are usual, duplicates.
func TestWebhookEdgeShapes(t *testing.T) {
	opts := WebhookOptions{StatusIDFromGsID: true, Phone: PhoneMeta{PhoneNumberID: "PNID", DisplayPhoneNumber: "15550001111", WABAID: "WABA"}}
	cases := []struct{ name, in, value string }{
		{"metadata inserted after messaging_product",
			`{"object":"whatsapp_business_account","entry":[{"id":1,"changes":[{"field":"messages","value":{"x":1,"messaging_product":"whatsapp","statuses":[{"id":"w","status":"read","timestamp":"1"}]}}]}]}`,
			`{"x":1,"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"PNID"},"statuses":[{"id":"w","status":"read","timestamp":"1"}]}`},
		{"metadata completed",
			`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"GS","gs_x":1,"other":true},"statuses":[{"gs_id":"g","status":"read","timestamp":"1"}]}}]}]}`,
			`{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"PNID","other":true},"statuses":[{"id":"g","status":"read","timestamp":"1"}]}`},
		{"metadata without phone_number_id",
			`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"1"},"statuses":[{"id":"w","status":"read","timestamp":1234567890123}]}}]}]}`,
			`{"messaging_product":"whatsapp","metadata":{"display_phone_number":"1","phone_number_id":"PNID"},"statuses":[{"id":"w","status":"read","timestamp":"1234567890"}]}`},
		{"placeholder timestamp kept",
			`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{},"statuses":[{"id":"w","status":"read","timestamp":"TIMESTAMP"}]}}]}]}`,
			`{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"PNID"},"statuses":[{"id":"w","status":"read","timestamp":"TIMESTAMP"}]}`},
		{"context gs_id without id",
			`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":"x"},"messages":[{"context":{"gs_id":"G","from":"1"},"from":"2","id":"m","timestamp":"5","type":"text","text":{"body":"b"}}]}}]}]}`,
			`{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"PNID"},"messages":[{"context":{"id":"G","from":"1"},"from":"2","id":"m","timestamp":"5","type":"text","text":{"body":"b"}}]}`},
		{"error with message kept, non-object error",
			`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{},"statuses":[{"id":"w","status":"failed","timestamp":"1","errors":[{"code":1,"title":"T","message":"M"},"x"]}]}}]}]}`,
			`{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"PNID"},"statuses":[{"id":"w","status":"failed","timestamp":"1","errors":[{"code":1,"title":"T","message":"M","error_data":{"details":"T"}},"x"]}]}`},
		{"status contacts kept and narrowed",
			`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{},"contacts":[{"wa_id":"1"},{"wa_id":"2"}],"statuses":[{"id":"w","status":"sent","timestamp":"1","recipient_id":"2"}]}}]}]}`,
			`{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"PNID"},"contacts":[{"wa_id":"2"}],"statuses":[{"id":"w","status":"sent","timestamp":"1","recipient_id":"2"}]}`},
		{"contacts without match kept",
			`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{},"contacts":[{"wa_id":"1"},{"wa_id":"2"}],"messages":[{"from":"3","id":"m","type":"text","text":{"body":"x"}}]}}]}]}`,
			`{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"PNID"},"contacts":[{"wa_id":"1"},{"wa_id":"2"}],"messages":[{"from":"3","id":"m","type":"text","text":{"body":"x"}}]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := GupshupWebhook([]byte(c.in), opts)
			if err != nil || len(res.Events) != 1 {
				t.Fatalf("%v %+v", err, res)
			}
			ev := res.Events[0]
			assertWebhookEvent(t, ev)
			if got := gjson.GetBytes(ev.Body, "entry.0.changes.0.value").Raw; got != c.value {
				t.Errorf("value\n got %s\nwant %s", got, c.value)
			}
			if id := gjson.GetBytes(ev.Body, "entry.0.id").Raw; id != `"WABA"` {
				t.Errorf("entry id %s", id)
			}
		})
	}
}

// TestWebhookNumberFidelity checks that numbers in members the translation
// does not know keep their exact digits.
func TestWebhookNumberFidelity(t *testing.T) {
	in := `{"object":"whatsapp_business_account","entry":[{"id":"1","time":17105000001234567890,"changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{},` +
		`"statuses":[{"id":"w","status":"sent","timestamp":"1","unknown":{"big":12345678901234567890,"huge":1.0e+30,"tiny":-1.25E-7,"arr":[0.1000,100000000000000000001]}}]}}]}]}`
	res, err := GupshupWebhook([]byte(in), WebhookOptions{})
	if err != nil || len(res.Events) != 1 {
		t.Fatalf("%v %+v", err, res)
	}
	body := string(res.Events[0].Body)
	for _, want := range []string{
		`"time":17105000001234567890`,
		`"unknown":{"big":12345678901234567890,"huge":1.0e+30,"tiny":-1.25E-7,"arr":[0.1000,100000000000000000001]}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %s:\n%s", want, body)
		}
	}
	forwarded, err := GupshupWebhook([]byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"x","value":{"n":12345678901234567890,"f":1.0e+30}}]}]}`),
		WebhookOptions{ForwardFields: []string{"x"}})
	if err != nil || len(forwarded.Events) != 1 || !strings.Contains(string(forwarded.Events[0].Body), `"value":{"n":12345678901234567890,"f":1.0e+30}`) {
		t.Errorf("forwarded: %v %s", err, forwarded.Events)
	}
}

// FuzzGupshupWebhook checks that no body makes the translation panic and
// that every event it yields is a valid, pure-ASCII Meta webhook.
func FuzzGupshupWebhook(f *testing.F) {
	for _, dir := range []string{"v2", "v3"} {
		files, _ := filepath.Glob(filepath.Join("testdata", "webhook", dir, "*.json"))
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil {
				f.Add(b)
			}
		}
	}
	for _, s := range []string{``, `{`, `{"foo":1}`, `{"object":1,"entry":{}}`, `{"object":"x","entry":[{"changes":[{"field":"messages","value":{"statuses":[{"status":"sent","errors":[{"title":1}]}]}}]}]}`,
		`{"version":2,"type":"message","payload":{"type":"image","payload":{"url":"/"}}}`, `{"type":"message-event","payload":{"type":"failed","payload":{"reason":{}}}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, opts := range []WebhookOptions{{}, {StatusIDFromGsID: true, ForwardFields: []string{"billing-event", ""}, Phone: fixturePhone()}} {
			res, err := GupshupWebhook(body, opts)
			if err != nil {
				if !errors.Is(err, ErrNotJSON) && !errors.Is(err, ErrUnknownCallback) {
					t.Fatalf("unexpected error %v", err)
				}
				continue
			}
			for _, ev := range res.Events {
				if !gjson.ValidBytes(ev.Body) {
					t.Fatalf("invalid body %s for %q", ev.Body, body)
				}
				for _, c := range ev.Body {
					if c >= 0x80 {
						t.Fatalf("non-ASCII body %s", ev.Body)
					}
				}
			}
		}
	})
}
