package translate

import (
	"github.com/tidwall/gjson"
)

// RewriteMessageIDs replaces the message ids a Meta /messages body refers
// to — context.message_id (replies), reaction.message_id (reactions) and the
// top-level message_id (mark-as-read / typing indicator) — by lookup's
// answer for each id it knows (ok true). Only those string members change;
// every other byte of body is kept. The new id is written with Meta's
// escaping.
//
// It returns the rewritten body and the number of ids replaced; when none is
// replaced (no such member, lookup knows none, body not JSON) it returns
// body itself and 0.
func RewriteMessageIDs(body []byte, lookup func(gsID string) (wamid string, ok bool)) ([]byte, int) {
	if lookup == nil || !gjson.ValidBytes(body) {
		return body, 0
	}
	// Of a repeated member the last counts (as on Graph, and as SendToForm
	// forwards it): rewrite in the body without the earlier ones.
	orig := body
	body = lastMembersValid(body)
	// The members naming an earlier message: the message marked as read,
	// the replied-to message, the reacted-to message.
	paths := [...]string{"message_id", "context.message_id", "reaction.message_id"}
	type hit struct {
		start, end int
		id         string
	}
	var hits [len(paths)]hit
	n := 0
	for _, path := range paths {
		r := gjson.GetBytes(body, path)
		if r.Type != gjson.String || r.Index <= 0 || r.Index+len(r.Raw) > len(body) ||
			string(body[r.Index:r.Index+len(r.Raw)]) != r.Raw {
			continue
		}
		id, ok := lookup(r.Str)
		if !ok {
			continue
		}
		h := hit{r.Index, r.Index + len(r.Raw), id}
		i := n
		for ; i > 0 && hits[i-1].start > h.start; i-- {
			hits[i] = hits[i-1]
		}
		hits[i] = h
		n++
	}
	if n == 0 {
		return orig, 0
	}
	out := make([]byte, 0, len(body)+64)
	prev := 0
	for _, h := range hits[:n] {
		out = append(out, body[prev:h.start]...)
		out = AppendMetaString(out, h.id)
		prev = h.end
	}
	return append(out, body[prev:]...), n
}
