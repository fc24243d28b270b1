package translate

import (
	"errors"
	"fmt"
	"slices"

	"github.com/tidwall/gjson"
)

// Webhook translation: Gupshup callbacks (v3 Meta-shaped, or v2 Gupshup
// format) → Meta webhook bodies, one message or one status per body, bytes
// escaped exactly like Graph's (see AppendMetaString), ready to be signed.

// WebhookOptions tunes the Gupshup → Meta webhook translation.
type WebhookOptions struct {
	// StatusIDFromGsID puts Gupshup's message id (gs_id) in statuses[].id,
	// so status updates carry the id /messages returned. When false the
	// wamid stays. (Config default: true.)
	StatusIDFromGsID bool
	// ForwardFields are changes[].field values other than "messages" that
	// are forwarded (Gupshup-only members stripped). Others are dropped.
	// Default: none.
	ForwardFields []string
	// Phone is what the proxy knows of the app's number; it fills what
	// callbacks lack (v2 has no envelope) and names the number as clients
	// know it.
	Phone PhoneMeta
}

// PhoneMeta describes the business number behind a Gupshup app.
type PhoneMeta struct {
	// PhoneNumberID is the Meta phone-number-id clients use in paths; it
	// always replaces value.metadata.phone_number_id.
	PhoneNumberID string
	// DisplayPhoneNumber fills value.metadata.display_phone_number when the
	// callback has none. Optional.
	DisplayPhoneNumber string
	// WABAID, when set, replaces entry[].id; when empty Gupshup's is kept
	// (and "0" is written if the callback has none).
	WABAID string
}

// WebhookEvent is one Meta webhook body to deliver.
type WebhookEvent struct {
	// Body is the Meta webhook JSON: pure ASCII, non-ASCII as \uXXXX
	// (lowercase hex, surrogate pairs), "/" as "\/". Sign exactly these bytes.
	Body []byte
	// Field is changes[0].field ("messages", …).
	Field string
	// Kind is "message", "status" or "other".
	Kind string
	// Key identifies the event for deduplication across Gupshup retries and
	// v2/v3 double delivery: "message:<wamid>", "status:<gs_id or
	// wamid>:<status>", or "body:<sha256 hex of Body>" for other fields.
	Key string
	// GsID and WAMID are the id pair a status (or a reply's context)
	// revealed, for the id map; either may be empty.
	GsID, WAMID string
	// Media lists media objects in the event (for media lookup/download).
	Media []MediaRef
}

// MediaRef is a media object seen in an inbound message.
type MediaRef struct {
	ID, MimeType, SHA256, URL string
}

// WebhookResult is the translation of one callback.
type WebhookResult struct {
	// Version is 2 or 3.
	Version int
	// Events to deliver, in callback order.
	Events []WebhookEvent
	// Dropped names what was deliberately not forwarded, one entry per
	// item: "status:enqueued", "field:billing-event", "v2:system-event", ….
	Dropped []string
	// IDs are id pairs revealed by dropped items (an enqueued status
	// already names both ids), for the id map.
	IDs []IDPair
}

// IDPair links Gupshup's message id with WhatsApp's.
type IDPair struct{ GsID, WAMID string }

// ErrNotJSON means the callback body is not valid JSON.
var ErrNotJSON = errors.New("callback body is not valid JSON")

// ErrUnknownCallback means valid JSON that is neither a v3 envelope
// ("object") nor a v2 callback ("version":2 / "type"/"payload").
var ErrUnknownCallback = errors.New("callback is neither a Gupshup v2 nor a v3 event")

// GupshupWebhook translates one Gupshup callback into the Meta webhook
// bodies a Cloud API client expects, one status or one message per body.
//
// The callback's version is told from its shape: a root member "object"
// means v3 (Meta's envelope with Gupshup additions); "version" 2 (number or
// "2"), or both "type" and "payload", mean v2 (Gupshup's own format).
// Invalid JSON is ErrNotJSON; any other JSON is ErrUnknownCallback.
//
// A callback may yield no event at all with a nil error: what is dropped on
// purpose is named in WebhookResult.Dropped, one entry per item:
//
//	status:enqueued            Gupshup's enqueued status (not a Meta status)
//	field:<name>               a v3 change whose field is not "messages" nor
//	                           listed in opts.ForwardFields
//	v2:<type>                  a v2 callback other than message/message-event
//	v3:no-entry                a v3 body without entries
//	entry:no-changes           an entry without changes
//	messages:empty             a "messages" value without statuses, messages
//	                           or errors
//	status:invalid, message:invalid        an item that is not an object
//	v2:message:no-payload, v2:message-event:no-payload
//
// Statuses and messages of a v3 change become one event each; a "messages"
// value holding only errors (Meta's system errors) is one event of kind
// "other". v2 callbacks carry no WABA or phone-number id: opts.Phone
// supplies them (entry id "0" without a WABA id).
//
// Strings are re-encoded with Meta's escaping (see AppendMetaString);
// numbers, ids and members the translation does not know keep their bytes.
func GupshupWebhook(body []byte, opts WebhookOptions) (WebhookResult, error) {
	src := string(body) // one copy: every string the result keeps points into it
	if !gjson.Valid(src) {
		return WebhookResult{}, ErrNotJSON
	}
	root := gjson.Parse(src)
	if !root.IsObject() {
		return WebhookResult{}, fmt.Errorf("%w: the body is a JSON %s, not an object", ErrUnknownCallback, jsonKind(root))
	}
	var m rootMembers
	m.read(root)
	w := webhookWriter{opts: opts, size: len(src)}
	switch {
	case m.object.Exists():
		w.res.Version = 3
		w.v3(m.entry)
	case m.isV2():
		w.res.Version = 2
		w.v2(&m)
	default:
		return WebhookResult{}, ErrUnknownCallback
	}
	return w.res, nil
}

// rootMembers are the root members of a callback that tell v3 from v2 and
// carry the data, first occurrence of each.
type rootMembers struct {
	object, entry                    gjson.Result // v3
	version, typ, payload, timestamp gjson.Result // v2
}

func (m *rootMembers) read(root gjson.Result) {
	readFirst(root, []string{"object", "entry", "version", "type", "payload", "timestamp"},
		&m.object, &m.entry, &m.version, &m.typ, &m.payload, &m.timestamp)
}

// readFirst reads, in one pass over the object obj, the first occurrence of
// the member named names[i] into *dst[i]; members it does not name are
// skipped.
func readFirst(obj gjson.Result, names []string, dst ...*gjson.Result) {
	obj.ForEach(func(k, v gjson.Result) bool {
		if i := slices.Index(names, k.Str); i >= 0 && !dst[i].Exists() {
			*dst[i] = v
		}
		return true
	})
}

// isV2 reports whether the root is a v2 callback: "version" 2 or "2", or
// both "type" and "payload".
func (m *rootMembers) isV2() bool {
	if m.version.Raw == "2" || (m.version.Type == gjson.String && m.version.Str == "2") {
		return true
	}
	return m.typ.Exists() && m.payload.Exists()
}

// jsonKind names the kind of a JSON value for error messages.
func jsonKind(v gjson.Result) string {
	switch {
	case v.IsArray():
		return "array"
	case v.Type == gjson.String:
		return "string"
	case v.Type == gjson.Number:
		return "number"
	case v.Type == gjson.Null:
		return "null"
	default:
		return "boolean"
	}
}

// webhookWriter accumulates the result of one translation.
type webhookWriter struct {
	opts WebhookOptions
	size int // callback length: the first guess for a body's capacity
	res  WebhookResult
}

func (w *webhookWriter) drop(reason string) {
	w.res.Dropped = append(w.res.Dropped, reason)
}

// learn records the id pair of a dropped item, when it has both ids.
func (w *webhookWriter) learn(gsID, wamid string) {
	if g, wm := idPair(gsID, wamid); g != "" && wm != "" {
		w.res.IDs = append(w.res.IDs, IDPair{GsID: g, WAMID: wm})
	}
}

func (w *webhookWriter) emit(ev WebhookEvent) {
	w.newEvent(ev)
}

// newEvent appends ev to the result and returns it for completion; the
// pointer is valid until the next event is added.
func (w *webhookWriter) newEvent(ev WebhookEvent) *WebhookEvent {
	if w.res.Events == nil {
		w.res.Events = make([]WebhookEvent, 0, 1)
	}
	w.res.Events = append(w.res.Events, ev)
	return &w.res.Events[len(w.res.Events)-1]
}

// newBody returns an empty buffer for one event body.
func (w *webhookWriter) newBody(hint int) []byte {
	return make([]byte, 0, hint+256)
}

// forwarded reports whether changes[].field is listed in ForwardFields.
func (w *webhookWriter) forwarded(field string) bool {
	for _, f := range w.opts.ForwardFields {
		if f == field {
			return true
		}
	}
	return false
}

// envelope is what every event body of one entry/change shares:
//
//	{"object":"whatsapp_business_account","entry":[{"id":…,"time"?:…,
//	  "changes":[{"value":{…},"field":…}]}]}
type envelope struct {
	id    string       // entry id as written
	time  gjson.Result // entry time, kept when present
	field string
}

// appendHead appends the envelope up to the value.
func (e *envelope) appendHead(dst []byte) []byte {
	dst = append(dst, `{"object":"whatsapp_business_account","entry":[{"id":`...)
	dst = AppendMetaString(dst, e.id)
	if e.time.Exists() {
		dst = append(dst, `,"time":`...)
		dst = appendClean(dst, e.time)
	}
	return append(dst, `,"changes":[{"value":`...)
}

// appendTail appends the envelope after the value.
func (e *envelope) appendTail(dst []byte) []byte {
	dst = append(dst, `,"field":`...)
	dst = AppendMetaString(dst, e.field)
	return append(dst, "}]}]}"...)
}

// entryID is the entry id to write: the configured WABA id, else the
// callback's, else "0".
func (w *webhookWriter) entryID(callback gjson.Result) string {
	if w.opts.Phone.WABAID != "" {
		return w.opts.Phone.WABAID
	}
	if id := scalarString(callback); id != "" {
		return id
	}
	return "0"
}

// appendNewMetadata appends a metadata object built from opts.Phone, for
// callbacks that carry none.
func (w *webhookWriter) appendNewMetadata(dst []byte) []byte {
	dst = append(dst, `{"display_phone_number":`...)
	dst = AppendMetaString(dst, w.opts.Phone.DisplayPhoneNumber)
	dst = append(dst, `,"phone_number_id":`...)
	dst = AppendMetaString(dst, w.opts.Phone.PhoneNumberID)
	return append(dst, '}')
}
