package translate

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/tidwall/gjson"
)

// upstreamCases are Gupshup answers, one or more per row of the mapping
// table; each has a golden Meta answer under testdata/errors.
var upstreamCases = []struct {
	name       string
	status     int
	body       string
	retryAfter string
	rule       string // the table row expected to match
}{
	{"invalid_destination", 400, `{"status":"error","message":"Invalid Destination"}`, "", "invalid_destination"},
	{"code_1002_not_on_whatsapp", 400, `{"status":"error","message":"Number does not exist on WhatsApp","code":1002}`, "", "not_on_whatsapp"},
	{"code_1002_in_message_object", 400, `{"status":"error","message":{"code":1002,"message":"Number does not exist"}}`, "", "not_on_whatsapp"},
	{"code_1003_wallet_low", 400, `{"status":"error","message":"Wallet Balance Low","code":1003}`, "", "wallet_low"},
	{"wallet_low_text_only", 402, `{"status":"error","message":"Wallet balance low"}`, "", "wallet_low_text"},
	{"code_1005_template", 400, `{"status":"error","message":"Template mismatch","code":1005}`, "", "template_mismatch"},
	{"code_1008_optin", 400, `{"status":"error","message":"User not opted in","code":1008}`, "", "template_mismatch"},
	{"code_4003_no_template_match", 400, `{"status":"error","message":"No template match","code":4003}`, "", "template_no_match"},
	{"code_4005_paused", 400, `{"status":"error","message":"Template paused","code":4005}`, "", "template_paused"},
	{"template_msg_invalid_template_id", 400, `{"status":"error","message":"Invalid template id"}`, "", "template_invalid_id"},
	{"template_msg_params_count_mismatch", 400, `{"status":"error","message":"Template params count mismatch"}`, "", "template_params_mismatch"},
	// The three error bodies of template/msg's status table (seed 002), byte for byte.
	{"template_msg_seed_invalid_destination", 400, `{ "message": "Invalid Destination", "status": "error" }`, "", "invalid_destination"},
	{"template_msg_seed_invalid_app_details", 400, `{ "message": "Invalid App Details", "status": "error" }`, "", "invalid_app"},
	{"template_msg_seed_internal_error", 500, `{ "status": "error", "message": "Internal server error. Please try again later and If Issue still persist than contact Gupshup Dev Support" }`, "", "upstream_5xx"},
	{"code_1010_media_url", 400, `{"status":"error","message":"Invalid media URL","code":1010}`, "", "invalid_media"},
	{"code_1011_media_size", 400, `{"status":"error","message":"Invalid media size","code":1011}`, "", "invalid_media"},
	{"code_1012_opted_out", 400, `{"status":"error","message":"Number opted out","code":1012}`, "", "opted_out"},
	{"http_429_with_retry_after", 429, `{"status":"error","message":"Too Many Requests"}`, "7", "rate_limited"},
	{"http_429_without_retry_after", 429, `{"status":"error","message":"Too Many Requests"}`, "", "rate_limited"},
	{"code_4001_rate_limited", 400, `{"status":"error","message":"API rate limited","code":4001}`, "", "rate_limited_code"},
	{"http_401_auth_failed", 401, `{"status":"error","message":"Authentication Failed"}`, "", "app_token_rejected"},
	{"invalid_app_details", 400, `{"message":"Invalid App Details","status":"error"}`, "", "invalid_app"},
	{"callback_billing", 400, `{"message":"Callback Billing must be enabled for this API","status":"error"}`, "", "callback_billing"},
	{"only_capi_media", 400, `{"status":"error","message":"Only CAPI apps allowed to generate media ID"}`, "", "capi_only"},
	{"code_4004_capi_only", 400, `{"status":"error","message":"Feature only for CAPI apps","code":4004}`, "", "capi_only_code"},
	{"http_413_file_size", 413, `{"status":"error","message":"File size exceeds the maximum limit!"}`, "", "file_too_large"},
	{"outbound_event_not_supported", 400, `{"status":"error","message":"Outbound event not supported"}`, "", "event_not_supported"},
	{"invalid_json_payload", 400, `{"status":"error","message":"Invalid JSON payload"}`, "", "invalid_json_payload"},
	{"review_parameters", 400, `{"status":"error","message":"Please review the request parameters and retry"}`, "", "review_parameters"},
	{"flow_never_published", 400, `{"status":"error","message":"Flow was never published, it cannot be deprecated"}`, "", "flow_not_published"},
	{"flow_already_published", 400, `{"status":"error","message":"Flow is already published"}`, "", "flow_already_published"},
	{"flow_delete_not_draft", 400, `{"status":"error","message":"Only draft flows can be deleted"}`, "", "flow_delete_not_draft"},
	{"flow_deprecated", 400, `{"status":"error","message":"Flow is deprecated"}`, "", "flow_deprecated"},
	{"flow_published_readonly", 400, `{"status":"error","message":"Flow is published, it cannot be updated"}`, "", "flow_published_readonly"},
	{"flow_not_found", 404, `{"status":"error","message":"Flow not found"}`, "", "flow_not_found"},
	{"flow_invalid_id", 400, `{"status":"error","message":"Invalid flow id"}`, "", "flow_invalid_id"},
	{"flow_has_validation_errors", 400, `{"status":"error","message":"Flow has validation errors, it cannot be published"}`, "", "flow_has_validation_errors"},
	{"flow_name_exists", 400, `{"status":"error","message":"Flow name already exists"}`, "", "flow_name_exists"},
	{"flow_endpoint_uri_invalid", 400, `{"status":"error","message":"endpoint_uri is missing/invalid"}`, "", "flow_endpoint_uri_invalid"},
	{"code_4002_whatsapp_invalid_response", 400, `{"status":"error","message":"Invalid response from WhatsApp","code":4002}`, "", "whatsapp_invalid_response"},
	{"http_500_internal", 500, `{"status":"error","message":"Internal Server Error"}`, "", "upstream_5xx"},
	{"http_502_html", 502, `<html>Bad Gateway</html>`, "", "upstream_5xx"},
	{"http_503_empty", 503, ``, "", "upstream_5xx"},
	{"meta_error_passthrough", 400, `{"error":{"message":"(#132000) Number of parameters does not match the expected number of params","type":"OAuthException","code":132000,"error_data":{"messaging_product":"whatsapp","details":"body: number of localizable_params (1) does not match the expected number of params (2)"},"fbtrace_id":"UPSTREAM"}}`, "", "meta_passthrough"},
	{"meta_error_passthrough_with_subcode", 403, `{"error":{"message":"(#10) Permission denied","type":"OAuthException","code":10,"error_subcode":2494049,"fbtrace_id":"X"}}`, "", "meta_passthrough"},
	{"field_missing_invalid", 400, `{"status":"error","message":"contacts is missing/invalid"}`, "", "field_invalid"},
	{"unmapped_400", 400, `{"status":"error","message":"Something new and strange"}`, "", "unmapped"},
	{"unmapped_not_json", 418, `teapot`, "", "unmapped"},
}

// TestUpstreamErrorGolden pins the Meta answer for every row of the
// Gupshup → Meta error table, and that every row is exercised.
func TestUpstreamErrorGolden(t *testing.T) {
	used := map[string]bool{}
	for _, c := range upstreamCases {
		t.Run(c.name, func(t *testing.T) {
			e := UpstreamError(c.status, []byte(c.body), c.retryAfter)
			used[e.Rule] = true
			if e.Rule != c.rule {
				t.Errorf("matched rule %q, want %q", e.Rule, c.rule)
			}
			body := e.Body("TRACE")
			if !gjson.ValidBytes(body) {
				t.Fatalf("invalid JSON: %s", body)
			}
			if gjson.GetBytes(body, "error.fbtrace_id").Str != "TRACE" {
				t.Errorf("fbtrace_id not ours: %s", body)
			}
			if got := gjson.GetBytes(body, "error.code").Int(); got != int64(e.Code) {
				t.Errorf("code in body %d, want %d", got, e.Code)
			}
			if e.Code == CodeRateLimit && e.RetryAfter == "" {
				t.Error("rate limit without Retry-After")
			}
			out := fmt.Sprintf("gupshup: HTTP %d Retry-After=%q\n%s\nmeta: HTTP %d Retry-After=%q operator=%v rule=%s\n%s\n",
				c.status, c.retryAfter, c.body, e.HTTPStatus, e.RetryAfter, e.Operator, e.Rule, body)
			checkGolden(t, filepath.Join("testdata", "errors", c.name+".golden"), []byte(out))
		})
	}
	for _, r := range upstreamRules {
		if !used[r.name] {
			t.Errorf("table row %q has no test case", r.name)
		}
	}
}

// TestProxyErrors pins the errors the proxy raises itself.
func TestProxyErrors(t *testing.T) {
	cases := []struct {
		name             string
		e                *Error
		http, code, sub  int
		typ, msg, detail string
	}{
		{"invalid token", InvalidToken(), 401, 190, 0, "OAuthException", "(#190) Invalid OAuth access token - Cannot parse access token", ""},
		{"foreign object", UnknownObject("post", "123"), 400, 100, 33, "GraphMethodException",
			"Unsupported post request. Object with ID '123' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api", ""},
		{"too large", BodyTooLarge(1024), 413, 100, 0, "OAuthException", "(#100) Request body too large", "The request body exceeds the limit of 1024 bytes."},
		{"unknown path", UnknownPath("GET", "/x"), 400, 2500, 0, "OAuthException", "Unknown path components: /x", "GET /x is not served by this endpoint."},
		{"unreachable", Unreachable("dial"), 503, 2, 0, "OAuthException", "(#2) Service temporarily unavailable", "The messaging gateway could not reach its upstream; nothing was sent. Retry later. (dial)"},
		{"maybe sent", MaybeSent("timeout"), 503, 131000, 0, "OAuthException", "(#131000) Something went wrong", "The upstream did not answer in time (timeout); the message may have been sent. Check status webhooks before resending."},
		{"v2 session message", SessionNeedsV3("image"), 400, 131051, 0, "OAuthException", "(#131051) Unsupported message type",
			`This phone number sends through Gupshup's template/msg API, so only template messages are available; a "image" message (a session message) needs the v3 passthrough enabled on the Gupshup app.`},
		{"v2 template not found", TemplateNotFound("order_update", "en_US"), 404, 132001, 0, "OAuthException", "(#132001) Template name does not exist in the translation",
			"template 'order_update' (en_US) is not an approved template of this number's Gupshup app"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := c.e.Body("T")
			r := gjson.ParseBytes(b).Get("error")
			if c.e.HTTPStatus != c.http || r.Get("code").Int() != int64(c.code) || r.Get("error_subcode").Int() != int64(c.sub) ||
				r.Get("type").Str != c.typ || r.Get("message").Str != c.msg || r.Get("error_data.details").Str != c.detail {
				t.Errorf("got http=%d %s", c.e.HTTPStatus, b)
			}
			if c.detail != "" && r.Get("error_data.messaging_product").Str != "whatsapp" {
				t.Errorf("error_data without messaging_product: %s", b)
			}
		})
	}
}

func TestAppendMetaString(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain", `"plain"`},
		{"a/b", `"a\/b"`},
		{`q"b\`, `"q\"b\\"`},
		{"äöå", `"\u00e4\u00f6\u00e5"`},
		{"😀", `"\ud83d\ude00"`},
		{"tab\tnl\n\x01\x7f", `"tab\tnl\n\u0001\u007f"`},
		{"bad\xffutf8", `"bad\ufffdutf8"`},
		{"<&>", `"<&>"`},
	}
	for _, c := range cases {
		if got := string(AppendMetaString(nil, c.in)); got != c.want {
			t.Errorf("%q: got %s want %s", c.in, got, c.want)
		}
	}
}

func TestSendResponse(t *testing.T) {
	cases := []struct {
		name, upstream, to, want string
		fail                     bool
	}{
		{"gupshup answer reordered to Meta's", `{"messages":[{"id":"8b14"}],"messaging_product":"whatsapp","contacts":[{"input":"919970","wa_id":"919970"}]}`, "919970",
			`{"messaging_product":"whatsapp","contacts":[{"input":"919970","wa_id":"919970"}],"messages":[{"id":"8b14"}]}`, false},
		{"contacts built from to when absent", `{"messages":[{"id":"x","message_status":"accepted"}]}`, "+1 (631) 555-1234",
			`{"messaging_product":"whatsapp","contacts":[{"input":"+1 (631) 555-1234","wa_id":"16315551234"}],"messages":[{"id":"x","message_status":"accepted"}]}`, false},
		{"no message id", `{"status":"success"}`, "1", "", true},
		{"not json", `ok`, "1", "", true},
		{"trailing comma: invalid JSON is not copied", `{"messages":[{"id":"gs-1"},]}`, "1", "", true},
		{"truncated answer", `{"messages":[{"id":"gs-1"}]`, "1", "", true},
		{"numeric id written as its digits, as a string", `{"messages":[{"id":12345678901234567890123,"message_status":"accepted"}]}`, "1",
			`{"messaging_product":"whatsapp","contacts":[{"input":"1","wa_id":"1"}],"messages":[{"id":"12345678901234567890123","message_status":"accepted"}]}`, false},
		{"float id", `{"messages":[{"id":1e3}]}`, "1", "", true},
		{"negative id", `{"messages":[{"id":-5}]}`, "1", "", true},
		{"object id", `{"messages":[{"id":{"x":1}}]}`, "1", "", true},
		{"empty id", `{"messages":[{"id":""}]}`, "1", "", true},
		{"message not an object", `{"messages":["gs-1"]}`, "1", "", true},
		{"second message without id", `{"messages":[{"id":"a"},{}]}`, "1", "", true},
		{"empty messages", `{"messages":[]}`, "1", "", true},
		{"repeated id: the last, once", `{"messages":[{"id":"a","id":"b"}]}`, "1",
			`{"messaging_product":"whatsapp","contacts":[{"input":"1","wa_id":"1"}],"messages":[{"id":"b"}]}`, false},
		{"numeric contact members as strings", `{"contacts":[{"input":15551234567,"wa_id":15551234567}],"messages":[{"id":"a"}]}`, "+1 555 123 4567",
			`{"messaging_product":"whatsapp","contacts":[{"input":"15551234567","wa_id":"15551234567"}],"messages":[{"id":"a"}]}`, false},
		{"malformed contacts replaced by the client's recipient", `{"contacts":[{"input":true}],"messages":[{"id":"a"}]}`, "+1 555",
			`{"messaging_product":"whatsapp","contacts":[{"input":"+1 555","wa_id":"1555"}],"messages":[{"id":"a"}]}`, false},
		{"escapes in ids are Meta's", `{"messages":[{"id":"a\/bé"}]}`, "1",
			`{"messaging_product":"whatsapp","contacts":[{"input":"1","wa_id":"1"}],"messages":[{"id":"a\/b\u00e9"}]}`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, e := SendResponse(nil, []byte(c.upstream), c.to)
			if c.fail {
				if e == nil || e.HTTPStatus != 500 || e.Code != CodeGeneric {
					t.Fatalf("want 500/131000, got %v", e)
				}
				return
			}
			if e != nil || string(got) != c.want {
				t.Errorf("got %s (%v)\nwant %s", got, e, c.want)
			}
			if !json.Valid(got) {
				t.Errorf("answer is not valid JSON: %s", got)
			}
		})
	}
}
