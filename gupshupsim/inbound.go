package gupshupsim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Errors returned by Inbound.
var (
	ErrUnknownApp     = errors.New("gupshupsim: unknown app")
	ErrInvalidInbound = errors.New("gupshupsim: invalid inbound message")
)

// Inbound is a message from a WhatsApp user to the app, for Sim.Inbound.
type Inbound struct {
	// From is the user's number (digits; a leading "+" is dropped). Required.
	From string `json:"from"`
	// Name is the user's profile name. Default "Sim User".
	Name string `json:"name"`
	// Type is "text" (default), "image", "button" (a template quick reply),
	// "button_reply" (an interactive reply button) or "nfm_reply" (a
	// completed WhatsApp Flow; v3 subscriptions with FLOWS_MESSAGE only).
	Type string `json:"type"`
	// Text is the text body, the image caption, the button's text/title, or
	// the flow's response_json. Required for text, button, button_reply and
	// nfm_reply.
	Text string `json:"text"`
	// Postback is the button's payload (button) or id (button_reply).
	// Default for a button reply to a template/msg send (ContextGsID): the
	// postbackText that send registered for the template's button with
	// this Text; otherwise, and when it registered none, Text.
	Postback string `json:"postback"`
	// ContextGsID, when set, makes the message a reply to the business
	// message with that Gupshup id.
	ContextGsID string `json:"contextGsId"`
}

// Inbound simulates a user message to the app: it returns the message's
// wamid and delivers it to the app's active subscriptions with mode MESSAGE
// or ALL (v3 or v2 body by subscription version); a flow reply
// (nfm_reply) goes only to v3 subscriptions with FLOWS_MESSAGE. The error wraps
// ErrUnknownApp or ErrInvalidInbound.
func (s *Sim) Inbound(appID string, in Inbound) (string, error) {
	in.From = digitsOnly(in.From)
	if in.From == "" {
		return "", fmt.Errorf("%w: from has no digits", ErrInvalidInbound)
	}
	if in.Type == "" {
		in.Type = "text"
	}
	if in.Name == "" {
		in.Name = "Sim User"
	}
	switch in.Type {
	case "text", "button", "button_reply", "nfm_reply":
		if in.Text == "" {
			return "", fmt.Errorf("%w: %s needs text", ErrInvalidInbound, in.Type)
		}
	case "image":
	default:
		return "", fmt.Errorf("%w: unknown type %q (want text, image, button, button_reply or nfm_reply)", ErrInvalidInbound, in.Type)
	}

	s.mu.Lock()
	a, ok := s.apps[appID]
	if !ok {
		s.mu.Unlock()
		return "", fmt.Errorf("%w: %q", ErrUnknownApp, appID)
	}
	app := a.App
	if in.Type == "button" && in.Postback == "" && in.ContextGsID != "" {
		in.Postback = s.templatePostback(in.ContextGsID, in.Text)
	}
	if in.Postback == "" {
		in.Postback = in.Text
	}
	wamid := newWAMID(in.From)
	var replied *sentMsg
	if in.ContextGsID != "" {
		if replied = s.messages[in.ContextGsID]; replied == nil {
			replied = s.remember(in.ContextGsID, in.From, "")
		}
	}
	var media *inboundMedia
	if in.Type == "image" {
		media = &inboundMedia{id: derivedDigits(wamid, "media-id", "1", 16), mime: "image/jpeg"}
		media.url = s.cb.mediaBase + "/wa/" + app.ID + "/wa/media/" + media.id + "?download=false"
		s.media[media.id] = true
	}
	s.mu.Unlock()

	at := s.now()
	v3 := v3InboundBody(app, in, wamid, replied, media, at)
	v2 := v2InboundBody(app, in, wamid, replied, media, at)
	wanted := inboundWanted
	if in.Type == "nfm_reply" {
		wanted = flowReplyWanted
	}
	s.spawn(appID,
		func(sub *Subscription) bool { return wanted(sub) },
		func(ctx context.Context, subID string) {
			s.deliver(ctx, subID, func(sub *Subscription) []byte {
				switch {
				case !wanted(sub):
					return nil
				case sub.Version == 2:
					return v2
				default:
					return v3
				}
			})
		})
	return wamid, nil
}

// inboundWanted reports whether a subscription receives user messages.
func inboundWanted(sub *Subscription) bool { return sub.Has("MESSAGE") || sub.Has("ALL") }

// flowReplyWanted reports whether a subscription receives flow replies:
// Gupshup sends them only to v3 subscriptions with FLOWS_MESSAGE.
func flowReplyWanted(sub *Subscription) bool { return sub.Version != 2 && sub.Has("FLOWS_MESSAGE") }

type inboundMedia struct {
	id, mime, url string
}

// simJPEG is the image served for every simulated inbound image.
var simJPEG = sync.OnceValue(func() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 1, 1))
	img.Set(0, 0, color.RGBA{R: 37, G: 211, B: 102, A: 255})
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		panic("gupshupsim: encoding the sim image: " + err.Error())
	}
	return b.Bytes()
})

func simJPEGSHA256() string {
	h := sha256.Sum256(simJPEG())
	return base64.StdEncoding.EncodeToString(h[:])
}

// serveMedia serves GET /wa/{appId}/wa/media/{id} for media ids handed out
// by Inbound.
func (s *Sim) serveMedia(w http.ResponseWriter, r *http.Request, id string) {
	if r.Method != http.MethodGet {
		writeMethodNotAllowed(w, http.MethodGet)
		return
	}
	s.mu.Lock()
	known := s.media[id]
	s.mu.Unlock()
	if !known {
		writeError(w, http.StatusNotFound, msgNotFound)
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Write(simJPEG())
}

// serveInbound serves POST /sim/apps/{appId}/inbound.
func (s *Sim) serveInbound(w http.ResponseWriter, r *http.Request, appID string, rec Request) {
	if r.Method != http.MethodPost {
		writeMethodNotAllowed(w, http.MethodPost)
		return
	}
	var in Inbound
	if err := json.Unmarshal(rec.Body, &in); err != nil {
		writeError(w, http.StatusBadRequest, "body is missing/invalid")
		return
	}
	wamid, err := s.Inbound(appID, in)
	switch {
	case errors.Is(err, ErrUnknownApp):
		writeError(w, http.StatusBadRequest, msgInvalidApp)
	case err != nil:
		writeError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), "gupshupsim: "))
	default:
		writeJSON(w, http.StatusOK, map[string]string{"id": wamid})
	}
}

type v3Contact struct {
	Profile v3Profile `json:"profile"`
	WaID    string    `json:"wa_id"`
}

type v3Profile struct {
	Name string `json:"name"`
}

type v3Message struct {
	Context     *v3Context     `json:"context,omitempty"`
	From        string         `json:"from"`
	ID          string         `json:"id"`
	Timestamp   string         `json:"timestamp"`
	Type        string         `json:"type"`
	Text        *v3Text        `json:"text,omitempty"`
	Image       *v3Image       `json:"image,omitempty"`
	Button      *v3Button      `json:"button,omitempty"`
	Interactive *v3Interactive `json:"interactive,omitempty"`
}

type v3Context struct {
	From      string `json:"from"`
	GsID      string `json:"gs_id"`
	ID        string `json:"id"`
	MetaMsgID string `json:"meta_msg_id"`
}

type v3Text struct {
	Body string `json:"body"`
}

type v3Image struct {
	Caption  string `json:"caption,omitempty"`
	ID       string `json:"id"`
	MimeType string `json:"mime_type"`
	SHA256   string `json:"sha256"`
	URL      string `json:"url"`
}

type v3Button struct {
	Payload string `json:"payload"`
	Text    string `json:"text"`
}

type v3Interactive struct {
	Type        string         `json:"type"`
	ButtonReply *v3ButtonReply `json:"button_reply,omitempty"`
	NFMReply    *v3NFMReply    `json:"nfm_reply,omitempty"`
}

type v3NFMReply struct {
	Body         string `json:"body"`
	Name         string `json:"name"`
	ResponseJSON string `json:"response_json"`
}

type v3ButtonReply struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

func v3InboundBody(app App, in Inbound, wamid string, replied *sentMsg, media *inboundMedia, at time.Time) []byte {
	msg := v3Message{From: in.From, ID: wamid, Timestamp: unixString(at), Type: in.Type}
	if replied != nil {
		msg.Context = &v3Context{From: app.DisplayPhoneNumber, GsID: replied.gsID, ID: replied.ctxRef, MetaMsgID: replied.wamid}
	}
	switch in.Type {
	case "text":
		msg.Text = &v3Text{Body: in.Text}
	case "image":
		msg.Image = &v3Image{Caption: in.Text, ID: media.id, MimeType: media.mime, SHA256: simJPEGSHA256(), URL: media.url}
	case "button":
		msg.Button = &v3Button{Payload: in.Postback, Text: in.Text}
	case "button_reply":
		msg.Type = "interactive"
		msg.Interactive = &v3Interactive{Type: "button_reply", ButtonReply: &v3ButtonReply{ID: in.Postback, Title: in.Text}}
	case "nfm_reply":
		msg.Type = "interactive"
		msg.Interactive = &v3Interactive{Type: "nfm_reply", NFMReply: &v3NFMReply{Body: "Sent", Name: "flow", ResponseJSON: in.Text}}
	}
	return v3Body(app, true, v3Value{
		MessagingProduct: "whatsapp",
		Metadata:         v3Meta(app),
		Contacts:         []v3Contact{{Profile: v3Profile{Name: in.Name}, WaID: in.From}},
		Messages:         []v3Message{msg},
	})
}

type v2Message struct {
	ID      string     `json:"id"`
	Source  string     `json:"source"`
	Type    string     `json:"type"`
	Payload any        `json:"payload"`
	Sender  v2Sender   `json:"sender"`
	Context *v2Context `json:"context,omitempty"`
}

type v2Sender struct {
	Phone       string `json:"phone"`
	Name        string `json:"name"`
	CountryCode string `json:"country_code"`
	DialCode    string `json:"dial_code"`
}

type v2Context struct {
	ID                  string `json:"id"`
	GsID                string `json:"gsId"`
	Forwarded           bool   `json:"forwarded"`
	FrequentlyForwarded bool   `json:"frequently_forwarded"`
}

func v2InboundBody(app App, in Inbound, wamid string, replied *sentMsg, media *inboundMedia, at time.Time) []byte {
	cc := countryCode(in.From)
	msg := v2Message{
		ID:     wamid,
		Source: in.From,
		Type:   in.Type,
		Sender: v2Sender{Phone: in.From, Name: in.Name, CountryCode: cc, DialCode: strings.TrimPrefix(in.From, cc)},
	}
	if replied != nil {
		msg.Context = &v2Context{ID: replied.wamid, GsID: replied.gsID}
	}
	switch in.Type {
	case "text":
		msg.Payload = map[string]string{"text": in.Text}
	case "image":
		msg.Payload = struct {
			Caption     string `json:"caption"`
			URL         string `json:"url"`
			ContentType string `json:"contentType"`
			URLExpiry   int64  `json:"urlExpiry"`
		}{in.Text, media.url, media.mime, at.Add(7 * 24 * time.Hour).UnixMilli()}
	case "button":
		msg.Type = "quick_reply"
		msg.Payload = struct {
			Text         string `json:"text"`
			Type         string `json:"type"`
			PostbackText string `json:"postbackText"`
		}{in.Text, "button", in.Postback}
	case "button_reply":
		msg.Payload = struct {
			Title        string `json:"title"`
			ID           string `json:"id"`
			PostbackText string `json:"postbackText"`
		}{in.Text, in.Postback, in.Postback}
	}
	return marshal(v2Callback{App: app.Name, Timestamp: at.UnixMilli(), Version: 2, Type: "message", Payload: msg})
}

// countryCodes are the calling codes countryCode recognises (longest match
// wins); others fall back to the first two digits.
var countryCodes = map[string]bool{
	"1": true, "7": true, "20": true, "27": true, "30": true, "31": true, "32": true, "33": true, "34": true,
	"36": true, "39": true, "40": true, "41": true, "43": true, "44": true, "45": true, "46": true, "47": true,
	"48": true, "49": true, "51": true, "52": true, "53": true, "54": true, "55": true, "56": true, "57": true,
	"58": true, "60": true, "61": true, "62": true, "63": true, "64": true, "65": true, "66": true, "81": true,
	"82": true, "84": true, "86": true, "90": true, "91": true, "92": true, "93": true, "94": true, "95": true,
	"98": true, "212": true, "213": true, "216": true, "234": true, "254": true, "255": true, "256": true,
	"351": true, "353": true, "880": true, "966": true, "971": true, "972": true, "974": true, "977": true,
}

func countryCode(digits string) string {
	for n := 3; n >= 1; n-- {
		if len(digits) > n && countryCodes[digits[:n]] {
			return digits[:n]
		}
	}
	if len(digits) > 2 {
		return digits[:2]
	}
	return digits
}
