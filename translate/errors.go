package translate

import (
	"fmt"
	"strconv"

	"github.com/tidwall/gjson"
)

// Meta error codes the proxy answers with. The titles are Meta's.
const (
	CodeUnknown            = 1
	CodeService            = 2
	CodePermission         = 10
	CodeInvalidParam       = 100
	CodeAccessToken        = 190
	CodeUnknownPath        = 2500
	CodeRateLimit          = 130429
	CodeGeneric            = 131000
	CodeUndeliverable      = 131026
	CodePaymentIssue       = 131042
	CodeOptedOut           = 131050
	CodeUnsupportedType    = 131051
	CodeMediaUpload        = 131053
	CodeTemplateParamCount = 132000
	CodeTemplateMissing    = 132001
	CodeTemplatePaused     = 132015
)

// Error is one Graph API error answer:
//
//	{"error":{"message":"(#code) title","type":…,"code":…,"error_data":{…},
//	 "error_subcode":…,"fbtrace_id":…}}
//
// It is also a Go error so it can travel through handlers and be found with
// errors.As.
type Error struct {
	HTTPStatus int    // status line of the answer
	Code       int    // Meta error code
	Subcode    int    // error_subcode; 0 leaves it out
	Type       string // "" means OAuthException
	Title      string // message is "(#Code) Title" unless Message is set
	Message    string // full message, used verbatim when set (Graph's own wordings)
	Details    string // error_data.details; "" leaves error_data out
	RetryAfter string // Retry-After header value, "" for none
	// Transient writes Graph's "is_transient":true: the failure is
	// temporary and the same call may succeed later.
	Transient bool

	// Operator marks errors only the proxy's operator can fix (Gupshup
	// credentials, app configuration); the log line says so.
	Operator bool
	// Rule names the mapping rule that produced the error, for logs and
	// metrics ("" for errors the proxy raised itself).
	Rule string

	// raw holds the members of a Meta-style {"error":{…}} received from
	// upstream that passes through (see metaPassthrough), fbtrace_id left
	// out: AppendBody adds ours.
	raw []byte
}

func (e *Error) Error() string {
	return fmt.Sprintf("meta error %d (http %d): %s", e.Code, e.HTTPStatus, e.message())
}

func (e *Error) message() string {
	if e.Message != "" {
		return e.Message
	}
	return "(#" + strconv.Itoa(e.Code) + ") " + e.Title
}

// AppendBody appends the Graph error envelope with the given fbtrace_id.
func (e *Error) AppendBody(dst []byte, fbtraceID string) []byte {
	if e.raw != nil {
		dst = append(dst, `{"error":{`...)
		dst = append(dst, e.raw...)
		if len(e.raw) > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `"fbtrace_id":`...)
		dst = AppendMetaString(dst, fbtraceID)
		return append(dst, "}}"...)
	}
	typ := e.Type
	if typ == "" {
		typ = "OAuthException"
	}
	dst = append(dst, `{"error":{"message":`...)
	dst = AppendMetaString(dst, e.message())
	dst = append(dst, `,"type":`...)
	dst = AppendMetaString(dst, typ)
	if e.Transient {
		dst = append(dst, `,"is_transient":true`...)
	}
	dst = append(dst, `,"code":`...)
	dst = strconv.AppendInt(dst, int64(e.Code), 10)
	if e.Details != "" {
		dst = append(dst, `,"error_data":{"messaging_product":"whatsapp","details":`...)
		dst = AppendMetaString(dst, e.Details)
		dst = append(dst, '}')
	}
	if e.Subcode != 0 {
		dst = append(dst, `,"error_subcode":`...)
		dst = strconv.AppendInt(dst, int64(e.Subcode), 10)
	}
	dst = append(dst, `,"fbtrace_id":`...)
	dst = AppendMetaString(dst, fbtraceID)
	return append(dst, "}}"...)
}

// Body returns the Graph error envelope with the given fbtrace_id.
func (e *Error) Body(fbtraceID string) []byte { return e.AppendBody(nil, fbtraceID) }

// InvalidToken is the answer to a missing or unknown access token.
func InvalidToken() *Error {
	return &Error{HTTPStatus: 401, Code: CodeAccessToken, Title: "Invalid OAuth access token - Cannot parse access token"}
}

// UnknownObject is Graph's answer for an object id the caller may not see.
// method is the HTTP method in lower case ("post", "get", "delete").
func UnknownObject(method, id string) *Error {
	return &Error{
		HTTPStatus: 400, Code: CodeInvalidParam, Subcode: 33, Type: "GraphMethodException",
		Message: "Unsupported " + method + " request. Object with ID '" + id +
			"' does not exist, cannot be loaded due to missing permissions, or does not support this operation. " +
			"Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
	}
}

// InvalidParameter is code 100 with details saying what is wrong.
func InvalidParameter(details string) *Error {
	return &Error{HTTPStatus: 400, Code: CodeInvalidParam, Title: "Invalid parameter", Details: details}
}

// MissingParameter is code 100 naming a required parameter.
func MissingParameter(name string) *Error {
	return &Error{HTTPStatus: 400, Code: CodeInvalidParam, Title: "The parameter " + name + " is required.",
		Details: "The parameter " + name + " is required."}
}

// BodyTooLarge answers a request body over the configured cap.
func BodyTooLarge(limit int64) *Error {
	return &Error{HTTPStatus: 413, Code: CodeInvalidParam, Title: "Request body too large",
		Details: "The request body exceeds the limit of " + strconv.FormatInt(limit, 10) + " bytes."}
}

// UnknownPath answers a path the proxy does not serve.
func UnknownPath(method, path string) *Error {
	return &Error{HTTPStatus: 400, Code: CodeUnknownPath, Message: "Unknown path components: " + path,
		Details: method + " " + path + " is not served by this endpoint."}
}

// Unreachable is the answer when Gupshup could not be reached before any
// byte of the request was written: nothing was sent, the client may retry.
func Unreachable(details string) *Error {
	return &Error{HTTPStatus: 503, Code: CodeService, Title: "Service temporarily unavailable", Transient: true,
		Details: "The messaging gateway could not reach its upstream; nothing was sent. Retry later. (" + details + ")",
		Rule:    "upstream_unreachable"}
}

// TokenUnavailable is the answer when the Gupshup app token could not be
// fetched for a reason that may pass (Gupshup's token service did not
// answer in time, answered 5xx or 429, or could not be reached): nothing
// was sent, the client may retry. A rejection of the gateway's credentials
// is a configuration problem instead.
func TokenUnavailable() *Error {
	return &Error{HTTPStatus: 503, Code: CodeService, Title: "Service temporarily unavailable", Transient: true,
		Details: "The messaging gateway could not obtain its Gupshup app token: Gupshup's token service failed, " +
			"did not answer in time or could not be reached. Nothing was sent. Retry later.",
		Rule: "app_token_transient"}
}

// UpstreamTimeout is the answer when Gupshup did not answer in time a call
// that may simply be repeated (a lookup, a media download, an upload whose
// id never came back). details says what the client should know.
func UpstreamTimeout(details string) *Error {
	return &Error{HTTPStatus: 503, Code: CodeService, Title: "Service temporarily unavailable", Transient: true,
		Details: "The upstream did not answer in time. " + details, Rule: "upstream_timeout"}
}

// MaybeChanged is the answer when Gupshup did not answer in time a call
// that changes something other than sending a message (creating, changing
// or deleting a flow or media): it may have been done. details says what
// and how to check.
func MaybeChanged(details string) *Error {
	return &Error{HTTPStatus: 503, Code: CodeGeneric, Title: "Something went wrong",
		Details: "The upstream did not answer in time; " + details, Rule: "upstream_no_answer"}
}

// MaybeSent is the answer when the request was written to Gupshup but no
// answer came back (timeout, connection reset). The message may have been
// sent, so the proxy does not retry and says so.
func MaybeSent(details string) *Error {
	return &Error{HTTPStatus: 503, Code: CodeGeneric, Title: "Something went wrong",
		Details: "The upstream did not answer in time (" + details + "); the message may have been sent. " +
			"Check status webhooks before resending.",
		Rule: "upstream_no_answer"}
}

// Internal is an unexpected failure inside the proxy.
func Internal(details string) *Error {
	return &Error{HTTPStatus: 500, Code: CodeUnknown, Title: "An unknown error occurred", Details: details, Rule: "internal"}
}

// upstreamRule is one row of the Gupshup → Meta error table. A row matches
// when every non-zero condition holds; the first matching row wins.
type upstreamRule struct {
	name     string
	status   int    // HTTP status from Gupshup; 0 any
	minCode  int    // Gupshup numeric code range [minCode,maxCode]; 0 any
	maxCode  int    //
	message  string // case-insensitive substring of Gupshup's message; "" any
	server   bool   // matches any 5xx
	httpOut  int
	code     int
	title    string
	details  string // "" → Gupshup's own message
	operator bool
}

// upstreamRules is the one table that maps Gupshup outcomes to Meta errors.
// See docs in README ("How errors are mapped"); each row has a golden test.
var upstreamRules = []upstreamRule{
	{name: "invalid_destination", message: "invalid destination", httpOut: 400, code: CodeInvalidParam,
		title: "Invalid parameter", details: "The 'to' value is not a valid WhatsApp phone number."},
	{name: "not_on_whatsapp", minCode: 1002, maxCode: 1002, httpOut: 400, code: CodeUndeliverable,
		title: "Message Undeliverable", details: "The recipient number does not exist on WhatsApp."},
	{name: "wallet_low", minCode: 1003, maxCode: 1003, httpOut: 400, code: CodePaymentIssue,
		title: "Business eligibility payment issue", details: "The Gupshup wallet balance is too low to send this message."},
	{name: "wallet_low_text", message: "wallet balance low", httpOut: 400, code: CodePaymentIssue,
		title: "Business eligibility payment issue", details: "The Gupshup wallet balance is too low to send this message."},
	{name: "template_mismatch", minCode: 1005, maxCode: 1008, httpOut: 404, code: CodeTemplateMissing,
		title: "Template name does not exist in the translation", details: ""},
	{name: "template_no_match", minCode: 4003, maxCode: 4003, httpOut: 404, code: CodeTemplateMissing,
		title: "Template name does not exist in the translation", details: ""},
	{name: "template_paused", minCode: 4005, maxCode: 4005, httpOut: 400, code: CodeTemplatePaused,
		title: "Template is paused", details: ""},
	// template/msg (v2) answers 400 "Invalid template id" for an id that is
	// not an approved template of the app (the simulator's wording), and
	// "Template params count mismatch" for a wrong number of params.
	{name: "template_invalid_id", message: "invalid template id", httpOut: 404, code: CodeTemplateMissing,
		title: "Template name does not exist in the translation", details: ""},
	{name: "template_params_mismatch", message: "template params count mismatch", httpOut: 400, code: CodeTemplateParamCount,
		title: "Number of parameters does not match the expected number of params", details: ""},
	{name: "invalid_media", minCode: 1010, maxCode: 1011, httpOut: 400, code: CodeMediaUpload,
		title: "Media upload error", details: ""},
	{name: "opted_out", minCode: 1012, maxCode: 1012, httpOut: 400, code: CodeOptedOut,
		title: "Unable to deliver the message", details: "The user stopped marketing messages (opted out)."},
	{name: "rate_limited", status: 429, httpOut: 400, code: CodeRateLimit, title: "Rate limit hit",
		details: "Gupshup rate limit reached; retry after the Retry-After interval."},
	{name: "rate_limited_code", minCode: 4001, maxCode: 4001, httpOut: 400, code: CodeRateLimit, title: "Rate limit hit",
		details: "Gupshup rate limit reached; retry after the Retry-After interval."},
	{name: "app_token_rejected", status: 401, httpOut: 500, code: CodeUnknown, title: "An unknown error occurred",
		details: "Gateway configuration problem: Gupshup rejected the gateway's app token.", operator: true},
	{name: "invalid_app", message: "invalid app details", httpOut: 500, code: CodeUnknown, title: "An unknown error occurred",
		details: "Gateway configuration problem: Gupshup does not accept the gateway's app id or app configuration.", operator: true},
	{name: "callback_billing", message: "callback billing must be enabled", httpOut: 403, code: CodePermission,
		title: "Permission denied", details: "Gateway configuration problem: enable callback billing for the app on Gupshup.", operator: true},
	{name: "capi_only", message: "only capi apps", httpOut: 403, code: CodePermission, title: "Permission denied", details: ""},
	{name: "capi_only_code", minCode: 4004, maxCode: 4004, httpOut: 403, code: CodePermission, title: "Permission denied", details: ""},
	{name: "file_too_large", status: 413, httpOut: 400, code: CodeMediaUpload, title: "Media upload error", details: ""},
	{name: "event_not_supported", message: "outbound event not supported", httpOut: 400, code: CodeInvalidParam,
		title: "Invalid parameter", details: ""},
	{name: "invalid_json_payload", message: "invalid json payload", httpOut: 400, code: CodeInvalidParam,
		title: "Invalid parameter", details: ""},
	{name: "review_parameters", message: "please review the request parameters", httpOut: 400, code: CodeInvalidParam,
		title: "Invalid parameter", details: ""},
	{name: "flow_not_published", message: "flow was never published", httpOut: 400, code: CodeInvalidParam,
		title: "Invalid parameter", details: ""},
	{name: "flow_already_published", message: "flow is already published", httpOut: 400, code: CodeInvalidParam,
		title: "Invalid parameter", details: ""},
	{name: "flow_delete_not_draft", message: "only draft flows can be deleted", httpOut: 400, code: CodeInvalidParam,
		title: "Invalid parameter", details: ""},
	{name: "flow_deprecated", message: "flow is deprecated", httpOut: 400, code: CodeInvalidParam,
		title: "Invalid parameter", details: ""},
	{name: "flow_published_readonly", message: "flow is published", httpOut: 400, code: CodeInvalidParam,
		title: "Invalid parameter", details: ""},
	{name: "flow_not_found", message: "flow not found", httpOut: 400, code: CodeInvalidParam,
		title: "Invalid parameter", details: ""},
	{name: "flow_invalid_id", message: "invalid flow id", httpOut: 400, code: CodeInvalidParam,
		title: "Invalid parameter", details: ""},
	{name: "flow_has_validation_errors", message: "flow has validation errors", httpOut: 400, code: CodeInvalidParam,
		title: "Invalid parameter", details: ""},
	{name: "flow_name_exists", message: "flow name already exists", httpOut: 400, code: CodeInvalidParam,
		title: "Invalid parameter", details: ""},
	{name: "flow_endpoint_uri_invalid", message: "endpoint_uri is missing/invalid", httpOut: 400, code: CodeInvalidParam,
		title: "Invalid parameter", details: ""},
	// Gupshup's validation wording for a member of the client's request
	// ("contacts is missing/invalid", "to is missing/invalid" …).
	{name: "field_invalid", message: "is missing/invalid", httpOut: 400, code: CodeInvalidParam,
		title: "Invalid parameter", details: ""},
	{name: "whatsapp_invalid_response", minCode: 4002, maxCode: 4002, httpOut: 500, code: CodeGeneric,
		title: "Something went wrong", details: ""},
	{name: "upstream_5xx", server: true, httpOut: 500, code: CodeGeneric, title: "Something went wrong",
		details: ""},
}

// UpstreamError maps a non-success answer from Gupshup to the Meta error a
// client must see. status is Gupshup's HTTP status, body its body and
// retryAfter its Retry-After header (may be ""). It tolerates every shape
// seen: Gupshup's {"status":"error","message":…,"code"?:…}, a message object
// {"message":{"code","message"}}, and Meta's own {"error":{…}}, which passes
// through unchanged but for fbtrace_id.
func UpstreamError(status int, body []byte, retryAfter string) *Error {
	root := parseAnswer(body)
	if e := metaPassthrough(status, root, retryAfter); e != nil {
		return e
	}
	msg, code := upstreamMessage(root)
	for i := range upstreamRules {
		r := &upstreamRules[i]
		if !r.matches(status, code, msg) {
			continue
		}
		e := &Error{HTTPStatus: r.httpOut, Code: r.code, Title: r.title, Details: r.details,
			Operator: r.operator, Rule: r.name}
		if e.Details == "" {
			e.Details = upstreamDetails(msg, code)
		}
		if e.Code == CodeRateLimit {
			e.RetryAfter = retryAfter
			if e.RetryAfter == "" {
				e.RetryAfter = "1"
			}
		}
		return e
	}
	return &Error{HTTPStatus: 500, Code: CodeGeneric, Title: "Something went wrong",
		Details: upstreamDetails(msg, code), Rule: "unmapped"}
}

func (r *upstreamRule) matches(status, code int, msg string) bool {
	if r.status != 0 && r.status != status {
		return false
	}
	if r.server && status < 500 {
		return false
	}
	if r.minCode != 0 && (code < r.minCode || code > r.maxCode) {
		return false
	}
	if r.message != "" && !containsFold(msg, r.message) {
		return false
	}
	return true
}

// upstreamMessage finds Gupshup's message text and numeric code in any of
// the shapes its APIs use: {"message":"…","code":n},
// {"message":{"message":"…","code":n}}, {"reason":"…"}, and the message of a
// Meta-style {"error":{…}} that is not fit to pass through. Only a string
// is a message and only a JSON integer a code; anything else reads as
// absent. Of a repeated member the last counts.
func upstreamMessage(root gjson.Result) (string, int) {
	m := lastMember(root, "message")
	code := lastMember(root, "code")
	if m.IsObject() {
		if !code.Exists() {
			code = lastMember(m, "code")
		}
		m = lastMember(m, "message")
	}
	if m.Type != gjson.String || m.Str == "" {
		m = lastMember(root, "reason")
	}
	if m.Type != gjson.String || m.Str == "" {
		m = lastPath(root, "error", "message")
	}
	text := ""
	if m.Type == gjson.String {
		text = m.Str
	}
	n, _ := jsonInt(code)
	return text, n
}

// jsonInt reads a JSON integer that fits an int32 (Meta's and Gupshup's
// codes do); a float, exponent, string or anything else is not one.
func jsonInt(v gjson.Result) (int, bool) {
	if v.Type != gjson.Number {
		return 0, false
	}
	n, err := strconv.ParseInt(v.Raw, 10, 32)
	if err != nil {
		return 0, false
	}
	return int(n), true
}

func upstreamDetails(msg string, code int) string {
	d := "Gupshup: "
	if code != 0 {
		d += "(" + strconv.Itoa(code) + ") "
	}
	msg = scrubUpstreamText(msg)
	if msg == "" {
		msg = "no message"
	}
	return d + msg
}

// containsFold reports whether s contains sub, ASCII case-insensitively.
// sub must be lower case.
func containsFold(s, sub string) bool {
	n := len(sub)
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for ; j < n; j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != sub[j] {
				break
			}
		}
		if j == n {
			return true
		}
	}
	return false
}
