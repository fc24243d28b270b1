package gupshupsim

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// v1/event error messages (Gupshup's documented wordings).
const (
	msgEventNotSupported = "Outbound event not supported"
	msgInvalidJSON       = "Invalid JSON payload"
	msgReviewParameters  = "Please review the request parameters and retry"
)

// Events returns the message JSON (the "message" member, as sent) of every
// event accepted by POST /partner/app/{appId}/v1/event since the last
// Reset, in arrival order.
func (s *Sim) Events() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([][]byte, len(s.events))
	for i, e := range s.events {
		out[i] = bytes.Clone(e)
	}
	return out
}

// sendEvent handles POST /partner/app/{appId}/v1/event: a read receipt,
// optionally with a typing indicator. The body is read as JSON whatever its
// Content-Type (Gupshup's sample declares a form over a JSON body).
func (s *Sim) sendEvent(w http.ResponseWriter, r *http.Request, appID string, rec Request) {
	if !s.appAuth(w, r, appID) {
		return
	}
	var ev map[string]json.RawMessage
	if err := json.Unmarshal(rec.Body, &ev); err != nil || ev == nil {
		writeError(w, http.StatusBadRequest, msgInvalidJSON)
		return
	}
	if typ, ok := message(ev).str("type"); !ok || typ != "message-event" {
		writeError(w, http.StatusBadRequest, msgEventNotSupported)
		return
	}
	var msg message
	if err := json.Unmarshal(ev["message"], &msg); err != nil || msg == nil {
		writeError(w, http.StatusBadRequest, msgReviewParameters)
		return
	}
	if status, ok := msg.str("status"); !ok || status != "read" {
		writeError(w, http.StatusBadRequest, msgEventNotSupported)
		return
	}
	if id, ok := msg.str("message_id"); !ok || id == "" {
		writeError(w, http.StatusBadRequest, msgReviewParameters)
		return
	}
	if _, present := msg["messaging_product"]; present {
		if v, ok := msg.str("messaging_product"); !ok || v != "whatsapp" {
			writeError(w, http.StatusBadRequest, msgReviewParameters)
			return
		}
	}
	if _, present := msg["typing_indicator"]; present {
		var ti message
		if err := json.Unmarshal(msg["typing_indicator"], &ti); err != nil || ti == nil {
			writeError(w, http.StatusBadRequest, msgReviewParameters)
			return
		}
		if t, ok := ti.str("type"); !ok || t != "text" {
			writeError(w, http.StatusBadRequest, msgReviewParameters)
			return
		}
	}
	s.mu.Lock()
	s.events = append(s.events, bytes.Clone(ev["message"]))
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"status": "success"})
}
