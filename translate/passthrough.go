package translate

import "github.com/tidwall/gjson"

// metaPassthrough returns the Error that passes a Meta-style answer
// {"error":{…}} from upstream through to the client, or nil when root is
// not one fit to pass: the error member must be an object with an integer
// code, a string message, and, when present, an integer error_subcode, a
// string type and an object error_data. Of a repeated member the last
// counts and only it is kept. Text a person reads (message,
// error_data.details, error_user_title, error_user_msg) is scrubbed like
// Gupshup's own messages; every other member keeps its bytes, and
// fbtrace_id is replaced by ours. root must come from parseAnswer (valid
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
	if v := get("type"); v.Exists() && v.Type != gjson.String {
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
		if m.name == "fbtrace_id" {
			continue
		}
		if len(raw) > 0 {
			raw = append(raw, ',')
		}
		raw = AppendMetaString(raw, m.name)
		raw = append(raw, ':')
		switch m.name {
		case "message", "error_user_title", "error_user_msg":
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

// appendScrubbedData appends an error_data object with one copy of each
// member and its details scrubbed.
func appendScrubbedData(dst []byte, data gjson.Result) []byte {
	var buf [4]member
	dst = append(dst, '{')
	for i, m := range lastMembers(data, buf[:0]) {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendMetaString(dst, m.name)
		dst = append(dst, ':')
		if m.name == "details" {
			dst = appendScrubbed(dst, m.v)
		} else {
			dst = append(dst, m.v.Raw...)
		}
	}
	return append(dst, '}')
}
