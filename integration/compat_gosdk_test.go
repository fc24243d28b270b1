package integration

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/piusalfred/whatsapp/config"
	"github.com/piusalfred/whatsapp/flow"
	"github.com/piusalfred/whatsapp/media"
	wamsg "github.com/piusalfred/whatsapp/message"
	werrors "github.com/piusalfred/whatsapp/pkg/errors"
	whttp "github.com/piusalfred/whatsapp/pkg/http"
	"github.com/piusalfred/whatsapp/webhooks"
	whmsg "github.com/piusalfred/whatsapp/webhooks/message"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// gosdkMetaStatusWebhook is a status notification in Meta's documented
// format (Cloud API webhooks reference, "statuses"): timestamp and
// expiration_timestamp are strings of Unix seconds.
const gosdkMetaStatusWebhook = `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{` +
	`"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},` +
	`"statuses":[{"id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA","status":"delivered",` +
	`"timestamp":"1750263773","recipient_id":"16505551234",` +
	`"conversation":{"id":"4a3d7ed2b8c4f8e2a1b0c9d8e7f6a5b4","expiration_timestamp":"1750348800","origin":{"type":"service"}},` +
	`"pricing":{"billable":true,"pricing_model":"PMP","type":"regular","category":"service"}}]},"field":"messages"}]}]}`

// gosdkFlowJSON is a valid two-screen flow JSON (Meta's sample shape).
const gosdkFlowJSON = `{"version":"6.0","screens":[` +
	`{"id":"WELCOME","title":"Welcome","data":{},"layout":{"type":"SingleColumnLayout","children":[` +
	`{"type":"TextHeading","text":"Book a table"},` +
	`{"type":"Footer","label":"Continue","on-click-action":{"name":"navigate","next":{"type":"screen","name":"DONE"},"payload":{}}}]}},` +
	`{"id":"DONE","title":"Thanks","terminal":true,"data":{},"layout":{"type":"SingleColumnLayout","children":[` +
	`{"type":"TextBody","text":"See you soon"},` +
	`{"type":"Footer","label":"Finish","on-click-action":{"name":"complete","payload":{}}}]}}]}`

// gosdkCompat runs the Go SDK scenario against a world (see harness_test.go) whose tenant A webhook
// points at http://127.0.0.1:<env.WebhookPort>/webhook. It starts the SDK's webhook listener on that port,
// calls verify() (which runs the proxy's verification handshake and reports whether the proxy got the
// challenge back) after the listener is up, runs the sends, calls inbound() (which makes the simulated user
// send a text and returns its wamid), waits for the webhook deliveries (≤15 s), and returns one result per
// capability, in the contract's order.
//
// The SDK (github.com/piusalfred/whatsapp v0.0.10) is pointed at the proxy
// by its config.Config (BaseURL, APIVersion, AccessToken, PhoneNumberID,
// BusinessAccountID) and nothing else; its HTTP client only records what it
// sends (to tell the SDK's own bugs from the proxy's).
func gosdkCompat(t *testing.T, env compatEnv, verify func() bool, inbound func(messageIDs []string) string) []capResult {
	t.Helper()
	r := &gosdkRun{t: t, env: env, results: map[string]capResult{}, dir: t.TempDir()}
	r.conf = &config.Config{
		BaseURL:           strings.TrimRight(env.ProxyBaseURL, "/"),
		APIVersion:        env.GraphVersion,
		AccessToken:       env.AccessToken,
		PhoneNumberID:     env.PhoneNumberID,
		BusinessAccountID: env.WABAID,
	}
	reader := config.ReaderFunc(func(context.Context) (*config.Config, error) {
		c := *r.conf
		return &c, nil
	})
	r.rec = &gosdkRecorder{next: http.DefaultTransport, logf: t.Logf}
	client := &http.Client{Transport: r.rec, Timeout: 15 * time.Second}
	msgClient, err := wamsg.NewBaseClient(whttp.NewSender[wamsg.Message](whttp.WithCoreClientHTTPClient[wamsg.Message](client)), reader)
	if err != nil {
		t.Errorf("gosdk: message client: %v", err)
		return r.ordered()
	}
	r.msg = msgClient
	anySender := whttp.NewSender[any](whttp.WithCoreClientHTTPClient[any](client))
	r.media = &media.BaseClient{ConfReader: reader, Sender: anySender}
	r.flows = flow.NewBaseClient(reader, anySender)

	// 1. The SDK's webhook side.
	hook, err := startGosdkHook(t, env)
	if err != nil {
		t.Errorf("gosdk: webhook listener: %v", err)
		for _, c := range capabilities {
			r.set(c.ID, "fail", "the SDK's webhook listener could not start")
		}
		return r.ordered()
	}
	r.hook = hook

	// 2. Meta's handshake through the proxy's verifier.
	verified := verify()
	switch n := hook.verifications(); {
	case verified && n > 0:
		r.pass("webhook_verify")
	case !verified && n > 0:
		r.fail("webhook_verify", "the SDK answered the challenge but the proxy did not verify the endpoint")
	default:
		r.fail("webhook_verify", "the SDK's subscription verification did not answer the proxy's challenge")
	}

	// 3. Sends.
	ctx := context.Background()
	r.sends(ctx)
	r.mediaScenario(ctx)
	flowID := r.flowsLifecycle(ctx)
	r.interactiveFlow(ctx, flowID)
	r.deprecateFlow(ctx, flowID)
	r.errorSurface(ctx)
	r.na("typing", "no typing indicator helper")
	r.na("interactive_address", "no address message support (its interactive action parameters have no country or values)")
	r.na("template_mpm", "no multi-product template button (its template parameters have no action)")

	// 4. The user's message, then read receipts for it.
	wamid := inbound(append([]string(nil), r.ids...))
	r.markRead(ctx, wamid)

	// 5. Webhook deliveries.
	r.webhooks(wamid)
	return r.ordered()
}

type gosdkRun struct {
	t     *testing.T
	env   compatEnv
	conf  *config.Config
	rec   *gosdkRecorder
	msg   *wamsg.BaseClient
	media *media.BaseClient
	flows *flow.BaseClient
	hook  *gosdkHook
	dir   string
	ids   []string
	// flowUploadDefect says how the SDK's flow JSON upload missed the flow.
	flowUploadDefect string
	results          map[string]capResult
}

func (r *gosdkRun) set(capability, result, detail string) {
	if _, done := r.results[capability]; done {
		return
	}
	if result != "pass" {
		r.t.Logf("gosdk %s: %s: %s", capability, result, detail)
	}
	r.results[capability] = capResult{Capability: capability, Result: result, Detail: detail}
}

func (r *gosdkRun) pass(c string)                   { r.set(c, "pass", "") }
func (r *gosdkRun) fail(c, detail string)           { r.set(c, "fail", detail) }
func (r *gosdkRun) na(c, detail string)             { r.set(c, "n/a", detail) }
func (r *gosdkRun) defect(c, detail string)         { r.set(c, "defect", detail) }
func (r *gosdkRun) failErr(c, what string, e error) { r.fail(c, what+": "+gosdkDescribe(e)) }

// ordered returns every capability in the contract's order; one the
// scenario never reached fails.
func (r *gosdkRun) ordered() []capResult {
	out := make([]capResult, 0, len(capabilities))
	for _, c := range capabilities {
		res, ok := r.results[c.ID]
		if !ok {
			res = capResult{Capability: c.ID, Result: "fail", Detail: "the scenario did not reach this capability"}
		}
		out = append(out, res)
	}
	return out
}

// sent checks a /messages answer as the SDK parsed it: one message id and
// the recipient's wa_id. It keeps the id.
func (r *gosdkRun) sent(c string, resp *wamsg.Response, err error) (string, bool) {
	if err != nil {
		r.failErr(c, "the send failed", err)
		return "", false
	}
	if resp == nil || resp.Product != "whatsapp" || len(resp.Messages) != 1 || resp.Messages[0].ID == "" {
		r.fail(c, "the SDK's parsed answer has no message id")
		return "", false
	}
	if len(resp.Contacts) != 1 || resp.Contacts[0].WhatsappID != gosdkDigits(r.env.To) {
		r.fail(c, "the SDK's parsed answer does not name the recipient's wa_id")
		return "", false
	}
	id := resp.Messages[0].ID
	r.ids = append(r.ids, id)
	return id, true
}

// send sends a message built with the SDK's options through its generic
// SendMessage and checks the answer.
func (r *gosdkRun) send(ctx context.Context, c string, opts ...wamsg.Option) (string, bool) {
	m, err := wamsg.New(r.env.To, opts...)
	if err != nil {
		r.failErr(c, "the SDK could not build the message", err)
		return "", false
	}
	resp, err := r.msg.SendMessage(ctx, m)
	id, ok := r.sent(c, resp, err)
	if ok {
		r.pass(c)
	}
	return id, ok
}

func (r *gosdkRun) sends(ctx context.Context) {
	to := r.env.To
	first := ""
	resp, err := r.msg.SendText(ctx, wamsg.NewRequest(to, &wamsg.Text{Body: "héllo from the Go SDK 😀"}, ""))
	if id, ok := r.sent("text", resp, err); ok {
		first = id
		r.pass("text")
	}

	resp, err = r.msg.SendImage(ctx, wamsg.NewRequest(to, &wamsg.Image{Link: "https://example.com/photo.jpg", Caption: "by link"}, ""))
	if _, ok := r.sent("media_link", resp, err); ok {
		r.pass("media_link")
	}

	resp, err = r.msg.SendLocation(ctx, wamsg.NewRequest(to, &wamsg.Location{
		Latitude: 37.4847, Longitude: -122.1477, Name: "Meta HQ", Address: "1 Hacker Way, Menlo Park, CA 94025",
	}, ""))
	if _, ok := r.sent("location", resp, err); ok {
		r.pass("location")
	}

	contact := wamsg.NewContact(
		wamsg.WithContactName(&wamsg.Name{FormattedName: "Zoë Example", FirstName: "Zoë", LastName: "Example"}),
		wamsg.WithContactPhones(&wamsg.Phone{Phone: "+1 (650) 555-1234", Type: "WORK", WaID: "16505551234"}),
		wamsg.WithContactEmails(&wamsg.Email{Email: "zoe@example.com", Type: "WORK"}),
		wamsg.WithContactOrganization(&wamsg.Org{Company: "Example Inc", Title: "Engineer"}),
		wamsg.WithContactBirthdays(time.Date(1990, 5, 17, 0, 0, 0, 0, time.UTC)),
	)
	contacts := wamsg.Contacts{contact}
	resp, err = r.msg.SendContacts(ctx, wamsg.NewRequest(to, &contacts, ""))
	if _, ok := r.sent("contacts", resp, err); ok {
		r.pass("contacts")
	}

	if first == "" {
		r.fail("reaction", "no message to react to (the text send failed)")
		r.fail("reply_context", "no message to reply to (the text send failed)")
	} else {
		resp, err = r.msg.SendReaction(ctx, wamsg.NewRequest(to, &wamsg.Reaction{MessageID: first, Emoji: "👍"}, ""))
		if _, ok := r.sent("reaction", resp, err); ok {
			r.pass("reaction")
		}
		r.replyContext(ctx, first)
	}

	r.send(ctx, "interactive_button", wamsg.WithInteractiveReplyButtons(&wamsg.InteractiveReplyButtonsRequest{
		Buttons: []*wamsg.InteractiveReplyButton{{ID: "yes", Title: "Yes"}, {ID: "no", Title: "No"}},
		Body:    "Confirm your table for two?",
		Header:  wamsg.InteractiveHeaderText("Reservation"),
		Footer:  "Reply with a button",
	}))

	resp, err = r.msg.SendInteractiveMessage(ctx, wamsg.NewRequest(to, &wamsg.Interactive{
		Type:   "list",
		Header: wamsg.InteractiveHeaderText("Menu"),
		Body:   &wamsg.InteractiveBody{Text: "Pick a dessert"},
		Footer: &wamsg.InteractiveFooter{Text: "Served all day"},
		Action: &wamsg.InteractiveAction{Button: "Desserts", Sections: []*wamsg.InteractiveSection{
			{Title: "Cakes", Rows: []*wamsg.InteractiveSectionRow{{ID: "cheesecake", Title: "Cheesecake", Description: "New York style"}}},
			{Title: "Italian", Rows: []*wamsg.InteractiveSectionRow{{ID: "tiramisu", Title: "Tiramisù"}}},
		}},
	}, ""))
	if _, ok := r.sent("interactive_list", resp, err); ok {
		r.pass("interactive_list")
	}

	r.send(ctx, "interactive_cta_url", wamsg.WithInteractiveCTAURLButton(&wamsg.InteractiveCTARequest{
		DisplayText: "See dates",
		URL:         "https://example.com/dates?src=whatsapp",
		Body:        "Tap to see the available dates.",
		Header:      wamsg.InteractiveHeaderText("Availability"),
		Footer:      "Opens the browser",
	}))

	resp, err = r.msg.SendInteractiveMessage(ctx, wamsg.NewRequest(to, &wamsg.Interactive{
		Type:   "product",
		Body:   &wamsg.InteractiveBody{Text: "Our best seller"},
		Footer: &wamsg.InteractiveFooter{Text: "Free delivery"},
		Action: &wamsg.InteractiveAction{CatalogID: "194836987003835", ProductRetailerID: "sku-espresso"},
	}, ""))
	if _, ok := r.sent("interactive_product", resp, err); ok {
		r.pass("interactive_product")
	}

	resp, err = r.msg.SendInteractiveMessage(ctx, wamsg.NewRequest(to, &wamsg.Interactive{
		Type:   "product_list",
		Header: wamsg.InteractiveHeaderText("Coffee"),
		Body:   &wamsg.InteractiveBody{Text: "Beans and machines"},
		Footer: &wamsg.InteractiveFooter{Text: "Free delivery"},
		Action: &wamsg.InteractiveAction{CatalogID: "194836987003835", Sections: []*wamsg.InteractiveSection{
			{Title: "Beans", ProductItems: []*wamsg.Product{{RetailerID: "sku-arabica"}, {RetailerID: "sku-robusta"}}},
			{Title: "Machines", ProductItems: []*wamsg.Product{{RetailerID: "sku-espresso"}}},
		}},
	}, ""))
	if _, ok := r.sent("interactive_product_list", resp, err); ok {
		r.pass("interactive_product_list")
	}

	resp, err = r.msg.SendInteractiveMessage(ctx, wamsg.NewRequest(to, &wamsg.Interactive{
		Type:   "catalog_message",
		Body:   &wamsg.InteractiveBody{Text: "Browse our catalog"},
		Footer: &wamsg.InteractiveFooter{Text: "Updated daily"},
		Action: &wamsg.InteractiveAction{Name: "catalog_message"},
	}, ""))
	if _, ok := r.sent("interactive_catalog", resp, err); ok {
		r.pass("interactive_catalog")
	}

	ask := "Where should we deliver?"
	resp, err = r.msg.RequestLocation(ctx, wamsg.NewRequest(to, &ask, ""))
	if _, ok := r.sent("interactive_location_request", resp, err); ok {
		r.pass("interactive_location_request")
	}

	r.templates(ctx)
}

// replyContext sends a text as a reply. The SDK puts the context under the
// JSON key "config" (message.Message.Context is tagged json:"config"), so
// what it sends is no reply in Meta's format whatever the server does.
func (r *gosdkRun) replyContext(ctx context.Context, replyTo string) {
	const c = "reply_context"
	resp, err := r.msg.SendText(ctx, wamsg.NewRequest(r.env.To, &wamsg.Text{Body: "a reply"}, replyTo))
	body := r.rec.lastBody("/messages")
	hasContext := gjson.GetBytes(body, "context.message_id").Str == replyTo
	if !hasContext && gjson.GetBytes(body, "config.message_id").Str == replyTo {
		if err == nil {
			// Keep the id: the proxy relayed a plain message.
			r.sent(c, resp, err)
		}
		r.defect(c, "it sends the reply context under the key config instead of context, so Meta sends a plain message")
		return
	}
	if !hasContext {
		r.fail(c, "the SDK sent no context.message_id")
		return
	}
	if _, ok := r.sent(c, resp, err); ok {
		r.pass(c)
	}
}

func (r *gosdkRun) templates(ctx context.Context) {
	lang := &wamsg.TemplateLanguage{Code: "en_US", Policy: "deterministic"}
	send := func(tpl *wamsg.Template) (*wamsg.Response, error) {
		return r.msg.SendTemplate(ctx, wamsg.NewRequest(r.env.To, tpl, ""))
	}

	resp, err := send(&wamsg.Template{Name: "order_update", Language: lang, Components: []*wamsg.TemplateComponent{
		{Type: wamsg.TemplateComponentTypeBody, Parameters: []*wamsg.TemplateParameter{
			{Type: wamsg.TemplateParameterTypeText, Text: "Zoë"},
			{Type: wamsg.TemplateParameterTypeCurrency, Currency: &wamsg.TemplateCurrency{FallbackValue: "$100.99", Code: "USD", Amount1000: 100990}},
		}},
	}})
	if _, ok := r.sent("template_params", resp, err); ok {
		r.pass("template_params")
	}

	resp, err = send(&wamsg.Template{Name: "order_shipped", Language: lang, Components: []*wamsg.TemplateComponent{
		{Type: wamsg.TemplateComponentTypeHeader, Parameters: []*wamsg.TemplateParameter{
			{Type: wamsg.TemplateParameterTypeImage, Image: &wamsg.Image{Link: "https://example.com/header.jpg"}},
		}},
		{Type: wamsg.TemplateComponentTypeBody, Parameters: []*wamsg.TemplateParameter{
			{Type: wamsg.TemplateParameterTypeText, Text: "A-1042"},
		}},
	}})
	if _, ok := r.sent("template_media_header", resp, err); ok {
		r.pass("template_media_header")
	}

	resp, err = send(wamsg.NewInteractiveTemplate("delivery_confirm", lang,
		[]*wamsg.TemplateParameter{{Type: wamsg.TemplateParameterTypeText, Text: "Tuesday"}},
		[]*wamsg.TemplateParameter{{Type: wamsg.TemplateParameterTypeText, Text: "A-1042"}},
		[]*wamsg.InteractiveButtonTemplate{
			{SubType: "quick_reply", Index: 0, Button: &wamsg.TemplateButton{Type: wamsg.TemplateParameterTypePayload, Payload: "CONFIRM"}},
			{SubType: "quick_reply", Index: 1, Button: &wamsg.TemplateButton{Type: wamsg.TemplateParameterTypePayload, Payload: "RESCHEDULE"}},
		}))
	if _, ok := r.sent("template_quick_reply", resp, err); ok {
		r.pass("template_quick_reply")
	}

	// The copy-code button: Meta wants {"type":"coupon_code","coupon_code":…}.
	resp, err = send(wamsg.NewCouponCodeTemplate(&wamsg.CouponCodeTemplateRequest{
		Name: "coupon_offer", Language: lang, CouponCode: "SAVE25", ButtonIndex: 0,
		Body: []*wamsg.TemplateParameter{{Type: wamsg.TemplateParameterTypeText, Text: "25%"}},
	}))
	body := r.rec.lastBody("/messages")
	button := gjson.GetBytes(body, `template.components.#(sub_type=="copy_code").parameters.0`)
	switch {
	case button.Get("coupon_code").Str == "SAVE25":
		if _, ok := r.sent("template_copy_code", resp, err); ok {
			r.pass("template_copy_code")
		}
	case button.Get("text").Str == "SAVE25":
		if err == nil {
			r.sent("template_copy_code", resp, err)
		}
		r.defect("template_copy_code", "its copy-code button puts the code in text instead of coupon_code, which is not Meta's format")
	default:
		r.fail("template_copy_code", "the SDK sent no copy-code button parameter")
	}

	expires := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	resp, err = send(wamsg.NewLimitedTimeOfferTemplate(&wamsg.LimitedTimeOfferTemplateRequest{
		Name: "limited_offer", Language: lang,
		HeaderComponent: wamsg.NewLimitedTimeOfferTemplateImageHeader(&wamsg.Image{Link: "https://example.com/offer.jpg"}),
		Body:            []*wamsg.TemplateParameter{{Type: wamsg.TemplateParameterTypeText, Text: "Zoë"}},
		ExpirationTime:  expires,
		URLVariable:     "offer-42",
	}))
	body = r.rec.lastBody("/messages")
	if got := gjson.GetBytes(body, `template.components.#(type=="limited_time_offer").parameters.0.limited_time_offer.expiration_time_ms`).Int(); got != expires {
		r.fail("template_lto", "the SDK sent no limited_time_offer expiration")
	} else if _, ok := r.sent("template_lto", resp, err); ok {
		r.pass("template_lto")
	}

	// The SDK's carousel builder (NewMediaCardTemplate): Meta's send format
	// is cards[{card_index, components[…]}].
	resp, err = send(wamsg.NewMediaCardTemplate(&wamsg.MediaCardTemplateRequest{
		Name: "seasonal_carousel", Language: lang, BodyText: "Our picks",
		Cards: []*wamsg.MediaCard{
			{Header: &wamsg.MediaCardHeader{Format: "IMAGE", Handle: "https://example.com/card1.jpg"}, Body: &wamsg.MediaCardBody{Text: "Card one"}},
			{Header: &wamsg.MediaCardHeader{Format: "IMAGE", Handle: "https://example.com/card2.jpg"}, Body: &wamsg.MediaCardBody{Text: "Card two"}},
		},
	}))
	body = r.rec.lastBody("/messages")
	card := gjson.GetBytes(body, `template.components.#(type=="carousel").cards.0`)
	if card.Get("card_index").Exists() && card.Get("components").IsArray() {
		if _, ok := r.sent("template_carousel", resp, err); ok {
			r.pass("template_carousel")
		}
	} else {
		if err == nil {
			r.sent("template_carousel", resp, err)
		}
		r.defect("template_carousel", "its carousel builder sends cards in the template-creation shape (header format and handle) without card_index or components, not Meta's send format")
	}
}

// mediaScenario: upload (SDK), send by id (SDK), lookup (SDK), download
// (SDK, with the url a plain lookup returns), delete (SDK).
func (r *gosdkRun) mediaScenario(ctx context.Context) {
	data := make([]byte, 100*1024)
	_, _ = rand.Read(data)
	copy(data, []byte{0xff, 0xd8, 0xff, 0xe0})
	copy(data[len(data)-2:], []byte{0xff, 0xd9})
	sum := sha256.Sum256(data)
	hexSum := hex.EncodeToString(sum[:])
	path := filepath.Join(r.dir, "photo.jpg")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		r.t.Errorf("gosdk: writing the upload: %v", err)
		return
	}

	id := r.mediaUpload(ctx, path, data)
	if id == "" {
		for _, c := range []string{"media_id", "media_lookup", "media_download", "media_delete"} {
			r.fail(c, "no uploaded media (the upload failed)")
		}
		return
	}

	resp, err := r.msg.SendImage(ctx, wamsg.NewRequest(r.env.To, &wamsg.Image{ID: id, Caption: "by id"}, ""))
	if _, ok := r.sent("media_id", resp, err); ok {
		r.pass("media_id")
	}

	// What the proxy answers a lookup with the token (Graph's form).
	status, raw := r.raw(ctx, http.MethodGet, "/"+r.env.GraphVersion+"/"+url.PathEscape(id), "", nil)
	if status != http.StatusOK {
		r.fail("media_lookup", fmt.Sprintf("a lookup with the token answered HTTP %d", status))
		r.fail("media_download", "no download url (the lookup failed)")
	} else {
		r.mediaLookup(ctx, id, raw, len(data), hexSum)
		r.mediaDownload(ctx, gjson.GetBytes(raw, "url").Str, data)
	}

	del, err := r.media.Delete(ctx, &media.BaseRequest{MediaID: id, PhoneNumberID: r.env.PhoneNumberID})
	switch {
	case err != nil:
		r.failErr("media_delete", "the delete failed", err)
	case !del.Success:
		r.fail("media_delete", "the SDK's parsed answer is not success")
	default:
		st, after := r.raw(ctx, http.MethodGet, "/"+r.env.GraphVersion+"/"+url.PathEscape(id), "", nil)
		if st != http.StatusBadRequest || gjson.GetBytes(after, "error.code").Int() != 100 || gjson.GetBytes(after, "error.error_subcode").Int() != 33 {
			r.fail("media_delete", fmt.Sprintf("a lookup after the delete answered HTTP %d, not Graph's unknown object", st))
		} else {
			r.pass("media_delete")
		}
	}
}

// mediaUpload runs the SDK's Upload and returns the media id. The SDK
// builds a multipart form but its request encoder only encodes
// Request.Message, never Request.Form: the upload goes out with an empty
// body. Then the file is uploaded as Graph documents it (a plain multipart
// POST) so that the SDK's other media calls can be tried.
func (r *gosdkRun) mediaUpload(ctx context.Context, path string, data []byte) string {
	const c = "media_upload"
	up, err := r.media.Upload(ctx, &media.UploadRequest{MediaType: media.TypeImageJPEG, Filename: path})
	if err == nil && up != nil && up.ID != "" {
		r.pass(c)
		return up.ID
	}
	req := r.rec.last(http.MethodPost, "/"+r.env.PhoneNumberID+"/media")
	if req == nil || len(req.body) != 0 {
		r.failErr(c, "the upload failed", err)
		return ""
	}
	r.defect(c, "its upload never encodes the multipart form it builds and posts an empty body, so Graph gets no file")
	st, body := r.multipart(ctx, "/"+r.env.GraphVersion+"/"+r.env.PhoneNumberID+"/media",
		map[string]string{"messaging_product": "whatsapp", "type": "image/jpeg"}, "file", "photo.jpg", "image/jpeg", data)
	if id := gjson.GetBytes(body, "id").Str; st == http.StatusOK && id != "" {
		return id
	}
	r.t.Logf("gosdk: a plain multipart upload answered HTTP %d %s", st, body)
	return ""
}

// mediaLookup runs the SDK's GetInfo. The SDK builds that request without
// its access token (media.BaseClient.GetInfo sets no bearer), which Graph
// refuses; the proxy's answer to a lookup with the token is then decoded
// with the SDK's own decoder and type, to show it would be accepted.
func (r *gosdkRun) mediaLookup(ctx context.Context, id string, raw []byte, size int, hexSum string) {
	const c = "media_lookup"
	check := func(info *media.Information) string {
		switch {
		case info.ID != id || info.MessagingProduct != "whatsapp":
			return "the parsed lookup has the wrong id or messaging_product"
		case info.MimeType != "image/jpeg" || info.SHA256 != hexSum || info.FileSize != int64(size):
			return "the parsed lookup has the wrong mime_type, sha256 or file_size"
		case !strings.HasPrefix(info.URL, "http"):
			return "the parsed lookup has no url"
		}
		return ""
	}
	info, err := r.media.GetInfo(ctx, &media.BaseRequest{MediaID: id, PhoneNumberID: r.env.PhoneNumberID})
	if err == nil {
		if msg := check(info); msg != "" {
			r.fail(c, msg)
		} else {
			r.pass(c)
		}
		return
	}
	req := r.rec.last(http.MethodGet, "/"+id)
	if req == nil || req.header.Get("Authorization") != "" {
		r.failErr(c, "the lookup failed", err)
		return
	}
	// The SDK sent no token. Would it take the proxy's answer?
	var decoded media.Information
	dec := &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(bytes.NewReader(raw))}
	if derr := whttp.DecodeResponseJSON(dec, &decoded, whttp.DecodeOptions{DisallowUnknownFields: true, DisallowEmptyResponse: true}); derr != nil {
		r.fail(c, "the SDK cannot decode the proxy's lookup answer: "+gosdkDescribe(derr))
		return
	}
	if msg := check(&decoded); msg != "" {
		r.fail(c, msg)
		return
	}
	r.defect(c, "its media lookup sends no access token, so Graph refuses it (the proxy's answer decodes into its type)")
}

func (r *gosdkRun) mediaDownload(ctx context.Context, u string, want []byte) {
	const c = "media_download"
	if u == "" {
		r.fail(c, "the lookup carried no url")
		return
	}
	var got []byte
	status := 0
	decoder := whttp.ResponseDecoderFunc(func(_ context.Context, resp *http.Response) error {
		status = resp.StatusCode
		b, err := io.ReadAll(resp.Body)
		got = b
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		return err
	})
	if err := r.media.Download(ctx, &media.DownloadRequest{URL: u}, decoder); err != nil {
		r.fail(c, fmt.Sprintf("the download failed with HTTP %d", status))
		return
	}
	if !bytes.Equal(got, want) {
		r.fail(c, fmt.Sprintf("downloaded %d bytes that differ from the upload", len(got)))
		return
	}
	r.pass(c)
}

// flowsLifecycle: create, flow JSON, get, publish through the SDK's Flows
// API; it returns the published flow's id ("" if none) for the flow
// message. Deprecation follows the flow send (deprecateFlow).
func (r *gosdkRun) flowsLifecycle(ctx context.Context) string {
	const c = "flows_lifecycle"
	name := "gosdk compat " + gosdkNonce()
	created, err := r.flows.Create(ctx, flow.CreateRequest{Name: name, Categories: []string{flow.CategoryAppointmentBooking, flow.CategoryOther}})
	if err != nil || created == nil || created.ID == "" {
		r.failErr(c, "create failed", err)
		return ""
	}
	id := created.ID

	// The SDK's flow JSON upload (UpdateFlowJSON) takes no flow id: it posts
	// to /{phone-number-id}/media, and like every form of the SDK without
	// the form (an empty body). Meta's endpoint is /{flow-id}/assets.
	path := filepath.Join(r.dir, "flow.json")
	if err := os.WriteFile(path, []byte(gosdkFlowJSON), 0o600); err != nil {
		r.t.Errorf("gosdk: writing the flow JSON: %v", err)
		return ""
	}
	up, upErr := r.flows.UpdateFlowJSON(ctx, &flow.UpdateFlowJSONRequest{Name: "flow.json", File: path})
	if req := r.rec.lastPost(); req != nil && !strings.Contains(req.url.Path, "/"+id+"/assets") {
		r.t.Logf("gosdk: UpdateFlowJSON posted %d bytes to %s (answer %v, %v)", len(req.body), req.url.Path, up, upErr)
		what := "posts the file"
		if len(req.body) == 0 {
			what = "posts an empty body"
		}
		r.flowUploadDefect = "its flow JSON upload " + what + " to the phone number's media endpoint instead of /{flow-id}/assets, " +
			"so it cannot give a flow its JSON (create, get, publish and deprecate work)"
		// Give the flow its JSON the way Meta documents it, to go on with
		// the SDK's get, publish and deprecate.
		st, body := r.multipart(ctx, "/"+r.env.GraphVersion+"/"+id+"/assets",
			map[string]string{"name": "flow.json", "asset_type": "FLOW_JSON"}, "file", "flow.json", "application/json", []byte(gosdkFlowJSON))
		if st != http.StatusOK || !gjson.GetBytes(body, "success").Bool() {
			r.fail(c, fmt.Sprintf("uploading the flow JSON to the flow's assets answered HTTP %d", st))
			return ""
		}
	} else if upErr != nil || up == nil || !up.Success || len(up.ValidationErrors) != 0 {
		r.failErr(c, "the flow JSON upload failed", upErr)
		return ""
	}

	got, err := r.flows.Get(ctx, &flow.GetRequest{FlowID: id, Fields: []string{"id", "name", "status", "categories", "validation_errors", "json_version"}})
	if err != nil {
		r.failErr(c, "get failed", err)
		return ""
	}
	if got.ID != id || got.Name != name || got.Status != flow.StatusDraft || strings.Join(got.Categories, ",") != "APPOINTMENT_BOOKING,OTHER" ||
		len(got.ValidationErrors) != 0 || got.JSONVersion != "6.0" {
		r.fail(c, "get did not return the draft flow with its name, categories and json_version")
		return ""
	}
	pub, err := r.flows.Publish(ctx, id)
	if err != nil || !pub.Success {
		r.failErr(c, "publish failed", err)
		return ""
	}
	got, err = r.flows.Get(ctx, &flow.GetRequest{FlowID: id, Fields: []string{"status"}})
	if err != nil || got.Status != flow.StatusPublished {
		r.failErr(c, "get after publish did not say PUBLISHED", err)
		return ""
	}
	return id
}

func (r *gosdkRun) deprecateFlow(ctx context.Context, id string) {
	const c = "flows_lifecycle"
	if id == "" {
		return
	}
	dep, err := r.flows.Deprecate(ctx, id)
	if err != nil || !dep.Success {
		r.failErr(c, "deprecate failed", err)
		return
	}
	got, err := r.flows.Get(ctx, &flow.GetRequest{FlowID: id, Fields: []string{"name", "status"}})
	if err != nil || got.Status != flow.StatusDeprecated {
		r.failErr(c, "get after deprecate did not say DEPRECATED", err)
		return
	}
	if r.flowUploadDefect != "" {
		r.defect(c, r.flowUploadDefect)
		return
	}
	r.pass(c)
}

func (r *gosdkRun) interactiveFlow(ctx context.Context, flowID string) {
	const c = "interactive_flow"
	if flowID == "" {
		r.fail(c, "no published flow to send (the flows lifecycle failed)")
		return
	}
	r.send(ctx, c, wamsg.WithInteractiveFlow(&wamsg.InteractiveFlowRequest{
		Body:               "Book your table",
		Header:             wamsg.InteractiveHeaderText("Reservations"),
		Footer:             "Takes a minute",
		FlowMessageVersion: "3",
		FlowToken:          "flow-token-gosdk",
		FlowID:             flowID,
		FlowCTA:            "Book",
		FlowAction:         "navigate",
		FlowScreen:         "WELCOME",
		FlowData:           map[string]any{"source": "gosdk"},
	}))
}

// errorSurface sends to a recipient the upstream refuses: the SDK must
// surface Graph's error (code 100, message, details, trace id).
func (r *gosdkRun) errorSurface(ctx context.Context) {
	const c = "error_surface"
	resp, err := r.msg.SendText(ctx, wamsg.NewRequest(r.env.BadTo, &wamsg.Text{Body: "to nobody"}, ""))
	if err == nil {
		r.fail(c, fmt.Sprintf("the send to a refused recipient succeeded (%d message ids)", len(resp.Messages)))
		return
	}
	var we *werrors.Error
	if !errors.As(err, &we) {
		r.fail(c, "the SDK did not surface a Graph error: "+gosdkDescribe(err))
		return
	}
	if we.Code != 100 || we.Message == "" || we.Type == "" || we.FBTraceID == "" || we.Data == nil || we.Data.Details == "" {
		r.fail(c, fmt.Sprintf("the SDK's error lacks fields: code %d, details %t, trace id %t", we.Code, we.Data != nil && we.Data.Details != "", we.FBTraceID != ""))
		return
	}
	r.pass(c)
}

// markRead marks the user's message as read (the SDK's UpdateStatus, a PUT).
func (r *gosdkRun) markRead(ctx context.Context, wamid string) {
	const c = "mark_read"
	if wamid == "" {
		r.fail(c, "no inbound message to mark as read")
		return
	}
	res, err := r.msg.UpdateStatus(ctx, &wamsg.StatusUpdateRequest{MessageID: wamid, Status: wamsg.StatusRead})
	switch {
	case err != nil:
		r.failErr(c, "the read receipt failed", err)
	case !res.Success:
		r.fail(c, "the SDK's parsed answer is not success")
	default:
		r.pass(c)
	}
}

// webhooks waits (≤15 s) for the inbound message parsed by the SDK and a
// status delivery for one of the sent ids, then judges the webhook side.
func (r *gosdkRun) webhooks(wamid string) {
	h := r.hook
	ours := map[string]bool{}
	for _, id := range r.ids {
		ours[id] = true
	}
	// Wait for the inbound message and for a status the SDK parsed, or, if
	// it parses none, until every status of the world's sequence
	// (compatStatusSequence, less "enqueued", which the relay drops) was
	// delivered for one message: there is nothing more to wait for.
	delivered := slices.DeleteFunc(slices.Clone(compatStatusSequence), func(s string) bool { return s == "enqueued" })
	eventually(15*time.Second, 20*time.Millisecond, func() bool {
		return h.sawMessage(wamid) && (h.sawParsedStatus(ours) || h.sawStatusPosts(ours, delivered))
	})
	posts := h.allPosts()

	// webhook_signature: the SDK's ValidatePayloadSignature on every POST.
	var msgPosts, statusPosts, badSig int
	for _, p := range posts {
		if p.sigErr != nil {
			badSig++
		}
		switch p.kind {
		case "message":
			msgPosts++
		case "status":
			statusPosts++
		}
	}
	switch {
	case len(posts) == 0:
		r.fail("webhook_signature", "no webhook delivery arrived")
	case badSig > 0:
		r.fail("webhook_signature", fmt.Sprintf("the SDK's signature check refused %d of %d deliveries", badSig, len(posts)))
	case msgPosts == 0 || statusPosts == 0:
		r.fail("webhook_signature", "no message or no status delivery arrived to check")
	default:
		r.pass("webhook_signature")
	}

	// webhook_message: the SDK's listener and typed dispatch.
	switch m, ok := h.message(wamid); {
	case wamid == "":
		r.fail("webhook_message", "no inbound message was made")
	case !ok:
		r.fail("webhook_message", "the SDK's listener did not hand the inbound message to its text handler")
	case m.from != gosdkDigits(r.env.UserNumber) || m.text == "" || m.text != m.rawText || m.phoneNumberID != r.env.PhoneNumberID:
		r.fail("webhook_message", "the SDK parsed the inbound message with the wrong from, text or phone_number_id")
	default:
		r.pass("webhook_message")
	}

	// webhook_status.
	if s, ok := h.parsedStatus(ours); ok {
		if s.status == "sent" || s.status == "delivered" || s.status == "read" {
			r.pass("webhook_status")
		} else {
			r.fail("webhook_status", "the SDK parsed a status with an unexpected status value")
		}
		return
	}
	var proxyPost *gosdkPost
	for i := range posts {
		if posts[i].kind == "status" && ours[posts[i].statusID] {
			proxyPost = &posts[i]
			break
		}
	}
	if proxyPost == nil {
		r.fail("webhook_status", "no status delivery for a sent message arrived")
		return
	}
	r.judgeStatusDecode(proxyPost)
}

// judgeStatusDecode: the SDK refused the proxy's status delivery. It is the
// SDK's defect when its listener refuses Meta's own documented status
// webhook with the same error and the proxy's delivery, with Meta's string
// timestamps turned into numbers, decodes to the right id and status.
func (r *gosdkRun) judgeStatusDecode(p *gosdkPost) {
	const c = "webhook_status"
	listener := r.hook.listener
	metaCode, metaErr := gosdkListen(listener, []byte(gosdkMetaStatusWebhook), r.env.AppSecret)
	r.t.Logf("gosdk: proxy status delivery answered %d %q; Meta's documented status webhook answered %d %q",
		p.code, p.answer, metaCode, metaErr)
	if metaCode/100 == 2 {
		r.fail(c, "the SDK refused the proxy's status delivery but accepts Meta's documented status webhook")
		return
	}
	if gosdkDecodeCause(metaErr) != gosdkDecodeCause(p.answer) {
		r.fail(c, "the SDK refused the proxy's status delivery for another reason than Meta's documented status webhook")
		return
	}
	patched := p.body
	for i, s := range gjson.GetBytes(patched, "entry.0.changes.0.value.statuses").Array() {
		for _, f := range []string{"timestamp", "conversation.expiration_timestamp"} {
			if v := s.Get(f); v.Type == gjson.String {
				patched, _ = sjson.SetBytes(patched, fmt.Sprintf("entry.0.changes.0.value.statuses.%d.%s", i, f), v.Int())
			}
		}
	}
	var n whmsg.Notification
	dec := json.NewDecoder(bytes.NewReader(patched))
	if err := dec.Decode(&n); err != nil {
		r.fail(c, "the proxy's status delivery does not decode even with numeric timestamps: "+gosdkDescribe(err))
		return
	}
	if len(n.Entry) != 1 || len(n.Entry[0].Changes) != 1 || n.Entry[0].Changes[0].Value == nil ||
		len(n.Entry[0].Changes[0].Value.Statuses) != 1 {
		r.fail(c, "the proxy's status delivery does not carry one status")
		return
	}
	st := n.Entry[0].Changes[0].Value.Statuses[0]
	if st.ID != p.statusID || st.StatusValue == "" || st.Timestamp == 0 {
		r.fail(c, "the proxy's status delivery decodes with the wrong id, status or timestamp")
		return
	}
	r.defect(c, "its typed decode wants a numeric status timestamp, so it refuses Meta's status webhooks (string timestamps) with HTTP 500")
}

// gosdkListen runs a signed body through the SDK's listener.
func gosdkListen(l *webhooks.Listener[whmsg.Notification], body []byte, secret string) (int, string) {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	req := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhooks.SignatureHeaderKey, "sha256="+hex.EncodeToString(mac.Sum(nil)))
	rec := httptest.NewRecorder()
	l.HandleNotification(rec, req)
	return rec.Code, strings.TrimSpace(rec.Body.String())
}

// gosdkDecodeCause is the part of a decode error after "json: ".
func gosdkDecodeCause(s string) string {
	if i := strings.Index(s, "json: "); i >= 0 {
		return s[i:]
	}
	return s
}

// ---------------------------------------------------------------- webhook

type gosdkHook struct {
	env      compatEnv
	listener *webhooks.Listener[whmsg.Notification]

	mu       sync.Mutex
	verified int
	posts    []gosdkPost
	messages []gosdkInbound
	statuses []gosdkStatus
}

type gosdkPost struct {
	body     []byte
	sigErr   error
	code     int
	answer   string
	kind     string // message, status or other
	statusID string
	status   string // the status value of a status delivery
}

type gosdkInbound struct{ id, from, text, rawText, phoneNumberID string }

type gosdkStatus struct{ id, status string }

// startGosdkHook serves the SDK's webhook listener (webhooks.NewListener
// with its signature validation and the typed message.Handlers dispatch) on
// 127.0.0.1:WebhookPort/webhook until the test ends. The wrapper only
// records what came and what the listener answered.
func startGosdkHook(t *testing.T, env compatEnv) (*gosdkHook, error) {
	h := &gosdkHook{env: env}
	handlers := &whmsg.Handlers{}
	onText := whmsg.OnTextMessageHook(func(_ context.Context, nctx *whmsg.NotificationContext, mctx *whmsg.Info, text *whmsg.Text) error {
		in := gosdkInbound{id: mctx.ID, from: mctx.From}
		if text != nil {
			in.text = text.Body
		}
		if nctx != nil && nctx.Metadata != nil {
			in.phoneNumberID = nctx.Metadata.PhoneNumberID
		}
		h.mu.Lock()
		h.messages = append(h.messages, in)
		h.mu.Unlock()
		return nil
	})
	handlers.SetTextMessageHandler(onText)
	handlers.SetProductEnquiryHandler(onText)
	handlers.SetMessageStatusChangeHandler(whmsg.OnMessageStatusChangeHook(func(_ context.Context, _ *whmsg.NotificationContext, s *whmsg.Status) error {
		h.mu.Lock()
		h.statuses = append(h.statuses, gosdkStatus{id: s.ID, status: s.StatusValue})
		h.mu.Unlock()
		return nil
	}))
	h.listener = webhooks.NewListener(
		handlers.HandleNotification,
		func(context.Context) (string, error) { return env.VerifyToken, nil },
		&webhooks.ValidateOptions{Validate: true, AppSecret: env.AppSecret},
	)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /webhook", func(w http.ResponseWriter, req *http.Request) {
		rec := httptest.NewRecorder()
		h.listener.HandleSubscriptionVerification(rec, req)
		if challenge := req.URL.Query().Get("hub.challenge"); rec.Code == http.StatusOK && challenge != "" && rec.Body.String() == challenge {
			h.mu.Lock()
			h.verified++
			h.mu.Unlock()
		}
		gosdkCopy(w, rec)
	})
	mux.HandleFunc("POST /webhook", func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			http.Error(w, "read", http.StatusBadRequest)
			return
		}
		p := gosdkPost{body: body, sigErr: webhooks.ValidatePayloadSignature(req.Header, body, env.AppSecret), kind: "other"}
		value := gjson.GetBytes(body, "entry.0.changes.0.value")
		if value.Get("messages.0").Exists() {
			p.kind = "message"
		} else if s := value.Get("statuses.0"); s.Exists() {
			p.kind, p.statusID, p.status = "status", s.Get("id").Str, s.Get("status").Str
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		func() {
			defer func() {
				if v := recover(); v != nil {
					rec = httptest.NewRecorder()
					http.Error(rec, fmt.Sprint("handler panic: ", v), http.StatusInternalServerError)
				}
			}()
			h.listener.HandleNotification(rec, req)
		}()
		p.code, p.answer = rec.Code, strings.TrimSpace(rec.Body.String())
		if p.kind == "message" {
			raw := value.Get("messages.0.text.body").Str
			h.mu.Lock()
			for i := range h.messages {
				if h.messages[i].id == value.Get("messages.0.id").Str {
					h.messages[i].rawText = raw
				}
			}
			h.mu.Unlock()
		}
		h.mu.Lock()
		h.posts = append(h.posts, p)
		h.mu.Unlock()
		gosdkCopy(w, rec)
	})
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", env.WebhookPort))
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return h, nil
}

func gosdkCopy(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func (h *gosdkHook) verifications() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.verified
}

func (h *gosdkHook) message(id string) (gosdkInbound, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range h.messages {
		if id != "" && m.id == id {
			return m, true
		}
	}
	return gosdkInbound{}, false
}

func (h *gosdkHook) sawMessage(id string) bool { _, ok := h.message(id); return ok }

func (h *gosdkHook) parsedStatus(ids map[string]bool) (gosdkStatus, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range h.statuses {
		if ids[s.id] {
			return s, true
		}
	}
	return gosdkStatus{}, false
}

func (h *gosdkHook) sawParsedStatus(ids map[string]bool) bool {
	_, ok := h.parsedStatus(ids)
	return ok
}

// sawStatusPosts reports whether a delivery of each of statuses (sent,
// delivered…) arrived for one of ids.
func (h *gosdkHook) sawStatusPosts(ids map[string]bool, statuses []string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	seen := map[string]map[string]bool{}
	for _, p := range h.posts {
		if p.kind != "status" || !ids[p.statusID] {
			continue
		}
		if seen[p.statusID] == nil {
			seen[p.statusID] = map[string]bool{}
		}
		seen[p.statusID][p.status] = true
		if !slices.ContainsFunc(statuses, func(s string) bool { return !seen[p.statusID][s] }) {
			return true
		}
	}
	return false
}

func (h *gosdkHook) allPosts() []gosdkPost {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]gosdkPost(nil), h.posts...)
}

// ---------------------------------------------------------------- HTTP

// gosdkRecorder is the SDK's transport: it records each request (method,
// url, headers, body) and passes it on unchanged.
type gosdkRecorder struct {
	next http.RoundTripper
	// logf logs requests answered with an error status.
	logf func(format string, args ...any)
	mu   sync.Mutex
	reqs []gosdkRequest
}

type gosdkRequest struct {
	method string
	url    *url.URL
	header http.Header
	body   []byte
}

func (g *gosdkRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		_ = req.Body.Close()
		body = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	g.mu.Lock()
	g.reqs = append(g.reqs, gosdkRequest{method: req.Method, url: req.URL, header: req.Header.Clone(), body: body})
	g.mu.Unlock()
	resp, err := g.next.RoundTrip(req)
	if err == nil && resp.StatusCode >= 400 && g.logf != nil {
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(b))
		g.logf("gosdk: %s %s answered %d %s", req.Method, req.URL.Path, resp.StatusCode, b)
	}
	return resp, err
}

func (g *gosdkRecorder) last(method, pathSuffix string) *gosdkRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i := len(g.reqs) - 1; i >= 0; i-- {
		if g.reqs[i].method == method && strings.HasSuffix(g.reqs[i].url.Path, pathSuffix) {
			r := g.reqs[i]
			return &r
		}
	}
	return nil
}

func (g *gosdkRecorder) lastBody(pathSuffix string) []byte {
	if r := g.last(http.MethodPost, pathSuffix); r != nil {
		return r.body
	}
	return nil
}

func (g *gosdkRecorder) lastPost() *gosdkRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i := len(g.reqs) - 1; i >= 0; i-- {
		if g.reqs[i].method == http.MethodPost {
			r := g.reqs[i]
			return &r
		}
	}
	return nil
}

// raw is a plain Graph call with the access token (not through the SDK).
func (r *gosdkRun) raw(ctx context.Context, method, path, contentType string, body []byte) (int, []byte) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, r.conf.BaseURL+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+r.env.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Logf("gosdk: %s %s: %v", method, path, err)
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// multipart posts fields and one file part (not through the SDK).
func (r *gosdkRun) multipart(ctx context.Context, path string, fields map[string]string, fileField, fileName, fileType string, data []byte) (int, []byte) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	hdr := make(map[string][]string)
	hdr["Content-Disposition"] = []string{fmt.Sprintf(`form-data; name=%q; filename=%q`, fileField, fileName)}
	hdr["Content-Type"] = []string{fileType}
	part, err := mw.CreatePart(hdr)
	if err != nil {
		return 0, nil
	}
	_, _ = part.Write(data)
	_ = mw.Close()
	return r.raw(ctx, http.MethodPost, path, mw.FormDataContentType(), buf.Bytes())
}

// gosdkDescribe renders an SDK error as one line without ids: Graph's code
// and message when the SDK parsed an error body, else the error text.
func gosdkDescribe(err error) string {
	if err == nil {
		return "no error but no usable answer"
	}
	var we *werrors.Error
	if errors.As(err, &we) {
		if we.Data != nil && we.Data.Details != "" {
			return fmt.Sprintf("Graph error %d: %s (%s)", we.Code, we.Message, we.Data.Details)
		}
		return fmt.Sprintf("Graph error %d: %s", we.Code, we.Message)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return "transport error: " + ue.Err.Error()
	}
	return err.Error()
}

func gosdkDigits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func gosdkNonce() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
