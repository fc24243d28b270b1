package translate

import (
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
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
	mp := root.Get("messaging_product")
	if !mp.Exists() || mp.Type == gjson.Null {
		return s, MissingParameter("messaging_product")
	}
	if mp.Type != gjson.String || !strings.EqualFold(mp.Str, "whatsapp") {
		return s, InvalidParameter(`Param messaging_product must be "whatsapp".`)
	}
	if st := root.Get("status"); st.Type == gjson.String && st.Str != "" {
		s.Status = st.Str
		s.MessageID = root.Get("message_id").String()
		if s.MessageID == "" {
			return s, MissingParameter("message_id")
		}
	} else {
		to := root.Get("to")
		if to.Type == gjson.Null || to.String() == "" {
			to = root.Get("recipient")
		}
		if to.String() == "" {
			return s, MissingParameter("to")
		}
		if to.Type != gjson.String && to.Type != gjson.Number {
			return s, InvalidParameter("Param to must be a string.")
		}
		s.To = to.String()
		t := root.Get("type")
		switch {
		case !t.Exists() || t.Type == gjson.Null:
			s.Type = "text"
		case t.Type != gjson.String || t.Str == "":
			return s, InvalidParameter("Param type must be a non-empty string.")
		default:
			s.Type = t.Str
		}
		obj := root.Get(gjson.Escape(s.Type))
		if !obj.Exists() || obj.Type == gjson.Null {
			return s, MissingParameter(s.Type)
		}
		if !obj.IsObject() && !obj.IsArray() {
			return s, InvalidParameter("Param " + s.Type + " must be a JSON object.")
		}
	}

	form := dst[:0]
	typeSeen := false
	root.ForEach(func(k, v gjson.Result) bool {
		if v.Type == gjson.Null {
			return true
		}
		name := k.String()
		switch name {
		case "type":
			typeSeen = true
		case "template":
			if opt.NormalizeTemplateButtons && v.IsObject() {
				form = appendFormField(form, name, normalizeTemplate(v.Raw))
				return true
			}
		}
		var value string
		switch v.Type {
		case gjson.String:
			value = v.Str
		default: // numbers, booleans, objects, arrays: their exact bytes
			value = v.Raw
		}
		form = appendFormField(form, name, value)
		return true
	})
	if !typeSeen && s.Status == "" {
		form = appendFormField(form, "type", s.Type)
	}
	s.Form = form
	return s, nil
}

// normalizeTemplate rewrites button components of a template object to the
// canonical form: "index" as a string, "sub_type" lower case. Anything else
// keeps its bytes. It returns raw unchanged when nothing needs rewriting.
func normalizeTemplate(raw string) string {
	return normalizeComponents(raw, "components")
}

// normalizeComponents normalizes the button components in the array at path
// of raw, including those of carousel cards.
func normalizeComponents(raw, path string) string {
	out := raw
	gjson.Get(raw, path).ForEach(func(i, c gjson.Result) bool {
		base := path + "." + i.String()
		if idx := c.Get("index"); idx.Type == gjson.Number {
			out, _ = sjson.Set(out, base+".index", idx.Raw)
		}
		if st := c.Get("sub_type"); st.Type == gjson.String && st.Str != strings.ToLower(st.Str) {
			out, _ = sjson.Set(out, base+".sub_type", strings.ToLower(st.Str))
		}
		c.Get("cards").ForEach(func(j, _ gjson.Result) bool {
			out = normalizeComponents(out, base+".cards."+j.String()+".components")
			return true
		})
		return true
	})
	return out
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
