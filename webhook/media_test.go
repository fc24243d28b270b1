package webhook

import (
	"context"
	"strings"
	"testing"

	"waproxy/metrics"
	"waproxy/store"
)

// imageCallback is a v3 inbound image as Gupshup posts it for app.
func imageCallback(app, mediaID, url string) string {
	return `{"object":"whatsapp_business_account","gs_app_id":"` + app + `","entry":[{"id":"1111","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550002222","phone_number_id":"100000000000002"},"contacts":[{"profile":{"name":"S"},"wa_id":"15551234567"}],"messages":[{"from":"15551234567","id":"wamid.IMG-` + mediaID + `","timestamp":"1705574900","type":"image","image":{"id":"` + mediaID + `","mime_type":"image/jpeg","sha256":"nH77","url":"` + url + `"}}]}}]}]}`
}

// A callback never moves a media id: one naming an id another tenant
// uploaded leaves owner and URL as they were (so that tenant's lookups go
// on fetching from where they did, and the callback's tenant gets Graph's
// unknown-object answer for it), and is counted. Its own new ids are
// recorded for its app only.
func TestCallbackCannotTakeOverMedia(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	f := newRelay(t, nil, []Target{
		{Tenant: "a", URL: "http://127.0.0.1:1/hook", AppSecret: appSec},
		{Tenant: "b", URL: "http://127.0.0.1:1/hook-b", AppSecret: appSec},
	}, func(o *Options) { o.Metrics, o.Media = m, o.Queue.(*store.Bolt) })
	ctx := context.Background()
	upload := store.Media{ID: "X", Tenant: "a", AppID: appA, MimeType: "image/jpeg", SHA256: "ab", Size: 42}
	if err := f.q.PutMedia(ctx, upload); err != nil { // as an upload records it
		t.Fatal(err)
	}
	before, _, _ := f.q.Media(ctx, "X")

	if got := f.post(t, "app-b", "cb-secret-b", imageCallback("app-b", "X", "http://attacker.test/steal")); got != 200 {
		t.Fatalf("intake = %d", got)
	}
	after, ok, err := f.q.Media(ctx, "X")
	if err != nil || !ok || after != before {
		t.Errorf("after app-b's callback the index says %+v (%v, %v); want it unchanged: %+v", after, ok, err, before)
	}
	if after.Tenant == "b" || strings.Contains(after.URL, "attacker") {
		t.Errorf("tenant b took the id over: %+v", after)
	}
	if s := scrape(t, m); !strings.Contains(s, "waproxy_webhook_media_conflicts_total 1") {
		t.Errorf("conflict not counted:\n%s", grepLines(s, "media_conflicts"))
	}

	if got := f.post(t, "app-b", "cb-secret-b", imageCallback("app-b", "Y", "https://filemanager.gupshup.io/y")); got != 200 {
		t.Fatalf("intake = %d", got)
	}
	y, ok, err := f.q.Media(ctx, "Y")
	if err != nil || !ok || y.Tenant != "b" || y.AppID != "app-b" || y.URL != "https://filemanager.gupshup.io/y" {
		t.Errorf("app-b's own media = %+v (%v, %v); want it recorded for b/app-b", y, ok, err)
	}
}
