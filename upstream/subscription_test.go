package upstream_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"waproxy/upstream"
)

func TestSubscriptionDecodeVariants(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		obj  string
		want upstream.Subscription
	}{
		{
			name: "documented object",
			obj: `{"active":true,"appId":"bf9e","createdOn":1705574838954,"id":"8166","mode":2047,
				"modes":["SENT","ENQUEUED"],"latencyBucket":"lt_1_s","meta":"{\"headers\":{\"X-A\":\"1\"}}",
				"modifiedOn":1705574838954,"showOnUI":false,"tag":"V3 Subscription","url":"https://cb.example/x","version":3}`,
			want: upstream.Subscription{ID: "8166", URL: "https://cb.example/x", Tag: "V3 Subscription",
				Meta: `{"headers":{"X-A":"1"}}`, Version: 3, Modes: []string{"SENT", "ENQUEUED"}, Active: true},
		},
		{
			name: "numeric id and comma modes",
			obj:  `{"id":8166,"modes":"MESSAGE, SENT,,DELIVERED","version":2,"active":false,"tag":"t","url":"http://u"}`,
			want: upstream.Subscription{ID: "8166", URL: "http://u", Tag: "t", Version: 2,
				Modes: []string{"MESSAGE", "SENT", "DELIVERED"}},
		},
		{
			name: "large numeric id keeps its digits",
			obj:  `{"id":12345678901234567890,"version":3}`,
			want: upstream.Subscription{ID: "12345678901234567890", Version: 3},
		},
		{
			name: "meta object kept as raw JSON",
			obj:  `{"id":"1","meta":{"headers":{"X-Waproxy-Secret":"s"}},"version":"3","active":"true"}`,
			want: upstream.Subscription{ID: "1", Meta: `{"headers":{"X-Waproxy-Secret":"s"}}`, Version: 3, Active: true},
		},
		{
			name: "null meta and modes",
			obj:  `{"id":"2","meta":null,"modes":null,"version":3}`,
			want: upstream.Subscription{ID: "2", Version: 3},
		},
		{
			name: "empty modes string",
			obj:  `{"id":"3","modes":"","version":3}`,
			want: upstream.Subscription{ID: "3", Version: 3},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// The same object through create, update and list.
			srv := startServer(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodGet {
					answer(200, `{"status":"success","subscriptions":[`+tt.obj+`]}`)(w, r)
					return
				}
				answer(200, `{"status":"success","subscription":`+tt.obj+`}`)(w, r)
			})
			c := newClient(srv.URL, nil)
			ctx := context.Background()
			created, err := c.CreateSubscription(ctx, "app", "sk", upstream.SubscriptionSpec{URL: "https://x", Tag: "t"})
			if err != nil {
				t.Fatalf("CreateSubscription: %v", err)
			}
			if !reflect.DeepEqual(*created, tt.want) {
				t.Errorf("create decoded %+v, want %+v", *created, tt.want)
			}
			updated, err := c.UpdateSubscription(ctx, "app", "sk", "1", upstream.SubscriptionSpec{})
			if err != nil {
				t.Fatalf("UpdateSubscription: %v", err)
			}
			if !reflect.DeepEqual(*updated, tt.want) {
				t.Errorf("update decoded %+v, want %+v", *updated, tt.want)
			}
			list, err := c.ListSubscriptions(ctx, "app", "sk")
			if err != nil {
				t.Fatalf("ListSubscriptions: %v", err)
			}
			if len(list) != 1 || !reflect.DeepEqual(list[0], tt.want) {
				t.Errorf("list decoded %+v, want [%+v]", list, tt.want)
			}
		})
	}
}

func TestSubscriptionRequests(t *testing.T) {
	t.Parallel()
	const meta = `{"headers":{"X-Waproxy-Secret":"s3&c=ret"}}`
	tests := []struct {
		name       string
		call       func(c *upstream.Client) error
		wantMethod string
		wantURI    string
		wantForm   url.Values // nil: no body
	}{
		{
			name: "create",
			call: func(c *upstream.Client) error {
				_, err := c.CreateSubscription(context.Background(), "app-1", "sk_tok", upstream.SubscriptionSpec{
					URL: "https://proxy.example/cb?x=1&y=2", Tag: "waproxy v3", Version: 3,
					Modes: []string{"MESSAGE", "SENT", "DELIVERED"}, Meta: meta,
				})
				return err
			},
			wantMethod: http.MethodPost,
			wantURI:    "/partner/app/app-1/subscription",
			wantForm: url.Values{
				"url": {"https://proxy.example/cb?x=1&y=2"}, "tag": {"waproxy v3"}, "version": {"3"},
				"modes": {"MESSAGE,SENT,DELIVERED"}, "meta": {meta}, "showOnUI": {"false"}, "doCheck": {"false"},
			},
		},
		{
			name: "create with check and no meta",
			call: func(c *upstream.Client) error {
				_, err := c.CreateSubscription(context.Background(), "app-1", "sk_tok", upstream.SubscriptionSpec{
					URL: "https://p/cb", Tag: "t", Version: 2, Modes: []string{"ALL"}, DoCheck: true,
				})
				return err
			},
			wantMethod: http.MethodPost,
			wantURI:    "/partner/app/app-1/subscription",
			wantForm: url.Values{
				"url": {"https://p/cb"}, "tag": {"t"}, "version": {"2"}, "modes": {"ALL"},
				"showOnUI": {"false"}, "doCheck": {"true"},
			},
		},
		{
			name: "update",
			call: func(c *upstream.Client) error {
				_, err := c.UpdateSubscription(context.Background(), "app-1", "sk_tok", "8166", upstream.SubscriptionSpec{
					URL: "https://p/cb2", Tag: "t", Version: 3, Modes: []string{"SENT", "READ"}, Meta: meta,
				})
				return err
			},
			wantMethod: http.MethodPut,
			wantURI:    "/partner/app/app-1/subscription/8166",
			wantForm: url.Values{
				"url": {"https://p/cb2"}, "tag": {"t"}, "version": {"3"}, "modes": {"SENT,READ"}, "meta": {meta},
				"showOnUI": {"false"}, "doCheck": {"false"}, "active": {"true"},
			},
		},
		{
			name: "update with escaped ids and only some fields",
			call: func(c *upstream.Client) error {
				_, err := c.UpdateSubscription(context.Background(), "a/b", "sk_tok", "x y", upstream.SubscriptionSpec{URL: "https://p"})
				return err
			},
			wantMethod: http.MethodPut,
			wantURI:    "/partner/app/a%2Fb/subscription/x%20y",
			wantForm:   url.Values{"url": {"https://p"}, "showOnUI": {"false"}, "doCheck": {"false"}, "active": {"true"}},
		},
		{
			name: "list",
			call: func(c *upstream.Client) error {
				_, err := c.ListSubscriptions(context.Background(), "app-1", "sk_tok")
				return err
			},
			wantMethod: http.MethodGet,
			wantURI:    "/partner/app/app-1/subscription",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, answer(200, `{"status":"success","subscription":{"id":"1"},"subscriptions":[]}`))
			if err := tt.call(newClient(srv.URL, nil)); err != nil {
				t.Fatalf("call: %v", err)
			}
			reqs := srv.requests()
			if len(reqs) != 1 {
				t.Fatalf("server saw %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.method != tt.wantMethod || r.uri != tt.wantURI {
				t.Errorf("request = %s %s, want %s %s", r.method, r.uri, tt.wantMethod, tt.wantURI)
			}
			if r.auth != "sk_tok" {
				t.Errorf("Authorization = %q, want the raw app token", r.auth)
			}
			if tt.wantForm == nil {
				if len(r.body) != 0 || r.ctype != "" {
					t.Errorf("GET carried Content-Type %q and body %q", r.ctype, r.body)
				}
				return
			}
			if r.ctype != "application/x-www-form-urlencoded" {
				t.Errorf("Content-Type = %q", r.ctype)
			}
			got, err := url.ParseQuery(string(r.body))
			if err != nil {
				t.Fatalf("body %q: %v", r.body, err)
			}
			if !reflect.DeepEqual(got, tt.wantForm) {
				t.Errorf("form = %v, want %v", got, tt.wantForm)
			}
		})
	}
}

func TestSubscriptionErrors(t *testing.T) {
	t.Parallel()
	type op struct {
		name string
		do   func(c *upstream.Client) error
	}
	ops := []op{
		{"list", func(c *upstream.Client) error {
			_, err := c.ListSubscriptions(context.Background(), "app", "sk")
			return err
		}},
		{"create", func(c *upstream.Client) error {
			_, err := c.CreateSubscription(context.Background(), "app", "sk", upstream.SubscriptionSpec{URL: "https://x", Tag: "t", Version: 3, Modes: []string{"SENT"}})
			return err
		}},
		{"update", func(c *upstream.Client) error {
			_, err := c.UpdateSubscription(context.Background(), "app", "sk", "1", upstream.SubscriptionSpec{Tag: "t"})
			return err
		}},
	}
	tests := []struct {
		name        string
		status      int
		body        string
		wantStatus  int    // expected *StatusError status; 0: none
		wantMessage string // expected StatusError.Message()
		wantBad     bool   // expected ErrBadAnswer
		onlyWrites  bool   // the case applies to create and update only
	}{
		{"invalid url", 400, `{"status":"error","message":"Invalid URL Passed"}`, 400, "Invalid URL Passed", false, false},
		{"duplicate tag", 400, `{"status":"error","message":"Duplicate component tag"}`, 400, "Duplicate component tag", false, false},
		{"unknown subscription", 400, `{"status":"error","message":"Subscription Does Not Exist"}`, 400, "Subscription Does Not Exist", false, false},
		{"auth", 401, `{"status":"error","message":"Authentication Failed"}`, 401, "Authentication Failed", false, false},
		{"not owner", 403, `{"status":"error","message":"Not Subscription Owner"}`, 403, "Not Subscription Owner", false, false},
		{"rate limited", 429, `{"status":"error","message":"Too Many Requests"}`, 429, "Too Many Requests", false, false},
		{"server error without JSON", 500, `Unable To Create Subscription`, 500, "", false, false},
		{"error status in a 200", 200, `{"status":"error","message":"Unable To Create Subscription"}`, 200, "Unable To Create Subscription", false, false},
		{"2xx not JSON", 200, `<html>`, 0, "", true, false},
		{"2xx subscriptions not an array", 200, `{"subscriptions":{"id":"1"}}`, 0, "", true, false},
		{"2xx without subscription", 200, `{"status":"success"}`, 0, "", true, true},
		{"2xx empty body", 200, ``, 0, "", true, true},
	}
	for _, tt := range tests {
		for _, o := range ops {
			if o.name == "list" && tt.onlyWrites {
				continue
			}
			t.Run(o.name+" "+tt.name, func(t *testing.T) {
				t.Parallel()
				srv := startServer(t, answer(tt.status, tt.body))
				c := newClient(srv.URL, func(c *upstream.Config) { c.DialAttempts = 3 })
				err := o.do(c)
				if err == nil {
					t.Fatal("no error")
				}
				var se *upstream.StatusError
				if errors.As(err, &se) != (tt.wantStatus != 0) {
					t.Fatalf("error %v: StatusError expected %v", err, tt.wantStatus != 0)
				}
				if se != nil {
					if se.Status != tt.wantStatus || se.Message() != tt.wantMessage || string(se.Body) != tt.body {
						t.Errorf("StatusError = %d %q (body %q), want %d %q", se.Status, se.Message(), se.Body, tt.wantStatus, tt.wantMessage)
					}
				}
				if errors.Is(err, upstream.ErrBadAnswer) != tt.wantBad {
					t.Errorf("error %v: ErrBadAnswer expected %v", err, tt.wantBad)
				}
				if n := srv.hits(); n != 1 {
					t.Errorf("server saw %d requests, want 1", n)
				}
			})
		}
	}
}

func TestListSubscriptionsAnyTwoHundred(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		body   string
		want   []string // ids
	}{
		{"204 without body", 204, ``, []string{}},
		{"200 empty body", 200, ``, []string{}},
		{"200 whitespace body", 200, " \n", []string{}},
		{"200 without subscriptions", 200, `{"status":"success"}`, []string{}},
		{"200 null subscriptions", 200, `{"status":"success","subscriptions":null}`, []string{}},
		{"200 empty list", 200, `{"status":"success","subscriptions":[]}`, []string{}},
		{"202 two", 202, `{"status":"success","subscriptions":[{"id":"1"},{"id":2}]}`, []string{"1", "2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, answer(tt.status, tt.body))
			subs, err := newClient(srv.URL, nil).ListSubscriptions(context.Background(), "app", "sk")
			if err != nil {
				t.Fatalf("ListSubscriptions: %v", err)
			}
			if subs == nil {
				t.Error("nil list, want an empty non-nil list")
			}
			ids := []string{}
			for _, s := range subs {
				ids = append(ids, s.ID)
			}
			if !reflect.DeepEqual(ids, tt.want) {
				t.Errorf("ids = %v, want %v", ids, tt.want)
			}
		})
	}
}

// A 204 cannot carry a body through Go's server, so the documented "204 with
// a body" is exercised with a raw transport answer.
func TestListSubscriptions204WithBody(t *testing.T) {
	t.Parallel()
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{
			StatusCode: 204, Header: http.Header{"Content-Type": {"application/json"}},
			Body:    ioNopCloser(`{"status":"success","subscriptions":[{"id":7,"modes":"SENT","version":3,"active":true}]}`),
			Request: r,
		}, nil
	})
	c := newClient("http://gupshup.invalid", func(c *upstream.Config) { c.Transport = rt })
	subs, err := c.ListSubscriptions(context.Background(), "app", "sk")
	if err != nil {
		t.Fatalf("ListSubscriptions: %v", err)
	}
	want := []upstream.Subscription{{ID: "7", Modes: []string{"SENT"}, Version: 3, Active: true}}
	if !reflect.DeepEqual(subs, want) {
		t.Errorf("subs = %+v, want %+v", subs, want)
	}
}

func TestSubscriptionTransportFailures(t *testing.T) {
	t.Parallel()
	// Nothing listens: every call is ErrNotSent after DialAttempts tries.
	base := closedURL(t)
	dc := &dialCounter{}
	c := newClient(base, func(c *upstream.Config) { c.DialAttempts = 3; c.Transport = dc.transport() })
	_, err := c.CreateSubscription(context.Background(), "app", "sk", upstream.SubscriptionSpec{URL: "https://x"})
	if !errors.Is(err, upstream.ErrNotSent) {
		t.Errorf("create error %v, want ErrNotSent", err)
	}
	if n := dc.n.Load(); n != 3 {
		t.Errorf("dials = %d, want 3", n)
	}

	// A hang-up after the request was written is ErrNoAnswer and not retried.
	srv := startServer(t, hangUp)
	c = newClient(srv.URL, func(c *upstream.Config) { c.DialAttempts = 3 })
	_, err = c.UpdateSubscription(context.Background(), "app", "sk", "1", upstream.SubscriptionSpec{URL: "https://x"})
	if !errors.Is(err, upstream.ErrNoAnswer) {
		t.Errorf("update error %v, want ErrNoAnswer", err)
	}
	if n := srv.hits(); n != 1 {
		t.Errorf("server saw %d requests, want 1", n)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func ioNopCloser(s string) io.ReadCloser { return io.NopCloser(strings.NewReader(s)) }
