package translate

import (
	"strings"

	"github.com/tidwall/gjson"
)

// SendOptions tunes the request translation. The zero value passes the
// client's members through unchanged.
type SendOptions struct {
	// NormalizeTemplateButtons rewrites template button components to the
	// canonical form Meta documents: a numeric "index" becomes a string and
	// "sub_type" is lower-cased. Meta accepts both forms; whether Gupshup's
	// v3 validator does is not documented, so the canonical form is the safe
	// default (config: translate.normalize_template_buttons, default true).
	NormalizeTemplateButtons bool
}

// Send is a Meta /messages request translated for Gupshup's v3 passthrough.
type Send struct {
	// Form is the application/x-www-form-urlencoded body for
	// POST /partner/app/{appId}/v3/message: one field per top-level member,
	// strings as their value, objects and arrays as their exact JSON bytes,
	// numbers and booleans as their literal.
	Form []byte
	// To is the recipient as the client wrote it ("to", else "recipient").
	To string
	// Type is the message type ("text", "template", …).
	Type string
	// Status is set for status updates (mark-as-read / typing indicator):
	// bodies with a "status" member instead of a message.
	Status string
	// MessageID is the "message_id" of a status update.
	MessageID string
	// Event is a status update's body for Gupshup's v1/event call: the
	// request body itself, or, when an object in it repeats a member name,
	// a copy with only the last of each (LastMembersJSON).
	Event []byte
}

// SendToForm validates a Meta send body the way Graph would before
// accepting it and translates it into Gupshup's v3 form body, appended to
// dst[:0] (pass a reused buffer, or nil).
//
// Only what Meta itself rejects up front is checked: body not a JSON object,
// messaging_product missing or not "whatsapp", neither "to" nor "recipient"
// (except status updates), the object named by "type" missing. A missing
// "type" means "text", as on Graph, and "type=text" is added to the form.
func SendToForm(dst []byte, body []byte, opt SendOptions) (Send, *Error) {
	var s Send
	root := gjson.ParseBytes(body)
	if !root.IsObject() || !gjson.ValidBytes(body) {
		return s, InvalidParameter("The request body must be a JSON object.")
	}
	if b := lastMembersValid(body); len(b) != len(body) {
		body, root = b, gjson.ParseBytes(b)
	}
	// Of a name an object repeats (at any depth) only the last member is
	// left now, as Graph reads it: that value is validated, read and
	// forwarded (Gupshup gets one copy of each member), and plain lookups
	// below find it. One pass over the members; lookups search this list.
	var buf [16]member
	members := allMembers(root, buf[:0])
	get := func(name string) gjson.Result {
		for i := range members {
			if members[i].name == name {
				return members[i].v
			}
		}
		return gjson.Result{}
	}
	mp := get("messaging_product")
	if !mp.Exists() || mp.Type == gjson.Null {
		return s, MissingParameter("messaging_product")
	}
	if mp.Type != gjson.String || !strings.EqualFold(mp.Str, "whatsapp") {
		return s, InvalidParameter(`Param messaging_product must be "whatsapp".`)
	}
	if st := get("status"); st.Type == gjson.String && st.Str != "" {
		s.Status = st.Str
		s.MessageID = get("message_id").String()
		if s.MessageID == "" {
			return s, MissingParameter("message_id")
		}
		s.Event = body
	} else {
		to := get("to")
		if to.Type == gjson.Null || to.String() == "" {
			to = get("recipient")
		}
		if to.String() == "" {
			return s, MissingParameter("to")
		}
		if to.Type != gjson.String && to.Type != gjson.Number {
			return s, InvalidParameter("Param to must be a string.")
		}
		s.To = to.String()
		t := get("type")
		switch {
		case !t.Exists() || t.Type == gjson.Null:
			s.Type = "text"
		case t.Type != gjson.String || t.Str == "":
			return s, InvalidParameter("Param type must be a non-empty string.")
		default:
			s.Type = t.Str
		}
		obj := get(s.Type)
		if !obj.Exists() || obj.Type == gjson.Null {
			return s, MissingParameter(s.Type)
		}
		if !obj.IsObject() && !obj.IsArray() && !jsonEncodedContainer(obj) {
			return s, InvalidParameter("Param " + s.Type + " must be a JSON object.")
		}
	}

	form := dst[:0]
	typeSeen := false
	for i := range members {
		name, v := members[i].name, members[i].v
		if v.Type == gjson.Null {
			continue
		}
		switch name {
		case "type":
			typeSeen = true
		case "template":
			if opt.NormalizeTemplateButtons && v.IsObject() {
				form = appendFormField(form, 0, name, normalizeTemplate(v.Raw))
				continue
			}
		}
		value := v.Raw // numbers, booleans, objects, arrays: their exact bytes
		if v.Type == gjson.String {
			value = v.Str
		}
		form = appendFormField(form, 0, name, value)
	}
	if !typeSeen && s.Status == "" {
		form = appendFormField(form, 0, "type", s.Type)
	}
	s.Form = form
	return s, nil
}

// jsonEncodedContainer reports whether v is a string holding a JSON object
// or array, as Graph accepts for any parameter (whatsapp-api-js sends
// contacts this way). Its form field is that JSON text, unchanged.
func jsonEncodedContainer(v gjson.Result) bool {
	if v.Type != gjson.String {
		return false
	}
	inner := gjson.Parse(v.Str)
	return (inner.IsObject() || inner.IsArray()) && gjson.Valid(v.Str)
}

// normalizeTemplate rewrites button components of a template object to the
// canonical form: "index" as a string, "sub_type" lower case, in carousel
// cards too. Anything else keeps its bytes. It returns raw unchanged when
// nothing needs rewriting; otherwise the rewrite is one pass over raw.
func normalizeTemplate(raw string) string {
	var buf [8]templateEdit
	edits := collectButtonEdits(gjson.Get(raw, "components"), buf[:0])
	if len(edits) == 0 {
		return raw
	}
	// Document order (within a component "sub_type" may precede "index").
	for i := 1; i < len(edits); i++ {
		for j := i; j > 0 && edits[j].start < edits[j-1].start; j-- {
			edits[j], edits[j-1] = edits[j-1], edits[j]
		}
	}
	out := make([]byte, 0, len(raw)+2*len(edits))
	at := 0
	for _, e := range edits {
		out = append(out, raw[at:e.start]...)
		switch e.kind {
		case editQuote: // 1 → "1"
			out = append(out, '"')
			out = append(out, raw[e.start:e.end]...)
			out = append(out, '"')
		case editLower: // "QUICK_REPLY" → "quick_reply"
			for i := e.start; i < e.end; i++ {
				c := raw[i]
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				out = append(out, c)
			}
		}
		at = e.end
	}
	return string(append(out, raw[at:]...))
}

// templateEdit is one rewrite of normalizeTemplate: raw[start:end] quoted
// (a numeric index) or lower-cased (an ASCII sub_type string, quotes
// included).
type templateEdit struct {
	start, end int
	kind       byte
}

const (
	editQuote byte = iota
	editLower
)

// collectButtonEdits appends the edits for the components array comps (its
// indexes are offsets into the whole template) and those of carousel cards.
func collectButtonEdits(comps gjson.Result, edits []templateEdit) []templateEdit {
	comps.ForEach(func(_, c gjson.Result) bool {
		if idx := c.Get("index"); idx.Type == gjson.Number && idx.Index > 0 {
			edits = append(edits, templateEdit{idx.Index, idx.Index + len(idx.Raw), editQuote})
		}
		if st := c.Get("sub_type"); st.Type == gjson.String && st.Index > 0 && hasUpperASCII(st.Raw) {
			if isASCII(st.Raw) {
				edits = append(edits, templateEdit{st.Index, st.Index + len(st.Raw), editLower})
			}
		}
		c.Get("cards").ForEach(func(_, card gjson.Result) bool {
			edits = collectButtonEdits(card.Get("components"), edits)
			return true
		})
		return true
	})
	return edits
}

func hasUpperASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// Field is one form field of a urlencoded or multipart Graph request.
type Field struct{ Name, Value string }

// FieldsToJSON turns Graph-style form parameters into the JSON object the
// same call would carry as application/json: a value that is itself a JSON
// object or array is embedded as those bytes, anything else becomes a JSON
// string. Order is kept. Fields named access_token are left out.
func FieldsToJSON(fields []Field) []byte {
	out := []byte{'{'}
	first := true
	for _, f := range fields {
		if f.Name == "access_token" {
			continue
		}
		if !first {
			out = append(out, ',')
		}
		first = false
		out = AppendMetaString(out, f.Name)
		out = append(out, ':')
		v := strings.TrimSpace(f.Value)
		if len(v) > 0 && (v[0] == '{' || v[0] == '[') && gjson.Valid(v) {
			out = append(out, v...)
		} else {
			out = AppendMetaString(out, f.Value)
		}
	}
	return append(out, '}')
}
