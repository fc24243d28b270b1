package integration

// Helpers of the hostile-input suite (hostile_test.go): a proxy listener
// set up as the proxy command sets up its own, a raw HTTP/1.1 client that
// writes exactly the bytes a case gives (so malformed framing, CR/LF in
// header values and conflicting lengths reach the server unaltered), and
// the table runner with its assertions.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"waproxy/gupshupsim"
)

// hostile is one world under attack: the proxy's handler served on a
// listener of its own with the proxy command's http.Server settings
// (cmd/proxy/serve.go: the config's server timeouts and a 64 KiB header
// limit), so protocol-level refusals are the ones the binary makes.
type hostile struct {
	*world
	addr string // host:port of the hostile listener
	base string // http://addr
}

// maxHeaderBytes is cmd/proxy/serve.go's http.Server.MaxHeaderBytes.
const maxHeaderBytes = 64 << 10

// newHostile builds a world and serves its handler on a second listener
// configured like the proxy command's.
func newHostile(t *testing.T, o worldOptions) *hostile {
	t.Helper()
	w := newWorld(t, o)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sc := w.cfg.Server
	srv := &http.Server{
		Handler:           w.app.Handler,
		ReadHeaderTimeout: sc.ReadHeaderTimeout,
		ReadTimeout:       sc.ReadTimeout,
		WriteTimeout:      sc.WriteTimeout,
		IdleTimeout:       sc.IdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          zap.NewStdLog(zap.NewNop()),
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return &hostile{world: w, addr: ln.Addr().String(), base: "http://" + ln.Addr().String()}
}

// rawRequest is a request written to the socket byte for byte.
type rawRequest struct {
	method, target string
	// header lines in order, "Name: value" without CRLF; values may hold
	// anything, CR and LF included.
	header []string
	body   []byte
	// noLength leaves Content-Length out (header or body give the framing).
	noLength bool
	// raw, when set, is written instead of everything above.
	raw []byte
	// wait bounds the wait for the answer (default 15s).
	wait time.Duration
	// halfClose closes the write side after the request, so a body shorter
	// than its Content-Length ends instead of waiting for the timeout.
	halfClose bool
}

// bytes renders the request: request line, Host, the header lines, a
// Content-Length unless noLength, Connection: close, and the body.
func (r rawRequest) bytes(host string) []byte {
	if r.raw != nil {
		return r.raw
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", r.method, r.target, host)
	for _, h := range r.header {
		b.WriteString(h)
		b.WriteString("\r\n")
	}
	if !r.noLength && (r.body != nil || r.method == http.MethodPost || r.method == http.MethodPut) {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(r.body))
	}
	b.WriteString("\r\n")
	b.Write(r.body)
	return b.Bytes()
}

// rawAnswer is what came back: every interim (1xx) status, then the final
// answer. A connection closed or reset before any answer has status 0.
type rawAnswer struct {
	interim []int
	answer
	err error // how reading ended when there is no final answer
}

// do writes r to a fresh connection and reads the answer (interim
// answers first), with a deadline: nothing here waits for a timeout of
// the server's unless a case asks for it.
func (h *hostile) do(t *testing.T, r rawRequest) rawAnswer {
	t.Helper()
	conn, err := net.DialTimeout("tcp", h.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	wait := r.wait
	if wait == 0 {
		wait = 15 * time.Second
	}
	_ = conn.SetDeadline(time.Now().Add(wait))
	// Write in the background: a server that answers early (413, 431)
	// and closes must not block the test on a full socket buffer.
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		_, _ = conn.Write(r.bytes(h.addr))
		if r.halfClose {
			_ = conn.(*net.TCPConn).CloseWrite()
		}
	}()
	defer func() { <-wrote }()
	return readAnswer(bufio.NewReader(conn), r.method)
}

// readAnswer reads interim answers and the final one.
func readAnswer(br *bufio.Reader, method string) rawAnswer {
	var out rawAnswer
	for {
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			out.err = err
			return out
		}
		if resp.StatusCode >= 100 && resp.StatusCode < 200 {
			out.interim = append(out.interim, resp.StatusCode)
			continue
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		out.answer = answer{status: resp.StatusCode, header: resp.Header, body: body}
		out.err = err
		return out
	}
}

// shape is what an answer must look like beyond its status.
type shape int

const (
	// metaError: Graph's error envelope with the case's code (and subcode).
	metaError shape = iota
	// exactBody: the body is the case's wantBody byte for byte.
	exactBody
	// validJSON: any valid JSON (a success shape the check inspects).
	validJSON
	// emptyBody: no body (the intake's answers to Gupshup).
	emptyBody
	// plainText: net/http's own refusal of what is not HTTP (the request
	// never reached the handler, so it cannot be Graph-shaped).
	plainText
	// anyBody: bytes (media downloads, /metrics).
	anyBody
)

// hostileCase is one hostile request and what the proxy must make of it.
type hostileCase struct {
	name string
	req  rawRequest
	// faults are injected into the simulated Gupshup before the request.
	faults []gupshupsim.Fault

	status  int   // exact HTTP status of the final answer; 0: any 4xx or 5xx
	shape   shape // what the body must be
	code    int64 // metaError: error.code; -1: any integer
	subcode int64 // metaError: error.error_subcode (0: none checked)
	body    string
	// interim are the 1xx statuses expected before the answer (nil: none).
	interim []int

	// upstream is the simulator path suffix whose requests are counted
	// ("" counts every request) and calls how many must have arrived.
	upstream string
	calls    int

	// check asserts anything else (logs, the queue, headers).
	check func(t *testing.T, h *hostile, a rawAnswer)

	// fix names a weakness being fixed (see docs/security.md, "Pending
	// fixes"); the case asserts the behaviour after the fix.
	fix int
}

// run runs the table, one subtest per case, in order (cases share the
// world; the simulator's record and faults are reset before each).
func (h *hostile) run(t *testing.T, cases []hostileCase) {
	t.Helper()
	seen := map[string]bool{}
	for _, c := range cases {
		if seen[c.name] {
			t.Fatalf("two cases named %q", c.name)
		}
		seen[c.name] = true
		name := c.name
		if c.fix != 0 {
			name = fmt.Sprintf("fix%d/%s", c.fix, c.name)
		}
		t.Run(name, func(t *testing.T) {
			h.sim.Reset()
			for _, f := range c.faults {
				h.sim.Inject(f)
			}
			before := h.pending(t)
			a := h.do(t, c.req)
			h.assert(t, c, a)
			if c.check != nil {
				c.check(t, h, a)
			}
			if c.shape == metaError || c.shape == plainText {
				// A refused request queues nothing for any webhook.
				if after := h.pending(t); after != before {
					t.Errorf("the webhook queue went from %d to %d events", before, after)
				}
			}
		})
	}
}

// assert checks a case's status, shape and upstream calls.
func (h *hostile) assert(t *testing.T, c hostileCase, a rawAnswer) {
	t.Helper()
	if a.status == 0 {
		t.Fatalf("no answer (interim %v): %v", a.interim, a.err)
	}
	if !equalInts(a.interim, c.interim) {
		t.Errorf("interim answers %v, want %v", a.interim, c.interim)
	}
	if (c.status == 0 && a.status < 400) || (c.status != 0 && a.status != c.status) {
		t.Errorf("HTTP %d, want %d: %.400s", a.status, c.status, a.body)
	}
	switch c.shape {
	case metaError:
		assertEnvelope(t, a.answer, c.code, c.subcode)
	case exactBody:
		if string(a.body) != c.body {
			t.Errorf("body %.400q, want %q", a.body, c.body)
		}
	case validJSON:
		if !json.Valid(a.body) {
			t.Errorf("body is not JSON: %.400q", a.body)
		}
	case emptyBody:
		if len(a.body) != 0 {
			t.Errorf("body %.400q, want none", a.body)
		}
	case plainText:
		if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("Content-Type %q of net/http's refusal", ct)
		}
	}
	got := 0
	for _, r := range h.sim.Requests() {
		if strings.HasSuffix(r.Path, c.upstream) {
			got++
		}
	}
	if got != c.calls {
		what := c.upstream
		if what == "" {
			what = "any path"
		}
		t.Errorf("%d requests reached Gupshup on %s, want %d", got, what, c.calls)
	}
}

// assertEnvelope checks Graph's error envelope: valid JSON whose only
// member is "error", with a string message and type, the integer code
// (and subcode when not 0), a fbtrace_id equal to X-Fb-Trace-Id, and
// Graph's Content-Type.
func assertEnvelope(t *testing.T, a answer, code, subcode int64) {
	t.Helper()
	var env map[string]json.RawMessage
	if err := json.Unmarshal(a.body, &env); err != nil {
		t.Errorf("not JSON (%v): %.400q", err, a.body)
		return
	}
	var e struct {
		Message   *string `json:"message"`
		Type      *string `json:"type"`
		Code      *int64  `json:"code"`
		Subcode   *int64  `json:"error_subcode"`
		FBTraceID *string `json:"fbtrace_id"`
	}
	if len(env) != 1 || env["error"] == nil || json.Unmarshal(env["error"], &e) != nil {
		t.Errorf("not Graph's error envelope: %.400s", a.body)
		return
	}
	switch {
	case e.Message == nil || *e.Message == "" || e.Type == nil || *e.Type == "":
		t.Errorf("error without message or type: %.400s", a.body)
	case e.Code == nil || (code >= 0 && *e.Code != code):
		t.Errorf("error code %s, want %d: %.400s", gjsonRaw(a.body, "error.code"), code, a.body)
	case subcode != 0 && (e.Subcode == nil || *e.Subcode != subcode):
		t.Errorf("error_subcode %s, want %d: %.400s", gjsonRaw(a.body, "error.error_subcode"), subcode, a.body)
	case e.FBTraceID == nil || *e.FBTraceID == "" || *e.FBTraceID != a.header.Get("X-Fb-Trace-Id"):
		t.Errorf("fbtrace_id %s, X-Fb-Trace-Id %q", gjsonRaw(a.body, "error.fbtrace_id"), a.header.Get("X-Fb-Trace-Id"))
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json; charset=UTF-8" {
		t.Errorf("Content-Type %q", ct)
	}
}

func gjsonRaw(body []byte, path string) string {
	a := answer{body: body}
	if r := a.json(path); r.Exists() {
		return r.Raw
	}
	return "(none)"
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// post is a POST of body with a Content-Type and a bearer token (either
// may be "").
func post(target, ctype, token string, body []byte, header ...string) rawRequest {
	return request(http.MethodPost, target, ctype, token, body, header...)
}

// get is a GET with a bearer token ("" for none).
func get(target, token string, header ...string) rawRequest {
	return request(http.MethodGet, target, "", token, nil, header...)
}

func request(method, target, ctype, token string, body []byte, header ...string) rawRequest {
	var hs []string
	if ctype != "" {
		hs = append(hs, "Content-Type: "+ctype)
	}
	if token != "" {
		hs = append(hs, "Authorization: Bearer "+token)
	}
	return rawRequest{method: method, target: target, header: append(hs, header...), body: body}
}

// chunked frames body as one chunk per piece of at most n bytes.
func chunked(body []byte, n int) []byte {
	var b bytes.Buffer
	for len(body) > 0 {
		k := min(n, len(body))
		fmt.Fprintf(&b, "%x\r\n", k)
		b.Write(body[:k])
		b.WriteString("\r\n")
		body = body[k:]
	}
	b.WriteString("0\r\n\r\n")
	return b.Bytes()
}

// nest is depth opening brackets around "0" and, when closed, their
// closing brackets.
func nest(open, closeB string, depth int, closed bool) string {
	s := strings.Repeat(open, depth) + "0"
	if closed {
		s += strings.Repeat(closeB, depth)
	}
	return s
}

// textMessage is a text send to a valid number with the given body
// string (already JSON-encoded, quotes included).
func textMessage(bodyJSON string) []byte {
	return []byte(`{"messaging_product":"whatsapp","to":"15551234567","type":"text","text":{"body":` + bodyJSON + `}}`)
}

// fill returns template with every {{KEY}} replaced.
func fill(t *testing.T, file string, kv ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		b = bytes.ReplaceAll(b, []byte("{{"+kv[i]+"}}"), []byte(kv[i+1]))
	}
	return b
}

// hitLog is a server that records every request it gets (method, path
// and headers) and answers with answerFn (default: 200 and a JPEG-ish
// body).
type hitLog struct {
	mu   sync.Mutex
	hits []*http.Request
}

func (l *hitLog) record(r *http.Request) {
	l.mu.Lock()
	l.hits = append(l.hits, r.Clone(r.Context()))
	l.mu.Unlock()
}

func (l *hitLog) all() []*http.Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*http.Request(nil), l.hits...)
}

// carries reports whether any header value of any recorded request
// contains s.
func (l *hitLog) carries(s string) bool {
	for _, r := range l.all() {
		for _, vs := range r.Header {
			for _, v := range vs {
				if strings.Contains(v, s) {
					return true
				}
			}
		}
		if strings.Contains(r.URL.RawQuery, s) {
			return true
		}
	}
	return false
}

// itoa is strconv.Itoa, short.
func itoa(n int) string { return strconv.Itoa(n) }
