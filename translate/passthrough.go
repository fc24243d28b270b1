package translate

import "github.com/tidwall/gjson"

// metaPassthrough returns the Error that passes a Meta-style answer
// {"error":{…}} from upstream through to the client, or nil when root is
// not one fit to pass: the error member must be an object with an integer
// code, a string message, and, when present, an integer error_subcode, a
// string type and an object error_data. Of a repeated member the last
// counts and only it is kept. Only the members Graph writes pass (message,
// type, code, error_subcode, error_user_title, error_user_msg, is_transient,
// error_data with messaging_product and details); text a person reads is
// scrubbed like Gupshup's own messages; the rest keeps its bytes; a
// missing type is OAuthException, as Graph's default; fbtrace_id is ours. root must come from parseAnswer (valid
// JSON or nothing).
func metaPassthrough(status int, root gjson.Result, retryAfter string) *Error {
	eo := lastMember(root, "error")
	if !eo.IsObject() {
		return nil
	}
	var buf [12]member
	members := lastMembers(eo, buf[:0])
	get := func(name string) gjson.Result {
		for i := range members {
			if members[i].name == name {
				return members[i].v
			}
		}
		return gjson.Result{}
	}
	code, ok := jsonInt(get("code"))
	if !ok {
		return nil
	}
	msg := get("message")
	if msg.Type != gjson.String {
		return nil
	}
	sub := 0
	if v := get("error_subcode"); v.Exists() {
		if sub, ok = jsonInt(v); !ok {
			return nil
		}
	}
	typ := get("type")
	if typ.Exists() && typ.Type != gjson.String {
		return nil
	}
	if v := get("error_data"); v.Exists() && !v.IsObject() {
		return nil
	}
	if status < 400 || status > 599 {
		status = 400
	}
	text := scrubUpstreamText(msg.Str)
	var raw []byte
	for _, m := range members {
		switch m.name {
		case "message", "type", "code", "error_subcode": // checked above
		case "error_user_title", "error_user_msg":
			if m.v.Type != gjson.String {
				continue
			}
		case "is_transient":
			if !m.v.IsBool() {
				continue
			}
		case "error_data":
		default: // fbtrace_id is ours; members Graph does not write are dropped
			continue
		}
		if len(raw) > 0 {
			raw = append(raw, ',')
		}
		raw = AppendMetaString(raw, m.name)
		raw = append(raw, ':')
		switch m.name {
		case "message":
			raw = appendScrubbed(raw, m.v)
			if !typ.Exists() { // Graph's envelope always has a type
				raw = append(raw, `,"type":"OAuthException"`...)
			}
		case "error_user_title", "error_user_msg":
			raw = appendScrubbed(raw, m.v)
		case "error_data":
			raw = appendScrubbedData(raw, m.v)
		default:
			raw = append(raw, m.v.Raw...)
		}
	}
	if raw == nil {
		raw = []byte{}
	}
	return &Error{HTTPStatus: status, Code: code, Subcode: sub, Title: text, Message: text,
		RetryAfter: retryAfter, Rule: "meta_passthrough", raw: raw}
}

// appendScrubbed appends a string member scrubbed (its own bytes when
// scrubbing changes nothing), any other value as its bytes.
func appendScrubbed(dst []byte, v gjson.Result) []byte {
	if v.Type != gjson.String {
		return append(dst, v.Raw...)
	}
	if s := scrubUpstreamText(v.Str); s != v.Str {
		return AppendMetaString(dst, s)
	}
	return append(dst, v.Raw...)
}

// appendScrubbedData appends an error_data object with the members Graph
// writes there, messaging_product and details (strings; details
// scrubbed), one copy of each.
func appendScrubbedData(dst []byte, data gjson.Result) []byte {
	var buf [4]member
	dst = append(dst, '{')
	n := 0
	for _, m := range lastMembers(data, buf[:0]) {
		if (m.name != "messaging_product" && m.name != "details") || m.v.Type != gjson.String {
			continue
		}
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
		dst = AppendMetaString(dst, m.name)
		dst = append(dst, ':')
		dst = appendScrubbed(dst, m.v)
	}
	return append(dst, '}')
}
