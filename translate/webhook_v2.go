package translate

import (
	"strings"

	"github.com/tidwall/gjson"
)

// v2: Gupshup's own callback format
//
//	{"app":…,"timestamp":<ms>,"version":2,"type":…,"payload":{…}}
//
// "message" becomes a Meta inbound message, "message-event" a Meta status;
// every other type is dropped.

// v2 translates a v2 callback.
func (w *webhookWriter) v2(m *rootMembers) {
	typ := scalarString(m.typ)
	switch typ {
	case "message":
		w.v2Message(m)
	case "message-event":
		w.v2Status(m)
	default:
		w.drop("v2:" + typ)
	}
}

// v2Envelope is the envelope of v2 events: no WABA id in the callback, field
// "messages".
func (w *webhookWriter) v2Envelope() envelope {
	return envelope{id: w.entryID(gjson.Result{}), field: "messages"}
}

// appendV2ValueHead opens the value of a v2 event: messaging_product and
// metadata from opts.Phone, then a comma for what follows.
func (w *webhookWriter) appendV2ValueHead(dst []byte) []byte {
	dst = append(dst, `{"messaging_product":"whatsapp","metadata":`...)
	dst = w.appendNewMetadata(dst)
	return append(dst, ',')
}

// v2MessageFields are the members of a v2 "message" payload.
type v2MessageFields struct {
	id, source, typ, payload, sender, context gjson.Result
}

func (f *v2MessageFields) read(p gjson.Result) {
	readFirst(p, []string{"id", "source", "type", "payload", "sender", "context"},
		&f.id, &f.source, &f.typ, &f.payload, &f.sender, &f.context)
}

// v2Message emits the Meta inbound message of a v2 "message" callback.
func (w *webhookWriter) v2Message(m *rootMembers) {
	if !m.payload.IsObject() {
		w.drop("v2:message:no-payload")
		return
	}
	var f v2MessageFields
	f.read(m.payload)
	id := scalarString(f.id)
	from := scalarString(f.source)
	waID := scalarString(f.sender.Get("phone"))
	if waID == "" {
		waID = from
	}
	ev := w.newEvent(WebhookEvent{Field: "messages", Kind: "message", Key: "message:" + id})
	env := w.v2Envelope()
	b := w.newBody(w.size)
	b = env.appendHead(b)
	b = w.appendV2ValueHead(b)
	b = append(b, `"contacts":[{"profile":{"name":`...)
	b = AppendMetaString(b, scalarString(f.sender.Get("name")))
	b = append(b, `},"wa_id":`...)
	b = AppendMetaString(b, waID)
	b = append(b, `}],"messages":[{`...)
	b = w.appendV2Context(b, f.context, ev)
	b = append(b, `"from":`...)
	b = AppendMetaString(b, from)
	b = append(b, `,"id":`...)
	b = AppendMetaString(b, id)
	if m.timestamp.Exists() {
		b = append(b, `,"timestamp":`...)
		b = appendUnixSeconds(b, m.timestamp)
	}
	b = append(b, ',')
	b = appendV2Content(b, scalarString(f.typ), f.payload, ev)
	b = append(b, "}]}"...)
	ev.Body = env.appendTail(b)
}

// appendV2Context appends `"context":{…},` for a reply or a forwarded
// message, nothing otherwise. The id is Gupshup's (gsId) when statuses carry
// Gupshup ids, else the callback's id; from is the business number.
func (w *webhookWriter) appendV2Context(dst []byte, c gjson.Result, ev *WebhookEvent) []byte {
	if !c.IsObject() {
		return dst
	}
	id := scalarString(c.Get("id"))
	gsID := scalarString(c.Get("gsId"))
	if id != "" && gsID != "" {
		ev.GsID, ev.WAMID = idPair(gsID, id)
	}
	if w.opts.StatusIDFromGsID && gsID != "" {
		id = gsID
	}
	fwd := c.Get("forwarded").Type == gjson.True
	freq := c.Get("frequently_forwarded").Type == gjson.True
	if id == "" && !fwd && !freq {
		return dst
	}
	dst = append(dst, `"context":{`...)
	start := len(dst)
	if id != "" {
		dst = appendStringMember(dst, start, "from", w.opts.Phone.DisplayPhoneNumber)
		dst = appendStringMember(dst, start, "id", id)
	}
	if fwd {
		dst = appendMemberKey(dst, start, "forwarded")
		dst = append(dst, "true"...)
	}
	if freq {
		dst = appendMemberKey(dst, start, "frequently_forwarded")
		dst = append(dst, "true"...)
	}
	return append(dst, "},"...)
}

// appendV2Content appends `"type":…,<type object>` for the v2 message type
// typ with payload p.
func appendV2Content(dst []byte, typ string, p gjson.Result, ev *WebhookEvent) []byte {
	switch typ {
	case "text":
		dst = append(dst, `"type":"text","text":{"body":`...)
		dst = AppendMetaString(dst, scalarString(p.Get("text")))
		return append(dst, '}')
	case "image", "video", "audio", "sticker", "file":
		return appendV2Media(dst, typ, p, ev)
	case "location":
		return appendV2Location(dst, p)
	case "contact":
		dst = append(dst, `"type":"contacts","contacts":`...)
		if c := p.Get("contacts"); c.Exists() {
			return appendClean(dst, c)
		}
		return append(dst, "[]"...)
	case "quick_reply":
		text := scalarString(p.Get("text"))
		payload := scalarString(p.Get("postbackText"))
		if payload == "" {
			payload = text
		}
		dst = append(dst, `"type":"button","button":{"payload":`...)
		dst = AppendMetaString(dst, payload)
		dst = append(dst, `,"text":`...)
		dst = AppendMetaString(dst, text)
		return append(dst, '}')
	case "button_reply", "list_reply":
		return appendV2Interactive(dst, typ, p)
	default:
		dst = append(dst, `"type":"unsupported","unsupported":{"type":`...)
		dst = AppendMetaString(dst, typ)
		return append(dst, `},"errors":[{"code":131051,"title":"Message type unknown","message":"Message type unknown",`+
			`"error_data":{"details":"Message type is currently not supported."}}]`...)
	}
}

// appendV2Media appends a media message: Meta's media object with the id
// Gupshup's URL ends in, the URL itself recorded in ev.Media. "file" is
// Meta's "document".
func appendV2Media(dst []byte, typ string, p gjson.Result, ev *WebhookEvent) []byte {
	if typ == "file" {
		typ = "document"
	}
	url := scalarString(p.Get("url"))
	ref := MediaRef{ID: mediaIDFromURL(url), MimeType: scalarString(p.Get("contentType")), URL: url}
	ev.Media = append(ev.Media, ref)
	dst = append(dst, `"type":`...)
	dst = AppendMetaString(dst, typ)
	dst = append(dst, ',')
	dst = AppendMetaString(dst, typ)
	dst = append(dst, `:{"id":`...)
	dst = AppendMetaString(dst, ref.ID)
	dst = append(dst, `,"mime_type":`...)
	dst = AppendMetaString(dst, ref.MimeType)
	if name := scalarString(p.Get("name")); typ == "document" && name != "" {
		dst = append(dst, `,"filename":`...)
		dst = AppendMetaString(dst, name)
	}
	if caption := scalarString(p.Get("caption")); caption != "" {
		dst = append(dst, `,"caption":`...)
		dst = AppendMetaString(dst, caption)
	}
	return append(dst, '}')
}

// mediaIDFromURL is the last path segment of a Gupshup media URL, without
// query or fragment.
func mediaIDFromURL(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	u = strings.TrimRight(u, "/")
	return u[strings.LastIndexByte(u, '/')+1:]
}

// appendV2Location appends a location message; coordinates are JSON
// numbers, copied digit for digit from Gupshup's numbers or numeric strings.
func appendV2Location(dst []byte, p gjson.Result) []byte {
	dst = append(dst, `"type":"location","location":{`...)
	start := len(dst)
	for _, name := range [...]string{"latitude", "longitude"} {
		if v := p.Get(name); v.Exists() {
			dst = appendMemberKey(dst, start, name)
			dst = appendNumberish(dst, v)
		}
	}
	for _, name := range [...]string{"name", "address", "url"} {
		if v := p.Get(name); v.Exists() {
			dst = appendMemberKey(dst, start, name)
			dst = appendClean(dst, v)
		}
	}
	return append(dst, '}')
}

// appendV2Interactive appends a button_reply or list_reply as Meta's
// interactive message; the id is the postback text when there is one.
func appendV2Interactive(dst []byte, typ string, p gjson.Result) []byte {
	id := scalarString(p.Get("postbackText"))
	if id == "" {
		id = scalarString(p.Get("id"))
	}
	dst = append(dst, `"type":"interactive","interactive":{"type":`...)
	dst = AppendMetaString(dst, typ)
	dst = append(dst, ',')
	dst = AppendMetaString(dst, typ)
	dst = append(dst, `:{"id":`...)
	dst = AppendMetaString(dst, id)
	dst = append(dst, `,"title":`...)
	dst = AppendMetaString(dst, scalarString(p.Get("title")))
	if d := p.Get("description"); typ == "list_reply" && d.Exists() {
		dst = append(dst, `,"description":`...)
		dst = appendClean(dst, d)
	}
	return append(dst, "}}"...)
}

// v2EventFields are the members of a v2 "message-event" payload.
type v2EventFields struct {
	id, gsID, typ, destination, payload, conversation, pricing gjson.Result
}

func (f *v2EventFields) read(p gjson.Result) {
	readFirst(p, []string{"id", "gsId", "type", "destination", "payload", "conversation", "pricing"},
		&f.id, &f.gsID, &f.typ, &f.destination, &f.payload, &f.conversation, &f.pricing)
}

// v2Status emits the Meta status of a v2 "message-event" callback.
func (w *webhookWriter) v2Status(m *rootMembers) {
	if !m.payload.IsObject() {
		w.drop("v2:message-event:no-payload")
		return
	}
	var f v2EventFields
	f.read(m.payload)
	status := scalarString(f.typ)
	if status == "enqueued" {
		w.drop("status:enqueued")
		// v2 enqueued: id (or gsId) is Gupshup's, the wamid is in the
		// inner payload.
		gs := scalarString(f.gsID)
		if gs == "" {
			gs = scalarString(f.id)
		}
		w.learn(gs, scalarString(f.payload.Get("whatsappMessageId")))
		return
	}
	id, gsID := scalarString(f.id), scalarString(f.gsID)
	outID := id
	if gsID != "" && w.opts.StatusIDFromGsID {
		outID = gsID
	}
	ev := w.newEvent(WebhookEvent{Field: "messages", Kind: "status", Key: statusKey(gsID, id, status)})
	ev.GsID, ev.WAMID = idPair(gsID, id)
	env := w.v2Envelope()
	b := w.newBody(w.size)
	b = env.appendHead(b)
	b = w.appendV2ValueHead(b)
	b = append(b, `"statuses":[{"id":`...)
	b = AppendMetaString(b, outID)
	b = append(b, `,"status":`...)
	b = AppendMetaString(b, status)
	ts := f.payload.Get("ts")
	if !ts.Exists() {
		ts = m.timestamp
	}
	if ts.Exists() {
		b = append(b, `,"timestamp":`...)
		b = appendUnixSeconds(b, ts)
	}
	b = append(b, `,"recipient_id":`...)
	b = AppendMetaString(b, scalarString(f.destination))
	b = appendV2Conversation(b, f.conversation)
	b = appendV2Pricing(b, f.pricing)
	if status == "failed" {
		b = appendV2Errors(b, f.payload)
	}
	b = append(b, "}]}"...)
	ev.Body = env.appendTail(b)
}

// appendV2Conversation appends `,"conversation":{"id","expiration_timestamp","origin":{"type"}}`
// when the event has a conversation.
func appendV2Conversation(dst []byte, c gjson.Result) []byte {
	if !c.IsObject() {
		return dst
	}
	dst = append(dst, `,"conversation":{`...)
	start := len(dst)
	if id := c.Get("id"); id.Exists() {
		dst = appendMemberKey(dst, start, "id")
		dst = appendClean(dst, id)
	}
	if exp := c.Get("expiresAt"); exp.Exists() {
		dst = appendMemberKey(dst, start, "expiration_timestamp")
		dst = appendUnixSeconds(dst, exp)
	}
	if t := c.Get("type"); t.Exists() {
		dst = appendMemberKey(dst, start, "origin")
		dst = append(dst, `{"type":`...)
		dst = appendClean(dst, t)
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

// appendV2Pricing appends `,"pricing":{"billable","pricing_model","category"}`
// when the event has pricing.
func appendV2Pricing(dst []byte, p gjson.Result) []byte {
	if !p.IsObject() {
		return dst
	}
	dst = append(dst, `,"pricing":{`...)
	start := len(dst)
	if v := p.Get("billable"); v.Exists() {
		dst = appendMemberKey(dst, start, "billable")
		dst = appendClean(dst, v)
	}
	if v := p.Get("policy"); v.Exists() {
		dst = appendMemberKey(dst, start, "pricing_model")
		dst = appendClean(dst, v)
	}
	if v := p.Get("category"); v.Exists() {
		dst = appendMemberKey(dst, start, "category")
		dst = appendClean(dst, v)
	}
	return append(dst, '}')
}

// appendV2Errors appends `,"errors":[…]` for a failed event: Gupshup's code
// and reason in Meta's error shape.
func appendV2Errors(dst []byte, p gjson.Result) []byte {
	dst = append(dst, `,"errors":[{`...)
	start := len(dst)
	if code := p.Get("code"); code.Exists() {
		dst = appendMemberKey(dst, start, "code")
		dst = appendNumberish(dst, code)
	}
	if r := p.Get("reason"); r.Exists() {
		reason := scalarString(r)
		dst = appendStringMember(dst, start, "title", reason)
		dst = appendStringMember(dst, start, "message", reason)
		dst = append(dst, `,"error_data":{"details":`...)
		dst = AppendMetaString(dst, reason)
		dst = append(dst, '}')
	}
	return append(dst, "}]"...)
}
