package translate

import (
	"github.com/tidwall/gjson"
)

// v3: Gupshup's Meta-shaped callbacks. Every entry[] and changes[] is walked;
// a "messages" change yields one event per status and per message, other
// fields are forwarded whole when configured.

// v3 translates the entry array of a v3 callback.
func (w *webhookWriter) v3(entries gjson.Result) {
	n := 0
	if entries.IsArray() {
		entries.ForEach(func(_, e gjson.Result) bool {
			n++
			w.v3Entry(e)
			return true
		})
	}
	if n == 0 {
		w.drop("v3:no-entry")
	}
}

// v3Entry translates one entry[] item.
func (w *webhookWriter) v3Entry(e gjson.Result) {
	changes := e.Get("changes")
	if !e.IsObject() || !changes.IsArray() {
		w.drop("entry:no-changes")
		return
	}
	env := envelope{id: w.entryID(e.Get("id")), time: e.Get("time")}
	n := 0
	changes.ForEach(func(_, c gjson.Result) bool {
		n++
		env.field = scalarString(c.Get("field"))
		value := c.Get("value")
		switch {
		case env.field == "messages":
			w.v3Messages(&env, value)
		case w.forwarded(env.field):
			w.v3Other(&env, value)
		default:
			w.drop("field:" + env.field)
		}
		return true
	})
	if n == 0 {
		w.drop("entry:no-changes")
	}
}

// v3Other forwards a change of another field: its value with Gupshup's
// members stripped, keyed by the body's hash.
func (w *webhookWriter) v3Other(env *envelope, value gjson.Result) {
	b := w.newBody(len(value.Raw))
	b = env.appendHead(b)
	if value.Exists() {
		b = appendClean(b, value)
	} else {
		b = append(b, "{}"...)
	}
	b = env.appendTail(b)
	w.emit(WebhookEvent{Body: b, Field: env.field, Kind: "other", Key: bodyKey(b)})
}

// messagesValue is what a "messages" change value holds, first occurrence
// of each member.
type messagesValue struct {
	v                          gjson.Result
	hasProduct, hasMetadata    bool
	statuses, messages, errors gjson.Result
}

func (mv *messagesValue) read(v gjson.Result) {
	mv.v = v
	v.ForEach(func(k, m gjson.Result) bool {
		switch k.Str {
		case "messaging_product":
			mv.hasProduct = true
		case "metadata":
			mv.hasMetadata = mv.hasMetadata || m.IsObject()
		case "statuses":
			if !mv.statuses.Exists() {
				mv.statuses = m
			}
		case "messages":
			if !mv.messages.Exists() {
				mv.messages = m
			}
		case "errors":
			if !mv.errors.Exists() {
				mv.errors = m
			}
		}
		return true
	})
}

// v3Messages splits a "messages" change into one event per status and per
// message; a value with only errors (Meta system errors) is one event.
func (w *webhookWriter) v3Messages(env *envelope, value gjson.Result) {
	if !value.IsObject() {
		w.drop("messages:empty")
		return
	}
	var mv messagesValue
	mv.read(value)
	items := 0
	if mv.statuses.IsArray() {
		mv.statuses.ForEach(func(_, s gjson.Result) bool {
			items++
			w.v3Status(env, &mv, s)
			return true
		})
	}
	if mv.messages.IsArray() {
		mv.messages.ForEach(func(_, m gjson.Result) bool {
			items++
			w.v3Message(env, &mv, m)
			return true
		})
	}
	if items > 0 {
		return
	}
	if !mv.errors.Exists() {
		w.drop("messages:empty")
		return
	}
	b := w.newBody(len(value.Raw))
	b = env.appendHead(b)
	b = w.appendMessagesValue(b, &mv, itemRef{})
	b = env.appendTail(b)
	w.emit(WebhookEvent{Body: b, Field: env.field, Kind: "other", Key: bodyKey(b)})
}

// itemRef is the one status or message a body carries.
type itemRef struct {
	key   string // "statuses" or "messages"; "" for none
	item  gjson.Result
	match string // contacts are narrowed to this wa_id
	ev    *WebhookEvent
}

// bodyHint estimates the size of a body carrying one item of mv.
func bodyHint(mv *messagesValue, item gjson.Result) int {
	return len(mv.v.Raw) - len(mv.statuses.Raw) - len(mv.messages.Raw) + len(item.Raw)
}

// v3Status emits the event of one value.statuses[] item.
func (w *webhookWriter) v3Status(env *envelope, mv *messagesValue, s gjson.Result) {
	if !s.IsObject() {
		w.drop("status:invalid")
		return
	}
	status := scalarString(s.Get("status"))
	if status == "enqueued" {
		w.drop("status:enqueued")
		w.learn(scalarString(s.Get("gs_id")), scalarString(s.Get("id")))
		return
	}
	gsID, id := scalarString(s.Get("gs_id")), scalarString(s.Get("id"))
	ev := w.newEvent(WebhookEvent{Field: env.field, Kind: "status", Key: statusKey(gsID, id, status)})
	ev.GsID, ev.WAMID = idPair(gsID, id)
	b := w.newBody(bodyHint(mv, s))
	b = env.appendHead(b)
	b = w.appendMessagesValue(b, mv, itemRef{key: "statuses", item: s, match: scalarString(s.Get("recipient_id")), ev: ev})
	ev.Body = env.appendTail(b)
}

// v3Message emits the event of one value.messages[] item.
func (w *webhookWriter) v3Message(env *envelope, mv *messagesValue, m gjson.Result) {
	if !m.IsObject() {
		w.drop("message:invalid")
		return
	}
	ev := w.newEvent(WebhookEvent{Field: env.field, Kind: "message", Key: "message:" + scalarString(m.Get("id"))})
	b := w.newBody(bodyHint(mv, m))
	b = env.appendHead(b)
	b = w.appendMessagesValue(b, mv, itemRef{key: "messages", item: m, match: scalarString(m.Get("from")), ev: ev})
	ev.Body = env.appendTail(b)
}

// statusKey is the deduplication key of a status: "status:<gs id, else
// wamid>:<status>", the same for v2 and v3 deliveries of one event.
func statusKey(gsID, wamid, status string) string {
	id := gsID
	if id == "" {
		id = wamid
	}
	return "status:" + id + ":" + status
}

// idPair returns the (gs id, wamid) pair an event reveals for the id map.
// A "wamid" equal to the gs id (Gupshup reports failures before WhatsApp
// assigned one with its own id in both places) reveals nothing and is left
// out.
func idPair(gsID, wamid string) (string, string) {
	if wamid == gsID {
		wamid = ""
	}
	return gsID, wamid
}

// appendMessagesValue appends the value of a "messages" change carrying
// only it.item: members in input order, messaging_product and metadata
// supplied when missing, metadata naming the number as clients know it,
// contacts narrowed to the item's user, Gupshup's members left out.
func (w *webhookWriter) appendMessagesValue(dst []byte, mv *messagesValue, it itemRef) []byte {
	dst = append(dst, '{')
	start := len(dst)
	if !mv.hasProduct {
		dst = append(dst, `"messaging_product":"whatsapp"`...)
		if !mv.hasMetadata {
			dst = append(dst, `,"metadata":`...)
			dst = w.appendNewMetadata(dst)
		}
	}
	itemDone := false
	mv.v.ForEach(func(k, v gjson.Result) bool {
		name := k.Str
		switch name {
		case "statuses", "messages":
			if name != it.key || itemDone {
				return true
			}
			itemDone = true
			dst = appendMemberKey(dst, start, name)
			dst = append(dst, '[')
			if name == "statuses" {
				dst = w.appendStatus(dst, it.item, it.ev)
			} else {
				dst = w.appendMessage(dst, it.item, it.ev)
			}
			dst = append(dst, ']')
		case "messaging_product":
			dst = appendMemberKey(dst, start, name)
			dst = appendClean(dst, v)
			if !mv.hasMetadata {
				dst = append(dst, `,"metadata":`...)
				dst = w.appendNewMetadata(dst)
			}
		case "metadata":
			if !v.IsObject() {
				return true // replaced by the one written after messaging_product
			}
			dst = appendMemberKey(dst, start, name)
			dst = w.appendMetadata(dst, v)
		case "contacts":
			dst = appendMemberKey(dst, start, name)
			dst = appendContacts(dst, v, it.match)
		default:
			dst = appendCleanMember(dst, start, name, v)
		}
		return true
	})
	return append(dst, '}')
}

// appendMetadata appends value.metadata with phone_number_id set to the
// configured one and display_phone_number filled in when missing.
func (w *webhookWriter) appendMetadata(dst []byte, md gjson.Result) []byte {
	phone := w.opts.Phone
	dst = append(dst, '{')
	start := len(dst)
	if phone.DisplayPhoneNumber != "" && !md.Get("display_phone_number").Exists() {
		dst = appendStringMember(dst, start, "display_phone_number", phone.DisplayPhoneNumber)
	}
	hasID := false
	md.ForEach(func(k, v gjson.Result) bool {
		if k.Str == "phone_number_id" {
			hasID = true
			if phone.PhoneNumberID != "" {
				dst = appendStringMember(dst, start, k.Str, phone.PhoneNumberID)
				return true
			}
		}
		dst = appendCleanMember(dst, start, k.Str, v)
		return true
	})
	if !hasID && phone.PhoneNumberID != "" {
		dst = appendStringMember(dst, start, "phone_number_id", phone.PhoneNumberID)
	}
	return append(dst, '}')
}

// appendContacts appends value.contacts; when it lists several contacts,
// only those whose wa_id is match are kept (all of them if none is).
func appendContacts(dst []byte, contacts gjson.Result, match string) []byte {
	if !contacts.IsArray() || match == "" {
		return appendClean(dst, contacts)
	}
	total, matched := 0, 0
	contacts.ForEach(func(_, c gjson.Result) bool {
		total++
		if scalarString(c.Get("wa_id")) == match {
			matched++
		}
		return true
	})
	if total < 2 || matched == 0 {
		return appendClean(dst, contacts)
	}
	dst = append(dst, '[')
	start := len(dst)
	contacts.ForEach(func(_, c gjson.Result) bool {
		if scalarString(c.Get("wa_id")) == match {
			if len(dst) > start {
				dst = append(dst, ',')
			}
			dst = appendClean(dst, c)
		}
		return true
	})
	return append(dst, ']')
}

// appendStatus appends one statuses[] item the Meta way: id from gs_id when
// configured, timestamps as strings of seconds, errors completed, Gupshup's
// members left out.
func (w *webhookWriter) appendStatus(dst []byte, s gjson.Result, ev *WebhookEvent) []byte {
	useGsID := w.opts.StatusIDFromGsID && ev.GsID != ""
	hasID := s.Get("id").Exists()
	dst = append(dst, '{')
	start := len(dst)
	s.ForEach(func(k, v gjson.Result) bool {
		name := k.Str
		switch name {
		case "id":
			if useGsID {
				dst = appendStringMember(dst, start, name, ev.GsID)
				return true
			}
		case "gs_id":
			if useGsID && !hasID {
				dst = appendStringMember(dst, start, "id", ev.GsID)
			}
			return true
		case "timestamp":
			dst = appendMemberKey(dst, start, name)
			dst = appendUnixSeconds(dst, v)
			return true
		case "conversation":
			dst = appendMemberKey(dst, start, name)
			dst = appendConversation(dst, v)
			return true
		case "errors":
			dst = appendMemberKey(dst, start, name)
			dst = appendStatusErrors(dst, v)
			return true
		}
		dst = appendCleanMember(dst, start, name, v)
		return true
	})
	return append(dst, '}')
}

// appendConversation appends statuses[].conversation with its
// expiration_timestamp as a string of seconds.
func appendConversation(dst []byte, c gjson.Result) []byte {
	if !c.IsObject() {
		return appendClean(dst, c)
	}
	return appendObject(dst, c, func(dst []byte, name string, v gjson.Result) []byte {
		if name == "expiration_timestamp" {
			return appendUnixSeconds(dst, v)
		}
		return appendClean(dst, v)
	})
}

// appendStatusErrors appends statuses[].errors, each error completed with
// Meta's "message" (the title, right after it) and "error_data":{"details"}
// (the title, right after the message) when it lacks them.
func appendStatusErrors(dst []byte, errs gjson.Result) []byte {
	if !errs.IsArray() {
		return appendClean(dst, errs)
	}
	return appendArray(dst, errs, appendStatusError)
}

// appendStatusError appends one item of statuses[].errors (see
// appendStatusErrors).
func appendStatusError(dst []byte, e gjson.Result) []byte {
	if !e.IsObject() {
		return appendClean(dst, e)
	}
	title := e.Get("title")
	hasMessage := e.Get("message").Exists()
	hasData := e.Get("error_data").Exists()
	return appendObject(dst, e, func(dst []byte, name string, v gjson.Result) []byte {
		dst = appendClean(dst, v)
		if title.Type != gjson.String {
			return dst
		}
		addData := !hasData && name == "message" // after an existing message
		if name == "title" && !hasMessage {
			dst = append(dst, `,"message":`...)
			dst = AppendMetaString(dst, title.Str)
			addData = !hasData
		}
		if addData {
			dst = append(dst, `,"error_data":{"details":`...)
			dst = AppendMetaString(dst, title.Str)
			dst = append(dst, '}')
		}
		return dst
	})
}

// appendMessage appends one messages[] item the Meta way: timestamp as a
// string of seconds, reply context in the id space clients know, Gupshup's
// media download URLs moved out to ev.Media.
func (w *webhookWriter) appendMessage(dst []byte, m gjson.Result, ev *WebhookEvent) []byte {
	return appendObject(dst, m, func(dst []byte, name string, v gjson.Result) []byte {
		switch name {
		case "timestamp":
			return appendUnixSeconds(dst, v)
		case "context":
			return appendContext(dst, v, ev)
		case "image", "video", "audio", "document", "sticker":
			return appendMedia(dst, v, ev)
		default:
			return appendClean(dst, v)
		}
	})
}

// appendContext appends messages[].context with id set to Gupshup's id of
// the replied-to message (gs_id, the id /messages returned) and
// meta_msg_id/gs_id left out; the pair goes to ev for the id map.
func appendContext(dst []byte, c gjson.Result, ev *WebhookEvent) []byte {
	if !c.IsObject() {
		return appendClean(dst, c)
	}
	gsID := scalarString(c.Get("gs_id"))
	if wamid := scalarString(c.Get("meta_msg_id")); gsID != "" && wamid != "" {
		ev.GsID, ev.WAMID = idPair(gsID, wamid)
	}
	hasID := c.Get("id").Exists()
	dst = append(dst, '{')
	start := len(dst)
	c.ForEach(func(k, v gjson.Result) bool {
		name := k.Str
		switch name {
		case "id":
			if gsID != "" {
				dst = appendStringMember(dst, start, name, gsID)
				return true
			}
		case "gs_id":
			if !hasID && gsID != "" {
				dst = appendStringMember(dst, start, "id", gsID)
			}
			return true
		case "meta_msg_id":
			return true
		}
		dst = appendCleanMember(dst, start, name, v)
		return true
	})
	return append(dst, '}')
}

// appendMedia appends an image/video/audio/document/sticker object without
// Gupshup's download url, recording the media in ev.Media.
func appendMedia(dst []byte, o gjson.Result, ev *WebhookEvent) []byte {
	if !o.IsObject() {
		return appendClean(dst, o)
	}
	var ref MediaRef
	dst = append(dst, '{')
	start := len(dst)
	o.ForEach(func(k, v gjson.Result) bool {
		name := k.Str
		switch name {
		case "url":
			ref.URL = scalarString(v)
			return true
		case "id":
			ref.ID = scalarString(v)
		case "mime_type":
			ref.MimeType = scalarString(v)
		case "sha256":
			ref.SHA256 = scalarString(v)
		}
		dst = appendCleanMember(dst, start, name, v)
		return true
	})
	ev.Media = append(ev.Media, ref)
	return append(dst, '}')
}
