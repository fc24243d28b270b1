package translate

import (
	"strings"

	"github.com/tidwall/gjson"
)

// SendResponse turns Gupshup's v3 success answer into Meta's:
//
//	{"messaging_product":"whatsapp","contacts":[{"input","wa_id"}],"messages":[{"id",…}]}
//
// Each message keeps Gupshup's members (its id is the id status webhooks
// will carry, and fields such as message_status pass through byte for
// byte), with its id written as a JSON string: a numeric id becomes its
// decimal digits. contacts are Gupshup's when it sent a well-formed list
// (objects with string or integer input and wa_id, written as strings),
// else built from the recipient the client sent (input as written, wa_id
// its digits). Of a repeated member the last counts.
//
// An answer that is not valid JSON, has no messages array, or has a
// message that is not an object with a non-empty string or integer id is
// an upstream failure (500, code 131000), with dst returned unchanged:
// nothing of such an answer is copied.
func SendResponse(dst []byte, upstream []byte, to string) ([]byte, *Error) {
	root := parseAnswer(upstream)
	msgs := lastMember(root, "messages")
	if !validMessages(msgs) {
		return dst, &Error{HTTPStatus: 500, Code: CodeGeneric, Title: "Something went wrong",
			Details: "The upstream accepted the request but its answer carried no message id; the message may have been sent.",
			Rule:    "upstream_bad_answer"}
	}
	dst = append(dst, `{"messaging_product":"whatsapp","contacts":`...)
	if c := lastMember(root, "contacts"); validContacts(c) {
		dst = appendIDObjects(dst, c, "input", "wa_id")
	} else {
		dst = append(dst, `[{"input":`...)
		dst = AppendMetaString(dst, to)
		dst = append(dst, `,"wa_id":`...)
		dst = AppendMetaString(dst, digits(to))
		dst = append(dst, "}]"...)
	}
	dst = append(dst, `,"messages":`...)
	dst = appendIDObjects(dst, msgs, "id")
	return append(dst, '}'), nil
}

// idString returns a string member's value or an unsigned integer's
// digits (never through a float); ok is false for anything else.
func idString(v gjson.Result) (string, bool) {
	switch v.Type {
	case gjson.String:
		return v.Str, true
	case gjson.Number:
		if v.Raw != "" && strings.Trim(v.Raw, "0123456789") == "" {
			return v.Raw, true
		}
	}
	return "", false
}

// validMessages reports whether msgs is a non-empty array of objects each
// with a non-empty string or integer id.
func validMessages(msgs gjson.Result) bool {
	if !msgs.IsArray() {
		return false
	}
	n, ok := 0, true
	msgs.ForEach(func(_, m gjson.Result) bool {
		n++
		id, isID := idString(lastMember(m, "id"))
		ok = m.IsObject() && isID && id != ""
		return ok
	})
	return ok && n > 0
}

// validContacts reports whether c is a non-empty array of objects each
// with string or integer input and wa_id.
func validContacts(c gjson.Result) bool {
	if !c.IsArray() {
		return false
	}
	n, ok := 0, true
	c.ForEach(func(_, m gjson.Result) bool {
		n++
		_, in := idString(lastMember(m, "input"))
		_, wa := idString(lastMember(m, "wa_id"))
		ok = m.IsObject() && in && wa
		return ok
	})
	return ok && n > 0
}

// appendIDObjects appends the array arr of objects, each with one copy of
// every member (the last) and the members named by ids as JSON strings.
// arr has passed validMessages or validContacts.
func appendIDObjects(dst []byte, arr gjson.Result, ids ...string) []byte {
	dst = append(dst, '[')
	var buf [8]member
	i := 0
	arr.ForEach(func(_, obj gjson.Result) bool {
		if i > 0 {
			dst = append(dst, ',')
		}
		i++
		dst = append(dst, '{')
		for j, m := range lastMembers(obj, buf[:0]) {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = AppendMetaString(dst, m.name)
			dst = append(dst, ':')
			if isOneOf(m.name, ids) {
				s, _ := idString(m.v)
				dst = AppendMetaString(dst, s)
			} else {
				dst = append(dst, m.v.Raw...)
			}
		}
		dst = append(dst, '}')
		return true
	})
	return append(dst, ']')
}

func isOneOf(s string, list []string) bool {
	for _, x := range list {
		if s == x {
			return true
		}
	}
	return false
}

// Success is Meta's answer to status updates and other boolean operations.
const Success = `{"success":true}`

func digits(s string) string { return string(appendDigits(make([]byte, 0, len(s)), s)) }
