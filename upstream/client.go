// Package upstream is the client for Gupshup's Partner API: one typed method
// per endpoint, a pooled keep-alive transport, a timeout per call, and
// retries only where they cannot send anything twice.
package upstream

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tidwall/gjson"
)

// Config configures the client.
type Config struct {
	// BaseURL of the partner API, e.g. https://partner.gupshup.io. Required.
	BaseURL string
	// Timeout bounds one call, from dial to the last byte. Default 15s.
	// Media transfers (UploadMedia, DownloadMedia, FetchURL) are the
	// exception: there it bounds only the wait for the answer's headers
	// after the request was sent, and bodies stream under the caller's
	// context.
	Timeout time.Duration
	// DialTimeout bounds connecting. Default 5s.
	DialTimeout time.Duration
	// MaxIdleConnsPerHost idle keep-alive connections kept. Default 256.
	MaxIdleConnsPerHost int
	// MaxConnsPerHost caps connections; 0 means no cap. Default 0.
	MaxConnsPerHost int
	// DialAttempts is how many times a call is tried when connecting fails
	// (nothing was sent). Default 2.
	DialAttempts int
	// MediaHosts are the hosts besides BaseURL's that FetchURL sends the
	// app token to, over https only: exact host names
	// ("filemanager.gupshup.io") or "*.suffix" wildcards for subdomains
	// ("*.gupshup.io"); see ParseMediaHost. Other URLs are fetched without
	// credentials. Empty means BaseURL's host only (the configuration's
	// default names Gupshup's documented media host).
	MediaHosts []string
	// Transport replaces the default pooled transport (tests).
	Transport http.RoundTripper
}

// Client calls Gupshup. It is safe for concurrent use.
type Client struct {
	base    string
	hc      *http.Client
	follow  *http.Client // hc's transport, following redirects (media downloads)
	hosts   *hostPolicy  // who may receive credentials
	timeout time.Duration
	dials   int
}

// ErrNotSent wraps failures where no byte of the request reached Gupshup
// (connection refused, DNS failure, dial timeout): the call can be retried
// and the client told nothing was sent.
var ErrNotSent = errors.New("upstream: request not sent")

// ErrNoAnswer wraps failures after the request was written (timeout,
// connection reset): Gupshup may have acted on it. Never retried.
var ErrNoAnswer = errors.New("upstream: no answer after the request was sent")

// StatusError is a non-2xx answer from an endpoint whose errors the caller
// does not translate itself (login, app token).
type StatusError struct {
	Status int
	Body   []byte
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("upstream: HTTP %d: %s", e.Status, truncate(e.Body, 200))
}

// HTTPStatus reports the status, for callers that only know this method.
func (e *StatusError) HTTPStatus() int { return e.Status }

// Response is a raw answer: status, the headers callers need and the body.
type Response struct {
	Status     int
	RetryAfter string
	Body       []byte
}

// New builds a client with a pooled transport.
func New(cfg Config) *Client {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	if cfg.MaxIdleConnsPerHost <= 0 {
		cfg.MaxIdleConnsPerHost = 256
	}
	if cfg.DialAttempts <= 0 {
		cfg.DialAttempts = 2
	}
	rt := cfg.Transport
	if rt == nil {
		rt = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}).DialContext,
			TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout:   cfg.DialTimeout,
			MaxIdleConns:          cfg.MaxIdleConnsPerHost * 2,
			MaxIdleConnsPerHost:   cfg.MaxIdleConnsPerHost,
			MaxConnsPerHost:       cfg.MaxConnsPerHost,
			IdleConnTimeout:       90 * time.Second,
			ExpectContinueTimeout: time.Second,
			ForceAttemptHTTP2:     true,
		}
	}
	return &Client{
		base:    strings.TrimRight(cfg.BaseURL, "/"),
		hc:      &http.Client{Transport: rt, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		follow:  &http.Client{Transport: rt, CheckRedirect: checkRedirect},
		hosts:   newHostPolicy(cfg.BaseURL, cfg.MediaHosts),
		timeout: cfg.Timeout,
		dials:   cfg.DialAttempts,
	}
}

// SendMessage posts a form body to POST /partner/app/{appID}/v3/message with
// the app token. Any HTTP answer is returned as a Response (the caller maps
// errors); transport failures wrap ErrNotSent or ErrNoAnswer.
func (c *Client) SendMessage(ctx context.Context, appID, appToken string, form []byte) (*Response, error) {
	return c.do(ctx, http.MethodPost, "/partner/app/"+url.PathEscape(appID)+"/v3/message",
		appToken, "application/x-www-form-urlencoded", form)
}

// Login is POST /partner/account/login. The client secret is sent as
// "password" (what the live API accepts) and as "secret" (the newest docs).
func (c *Client) Login(ctx context.Context, email, secret string) (string, error) {
	form := url.Values{"email": {email}, "password": {secret}, "secret": {secret}}
	return c.token(ctx, http.MethodPost, "/partner/account/login", "", "application/x-www-form-urlencoded",
		[]byte(form.Encode()), "token")
}

// AppToken is GET /partner/app/{appID}/token with a partner token; it
// returns token.token.
func (c *Client) AppToken(ctx context.Context, partnerToken, appID string) (string, error) {
	return c.token(ctx, http.MethodGet, "/partner/app/"+url.PathEscape(appID)+"/token", partnerToken, "", nil,
		"token.token")
}

// token performs a call whose answer carries a token at field; non-2xx
// answers become *StatusError.
func (c *Client) token(ctx context.Context, method, path, auth, contentType string, body []byte, field string) (string, error) {
	r, err := c.do(ctx, method, path, auth, contentType, body)
	if err != nil {
		return "", err
	}
	if r.Status/100 != 2 {
		return "", &StatusError{Status: r.Status, Body: r.Body}
	}
	tok := gjson.GetBytes(r.Body, field).String()
	if tok == "" {
		return "", fmt.Errorf("upstream: %s answer has no %s", path, field)
	}
	return tok, nil
}

// do performs one call. Only connection failures before anything was
// written are retried.
func (c *Client) do(ctx context.Context, method, path, token, contentType string, body []byte) (*Response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	return retryDials(ctx, c.dials, func() (*Response, error) {
		return c.once(ctx, method, path, token, contentType, body)
	})
}

// retryDials runs once up to dials times while it fails with ErrNotSent
// (the connection was never made, so nothing reached Gupshup).
func retryDials[T any](ctx context.Context, dials int, once func() (T, error)) (T, error) {
	var zero T
	var lastErr error
	for attempt := 0; attempt < dials; attempt++ {
		v, err := once()
		if err == nil {
			return v, nil
		}
		lastErr = err
		if !errors.Is(err, ErrNotSent) || ctx.Err() != nil {
			break
		}
	}
	return zero, lastErr
}

func (c *Client) once(ctx context.Context, method, path, token, contentType string, body []byte) (*Response, error) {
	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{
		WroteHeaders: func() { wrote.Store(true) },
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), method, c.base+path, rd)
	if err != nil {
		return nil, fmt.Errorf("upstream: %w", err)
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		if !wrote.Load() {
			return nil, fmt.Errorf("%w: %s %s: %w", ErrNotSent, method, path, err)
		}
		return nil, fmt.Errorf("%w: %s %s: %w", ErrNoAnswer, method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: %s %s: reading answer: %w", ErrNoAnswer, method, path, err)
	}
	return &Response{Status: resp.StatusCode, RetryAfter: resp.Header.Get("Retry-After"), Body: b}, nil
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
