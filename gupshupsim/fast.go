package gupshupsim

import (
	"io"
	"net/http"
	"strconv"
	"strings"
)

// FastMessageID is the message id of every answer in fast mode (see
// Options.Fast).
const FastMessageID = "5f3d6c1e-8a2b-4c7d-9e0f-1a2b3c4d5e6f"

// FastRecipient is the contacts input and wa_id of every answer in fast
// mode.
const FastRecipient = "15551234567"

// fastBody is the canned answer of fast mode: Meta's (and Gupshup v3's)
// success shape.
var fastBody = []byte(`{"messaging_product":"whatsapp","contacts":[{"input":"` + FastRecipient +
	`","wa_id":"` + FastRecipient + `"}],"messages":[{"id":"` + FastMessageID + `"}]}`)

// Header values shared by every fast answer; net/http only reads them.
var (
	fastContentType   = []string{"application/json"}
	fastContentLength = []string{strconv.Itoa(len(fastBody))}
)

// isFastPath reports whether a POST to path is answered by fast mode:
// /partner/app/{appId}/v3/message or /{version}/{phone}/messages.
func isFastPath(path string) bool {
	if rest, ok := strings.CutPrefix(path, "/partner/app/"); ok {
		appID, ok := strings.CutSuffix(rest, "/v3/message")
		return ok && appID != "" && strings.IndexByte(appID, '/') < 0
	}
	rest, ok := strings.CutSuffix(path, "/messages")
	if !ok || len(rest) < 2 || rest[0] != '/' {
		return false
	}
	version, phone, ok := strings.Cut(rest[1:], "/")
	return ok && version != "" && phone != "" && strings.IndexByte(phone, '/') < 0
}

// serveFast answers a fast-mode send: the body is read and discarded, and
// the canned answer written. Nothing is checked, recorded or emitted.
func serveFast(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	h := w.Header()
	h["Content-Type"] = fastContentType
	h["Content-Length"] = fastContentLength
	w.WriteHeader(http.StatusOK)
	w.Write(fastBody)
}
