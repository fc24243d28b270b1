package upstream_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"syscall"
	"testing"
	"time"

	"waproxy/upstream"
)

// templateCall is one template method with fixed arguments and the request
// it must send.
type templateCall struct {
	name        string
	do          func(ctx context.Context, c *upstream.Client, appID string) (*upstream.Response, error)
	method      string
	path        string // after /partner/app/{escaped app id}
	ctype, body string
	hasBody     bool
}

// tplForm is a template/msg form as translate.TemplateV2Form writes it.
const tplForm = "channel=whatsapp&source=15550001111&src.name=One&destination=919999999999&sandbox=false" +
	"&template=%7B%22id%22%3A%22007b7c0e-fc8d-4698-a9a8-3938151dd5da%22%2C%22params%22%3A%5B%22monday%22%5D%7D" +
	"&postbackTexts=%5B%7B%22index%22%3A0%2C%22text%22%3A%22Yes%22%7D%5D"

var templateCalls = []templateCall{
	{name: "ListTemplates", do: func(ctx context.Context, c *upstream.Client, appID string) (*upstream.Response, error) {
		return c.ListTemplates(ctx, appID, "sk_tpl")
	}, method: "GET", path: "/templates"},
	{name: "SendTemplateV2", do: func(ctx context.Context, c *upstream.Client, appID string) (*upstream.Response, error) {
		return c.SendTemplateV2(ctx, appID, "sk_tpl", []byte(tplForm))
	}, method: "POST", path: "/template/msg", ctype: "application/x-www-form-urlencoded", body: tplForm, hasBody: true},
}

func TestTemplateRequests(t *testing.T) {
	t.Parallel()
	apps := []struct{ id, escaped string }{
		{"4f1c3a2e-0b7d", "4f1c3a2e-0b7d"},
		{"a b/c?d", "a%20b%2Fc%3Fd"},
	}
	for _, tc := range templateCalls {
		for _, app := range apps {
			t.Run(tc.name+" "+app.id, func(t *testing.T) {
				t.Parallel()
				const reply = `{"status":"success","templates":[]}`
				srv := startServer(t, answer(200, reply, "Retry-After", "3"))
				resp, err := tc.do(context.Background(), newClient(srv.URL+"/gs/", nil), app.id)
				if err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				if resp.Status != 200 || string(resp.Body) != reply || resp.RetryAfter != "3" {
					t.Errorf("response %+v", resp)
				}
				reqs := srv.requests()
				if len(reqs) != 1 {
					t.Fatalf("server saw %d requests", len(reqs))
				}
				r := reqs[0]
				if want := "/gs/partner/app/" + app.escaped + tc.path; r.method != tc.method || r.uri != want {
					t.Errorf("request %s %s, want %s %s", r.method, r.uri, tc.method, want)
				}
				if r.auth != "sk_tpl" || r.accept != "application/json" || r.ctype != tc.ctype {
					t.Errorf("headers auth %q accept %q content-type %q, want content-type %q", r.auth, r.accept, r.ctype, tc.ctype)
				}
				if string(r.body) != tc.body {
					t.Errorf("body %q, want %q", r.body, tc.body)
				}
				if tc.hasBody && (r.contentLength != int64(len(tc.body)) || r.transferEncoded) {
					t.Errorf("Content-Length %d chunked %v", r.contentLength, r.transferEncoded)
				}
				if !tc.hasBody && r.contentLength > 0 {
					t.Errorf("Content-Length %d on a call without body", r.contentLength)
				}
			})
		}
	}
}

func TestSendTemplateV2FormAsGiven(t *testing.T) {
	t.Parallel()
	for _, form := range [][]byte{{}, []byte("a=1"), bytes.Repeat([]byte("template=%7B%22id%22%7D&"), 10000)} {
		t.Run(fmt.Sprint(len(form), " bytes"), func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, answer(202, `{"status":"submitted","messageId":"m"}`))
			sent := bytes.Clone(form)
			if _, err := newClient(srv.URL, nil).SendTemplateV2(context.Background(), "app", "sk", form); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(form, sent) {
				t.Error("SendTemplateV2 modified the caller's form")
			}
			r := srv.requests()[0]
			if !bytes.Equal(r.body, form) || r.contentLength != int64(len(form)) || r.transferEncoded {
				t.Errorf("body %d bytes, Content-Length %d, chunked %v; want %d bytes", len(r.body), r.contentLength, r.transferEncoded, len(form))
			}
		})
	}
}

func TestTemplateAnswersAreResponses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status    int
		body      string
		header    []string
		wantRetry string
	}{
		{200, `{"status":"submitted","messageId":"b1acb-3"}`, nil, ""},
		{400, `{"message":"Invalid Destination","status":"error"}`, nil, ""},
		{400, `{"message":"Invalid App Details","status":"error"}`, nil, ""},
		{400, `{"status":"error","message":"Invalid template id"}`, nil, ""},
		{401, `{"status":"error","message":"Authentication Failed"}`, nil, ""},
		{429, `{"status":"error","message":"Too Many Requests"}`, []string{"Retry-After", "42"}, "42"},
		{500, `{"status":"error","message":"Internal server error. Please try again later and If Issue still persist than contact Gupshup Dev Support"}`, nil, ""},
		{502, ``, nil, ""},
	}
	for _, tc := range templateCalls {
		for _, tt := range tests {
			t.Run(fmt.Sprint(tc.name, " ", tt.status, " ", tt.body), func(t *testing.T) {
				t.Parallel()
				srv := startServer(t, answer(tt.status, tt.body, tt.header...))
				c := newClient(srv.URL, func(c *upstream.Config) { c.DialAttempts = 3 })
				resp, err := tc.do(context.Background(), c, "app")
				if err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				if resp.Status != tt.status || string(resp.Body) != tt.body || resp.RetryAfter != tt.wantRetry {
					t.Errorf("response %d %q retry-after %q", resp.Status, resp.Body, resp.RetryAfter)
				}
				if n := srv.hits(); n != 1 {
					t.Errorf("server saw %d requests, want 1 (answers are not retried)", n)
				}
			})
		}
	}
}

func TestTemplateTransportFailures(t *testing.T) {
	t.Parallel()
	for _, tc := range templateCalls {
		t.Run(tc.name+" refused is not sent and retried", func(t *testing.T) {
			t.Parallel()
			dc := &dialCounter{}
			c := newClient(closedURL(t), func(c *upstream.Config) { c.DialAttempts = 3; c.Transport = dc.transport() })
			_, err := tc.do(context.Background(), c, "app")
			if !errors.Is(err, upstream.ErrNotSent) || !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("err = %v, want ErrNotSent wrapping ECONNREFUSED", err)
			}
			if n := dc.n.Load(); n != 3 {
				t.Errorf("dials %d, want 3", n)
			}
		})
		t.Run(tc.name+" dial failure then success sends once", func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, answer(200, `{}`))
			dc := &dialCounter{fail: func(n int32) error {
				if n == 1 {
					return syscall.ECONNREFUSED
				}
				return nil
			}}
			c := newClient(srv.URL, func(c *upstream.Config) { c.DialAttempts = 2; c.Transport = dc.transport() })
			if resp, err := tc.do(context.Background(), c, "app"); err != nil || resp.Status != 200 {
				t.Fatalf("= %+v, %v", resp, err)
			}
			if n := srv.hits(); n != 1 {
				t.Errorf("server saw %d requests, want 1", n)
			}
		})
		t.Run(tc.name+" hang-up is no answer and not retried", func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, hangUp)
			c := newClient(srv.URL, func(c *upstream.Config) { c.DialAttempts = 3 })
			_, err := tc.do(context.Background(), c, "app")
			if !errors.Is(err, upstream.ErrNoAnswer) || errors.Is(err, upstream.ErrNotSent) {
				t.Errorf("err = %v, want ErrNoAnswer only", err)
			}
			if n := srv.hits(); n != 1 {
				t.Errorf("server saw %d requests, want 1", n)
			}
		})
		t.Run(tc.name+" timeout", func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, stall)
			c := newClient(srv.URL, func(c *upstream.Config) { c.Timeout = 100 * time.Millisecond; c.DialAttempts = 3 })
			_, err := tc.do(context.Background(), c, "app")
			if !errors.Is(err, upstream.ErrNoAnswer) || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v, want ErrNoAnswer wrapping DeadlineExceeded", err)
			}
			if n := srv.hits(); n != 1 {
				t.Errorf("server saw %d requests, want 1", n)
			}
		})
		t.Run(tc.name+" cancelled context sends nothing", func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, answer(200, `{}`))
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_, err := tc.do(ctx, newClient(srv.URL, nil), "app")
			if !errors.Is(err, upstream.ErrNotSent) || !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want ErrNotSent wrapping context.Canceled", err)
			}
			if n := srv.hits(); n != 0 {
				t.Errorf("server saw %d requests, want 0", n)
			}
		})
	}
}

func TestTemplateCallsShareConnections(t *testing.T) {
	t.Parallel()
	srv := startServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			answer(200, `{"status":"success","templates":[]}`)(w, r)
			return
		}
		answer(200, `{"status":"submitted","messageId":"m"}`)(w, r)
	})
	c := newClient(srv.URL, nil)
	for i := range 10 {
		if _, err := templateCalls[i%2].do(context.Background(), c, "app"); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.conns.Load(); n != 1 {
		t.Errorf("10 sequential calls used %d connections, want 1", n)
	}
}
