package upstream_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"waproxy/upstream"
)

// seen is one request as the server received it.
type seen struct {
	method, uri     string
	auth, ctype     string
	accept          string
	hasAuth         bool
	contentLength   int64
	body            []byte
	transferEncoded bool
}

// server is an httptest server over a real socket that records requests and
// counts the connections it accepted.
type server struct {
	*httptest.Server
	mu    sync.Mutex
	reqs  []seen
	conns atomic.Int32
}

func (s *server) requests() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seen(nil), s.reqs...)
}

func (s *server) hits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

func startServer(t *testing.T, h http.HandlerFunc) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("server reading body: %v", err)
		}
		_, hasAuth := r.Header["Authorization"]
		s.mu.Lock()
		s.reqs = append(s.reqs, seen{
			method: r.Method, uri: r.RequestURI,
			auth: r.Header.Get("Authorization"), hasAuth: hasAuth,
			ctype: r.Header.Get("Content-Type"), accept: r.Header.Get("Accept"),
			contentLength: r.ContentLength, body: body,
			transferEncoded: len(r.TransferEncoding) > 0,
		})
		s.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		h(w, r)
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func answer(status int, body string, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

func newClient(base string, mod func(*upstream.Config)) *upstream.Client {
	cfg := upstream.Config{BaseURL: base, Timeout: 5 * time.Second, DialTimeout: time.Second}
	if mod != nil {
		mod(&cfg)
	}
	return upstream.New(cfg)
}

// closedURL returns the URL of a loopback port nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return "http://" + addr
}

// dialCounter is a transport whose dials are counted and may be failed.
type dialCounter struct {
	n    atomic.Int32
	fail func(n int32) error // nil or returns nil = really dial
}

func (d *dialCounter) transport() *http.Transport {
	dialer := &net.Dialer{Timeout: time.Second}
	return &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		n := d.n.Add(1)
		if d.fail != nil {
			if err := d.fail(n); err != nil {
				return nil, err
			}
		}
		return dialer.DialContext(ctx, network, addr)
	}}
}

// call is one client method with fixed arguments.
type call struct {
	name string
	do   func(ctx context.Context, c *upstream.Client) error
}

var calls = []call{
	{"SendMessage", func(ctx context.Context, c *upstream.Client) error {
		_, err := c.SendMessage(ctx, "app-1", "sk_tok", []byte("channel=whatsapp&message=hi"))
		return err
	}},
	{"Login", func(ctx context.Context, c *upstream.Client) error {
		_, err := c.Login(ctx, "p@example.com", "secret")
		return err
	}},
	{"AppToken", func(ctx context.Context, c *upstream.Client) error {
		_, err := c.AppToken(ctx, "pt", "app-1")
		return err
	}},
}

func TestSendMessageRequest(t *testing.T) {
	t.Parallel()
	big := bytes.Repeat([]byte("message=%7B%22text%22%3A%22%C3%A9%E2%82%AC%22%7D&"), 20000)
	tests := []struct {
		name    string
		base    func(srv string) string
		appID   string
		token   string
		form    []byte
		wantURI string
	}{
		{
			name:  "plain app id",
			base:  func(s string) string { return s },
			appID: "4f1c3a2e-0b7d", token: "sk_0123abcd",
			form:    []byte("channel=whatsapp&source=15550001111&destination=919999999999&message=%7B%22type%22%3A%22text%22%7D&src.name=App"),
			wantURI: "/partner/app/4f1c3a2e-0b7d/v3/message",
		},
		{
			name:  "app id with reserved characters is escaped",
			base:  func(s string) string { return s },
			appID: "a b/c?d", token: "sk_x",
			form:    []byte("a=1"),
			wantURI: "/partner/app/a%20b%2Fc%3Fd/v3/message",
		},
		{
			name:  "base url with trailing slash",
			base:  func(s string) string { return s + "/" },
			appID: "app", token: "sk_x",
			form:    []byte("a=1"),
			wantURI: "/partner/app/app/v3/message",
		},
		{
			name:  "base url with a path prefix",
			base:  func(s string) string { return s + "/gs/" },
			appID: "app", token: "sk_x",
			form:    []byte("a=1"),
			wantURI: "/gs/partner/app/app/v3/message",
		},
		{
			name:  "token that looks like a bearer token is sent as is",
			base:  func(s string) string { return s },
			appID: "app", token: "Bearer sk_raw",
			form:    []byte("a=1"),
			wantURI: "/partner/app/app/v3/message",
		},
		{
			name:  "large body is sent byte for byte",
			base:  func(s string) string { return s },
			appID: "app", token: "sk_x",
			form:    big,
			wantURI: "/partner/app/app/v3/message",
		},
		{
			name:  "empty form",
			base:  func(s string) string { return s },
			appID: "app", token: "sk_x",
			form:    []byte{},
			wantURI: "/partner/app/app/v3/message",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			const reply = `{"status":"submitted","messageId":"ee4a68a0-1203-4c85-8dc3-49d0b3226a35"}`
			srv := startServer(t, answer(http.StatusAccepted, reply))
			c := newClient(tt.base(srv.URL), nil)
			sent := bytes.Clone(tt.form)
			resp, err := c.SendMessage(context.Background(), tt.appID, tt.token, tt.form)
			if err != nil {
				t.Fatalf("SendMessage: %v", err)
			}
			if resp.Status != http.StatusAccepted || string(resp.Body) != reply || resp.RetryAfter != "" {
				t.Errorf("response = %d %q retry-after %q", resp.Status, resp.Body, resp.RetryAfter)
			}
			if !bytes.Equal(tt.form, sent) {
				t.Error("SendMessage modified the caller's form")
			}
			reqs := srv.requests()
			if len(reqs) != 1 {
				t.Fatalf("server saw %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.method != http.MethodPost || r.uri != tt.wantURI {
				t.Errorf("request = %s %s, want POST %s", r.method, r.uri, tt.wantURI)
			}
			if r.auth != tt.token {
				t.Errorf("Authorization = %q, want the raw token %q", r.auth, tt.token)
			}
			if r.ctype != "application/x-www-form-urlencoded" {
				t.Errorf("Content-Type = %q", r.ctype)
			}
			if r.accept != "application/json" {
				t.Errorf("Accept = %q, want application/json", r.accept)
			}
			if !bytes.Equal(r.body, tt.form) {
				t.Errorf("body differs: got %d bytes, sent %d", len(r.body), len(tt.form))
			}
			if r.contentLength != int64(len(tt.form)) || r.transferEncoded {
				t.Errorf("Content-Length = %d (chunked %v), want %d", r.contentLength, r.transferEncoded, len(tt.form))
			}
		})
	}
}

func TestSendMessageAnswersAreResponses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		status     int
		body       string
		header     []string
		wantRetry  string
		wantStatus int
	}{
		{"success", 202, `{"status":"submitted","messageId":"m1"}`, nil, "", 202},
		{"bad request", 400, `{"status":"error","message":"Invalid destination"}`, nil, "", 400},
		{"unauthorized", 401, `{"status":"error","message":"Authentication Failed"}`, nil, "", 401},
		{"rate limited with retry-after seconds", 429, `{"status":"error","message":"Too Many Requests"}`, []string{"Retry-After", "7"}, "7", 429},
		{"unavailable with retry-after date", 503, `busy`, []string{"Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"}, "Wed, 21 Oct 2015 07:28:00 GMT", 503},
		{"server error", 500, `{"status":"error","message":"Internal Server Error"}`, nil, "", 500},
		{"bad gateway with empty body", 502, ``, nil, "", 502},
		{"redirect is not followed", 302, `moved`, []string{"Location", "/elsewhere"}, "", 302},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, answer(tt.status, tt.body, tt.header...))
			c := newClient(srv.URL, func(c *upstream.Config) { c.DialAttempts = 3 })
			resp, err := c.SendMessage(context.Background(), "app", "sk", []byte("a=1"))
			if err != nil {
				t.Fatalf("SendMessage: %v", err)
			}
			if resp.Status != tt.wantStatus || string(resp.Body) != tt.body || resp.RetryAfter != tt.wantRetry {
				t.Errorf("response = %d %q retry-after %q; want %d %q %q",
					resp.Status, resp.Body, resp.RetryAfter, tt.wantStatus, tt.body, tt.wantRetry)
			}
			if n := srv.hits(); n != 1 {
				t.Errorf("server saw %d requests, want exactly 1", n)
			}
		})
	}
}

func TestLogin(t *testing.T) {
	t.Parallel()
	const email, secret = "partner+1@example.com", "p&ss=w rd/+%"
	tests := []struct {
		name       string
		status     int
		body       string
		wantToken  string
		wantStatus int // StatusError status; 0 = none
		wantErr    bool
	}{
		{"token", 200, `{"token":"eyJhbGciOi.partner"}`, "eyJhbGciOi.partner", 0, false},
		{"token with other fields", 200, `{"status":"success","token":"pt-2","expiresIn":86400}`, "pt-2", 0, false},
		{"wrong credentials", 401, `{"status":"error","message":"Invalid credentials"}`, "", 401, true},
		{"server error", 500, `oops`, "", 500, true},
		{"answer without token", 200, `{"status":"success"}`, "", 0, true},
		{"answer with empty token", 200, `{"token":""}`, "", 0, true},
		{"answer not json", 200, `<html>login</html>`, "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, answer(tt.status, tt.body))
			c := newClient(srv.URL, nil)
			tok, err := c.Login(context.Background(), email, secret)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Login = %q, %v; want error %v", tok, err, tt.wantErr)
			}
			if tok != tt.wantToken {
				t.Errorf("token = %q, want %q", tok, tt.wantToken)
			}
			var se *upstream.StatusError
			isStatus := errors.As(err, &se)
			if isStatus != (tt.wantStatus != 0) {
				t.Errorf("errors.As(%v, *StatusError) = %v, want %v", err, isStatus, tt.wantStatus != 0)
			}
			if isStatus {
				if se.Status != tt.wantStatus || se.HTTPStatus() != tt.wantStatus || string(se.Body) != tt.body {
					t.Errorf("StatusError = %d/%d %q, want %d %q", se.Status, se.HTTPStatus(), se.Body, tt.wantStatus, tt.body)
				}
			}
			if errors.Is(err, upstream.ErrNotSent) || errors.Is(err, upstream.ErrNoAnswer) {
				t.Errorf("answered call reported as transport failure: %v", err)
			}

			reqs := srv.requests()
			if len(reqs) != 1 {
				t.Fatalf("server saw %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.method != http.MethodPost || r.uri != "/partner/account/login" {
				t.Errorf("request = %s %s, want POST /partner/account/login", r.method, r.uri)
			}
			if r.hasAuth {
				t.Errorf("login sent Authorization %q", r.auth)
			}
			if r.ctype != "application/x-www-form-urlencoded" {
				t.Errorf("Content-Type = %q", r.ctype)
			}
			form, err := url.ParseQuery(string(r.body))
			if err != nil {
				t.Fatalf("login body %q: %v", r.body, err)
			}
			want := url.Values{"email": {email}, "password": {secret}, "secret": {secret}}
			if len(form) != len(want) || form.Get("email") != email || form.Get("password") != secret || form.Get("secret") != secret {
				t.Errorf("login form = %v, want %v", form, want)
			}
		})
	}
}

func TestAppToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		appID      string
		status     int
		body       string
		wantURI    string
		wantToken  string
		wantStatus int
		wantErr    bool
	}{
		{"token", "app-1", 200, `{"status":"success","token":{"token":"sk_abc","authoriserId":"x"}}`, "/partner/app/app-1/token", "sk_abc", 0, false},
		{"escaped app id", "a/b c", 200, `{"token":{"token":"sk_2"}}`, "/partner/app/a%2Fb%20c/token", "sk_2", 0, false},
		{"token not nested", "app-1", 200, `{"token":"sk_flat"}`, "/partner/app/app-1/token", "", 0, true},
		{"no token field", "app-1", 200, `{"status":"success"}`, "/partner/app/app-1/token", "", 0, true},
		{"empty nested token", "app-1", 200, `{"token":{"token":""}}`, "/partner/app/app-1/token", "", 0, true},
		{"partner token rejected", "app-1", 401, `{"message":"Unauthorized"}`, "/partner/app/app-1/token", "", 401, true},
		{"app of another partner", "app-1", 403, `{"message":"Forbidden"}`, "/partner/app/app-1/token", "", 403, true},
		{"server error", "app-1", 503, `down`, "/partner/app/app-1/token", "", 503, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, answer(tt.status, tt.body))
			c := newClient(srv.URL, nil)
			tok, err := c.AppToken(context.Background(), "partner-jwt.abc", tt.appID)
			if (err != nil) != tt.wantErr {
				t.Fatalf("AppToken = %q, %v; want error %v", tok, err, tt.wantErr)
			}
			if tok != tt.wantToken {
				t.Errorf("token = %q, want %q", tok, tt.wantToken)
			}
			var hs interface{ HTTPStatus() int }
			if errors.As(err, &hs) != (tt.wantStatus != 0) || (tt.wantStatus != 0 && hs.HTTPStatus() != tt.wantStatus) {
				t.Errorf("error %v: want HTTP status %d", err, tt.wantStatus)
			}
			reqs := srv.requests()
			if len(reqs) != 1 {
				t.Fatalf("server saw %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.method != http.MethodGet || r.uri != tt.wantURI {
				t.Errorf("request = %s %s, want GET %s", r.method, r.uri, tt.wantURI)
			}
			if r.auth != "partner-jwt.abc" {
				t.Errorf("Authorization = %q, want the raw partner token", r.auth)
			}
			if r.ctype != "" || len(r.body) != 0 {
				t.Errorf("GET carried Content-Type %q and %d body bytes", r.ctype, len(r.body))
			}
		})
	}
}

func TestStatusErrorMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  *upstream.StatusError
		want string
	}{
		{"short body", &upstream.StatusError{Status: 401, Body: []byte(`{"message":"no"}`)}, `upstream: HTTP 401: {"message":"no"}`},
		{"empty body", &upstream.StatusError{Status: 500}, "upstream: HTTP 500: "},
		{"body of 200 bytes kept", &upstream.StatusError{Status: 502, Body: bytes.Repeat([]byte("a"), 200)}, "upstream: HTTP 502: " + strings.Repeat("a", 200)},
		{"long body truncated", &upstream.StatusError{Status: 502, Body: bytes.Repeat([]byte("b"), 201)}, "upstream: HTTP 502: " + strings.Repeat("b", 200) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
			if tt.err.HTTPStatus() != tt.err.Status {
				t.Errorf("HTTPStatus() = %d, want %d", tt.err.HTTPStatus(), tt.err.Status)
			}
		})
	}
}

func TestConnectionRefusedIsNotSentAndRetried(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		call      call
		attempts  int
		wantDials int32
	}{
		{"SendMessage default attempts", calls[0], 0, 2},
		{"SendMessage one attempt", calls[0], 1, 1},
		{"SendMessage three attempts", calls[0], 3, 3},
		{"Login default attempts", calls[1], 0, 2},
		{"AppToken default attempts", calls[2], 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dc := &dialCounter{}
			c := newClient(closedURL(t), func(c *upstream.Config) {
				c.DialAttempts = tt.attempts
				c.Transport = dc.transport()
			})
			err := tt.call.do(context.Background(), c)
			if !errors.Is(err, upstream.ErrNotSent) || errors.Is(err, upstream.ErrNoAnswer) {
				t.Fatalf("err = %v, want ErrNotSent only", err)
			}
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("err = %v, want it to wrap ECONNREFUSED", err)
			}
			if n := dc.n.Load(); n != tt.wantDials {
				t.Errorf("dialled %d times, want %d", n, tt.wantDials)
			}
		})
	}
}

func TestConnectionRefusedWithDefaultTransport(t *testing.T) {
	t.Parallel()
	for _, cl := range calls {
		t.Run(cl.name, func(t *testing.T) {
			t.Parallel()
			c := newClient(closedURL(t), nil)
			start := time.Now()
			err := cl.do(context.Background(), c)
			if !errors.Is(err, upstream.ErrNotSent) || !errors.Is(err, syscall.ECONNREFUSED) {
				t.Fatalf("err = %v, want ErrNotSent wrapping ECONNREFUSED", err)
			}
			if d := time.Since(start); d > prompt {
				t.Errorf("refused connection took %v", d)
			}
		})
	}
}

func TestDialFailureThenSuccessSendsOnce(t *testing.T) {
	t.Parallel()
	srv := startServer(t, answer(202, `{"status":"submitted"}`))
	dc := &dialCounter{fail: func(n int32) error {
		if n == 1 {
			return &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
		}
		return nil
	}}
	c := newClient(srv.URL, func(c *upstream.Config) { c.Transport = dc.transport() })
	resp, err := c.SendMessage(context.Background(), "app", "sk", []byte("a=1"))
	if err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	if resp.Status != 202 {
		t.Errorf("status = %d, want 202", resp.Status)
	}
	if n := dc.n.Load(); n != 2 {
		t.Errorf("dials = %d, want 2", n)
	}
	if reqs := srv.requests(); len(reqs) != 1 || string(reqs[0].body) != "a=1" {
		t.Errorf("server saw %d requests (%v), want exactly one with the full body", len(reqs), reqs)
	}
}

// stall holds the request until the client goes away (or a minute passes).
func stall(w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(time.Minute):
	}
}

// prompt bounds how long a call that should end at once (or at its
// timeout) may take on a loaded machine. The failures it catches take a
// minute (stall) or a Timeout of 5s (newClient's) or more.
const prompt = 3 * time.Second

func TestTimeoutIsNoAnswer(t *testing.T) {
	t.Parallel()
	const timeout = 100 * time.Millisecond
	type tcase struct {
		name    string
		handler http.HandlerFunc
		call    call
	}
	var tests []tcase
	for _, cl := range calls {
		tests = append(tests, tcase{cl.name + " no answer", stall, cl})
	}
	tests = append(tests, tcase{"SendMessage headers then stalled body", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(200)
		_, _ = io.WriteString(w, `{"status":`)
		_ = http.NewResponseController(w).Flush()
		stall(w, r)
	}, calls[0]})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, tt.handler)
			c := newClient(srv.URL, func(c *upstream.Config) {
				c.Timeout = timeout
				c.DialAttempts = 3
			})
			start := time.Now()
			err := tt.call.do(context.Background(), c)
			elapsed := time.Since(start)
			if !errors.Is(err, upstream.ErrNoAnswer) || errors.Is(err, upstream.ErrNotSent) {
				t.Fatalf("err = %v, want ErrNoAnswer only", err)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v, want it to wrap context.DeadlineExceeded", err)
			}
			if elapsed < timeout || elapsed > timeout+prompt {
				t.Errorf("returned after %v, want about %v", elapsed, timeout)
			}
			if n := srv.hits(); n != 1 {
				t.Errorf("server saw %d requests, want 1", n)
			}
		})
	}
}

// hangUp reads the request and closes the connection without answering.
func hangUp(w http.ResponseWriter, r *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	_ = conn.Close()
}

func TestConnectionClosedAfterRequestIsNoAnswerAndNotRetried(t *testing.T) {
	t.Parallel()
	type tcase struct {
		name    string
		handler http.HandlerFunc
		call    call
	}
	var tests []tcase
	for _, cl := range calls {
		tests = append(tests, tcase{cl.name + " hang-up", hangUp, cl})
	}
	tests = append(tests, tcase{"SendMessage truncated answer", func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"status\":")
		_ = buf.Flush()
		_ = conn.Close()
	}, calls[0]})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, tt.handler)
			c := newClient(srv.URL, func(c *upstream.Config) { c.DialAttempts = 3 })
			err := tt.call.do(context.Background(), c)
			if !errors.Is(err, upstream.ErrNoAnswer) || errors.Is(err, upstream.ErrNotSent) {
				t.Fatalf("err = %v, want ErrNoAnswer only", err)
			}
			if n := srv.hits(); n != 1 {
				t.Errorf("server saw %d requests, want exactly 1", n)
			}
		})
	}
}

func TestHangUpOnReusedConnectionIsNotRetried(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv := startServer(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			answer(202, `{"status":"submitted"}`)(w, r)
			return
		}
		hangUp(w, r)
	})
	c := newClient(srv.URL, func(c *upstream.Config) { c.DialAttempts = 3 })
	ctx := context.Background()
	if _, err := c.SendMessage(ctx, "app", "sk", []byte("first")); err != nil {
		t.Fatalf("first SendMessage: %v", err)
	}
	_, err := c.SendMessage(ctx, "app", "sk", []byte("second"))
	if !errors.Is(err, upstream.ErrNoAnswer) {
		t.Fatalf("err = %v, want ErrNoAnswer", err)
	}
	reqs := srv.requests()
	if len(reqs) != 2 || string(reqs[1].body) != "second" {
		t.Errorf("server saw %d requests, want 2 (the second message exactly once)", len(reqs))
	}
	if c := srv.conns.Load(); c != 1 {
		t.Errorf("connections = %d, want the second call on the first call's connection", c)
	}
}

func TestErrorAnswersAreNotRetried(t *testing.T) {
	t.Parallel()
	for _, status := range []int{500, 502, 503, 504} {
		for _, cl := range calls {
			t.Run(cl.name+" "+http.StatusText(status), func(t *testing.T) {
				t.Parallel()
				srv := startServer(t, answer(status, `{"status":"error"}`))
				c := newClient(srv.URL, func(c *upstream.Config) { c.DialAttempts = 5 })
				err := cl.do(context.Background(), c)
				if errors.Is(err, upstream.ErrNotSent) || errors.Is(err, upstream.ErrNoAnswer) {
					t.Errorf("answered call reported as transport failure: %v", err)
				}
				if n := srv.hits(); n != 1 {
					t.Errorf("server saw %d requests, want exactly 1", n)
				}
			})
		}
	}
}

func TestContextCancellation(t *testing.T) {
	t.Parallel()

	t.Run("already cancelled sends nothing", func(t *testing.T) {
		t.Parallel()
		srv := startServer(t, answer(202, `{}`))
		c := newClient(srv.URL, func(c *upstream.Config) { c.DialAttempts = 3 })
		for _, cl := range calls {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			err := cl.do(ctx, c)
			if !errors.Is(err, context.Canceled) || !errors.Is(err, upstream.ErrNotSent) {
				t.Errorf("%s: err = %v, want ErrNotSent wrapping context.Canceled", cl.name, err)
			}
		}
		if n := srv.hits(); n != 0 {
			t.Errorf("server saw %d requests, want 0", n)
		}
	})

	t.Run("cancelled while waiting for the answer", func(t *testing.T) {
		t.Parallel()
		arrived := make(chan struct{}, 1)
		srv := startServer(t, func(w http.ResponseWriter, r *http.Request) {
			arrived <- struct{}{}
			stall(w, r)
		})
		c := newClient(srv.URL, func(c *upstream.Config) { c.Timeout = 10 * time.Second })
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			<-arrived
			cancel()
		}()
		start := time.Now()
		_, err := c.SendMessage(ctx, "app", "sk", []byte("a=1"))
		if !errors.Is(err, context.Canceled) || !errors.Is(err, upstream.ErrNoAnswer) {
			t.Errorf("err = %v, want ErrNoAnswer wrapping context.Canceled", err)
		}
		if d := time.Since(start); d > prompt {
			t.Errorf("returned %v after the call, want promptly after cancel", d)
		}
		if n := srv.hits(); n != 1 {
			t.Errorf("server saw %d requests, want 1", n)
		}
	})

	t.Run("caller deadline shorter than the timeout", func(t *testing.T) {
		t.Parallel()
		srv := startServer(t, stall)
		c := newClient(srv.URL, func(c *upstream.Config) { c.Timeout = 10 * time.Second })
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := c.SendMessage(ctx, "app", "sk", []byte("a=1"))
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, upstream.ErrNoAnswer) {
			t.Errorf("err = %v, want ErrNoAnswer wrapping context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d < 100*time.Millisecond || d > prompt {
			t.Errorf("returned after %v, want about 100ms", d)
		}
	})
}

func TestKeepAliveReusesOneConnection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		handler http.HandlerFunc
		calls   []call
	}{
		{"successful messages", answer(202, `{"status":"submitted","messageId":"m"}`), calls[:1]},
		{"error answers", answer(400, `{"status":"error","message":"Invalid"}`), calls[:1]},
		{"every endpoint", func(w http.ResponseWriter, r *http.Request) {
			switch {
			case strings.HasSuffix(r.URL.Path, "/login"):
				answer(200, `{"token":"pt"}`)(w, r)
			case strings.HasSuffix(r.URL.Path, "/token"):
				answer(200, `{"token":{"token":"sk"}}`)(w, r)
			default:
				answer(202, `{"status":"submitted"}`)(w, r)
			}
		}, calls},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, tt.handler)
			c := newClient(srv.URL, nil)
			ctx := context.Background()
			for i := range 20 {
				cl := tt.calls[i%len(tt.calls)]
				if err := cl.do(ctx, c); err != nil && !errors.As(err, new(*upstream.StatusError)) {
					t.Fatalf("call %d (%s): %v", i, cl.name, err)
				}
			}
			if n := srv.hits(); n != 20 {
				t.Errorf("server saw %d requests, want 20", n)
			}
			if n := srv.conns.Load(); n != 1 {
				t.Errorf("20 sequential calls used %d connections, want 1", n)
			}
		})
	}
}

func TestConcurrentUseIsSafe(t *testing.T) {
	t.Parallel()
	srv := startServer(t, func(w http.ResponseWriter, r *http.Request) {
		answer(202, `{"echo":"`+r.Header.Get("Authorization")+`"}`)(w, r)
	})
	c := newClient(srv.URL, nil)
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok := "sk_" + strings.Repeat("x", i)
			resp, err := c.SendMessage(context.Background(), "app", tok, []byte("a=1"))
			if err != nil {
				errs <- err.Error()
				return
			}
			if want := `{"echo":"` + tok + `"}`; string(resp.Body) != want {
				errs <- "got " + string(resp.Body) + " want " + want
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if h := srv.hits(); h != n {
		t.Errorf("server saw %d requests, want %d", h, n)
	}
}

func BenchmarkSendMessage(b *testing.B) {
	srv := httptest.NewServer(answer(202, `{"status":"submitted","messageId":"ee4a68a0-1203-4c85-8dc3-49d0b3226a35"}`))
	defer srv.Close()
	c := newClient(srv.URL, nil)
	form := []byte("channel=whatsapp&source=15550001111&destination=919999999999&message=%7B%22type%22%3A%22text%22%2C%22text%22%3A%22hello%22%7D&src.name=App")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		resp, err := c.SendMessage(ctx, "app-1", "sk_bench", form)
		if err != nil {
			b.Fatal(err)
		}
		if resp.Status != 202 {
			b.Fatalf("status %d", resp.Status)
		}
	}
}
