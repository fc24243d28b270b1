package server

import (
	"errors"
	"strings"

	"github.com/gin-gonic/gin"

	"waproxy/auth"
	"waproxy/translate"
	"waproxy/upstream"
)

// errNoToken is withToken's error when no app token can be had.
var errNoToken = errors.New("no Gupshup app token")

// tokenError is the client's error when no app token can be had: Graph's
// transient "Service temporarily unavailable" when Gupshup's token service
// failed in a way that may pass (auth.ErrTransient), else the operator's
// configuration problem.
func tokenError(c *gin.Context, err error) *translate.Error {
	if errors.Is(err, auth.ErrTransient) {
		logOf(c).err = "app token temporarily unavailable"
		return translate.TokenUnavailable()
	}
	logOf(c).err = "app token unavailable"
	return noTokenError()
}

// noTokenError is the client's error when Gupshup refused the gateway's
// credentials (or there are none).
func noTokenError() *translate.Error {
	e := translate.Internal("Gateway configuration problem: no Gupshup app token could be obtained for this phone number.")
	e.Operator = true
	e.Rule = "app_token_unavailable"
	return e
}

// Calls whose lack of an answer does not mean a message may have gone out,
// by metrics endpoint label.
var (
	// readCalls change nothing at Gupshup: repeating them is safe.
	readCalls = map[string]bool{"flow_list": true, "flow_get": true, "flow_preview": true, "flow_assets": true}
	// sendCalls send something to a WhatsApp user.
	sendCalls = map[string]bool{"v3_message": true, "v1_event": true, "template_msg": true}
)

// noAnswerError is the client's error when Gupshup did not answer the
// call labelled endpoint after it was sent (upstream.ErrNoAnswer): what
// the call may have done decides the wording.
func noAnswerError(endpoint string) *translate.Error {
	switch {
	case sendCalls[endpoint]:
		return translate.MaybeSent("no answer")
	case readCalls[endpoint]:
		return translate.UpstreamTimeout("This call changes nothing; retry later.")
	case endpoint == "media_upload":
		return translate.UpstreamTimeout("No media id came back; upload the file again.")
	case endpoint == "media_delete":
		return translate.MaybeChanged("the media may have been deleted. Look it up before deleting it again.")
	case endpoint == "flow_create":
		return translate.MaybeChanged("the flow may have been created. List the WhatsApp Business Account's flows before creating it again.")
	case strings.HasPrefix(endpoint, "flow_"):
		return translate.MaybeChanged("the change to the flow may have been made. Get the flow to check before repeating it.")
	default:
		return translate.MaybeChanged("the call may have taken effect. Check before repeating it.")
	}
}

// downloadError maps a failed download that has no answer to map (the
// transport failed, or the URL was refused); what names the object for
// the details ("media", "flow JSON"). ok is false for other errors.
func downloadError(c *gin.Context, err error, what string) (e *translate.Error, ok bool) {
	switch {
	case errors.Is(err, upstream.ErrNotSent):
		logOf(c).err = "upstream unreachable"
		return translate.Unreachable("connection failed"), true
	case errors.Is(err, upstream.ErrNoAnswer):
		logOf(c).err = "upstream gave no answer"
		return translate.UpstreamTimeout("The " + what + " was not fetched; retry later."), true
	case errors.Is(err, upstream.ErrBadURL):
		logOf(c).err = what + " url refused"
		e := translate.Internal("The " + what + "'s address at the upstream is plain http on a host other than the gateway's Gupshup base URL; it was not fetched.")
		e.Rule = "download_url_refused"
		return e, true
	}
	return nil, false
}
