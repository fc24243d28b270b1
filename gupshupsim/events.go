package gupshupsim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// The failure reported for SuffixFailsLater (and for "failed" in a
// StatusSequence).
const (
	failedCode   = 131047
	failedTitle  = "Re-engagement message"
	failedHref   = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"
	failedReason = "Message failed to send because more than 24 hours have passed since the customer last replied to this number."
)

// sentMsg is what the simulator remembers of a message: one it accepted on
// a send, or one an inbound reply referred to.
type sentMsg struct {
	gsID   string
	wamid  string
	ctxRef string // the value of v3 context.id in replies to it
	convID string
	to     string
	typ    string
}

// WAMID returns the WhatsApp message id the simulator gave the message with
// Gupshup id gsID (the send answer's messages[0].id), or "" if unknown.
func (s *Sim) WAMID(gsID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.messages[gsID]; ok {
		return m.wamid
	}
	return ""
}

// newWAMID builds a wamid shaped like WhatsApp's: "wamid." + base64 of a
// small binary record holding the user's number and 10 random bytes (as 20
// hex digits).
func newWAMID(number string) string {
	digits := digitsOnly(number)
	if len(digits) > 127 {
		digits = digits[:127]
	}
	var rnd [10]byte
	rand.Read(rnd[:])
	var b bytes.Buffer
	b.Write([]byte{0x1c, 0x18, byte(len(digits))})
	b.WriteString(digits)
	b.Write([]byte{0x15, 0x02, 0x00, 0x12, 0x18, 0x14})
	b.WriteString(strings.ToUpper(hex.EncodeToString(rnd[:])))
	b.WriteByte(0x00)
	return "wamid." + base64.StdEncoding.EncodeToString(b.Bytes())
}

// newContextRef returns a 22-character token like the context.id values in
// Gupshup's v3 reply samples.
func newContextRef() string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	var b [22]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}

// MaxRememberedMessages bounds how many messages the simulator remembers
// (for WAMID and reply contexts); the oldest are forgotten first.
const MaxRememberedMessages = 100_000

// remember records a message. s.mu must be held.
func (s *Sim) remember(gsID, to, typ string) *sentMsg {
	m := &sentMsg{gsID: gsID, wamid: newWAMID(to), ctxRef: newContextRef(), convID: randomHex(16), to: to, typ: typ}
	if _, dup := s.messages[gsID]; !dup {
		if len(s.msgOrder) >= MaxRememberedMessages {
			delete(s.messages, s.msgOrder[0])
			s.msgOrder = s.msgOrder[1:]
		}
		s.msgOrder = append(s.msgOrder, gsID)
	}
	s.messages[gsID] = m
	return m
}

// wantsCallbacks reports whether the app has an active subscription and
// callbacks are on. s.mu must be held.
func (s *Sim) wantsCallbacks(appID string) bool {
	if s.cb.disabled || s.closed {
		return false
	}
	for _, sub := range s.subs {
		if sub.AppID == appID && sub.Active {
			return true
		}
	}
	return false
}

// statusEvent is one status of a message, rendered for both versions.
type statusEvent struct {
	mode   string // the subscription mode it needs, e.g. "SENT"
	v2, v3 []byte
}

// afterSend remembers an accepted message and schedules its statuses.
func (s *Sim) afterSend(appID, gsID, to, typ string, failsLater bool) {
	s.mu.Lock()
	m := s.remember(gsID, to, typ)
	app := s.apps[appID].App
	wanted := s.wantsCallbacks(appID)
	s.mu.Unlock()
	if !wanted {
		return
	}

	seq := s.cb.sequence
	if failsLater {
		seq = []string{"enqueued", "failed"}
	}
	sentAt := s.now()
	events := make([]statusEvent, len(seq))
	for i, st := range seq {
		at := sentAt.Add(time.Duration(i+1) * s.cb.interval)
		events[i] = statusEvent{
			mode: strings.ToUpper(st),
			v2:   v2StatusBody(app, m, st, at),
			v3:   v3StatusBody(app, m, st, at, sentAt),
		}
	}
	modes := make([]string, len(events))
	for i, e := range events {
		modes[i] = e.mode
	}
	s.spawn(appID,
		func(sub *Subscription) bool {
			for _, m := range modes {
				if sub.Has(m) {
					return true
				}
			}
			return false
		},
		func(ctx context.Context, subID string) {
			for _, e := range events {
				if !wait(ctx, s.cb.interval) {
					return
				}
				ok := s.deliver(ctx, subID, func(sub *Subscription) []byte {
					if !sub.Has(e.mode) {
						return nil
					}
					if sub.Version == 2 {
						return e.v2
					}
					return e.v3
				})
				if !ok {
					return
				}
			}
		})
}

// marshal encodes v without HTML escaping.
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("gupshupsim: encoding a callback: " + err.Error())
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// v3 (Meta-shaped) callback bodies.

type v3Envelope struct {
	Object  string    `json:"object"`
	GsAppID string    `json:"gs_app_id"`
	Entry   []v3Entry `json:"entry"`
}

type v3Entry struct {
	ID      string     `json:"id,omitempty"`
	Changes []v3Change `json:"changes"`
}

type v3Change struct {
	Field string  `json:"field"`
	Value v3Value `json:"value"`
}

type v3Value struct {
	MessagingProduct string      `json:"messaging_product"`
	Metadata         *v3Metadata `json:"metadata,omitempty"`
	Contacts         []v3Contact `json:"contacts,omitempty"`
	Messages         []v3Message `json:"messages,omitempty"`
	Statuses         []v3Status  `json:"statuses,omitempty"`
}

type v3Metadata struct {
	DisplayPhoneNumber string `json:"display_phone_number"`
	PhoneNumberID      string `json:"phone_number_id"`
}

type v3Status struct {
	GsID         string          `json:"gs_id"`
	ID           string          `json:"id"`
	RecipientID  string          `json:"recipient_id"`
	Status       string          `json:"status"`
	Timestamp    any             `json:"timestamp"` // "<unix s>", or ms as a number for enqueued
	Conversation *v3Conversation `json:"conversation,omitempty"`
	Pricing      *v3Pricing      `json:"pricing,omitempty"`
	Errors       []v3Error       `json:"errors,omitempty"`
}

type v3Conversation struct {
	ID                  string   `json:"id"`
	ExpirationTimestamp string   `json:"expiration_timestamp"`
	Origin              v3Origin `json:"origin"`
}

type v3Origin struct {
	Type string `json:"type"`
}

type v3Pricing struct {
	Billable     bool   `json:"billable"`
	Category     string `json:"category"`
	PricingModel string `json:"pricing_model"`
	Type         string `json:"type"`
}

type v3Error struct {
	Code  int    `json:"code"`
	Title string `json:"title"`
	Href  string `json:"href"`
}

func v3Body(app App, withEntryID bool, value v3Value) []byte {
	e := v3Entry{Changes: []v3Change{{Field: "messages", Value: value}}}
	if withEntryID {
		e.ID = app.WABAID
	}
	return marshal(v3Envelope{Object: "whatsapp_business_account", GsAppID: app.ID, Entry: []v3Entry{e}})
}

func v3Meta(app App) *v3Metadata {
	return &v3Metadata{DisplayPhoneNumber: app.DisplayPhoneNumber, PhoneNumberID: app.PhoneNumberID}
}

func unixString(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

func v3StatusBody(app App, m *sentMsg, status string, at, sentAt time.Time) []byte {
	st := v3Status{GsID: m.gsID, ID: m.wamid, RecipientID: digitsOrSelf(m.to), Status: status, Timestamp: unixString(at)}
	switch status {
	case "enqueued":
		// Like Gupshup's sample: ms number, no entry id, no metadata.
		st.Timestamp = at.UnixMilli()
		return v3Body(app, false, v3Value{MessagingProduct: "whatsapp", Statuses: []v3Status{st}})
	case "sent", "delivered":
		origin, pricing := "service", v3Pricing{Billable: false, Category: "service", PricingModel: "PMP", Type: "free_customer_service"}
		if m.typ == "template" {
			origin, pricing = "marketing", v3Pricing{Billable: true, Category: "marketing", PricingModel: "PMP", Type: "regular"}
		}
		st.Conversation = &v3Conversation{
			ID:                  m.convID,
			ExpirationTimestamp: unixString(sentAt.Add(24 * time.Hour)),
			Origin:              v3Origin{Type: origin},
		}
		st.Pricing = &pricing
	case "failed":
		st.Errors = []v3Error{{Code: failedCode, Title: failedTitle, Href: failedHref}}
	}
	return v3Body(app, true, v3Value{MessagingProduct: "whatsapp", Metadata: v3Meta(app), Statuses: []v3Status{st}})
}

// digitsOrSelf is the number's digits, or the value itself when it has none
// (a BSUID recipient).
func digitsOrSelf(s string) string {
	if d := digitsOnly(s); d != "" {
		return d
	}
	return s
}

// v2 (Gupshup format) callback bodies.

type v2Callback struct {
	App       string `json:"app"`
	Timestamp int64  `json:"timestamp"`
	Version   int    `json:"version"`
	Type      string `json:"type"`
	Payload   any    `json:"payload"`
}

type v2Event struct {
	ID          string `json:"id"`
	GsID        string `json:"gsId"`
	Type        string `json:"type"`
	Destination string `json:"destination"`
	Payload     any    `json:"payload"`
}

func v2StatusBody(app App, m *sentMsg, status string, at time.Time) []byte {
	ev := v2Event{ID: m.wamid, GsID: m.gsID, Type: status, Destination: digitsOrSelf(m.to)}
	switch status {
	case "enqueued":
		ev.ID = m.gsID
		ev.Payload = map[string]string{"whatsappMessageId": m.wamid, "type": "session"}
		if m.typ == "template" {
			ev.Payload = map[string]string{"whatsappMessageId": m.wamid, "type": "template"}
		}
	case "failed":
		ev.Payload = struct {
			Code   int    `json:"code"`
			Reason string `json:"reason"`
		}{failedCode, failedReason}
	default:
		ev.Payload = map[string]int64{"ts": at.Unix()}
	}
	return marshal(v2Callback{App: app.Name, Timestamp: at.UnixMilli(), Version: 2, Type: "message-event", Payload: ev})
}
