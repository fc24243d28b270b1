package translate

import (
	"github.com/tidwall/gjson"
)

// SendResponse turns Gupshup's v3 success answer into Meta's:
//
//	{"messaging_product":"whatsapp","contacts":[{"input","wa_id"}],"messages":[{"id",…}]}
//
// The messages array keeps Gupshup's bytes (its id is the id status webhooks
// will carry, and fields such as message_status pass through). contacts are
// Gupshup's when present, else built from the recipient the client sent
// (input as written, wa_id its digits). An answer without a message id is an
// upstream failure.
func SendResponse(dst []byte, upstream []byte, to string) ([]byte, *Error) {
	root := gjson.ParseBytes(upstream)
	msgs := root.Get("messages")
	if !msgs.IsArray() || msgs.Get("0.id").String() == "" {
		return dst, &Error{HTTPStatus: 500, Code: CodeGeneric, Title: "Something went wrong",
			Details: "The upstream accepted the request but its answer carried no message id; the message may have been sent.",
			Rule:    "upstream_bad_answer"}
	}
	dst = append(dst, `{"messaging_product":"whatsapp","contacts":`...)
	if c := root.Get("contacts"); c.IsArray() && len(c.Array()) > 0 {
		dst = append(dst, c.Raw...)
	} else {
		dst = append(dst, `[{"input":`...)
		dst = AppendMetaString(dst, to)
		dst = append(dst, `,"wa_id":`...)
		dst = AppendMetaString(dst, digits(to))
		dst = append(dst, "}]"...)
	}
	dst = append(dst, `,"messages":`...)
	dst = append(dst, msgs.Raw...)
	return append(dst, '}'), nil
}

// Success is Meta's answer to status updates and other boolean operations.
const Success = `{"success":true}`

func digits(s string) string { return string(appendDigits(make([]byte, 0, len(s)), s)) }
