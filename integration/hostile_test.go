package integration

// The hostile-input suite: every route of the proxy fed malformed,
// oversized, ambiguous and forged requests over real sockets, and a
// simulated Gupshup and a webhook endpoint that answer with garbage, hang
// or redirect. Each case pins the exact status, the answer's shape (Graph's
// error envelope unless the route has another documented one) and what
// reached Gupshup. Cases named fixN/… assert the behaviour described as
// pending fix N in docs/security.md.

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"waproxy/gupshupsim"
)

// hostileFixture holds the objects the cases aim at.
type hostileFixture struct {
	mediaA, mediaB string // uploaded by tenant a and b
	mediaA2        string // uploaded by a, never downloaded (not cached)
	flowA          string // created by tenant a
	expiredURL     string // a's download URL for mediaA, expired
	urlToken       string // its token
}

// newHostileWorld is the world the main table runs against: both tenants
// with a webhook (so the intake and the admin API are served), a
// Gupshup timeout short enough for the hang cases (which hang far longer)
// yet long enough for a 900 KB send under -race on a loaded machine, and
// download URLs that expire at once.
func newHostileWorld(t *testing.T) (*hostile, hostileFixture) {
	t.Helper()
	rcA := newGoReceiver(t, metaSecretA, "")
	rcB := newGoReceiver(t, "meta-secret-b", "")
	h := newHostile(t, worldOptions{
		timeout:         4 * time.Second,
		mediaURLTTL:     time.Millisecond,
		noVerifyOnStart: true,
		webhookA:        &tenantWebhook{url: rcA.URL, appSecret: metaSecretA, concurrency: 1},
		webhookB:        &tenantWebhook{url: rcB.URL, appSecret: "meta-secret-b", concurrency: 1},
	})
	var f hostileFixture
	png := randomData(2048, 7)
	f.mediaA = h.upload(t, tokenA, phoneA, "image/png", png)
	f.mediaB = h.upload(t, tokenB, phoneB, "image/png", png)
	f.mediaA2 = h.upload(t, tokenA, phoneA, "image/png", png)
	f.expiredURL = h.mediaURL(t, tokenA, f.mediaA)
	_, f.urlToken, _ = strings.Cut(f.expiredURL, "?token=")
	a := h.call(t, http.MethodPost, "/v23.0/"+wabaA+"/flows", "application/json", tokenA,
		[]byte(`{"name":"hostile","categories":["OTHER"]}`))
	if f.flowA = a.json("id").Str; a.status != 200 || f.flowA == "" {
		t.Fatalf("creating a flow: HTTP %d %s", a.status, a.body)
	}
	return h, f
}

// TestHostileInput runs the table of hostile requests against one world.
func TestHostileInput(t *testing.T) {
	h, f := newHostileWorld(t)
	var cases []hostileCase
	for _, group := range [][]hostileCase{
		messageCases(), framingCases(), headerCases(), pathCases(f), mediaCases(f), flowCases(f),
		readCases(), gupshupAnswerCases(), gupshupMediaAnswerCases(f), intakeCases(), adminCases(), probeCases(),
	} {
		cases = append(cases, group...)
	}
	if len(cases) < 100 {
		t.Fatalf("%d cases, the suite promises at least 100", len(cases))
	}
	h.run(t, cases)
}

const (
	msgPath   = "/v23.0/" + phoneA + "/messages"
	msgPathNV = "/" + phoneA + "/messages"
	jsonCT    = "application/json"
	v3msg     = "/v3/message"
)

// bad is a request refused with Graph's invalid-parameter error before
// Gupshup.
func bad(name string, req rawRequest) hostileCase {
	return hostileCase{name: name, req: req, status: 400, code: 100, upstream: "", calls: 0}
}

// sent is a request that reaches Gupshup's send endpoint once and is
// answered with a wamid.
func sent(name string, req rawRequest) hostileCase {
	return hostileCase{name: name, req: req, status: 200, shape: validJSON, upstream: v3msg, calls: 1,
		check: func(t *testing.T, h *hostile, a rawAnswer) {
			if a.json("messages.0.id").Str == "" {
				t.Errorf("no message id: %s", a.body)
			}
		}}
}

func messageCases() []hostileCase {
	ok := textMessage(`"hi"`)
	return []hostileCase{
		sent("send/baseline", post(msgPath, jsonCT, tokenA, ok)),
		sent("send/baseline unversioned", post(msgPathNV, jsonCT, tokenA, ok)),
		{name: "send/no token", req: post(msgPath, jsonCT, "", ok), status: 401, code: 190},
		{name: "send/unknown token", req: post(msgPath, jsonCT, "EAAG-nobody", ok), status: 401, code: 190},
		{name: "send/token with a NUL", req: post(msgPath, jsonCT, tokenA+"\x00", ok), status: 400, shape: plainText},
		{name: "send/other tenant's phone", req: post(msgPath, jsonCT, tokenB, ok), status: 400, code: 100, subcode: 33},
		{name: "send/other tenant's phone unversioned", req: post(msgPathNV, jsonCT, tokenB, ok), status: 400, code: 100, subcode: 33},
		bad("send/truncated JSON", post(msgPath, jsonCT, tokenA, ok[:len(ok)/2])),
		bad("send/truncated in a string", post(msgPath, jsonCT, tokenA, []byte(`{"messaging_product":"whatsapp","to":"1555`))),
		bad("send/not JSON", post(msgPath, jsonCT, tokenA, []byte("hello"))),
		bad("send/empty body", post(msgPath, jsonCT, tokenA, []byte{})),
		bad("send/whitespace body", post(msgPath, jsonCT, tokenA, []byte(" \r\n\t "))),
		bad("send/top-level array", post(msgPath, jsonCT, tokenA, []byte(`[`+string(ok)+`]`))),
		bad("send/top-level string", post(msgPath, jsonCT, tokenA, []byte(`"text"`))),
		bad("send/top-level null", post(msgPath, jsonCT, tokenA, []byte(`null`))),
		bad("send/trailing garbage", post(msgPath, jsonCT, tokenA, append(append([]byte{}, ok...), "}}}"...))),
		bad("send/two objects", post(msgPath, jsonCT, tokenA, append(append([]byte{}, ok...), ok...))),
		bad("send/100k unclosed arrays", post(msgPath, jsonCT, tokenA, []byte(nest("[", "]", 100000, false)))),
		bad("send/100k nested arrays", post(msgPath, jsonCT, tokenA, []byte(nest("[", "]", 100000, true)))),
		// Gupshup refuses a text body that is not a string.
		{name: "send/100k nested objects in text", req: post(msgPath, jsonCT, tokenA, textMessage(nest(`{"a":`, "}", 100000, true))),
			status: 400, code: 100, upstream: v3msg, calls: 1},
		sent("send/100k nested arrays in an extra field", post(msgPath, jsonCT, tokenA,
			[]byte(`{"messaging_product":"whatsapp","to":"15551234567","type":"text","text":{"body":"x"},"x":`+nest("[", "]", 100000, true)+`}`))),
		sent("send/900 KB text body", post(msgPath, jsonCT, tokenA, textMessage(`"`+strings.Repeat("a", 900<<10)+`"`))),
		sent("send/900 KB recipient", post(msgPath, jsonCT, tokenA,
			[]byte(`{"messaging_product":"whatsapp","to":"`+strings.Repeat("1", 900<<10)+`","type":"text","text":{"body":"x"}}`))),
		sent("send/invalid UTF-8 in text", post(msgPath, jsonCT, tokenA, textMessage("\"\xff\xfe\xc3(\""))),
		sent("send/lone surrogate escape", post(msgPath, jsonCT, tokenA, textMessage(`"\ud800"`))),
		bad("send/NUL in text", post(msgPath, jsonCT, tokenA, textMessage("\"a\x00b\""))),
		sent("send/to is a number", post(msgPath, jsonCT, tokenA, []byte(`{"messaging_product":"whatsapp","to":15551234567,"type":"text","text":{"body":"x"}}`))),
		bad("send/to is null", post(msgPath, jsonCT, tokenA, []byte(`{"messaging_product":"whatsapp","to":null,"type":"text","text":{"body":"x"}}`))),
		bad("send/to is an object", post(msgPath, jsonCT, tokenA, []byte(`{"messaging_product":"whatsapp","to":{"a":1},"type":"text","text":{"body":"x"}}`))),
		bad("send/text is a string", post(msgPath, jsonCT, tokenA, []byte(`{"messaging_product":"whatsapp","to":"15551234567","type":"text","text":"x"}`))),
		bad("send/text is null", post(msgPath, jsonCT, tokenA, []byte(`{"messaging_product":"whatsapp","to":"15551234567","type":"text","text":null}`))),
		sent("send/type is null", post(msgPath, jsonCT, tokenA, []byte(`{"messaging_product":"whatsapp","to":"15551234567","type":null,"text":{"body":"x"}}`))),
		bad("send/type is a number", post(msgPath, jsonCT, tokenA, []byte(`{"messaging_product":"whatsapp","to":"15551234567","type":7,"text":{"body":"x"}}`))),
		sent("send/unknown type", post(msgPath, jsonCT, tokenA, []byte(`{"messaging_product":"whatsapp","to":"15551234567","type":"hologram","hologram":{}}`))),
		sent("send/type __proto__", post(msgPath, jsonCT, tokenA, []byte(`{"messaging_product":"whatsapp","to":"15551234567","type":"__proto__","__proto__":{}}`))),
		bad("send/wrong messaging_product", post(msgPath, jsonCT, tokenA, []byte(`{"messaging_product":"telegram","to":"15551234567","type":"text","text":{"body":"x"}}`))),
		bad("send/no messaging_product", post(msgPath, jsonCT, tokenA, []byte(`{"to":"15551234567","type":"text","text":{"body":"x"}}`))),
		sent("send/image link to file://", post(msgPath, jsonCT, tokenA, []byte(`{"messaging_product":"whatsapp","to":"15551234567","type":"image","image":{"link":"file:///etc/passwd"}}`))),
		sent("send/image id of another tenant", post(msgPath, jsonCT, tokenA, []byte(`{"messaging_product":"whatsapp","to":"15551234567","type":"image","image":{"id":"../../etc/passwd"}}`))),
		{name: "send/duplicate to: the last wins", fix: 5,
			req:    post(msgPath, jsonCT, tokenA, []byte(`{"messaging_product":"whatsapp","to":"15550000001","to":"15550000002","type":"text","text":{"body":"x"}}`)),
			status: 200, shape: validJSON, upstream: v3msg, calls: 1,
			check: func(t *testing.T, h *hostile, a rawAnswer) {
				if in := a.json("contacts.0.input").Str; in != "15550000002" {
					t.Errorf("contacts.0.input %q, want the last to", in)
				}
				for _, r := range h.sends() {
					if b := string(r.Body); strings.Count(b, "15550000001") != 0 || strings.Count(b, "1555000000") != 1 {
						t.Errorf("Gupshup got %s, want one recipient, the last", b)
					}
				}
			}},
		{name: "send/duplicate text body: one copy, the last", fix: 5,
			req:    post(msgPath, jsonCT, tokenA, []byte(`{"messaging_product":"whatsapp","to":"15551234567","type":"text","text":{"body":"first","body":"second"}}`)),
			status: 200, shape: validJSON, upstream: v3msg, calls: 1,
			check: func(t *testing.T, h *hostile, a rawAnswer) {
				for _, r := range h.sends() {
					if b := string(r.Body); strings.Contains(b, "first") || !strings.Contains(b, "second") {
						t.Errorf("Gupshup got %s, want only the last body", b)
					}
				}
			}},
		{name: "send/recipient of 100k digits is logged bounded", fix: 8,
			req:    post(msgPath, jsonCT, tokenA, []byte(`{"messaging_product":"whatsapp","to":"+`+strings.Repeat("1", 100000)+`","type":"text","text":{"body":"x"}}`)),
			status: 200, shape: validJSON, upstream: v3msg, calls: 1,
			check: func(t *testing.T, h *hostile, a rawAnswer) {
				trace := a.header.Get("X-Fb-Trace-Id")
				for _, line := range strings.Split(h.logs.String(), "\n") {
					if strings.Contains(line, trace) && len(line) > 4096 {
						t.Errorf("the request's log line is %d bytes", len(line))
					}
				}
			}},
	}
}

func framingCases() []hostileCase {
	ok := textMessage(`"hi"`)
	big := textMessage(`"` + strings.Repeat("a", 1<<20) + `"`)
	return []hostileCase{
		{name: "framing/body over max_body_bytes", req: post(msgPath, jsonCT, tokenA, big), status: 413, code: 100},
		{name: "framing/expect 100-continue, small body", req: post(msgPath, jsonCT, tokenA, ok, "Expect: 100-continue"),
			interim: []int{100}, status: 200, shape: validJSON, upstream: v3msg, calls: 1},
		{name: "framing/expect 100-continue, oversize body: 413 at once", fix: 6,
			req: rawRequest{method: "POST", target: msgPath, noLength: true, wait: 2 * time.Second, header: []string{"Content-Type: application/json",
				"Authorization: Bearer " + tokenA, "Expect: 100-continue", "Content-Length: 10485760"}},
			status: 413, code: 100},
		sent("framing/chunked body", rawRequest{method: "POST", target: msgPath, noLength: true, body: chunked(ok, 7),
			header: []string{"Content-Type: application/json", "Authorization: Bearer " + tokenA, "Transfer-Encoding: chunked"}}),
		{name: "framing/chunked body over max_body_bytes", status: 413, code: 100,
			req: rawRequest{method: "POST", target: msgPath, noLength: true, body: chunked(big, 64<<10),
				header: []string{"Content-Type: application/json", "Authorization: Bearer " + tokenA, "Transfer-Encoding: chunked"}}},
		{name: "framing/chunked with a bad chunk size", status: 400, code: 100,
			req: rawRequest{method: "POST", target: msgPath, noLength: true, body: []byte("zz\r\n{}\r\n0\r\n\r\n"),
				header: []string{"Content-Type: application/json", "Authorization: Bearer " + tokenA, "Transfer-Encoding: chunked"}}},
		// RFC 9112 §6.3: Transfer-Encoding overrides Content-Length, which
		// net/http drops; the connection closes after the answer.
		{name: "framing/Content-Length and Transfer-Encoding", status: 200, shape: validJSON, upstream: v3msg, calls: 1,
			req: rawRequest{method: "POST", target: msgPath, noLength: true, body: chunked(ok, 9),
				header: []string{"Content-Type: application/json", "Authorization: Bearer " + tokenA,
					"Content-Length: 5", "Transfer-Encoding: chunked"}}},
		{name: "framing/two different Content-Lengths", status: 400, shape: plainText,
			req: rawRequest{method: "POST", target: msgPath, noLength: true, body: ok,
				header: []string{"Content-Type: application/json", "Authorization: Bearer " + tokenA,
					"Content-Length: " + itoa(len(ok)), "Content-Length: 3"}}},
		{name: "framing/negative Content-Length", status: 400, shape: plainText,
			req: rawRequest{method: "POST", target: msgPath, noLength: true, body: ok,
				header: []string{"Content-Type: application/json", "Authorization: Bearer " + tokenA, "Content-Length: -1"}}},
		{name: "framing/Transfer-Encoding gzip", status: 501, shape: plainText,
			req: rawRequest{method: "POST", target: msgPath, noLength: true, body: ok,
				header: []string{"Content-Type: application/json", "Authorization: Bearer " + tokenA, "Transfer-Encoding: gzip"}}},
		{name: "framing/body shorter than Content-Length", status: 400, code: 100,
			req: rawRequest{method: "POST", target: msgPath, noLength: true, body: ok, halfClose: true,
				header: []string{"Content-Type: application/json", "Authorization: Bearer " + tokenA, "Content-Length: " + itoa(len(ok)+50)}}},
		{name: "framing/not HTTP at all", req: rawRequest{raw: []byte("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n")},
			status: 400, shape: plainText},
		{name: "framing/HTTP/1.1 without Host", req: rawRequest{raw: []byte("GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n")},
			status: 400, shape: plainText},
		{name: "framing/HTTP/1.0", req: rawRequest{raw: []byte("GET /healthz HTTP/1.0\r\n\r\n")},
			status: 200, shape: exactBody, body: `{"status":"ok"}`},
		{name: "framing/absolute-form target", req: rawRequest{raw: []byte("GET http://evil.example/healthz HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")},
			status: 200, shape: exactBody, body: `{"status":"ok"}`},
		{name: "framing/control byte in the method", req: rawRequest{raw: []byte("G\x01T /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")},
			status: 400, shape: plainText},
	}
}

func headerCases() []hostileCase {
	ok := textMessage(`"hi"`)
	idReplaced := func(sent string) func(t *testing.T, h *hostile, a rawAnswer) {
		return func(t *testing.T, h *hostile, a rawAnswer) {
			got := a.header.Get("X-Request-Id")
			if got == sent || got == "" || len(a.header.Values("X-Request-Id")) != 1 || strings.ContainsAny(got, "\r\n <>\"") {
				t.Errorf("X-Request-Id %q (sent %q)", a.header.Values("X-Request-Id"), sent)
			}
			if len(a.header.Values("Set-Cookie")) != 0 || a.header.Get("X-Injected") != "" {
				t.Errorf("an injected header came back: %v", a.header)
			}
		}
	}
	withID := func(name, id string, status int, sh shape) hostileCase {
		return hostileCase{name: name, req: get("/healthz", "", "X-Request-Id: "+id), status: status, shape: sh,
			body: `{"status":"ok"}`, check: idReplaced(id)}
	}
	return []hostileCase{
		{name: "header/X-Request-Id echoed when usable", req: get("/healthz", "", "X-Request-Id: abc-123"), status: 200,
			shape: exactBody, body: `{"status":"ok"}`, check: func(t *testing.T, h *hostile, a rawAnswer) {
				if got := a.header.Get("X-Request-Id"); got != "abc-123" {
					t.Errorf("X-Request-Id %q", got)
				}
			}},
		{name: "header/X-Request-Id with CR LF", req: get("/healthz", "", "X-Request-Id: a\r\nSet-Cookie: s=1"), status: 200,
			shape: exactBody, body: `{"status":"ok"}`, check: func(t *testing.T, h *hostile, a rawAnswer) {
				// The CRLF ends the header line: Set-Cookie is a request
				// header of its own, never echoed.
				if got := a.header.Get("X-Request-Id"); got != "a" || len(a.header.Values("Set-Cookie")) != 0 {
					t.Errorf("X-Request-Id %q, Set-Cookie %q", got, a.header.Values("Set-Cookie"))
				}
			}},
		{name: "header/X-Request-Id with a bare CR", req: get("/healthz", "", "X-Request-Id: a\rX-Injected: 1"), status: 400, shape: plainText},
		withID("header/X-Request-Id with a bare LF", "a\nX-Injected: 1", 200, exactBody),
		withID("header/X-Request-Id with markup", "<script>alert(1)</script>", 200, exactBody),
		withID("header/X-Request-Id of 129 characters", strings.Repeat("a", 129), 200, exactBody),
		withID("header/X-Request-Id of 60 KB", strings.Repeat("b", 60<<10), 200, exactBody),
		withID("header/X-Request-Id with non-ASCII", "idé", 200, exactBody),
		{name: "header/X-Request-Id twice", req: get("/healthz", "", "X-Request-Id: one", "X-Request-Id: two"), status: 200,
			shape: exactBody, body: `{"status":"ok"}`, check: idReplaced("one")},
		// net/http unfolds it into "a folded": not a usable id.
		{name: "header/obs-fold continuation line", req: get("/healthz", "", "X-Request-Id: a", " folded"),
			status: 200, shape: exactBody, body: `{"status":"ok"}`, check: idReplaced("a")},
		{name: "header/headers over the 64 KiB limit", req: get("/healthz", "", "X-Big: "+strings.Repeat("x", 70<<10)),
			status: 431, shape: plainText},
		{name: "header/200 KB Authorization", req: post(msgPath, jsonCT, strings.Repeat("t", 200<<10), ok),
			status: 431, shape: plainText},
		{name: "header/Authorization of another scheme", req: post(msgPath, jsonCT, "", ok, "Authorization: Basic "+tokenA),
			status: 401, code: 190},
		{name: "header/Authorization Bearer without a token", req: post(msgPath, jsonCT, "", ok, "Authorization: Bearer "),
			status: 401, code: 190},
		{name: "header/token prefix of a valid one", req: post(msgPath, jsonCT, tokenA[:len(tokenA)-1], ok), status: 401, code: 190},
		{name: "header/access_token in the query of another tenant", req: post(msgPath+"?access_token="+tokenB, jsonCT, "", ok),
			status: 400, code: 100, subcode: 33},
		{name: "header/access_token in a form of another tenant",
			req:    post(msgPath, "application/x-www-form-urlencoded", "", []byte("access_token="+tokenB+"&messaging_product=whatsapp&to=1&type=text")),
			status: 400, code: 100, subcode: 33},
		bad("header/Content-Type text/xml", post(msgPath, "text/xml", tokenA, []byte(`<message to="1"/>`))),
		// An unparsable Content-Type is taken for none: the body must then
		// be a JSON object.
		sent("header/Content-Type with garbage parameters", post(msgPath, "application/json; ;;=; boundary", tokenA, ok)),
		bad("header/unparsable Content-Type, form body", post(msgPath, "application/json; ;;=; boundary", tokenA, []byte("to=1&type=text"))),
		bad("header/Content-Type of 4 KB", post(msgPath, "x/"+strings.Repeat("y", 4096), tokenA, ok)),
		bad("header/form with a bad escape", post(msgPath, "application/x-www-form-urlencoded", tokenA, []byte("to=%zz&type=text"))),
		bad("header/multipart without a boundary", post(msgPath, "multipart/form-data", tokenA, []byte("--x\r\n"))),
		bad("header/multipart with a wrong boundary", post(msgPath, "multipart/form-data; boundary=nope", tokenA, []byte("--x\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\n1\r\n--x--\r\n"))),
		sent("header/JSON labelled as a form", post(msgPath, "application/x-www-form-urlencoded", tokenA, ok)),
		sent("header/JSON labelled text/plain", post(msgPath, "text/plain", tokenA, ok)),
	}
}

func pathCases(f hostileFixture) []hostileCase {
	unknown := func(name string, req rawRequest) hostileCase {
		return hostileCase{name: name, req: req, status: 400, code: 2500}
	}
	ok := textMessage(`"hi"`)
	return []hostileCase{
		unknown("path/unknown path", get("/nope/nope/nope/nope", tokenA)),
		unknown("path/not a version", post("/v23x/"+phoneA+"/messages", jsonCT, tokenA, ok)),
		unknown("path/traversal in the version", post("/../"+phoneA+"/messages", jsonCT, tokenA, ok)),
		unknown("path/unknown method on messages", request(http.MethodPatch, msgPath, jsonCT, tokenA, ok)),
		{name: "path/trailing slash", req: post(msgPath+"/", jsonCT, tokenA, ok), status: 400, code: 2500, fix: 10},
		{name: "path/trailing slash on GET", req: get("/v23.0/"+f.mediaA+"/", tokenA), status: 400, code: 2500, fix: 10},
		unknown("path/double slash", post("/v23.0//"+phoneA+"/messages", jsonCT, tokenA, ok)),
		{name: "path/encoded NUL", req: get("/v23.0/%00", tokenA), status: 400, code: 100, subcode: 33},
		// The path is routed decoded: %2F is a separator, never part of an id.
		unknown("path/encoded slash in the phone id", post("/v23.0/"+phoneA+"%2F..%2F"+phoneB+"/messages", jsonCT, tokenA, ok)),
		{name: "path/dot-dot as the phone id", req: post("/v23.0/../messages", jsonCT, tokenA, ok), status: 400, code: 100, subcode: 33},
		{name: "path/30 KB phone id", req: post("/v23.0/"+strings.Repeat("9", 30<<10)+"/messages", jsonCT, tokenA, ok),
			status: 400, code: 100, subcode: 33},
		{name: "path/URL over the header limit", req: get("/v23.0/"+strings.Repeat("9", 80<<10), tokenA), status: 431, shape: plainText},
		// net/http answers OPTIONS * itself; no handler runs.
		{name: "path/OPTIONS *", req: request(http.MethodOptions, "*", "", "", nil), status: 200, shape: emptyBody},
	}
}

func mediaCases(f hostileFixture) []hostileCase {
	ct, form := multipartBodyNoT(field("messaging_product", "whatsapp"), field("type", "image/png"),
		filePart("x.png", "image/png", randomData(512, 1)))
	upload := func(token, phone, ctype string, body []byte) rawRequest {
		return post("/v23.0/"+phone+"/media", ctype, token, body)
	}
	unknownObj := func(name string, req rawRequest) hostileCase {
		return hostileCase{name: name, req: req, status: 400, code: 100, subcode: 33}
	}
	dl := "/waproxy/media/"
	return []hostileCase{
		{name: "media/upload without a token", req: upload("", phoneA, ct, form), status: 401, code: 190},
		unknownObj("media/upload to another tenant's phone", upload(tokenB, phoneA, ct, form)),
		bad("media/upload as JSON", upload(tokenA, phoneA, jsonCT, []byte(`{"file":"x"}`))),
		bad("media/upload without a file part", upload(tokenA, phoneA, ct[:strings.Index(ct, "boundary=")+9]+"b", []byte("--b\r\nContent-Disposition: form-data; name=\"messaging_product\"\r\n\r\nwhatsapp\r\n--b--\r\n"))),
		bad("media/upload cut before the closing boundary", upload(tokenA, phoneA, ct, form[:len(form)-20])),
		{name: "media/upload of an unknown type", status: 400, code: 131053, req: post("/v23.0/"+phoneA+"/media", ct, tokenA,
			[]byte(strings.ReplaceAll(string(form), "image/png", "application/x-evil")))},
		bad("media/upload without messaging_product", post("/v23.0/"+phoneA+"/media", ct, tokenA,
			[]byte(strings.ReplaceAll(string(form), "whatsapp", "telegram")))),
		unknownObj("media/lookup of another tenant's id", get("/v23.0/"+f.mediaB, tokenA)),
		unknownObj("media/lookup unversioned of another tenant's id", get("/"+f.mediaB, tokenA)),
		unknownObj("media/lookup of an unknown id", get("/v23.0/123456789", tokenA)),
		{name: "media/lookup with encoded traversal", req: get("/v23.0/..%2F..%2Fetc%2Fpasswd", tokenA), status: 400, code: 2500},
		unknownObj("media/lookup with another tenant's phone_number_id", get("/v23.0/"+f.mediaA+"?phone_number_id="+phoneB, tokenA)),
		{name: "media/lookup without a token", req: get("/v23.0/"+f.mediaA, ""), status: 401, code: 190},
		{name: "media/delete of another tenant's id", req: request(http.MethodDelete, "/v23.0/"+f.mediaB, "", tokenA, nil),
			status: 400, code: 100, subcode: 33},
		{name: "media/download without a token", req: get(dl+f.mediaA, ""), status: 401, code: 190},
		{name: "media/download with a forged token", req: get(dl+f.mediaA+"?token="+forge(f.urlToken), ""), status: 401, code: 190},
		{name: "media/download with a token for another id", req: get(dl+f.mediaB+"?token="+f.urlToken, ""), status: 401, code: 190},
		{name: "media/download with an expired token", req: get(dl+f.mediaA+"?token="+f.urlToken, ""), status: 401, code: 190},
		{name: "media/download with a 5 KB token", req: get(dl+f.mediaA+"?token="+strings.Repeat("A", 5000)+".x", ""), status: 401, code: 190},
		unknownObj("media/expired token with another tenant's bearer", get(dl+f.mediaA+"?token="+f.urlToken, tokenB)),
		{name: "media/expired token with the owner's bearer", req: get(dl+f.mediaA+"?token="+f.urlToken, tokenA),
			status: 200, shape: anyBody, upstream: "/media/" + f.mediaA, calls: 1},
		unknownObj("media/download of another tenant's id by bearer", get(dl+f.mediaB, tokenA)),
		{name: "media/download with traversal", req: get(dl+"../../etc/passwd", tokenA), status: 400, code: 2500},
		{name: "media/download with encoded traversal", req: get(dl+"..%2F..%2Fetc%2Fpasswd", tokenA), status: 400, code: 2500},
	}
}

func flowCases(f hostileFixture) []hostileCase {
	flows := "/v23.0/" + wabaA + "/flows"
	return []hostileCase{
		bad("flows/create with malformed JSON", post(flows, jsonCT, tokenA, []byte(`{"name":`))),
		// Parameters pass to Gupshup as given; it judges them.
		{name: "flows/create with a numeric name", req: post(flows, jsonCT, tokenA, []byte(`{"name":7,"categories":["OTHER"]}`)),
			status: 200, shape: validJSON, upstream: "/flows", calls: 1},
		{name: "flows/create with categories as a string", req: post(flows, jsonCT, tokenA, []byte(`{"name":"x","categories":"OTHER"}`)),
			status: 200, shape: validJSON, upstream: "/flows", calls: 1},
		bad("flows/create with 100k nested categories", post(flows, jsonCT, tokenA, []byte(`{"name":"x","categories":`+nest("[", "]", 100000, true)+`}`))),
		{name: "flows/create on another tenant's WABA", req: post("/v23.0/"+wabaB+"/flows", jsonCT, tokenA, []byte(`{"name":"x","categories":["OTHER"]}`)),
			status: 400, code: 100, subcode: 33},
		{name: "flows/list of another tenant's WABA", req: get("/v23.0/"+wabaB+"/flows", tokenA), status: 400, code: 100, subcode: 33},
		{name: "flows/get of another tenant's flow", req: get("/v23.0/"+f.flowA, tokenB), status: 400, code: 100, subcode: 33},
		{name: "flows/publish of another tenant's flow", req: post("/v23.0/"+f.flowA+"/publish", "", tokenB, nil), status: 400, code: 100, subcode: 33},
		{name: "flows/delete of another tenant's flow", req: request(http.MethodDelete, "/v23.0/"+f.flowA, "", tokenB, nil), status: 400, code: 100, subcode: 33},
		bad("flows/update with a truncated body", post("/v23.0/"+f.flowA, jsonCT, tokenA, []byte(`{"name":"y`))),
		bad("flows/asset upload as JSON", post("/v23.0/"+f.flowA+"/assets", jsonCT, tokenA, []byte(`{"file":"x"}`))),
		{name: "flows/flow.json download with a forged token", req: get("/waproxy/flows/"+f.flowA+"/flow.json?token="+forge("AAAA.BBBB"), ""),
			status: 401, code: 190},
		{name: "flows/create with invalid flow JSON and publish", fix: 9,
			req:    post(flows, jsonCT, tokenA, []byte(`{"name":"half","categories":["OTHER"],"flow_json":"{\"version\":\"6.0\"}","publish":true}`)),
			status: 200, shape: validJSON,
			upstream: "/flows", calls: 1,
			check: func(t *testing.T, h *hostile, a rawAnswer) {
				id := a.json("id").Str
				if id == "" || len(a.json("validation_errors").Array()) == 0 {
					t.Errorf("want the draft's id and its validation_errors: %s", a.body)
				}
				if fl, ok := h.sim.Flow(appA, id); !ok || fl.Status != gupshupsim.FlowDraft {
					t.Errorf("flow %q at Gupshup: %+v %v", id, fl, ok)
				}
			}},
	}
}

func readCases() []hostileCase {
	read := func(extra string) []byte {
		return []byte(`{"messaging_product":"whatsapp","status":"read"` + extra + `}`)
	}
	return []hostileCase{
		{name: "read/baseline", req: post(msgPath, jsonCT, tokenA, read(`,"message_id":"`+readWAMID+`"`)),
			status: 200, shape: exactBody, body: `{"success":true}`, upstream: "/v1/event", calls: 1},
		{name: "read/duplicate message_id: one copy, the last", fix: 5,
			req:    post(msgPath, jsonCT, tokenA, read(`,"message_id":"wamid.first","message_id":"`+readWAMID+`"`)),
			status: 200, shape: exactBody, body: `{"success":true}`, upstream: "/v1/event", calls: 1,
			check: func(t *testing.T, h *hostile, a rawAnswer) {
				for _, r := range h.sim.Requests() {
					if strings.HasSuffix(r.Path, "/v1/event") && (strings.Contains(string(r.Body), "wamid.first") ||
						!strings.Contains(string(r.Body), readWAMID)) {
						t.Errorf("Gupshup got %s, want only the last message_id", r.Body)
					}
				}
			}},
		bad("read/no message_id", post(msgPath, jsonCT, tokenA, read(""))),
		{name: "read/message_id is a number", req: post(msgPath, jsonCT, tokenA, read(`,"message_id":123`)),
			status: 400, code: 100, upstream: "/v1/event", calls: 1},
		bad("read/message_id is null", post(msgPath, jsonCT, tokenA, read(`,"message_id":null`))),
		{name: "read/typing_indicator is a string", req: post(msgPath, jsonCT, tokenA, read(`,"message_id":"`+readWAMID+`","typing_indicator":"text"`)),
			status: 400, code: 100, upstream: "/v1/event", calls: 1},
		{name: "read/other tenant's phone", req: post(msgPath, jsonCT, tokenB, read(`,"message_id":"`+readWAMID+`"`)),
			status: 400, code: 100, subcode: 33},
	}
}

func gupshupAnswerCases() []hostileCase {
	ok := textMessage(`"hi"`)
	fault := func(f gupshupsim.Fault) []gupshupsim.Fault {
		f.PathSuffix = v3msg
		return []gupshupsim.Fault{f}
	}
	c := func(name string, f gupshupsim.Fault, status int, code int64) hostileCase {
		return hostileCase{name: "gupshup/" + name, req: post(msgPath, jsonCT, tokenA, ok), faults: fault(f),
			status: status, code: code, upstream: v3msg, calls: 1}
	}
	scrubbed := c("error message naming a secret", gupshupsim.Fault{Status: 400,
		Body: `{"status":"error","message":"Invalid apikey ` + appTokA + ` of partner ` + email + ` at http://10.0.0.7:8080/internal"}`}, 500, 131000)
	scrubbed.fix = 8
	scrubbed.check = func(t *testing.T, h *hostile, a rawAnswer) {
		for _, leak := range []string{appTokA, email, "10.0.0.7"} {
			if strings.Contains(string(a.body), leak) {
				t.Errorf("the answer repeats %q: %s", leak, a.body)
			}
		}
	}
	rateLimited := c("429 without Retry-After", gupshupsim.Fault{Status: 429, Body: `{"status":"error","message":"Too Many Requests"}`}, 400, 130429)
	rateLimited.check = func(t *testing.T, h *hostile, a rawAnswer) {
		if a.header.Get("Retry-After") != "1" {
			t.Errorf("Retry-After %q, want 1", a.header.Get("Retry-After"))
		}
	}
	truncated := c("truncated Graph-shaped error", gupshupsim.Fault{Status: 400, Body: `{"error":{"code":100,"message":"bad"},`}, 400, 100)
	// How the fix maps them is its choice: any Graph error will do.
	truncated.fix, truncated.status, truncated.code = 4, 0, -1
	stringCode := c("Graph-shaped error with a string code", gupshupsim.Fault{Status: 400, Body: `{"error":{"code":"100","message":"bad","fbtrace_id":"x"}}`}, 400, 100)
	stringCode.fix, stringCode.status, stringCode.code = 4, 0, -1
	return []hostileCase{
		c("200 with invalid JSON", gupshupsim.Fault{Status: 200, Body: `{"messageId":`}, 500, 131000),
		c("200 with HTML", gupshupsim.Fault{Status: 200, Body: `<html><body>maintenance</body></html>`}, 500, 131000),
		c("200 with an empty body", gupshupsim.Fault{Status: 200, Body: ``}, 500, 131000),
		c("200 with a JSON array", gupshupsim.Fault{Status: 200, Body: `[1,2,3]`}, 500, 131000),
		c("200 with a 4 MB body", gupshupsim.Fault{Status: 200, Body: `{"x":"` + strings.Repeat("a", 4<<20) + `"}`}, 500, 131000),
		c("400 with a string code", gupshupsim.Fault{Status: 400, Body: `{"status":"error","message":"bad","code":"abc"}`}, 500, 131000),
		c("400 with HTML", gupshupsim.Fault{Status: 400, Body: `<html>bad request</html>`}, 500, 131000),
		c("500 with HTML", gupshupsim.Fault{Status: 500, Body: `<html>oops</html>`}, 500, 131000),
		c("502 with an empty body", gupshupsim.Fault{Status: 502}, 500, 131000),
		c("503 with a 4 MB body", gupshupsim.Fault{Status: 503, Body: strings.Repeat("x", 4<<20)}, 500, 131000),
		rateLimited,
		c("hang past the timeout", gupshupsim.Fault{Delay: time.Minute, Status: 200}, 503, 131000),
		c("connection reset", gupshupsim.Fault{Reset: true}, 503, 131000),
		truncated, stringCode, scrubbed,
	}
}

// gupshupMediaAnswerCases: Gupshup answers media calls with garbage. The
// download cases aim at a media id never fetched, so none is served from
// the cache.
func gupshupMediaAnswerCases(f hostileFixture) []hostileCase {
	dl := func(name string, fl gupshupsim.Fault, status int, code int64) hostileCase {
		fl.PathSuffix = "/media/" + f.mediaA2
		return hostileCase{name: "gupshup media/download, " + name, req: get("/waproxy/media/"+f.mediaA2, tokenA),
			faults: []gupshupsim.Fault{fl}, status: status, code: code, upstream: "/media/" + f.mediaA2, calls: 1}
	}
	ct, form := multipartBodyNoT(field("messaging_product", "whatsapp"), field("type", "image/png"),
		filePart("x.png", "image/png", randomData(512, 2)))
	up := func(name string, fl gupshupsim.Fault, status int, code int64) hostileCase {
		fl.PathSuffix = "/media"
		return hostileCase{name: "gupshup media/upload, " + name, req: post("/v23.0/"+phoneA+"/media", ct, tokenA, form),
			faults: []gupshupsim.Fault{fl}, status: status, code: code, upstream: "/media", calls: 1}
	}
	return []hostileCase{
		dl("500 with HTML", gupshupsim.Fault{Status: 500, Body: "<html>oops</html>"}, 500, 131000),
		dl("404", gupshupsim.Fault{Status: 404, Body: `{"status":"error","message":"Invalid Media Id"}`}, 400, 100),
		transient(dl("hang past the timeout", gupshupsim.Fault{Delay: time.Minute, Status: 200}, 503, 2)),
		transient(dl("connection reset", gupshupsim.Fault{Reset: true}, 503, 2)),
		up("200 without a media id", gupshupsim.Fault{Status: 200, Body: `{"status":"success"}`}, 500, 1),
		up("200 with HTML", gupshupsim.Fault{Status: 200, Body: "<html>ok</html>"}, 500, 1),
		up("503 with a 4 MB body", gupshupsim.Fault{Status: 503, Body: strings.Repeat("x", 4<<20)}, 500, 131000),
	}
}

// transient marks a media fetch that failed for a passing reason (a
// timeout, a reset): Graph's transient error, code 2, after fix 7.
func transient(c hostileCase) hostileCase {
	c.fix = 7
	return c
}

func intakeCases() []hostileCase {
	sh := "X-Waproxy-Secret: "
	cb := func(name, app, secret string, body []byte, status int) hostileCase {
		var hs []string
		if secret != "" {
			hs = append(hs, sh+secret)
		}
		return hostileCase{name: "intake/" + name, req: post(intakePath(app), jsonCT, "", body, hs...), status: status, shape: emptyBody}
	}
	status := []byte(`{"object":"whatsapp_business_account","entry":[]}`)
	uniform := func(method string) hostileCase {
		return hostileCase{name: "intake/" + method + " of an unknown app answers as a known one", fix: 8,
			req: request(method, intakePath("no-such-app"), "", "", nil), status: 200, shape: emptyBody,
			check: func(t *testing.T, h *hostile, a rawAnswer) {
				known := h.do(t, request(method, intakePath(appA), "", "", nil))
				if known.status != a.status || string(known.body) != string(a.body) {
					t.Errorf("known app: HTTP %d %q; unknown app: HTTP %d %q", known.status, known.body, a.status, a.body)
				}
			}}
	}
	return []hostileCase{
		cb("no secret", appA, "", status, 401),
		cb("wrong secret", appA, "guess", status, 401),
		cb("the other app's secret", appA, cbSecretB, status, 401),
		cb("secret with a suffix", appA, cbSecretA+"x", status, 401),
		cb("secret prefix", appA, cbSecretA[:len(cbSecretA)-1], status, 401),
		// The same answer as a wrong secret: the intake does not reveal app ids.
		cb("unknown app", "no-such-app", cbSecretA, status, 401),
		{name: "intake/traversal as the app", req: post(intakePath("..%2F"+appA), jsonCT, "", status, sh+cbSecretA), status: 400, code: 2500},
		cb("malformed JSON", appA, cbSecretA, []byte(`{"object":`), 400),
		// Valid enough to parse, of no known shape: acknowledged, dropped.
		cb("invalid UTF-8", appA, cbSecretA, []byte("{\"object\":\"\xff\"}"), 200),
		cb("100k nested arrays", appA, cbSecretA, []byte(nest("[", "]", 100000, true)), 200),
		cb("valid JSON of no known shape", appA, cbSecretA, []byte(`{"hello":"world"}`), 200),
		cb("body over the limit", appA, cbSecretA, []byte(`{"x":"`+strings.Repeat("a", 3<<20)+`"}`), 413),
		{name: "intake/secret header with a bare CR", req: post(intakePath(appA), jsonCT, "", status, sh+cbSecretA+"\rX: y"),
			status: 400, shape: plainText},
		uniform(http.MethodGet), uniform(http.MethodHead),
	}
}

func adminCases() []hostileCase {
	dl := "/admin/deadletters"
	plain := func(name string, req rawRequest, status int, body string) hostileCase {
		return hostileCase{name: "admin/" + name, req: req, status: status, shape: exactBody, body: body}
	}
	unauth := `{"error":"unauthorized"}`
	badLimit := `{"error":"limit must be a positive integer"}`
	badBody := `{"error":"body must be {\"ids\":[…]} or empty"}`
	return []hostileCase{
		plain("no token", get(dl, ""), 401, unauth),
		plain("a tenant's token", get(dl, tokenA), 401, unauth),
		plain("token prefix", get(dl, adminToken[:len(adminToken)-1]), 401, unauth),
		plain("token with a suffix", get(dl, adminToken+"x"), 401, unauth),
		plain("lower-case scheme", get(dl, "", "Authorization: bearer "+adminToken), 401, unauth),
		plain("token in the query", get(dl+"?access_token="+adminToken, ""), 401, unauth),
		plain("baseline", get(dl, adminToken), 200, `{"data":[]}`),
		plain("negative limit", get(dl+"?limit=-1", adminToken), 400, badLimit),
		plain("limit not a number", get(dl+"?limit=abc", adminToken), 400, badLimit),
		plain("limit over int64", get(dl+"?limit=99999999999999999999999", adminToken), 400, badLimit),
		plain("replay without a token", post(dl+"/replay", jsonCT, "", nil), 401, unauth),
		plain("replay with malformed JSON", post(dl+"/replay", jsonCT, adminToken, []byte(`{"ids":[`)), 400, badBody),
		plain("replay with string ids", post(dl+"/replay", jsonCT, adminToken, []byte(`{"ids":["1"]}`)), 400, badBody),
		plain("replay with negative ids", post(dl+"/replay", jsonCT, adminToken, []byte(`{"ids":[-1]}`)), 400, badBody),
		plain("replay with 100k nested arrays", post(dl+"/replay", jsonCT, adminToken, []byte(`{"ids":`+nest("[", "]", 100000, true)+`}`)), 400, badBody),
		// Refused by its Content-Length before it is read, as every route.
		{name: "admin/replay of 2 MB", req: post(dl+"/replay", jsonCT, adminToken, []byte(`{"ids":[`+strings.Repeat("1,", 1<<20)+`1]}`)), status: 413, code: 100},
		plain("replay of unknown ids", post(dl+"/replay", jsonCT, adminToken, []byte(`{"ids":[424242]}`)), 200, `{"replayed":0}`),
	}
}

func probeCases() []hostileCase {
	return []hostileCase{
		{name: "probe/healthz with a 30 KB query", req: get("/healthz?"+strings.Repeat("q", 30<<10), ""), status: 200,
			shape: exactBody, body: `{"status":"ok"}`},
		// A one-segment POST or DELETE is a Graph object call (a flow
		// update, a media delete): the token is asked for first.
		{name: "probe/POST healthz", req: post("/healthz", jsonCT, "", []byte(`{}`)), status: 401, code: 190},
		{name: "probe/readyz", req: get("/readyz", ""), status: 200, shape: validJSON},
		{name: "probe/DELETE readyz", req: request(http.MethodDelete, "/readyz", "", "", nil), status: 401, code: 190},
		unknownPath("probe/PUT healthz", request(http.MethodPut, "/healthz", jsonCT, "", []byte(`{}`))),
		{name: "probe/metrics with a hostile Accept", req: get("/metrics", "", "Accept: application/vnd.google.protobuf;proto=x;encoding=evil"),
			status: 200, shape: anyBody},
		{name: "probe/metrics shows no secret", req: get("/metrics", ""), status: 200, shape: anyBody,
			check: func(t *testing.T, h *hostile, a rawAnswer) {
				for _, s := range []string{tokenA, tokenB, appTokA, secret, cbSecretA, adminToken, metaSecretA} {
					if strings.Contains(string(a.body), s) {
						t.Errorf("/metrics shows %q", s)
					}
				}
			}},
		{name: "probe/POST metrics", req: post("/metrics", jsonCT, "", nil), status: 401, code: 190},
	}
}

func unknownPath(name string, req rawRequest) hostileCase {
	return hostileCase{name: name, req: req, status: 400, code: 2500}
}

// forge flips the last character of a URL token's MAC.
func forge(tok string) string {
	if tok == "" {
		return "x"
	}
	last := tok[len(tok)-1]
	repl := byte('A')
	if last == 'A' {
		repl = 'B'
	}
	return tok[:len(tok)-1] + string(repl)
}

// multipartBodyNoT is multipartBody for building the table, before any
// test runs: an in-memory body cannot fail to be written.
func multipartBodyNoT(parts ...formPart) (string, []byte) {
	ct, body, _ := buildMultipart(parts...)
	return ct, body
}
