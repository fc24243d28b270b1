package gupshupsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Callback defaults.
const (
	DefaultCallbackInterval   = 20 * time.Millisecond
	DefaultCallbackTimeout    = 10 * time.Second
	DefaultCallbackRetryDelay = 10 * time.Second
	DefaultCallbackRetries    = 3
)

// CallbackUserAgent is the User-Agent of every callback request.
const CallbackUserAgent = "Gupshup-Callback-Simulator"

// DefaultStatusSequence is the statuses emitted after a send unless
// Options.StatusSequence says otherwise.
var DefaultStatusSequence = []string{"enqueued", "sent", "delivered"}

// statusNames are the statuses a StatusSequence may name.
var statusNames = []string{"enqueued", "sent", "delivered", "read", "failed"}

// Callback is one callback delivery attempt.
type Callback struct {
	SubscriptionID string
	URL            string
	Version        int       // the subscription's version when the attempt was made
	Body           []byte    // exactly the bytes posted
	Status         int       // HTTP status answered; 0 when the attempt got no answer
	Err            string    // transport error (timeout, refused…); "" when answered
	At             time.Time // when the attempt started
}

// OK reports whether the attempt was answered 2xx.
func (c Callback) OK() bool { return c.Err == "" && c.Status/100 == 2 }

type callbackConfig struct {
	disabled   bool
	sequence   []string
	interval   time.Duration
	timeout    time.Duration
	retryDelay time.Duration
	retries    int
	client     *http.Client
	own        *http.Transport // the private transport, closed by Close
	mediaBase  string
	onCallback func(Callback)
}

func newCallbackConfig(opts Options) callbackConfig {
	c := callbackConfig{
		disabled:   opts.DisableCallbacks,
		sequence:   slices.Clone(DefaultStatusSequence),
		interval:   opts.CallbackInterval,
		timeout:    opts.CallbackTimeout,
		retryDelay: opts.CallbackRetryDelay,
		retries:    opts.CallbackRetries,
		mediaBase:  strings.TrimRight(opts.MediaBaseURL, "/"),
		onCallback: opts.OnCallback,
	}
	if len(opts.StatusSequence) > 0 {
		c.sequence = make([]string, len(opts.StatusSequence))
		for i, st := range opts.StatusSequence {
			st = strings.ToLower(strings.TrimSpace(st))
			if !slices.Contains(statusNames, st) {
				panic(fmt.Sprintf("gupshupsim: unknown status %q in StatusSequence (known: %s)", st, strings.Join(statusNames, ", ")))
			}
			c.sequence[i] = st
		}
	}
	if c.interval <= 0 {
		c.interval = DefaultCallbackInterval
	}
	if c.timeout <= 0 {
		c.timeout = DefaultCallbackTimeout
	}
	if c.retryDelay <= 0 {
		c.retryDelay = DefaultCallbackRetryDelay
	}
	switch {
	case c.retries == 0:
		c.retries = DefaultCallbackRetries
	case c.retries < 0:
		c.retries = 0
	}
	if c.mediaBase == "" {
		c.mediaBase = "https://filemanager.gupshup.io"
	}
	rt := opts.CallbackTransport
	if rt == nil {
		c.own = &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     30 * time.Second,
		}
		rt = c.own
	}
	c.client = &http.Client{
		Transport:     rt,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c
}

// Callbacks returns a copy of every callback attempt recorded since the last
// Reset, in the order the attempts finished.
func (s *Sim) Callbacks() []Callback {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Callback, len(s.records))
	for i, c := range s.records {
		c.Body = bytes.Clone(c.Body)
		out[i] = c
	}
	return out
}

// Close cancels pending callbacks (waits and retries included) and waits
// for their goroutines to end. Later events are not delivered. It also
// removes uploaded media and their temporary directory; later uploads
// answer 500. Close may be called more than once; the Sim keeps serving
// HTTP requests.
func (s *Sim) Close() {
	s.mu.Lock()
	s.closed = true
	s.cbCancel()
	s.mu.Unlock()
	s.cbWG.Wait()
	if s.cb.own != nil {
		s.cb.own.CloseIdleConnections()
	}
	s.closeMedia()
}

// EmitRaw delivers body, unchanged, to every active subscription of the app
// with that version, whatever its modes (with the usual retries). Unknown
// apps and versions without subscriptions deliver nothing.
func (s *Sim) EmitRaw(appID string, version int, body []byte) {
	body = bytes.Clone(body)
	s.spawn(appID, func(sub *Subscription) bool { return sub.Version == version },
		func(ctx context.Context, subID string) {
			s.deliver(ctx, subID, func(sub *Subscription) []byte {
				if sub.Version != version {
					return nil
				}
				return body
			})
		})
}

// spawn starts run on a goroutine for each active subscription of the app
// that match accepts, unless callbacks are off or the Sim is closed.
func (s *Sim) spawn(appID string, match func(*Subscription) bool, run func(ctx context.Context, subID string)) {
	if s.cb.disabled {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	ctx := s.cbCtx
	for _, sub := range s.subs {
		if sub.AppID != appID || !sub.Active || !match(sub) {
			continue
		}
		id := sub.ID
		if s.cbActive == 0 {
			s.cbIdle = make(chan struct{})
		}
		s.cbActive++
		s.cbWG.Go(func() {
			defer s.callbackDone()
			run(ctx, id)
		})
	}
}

// callbackDone records the end of a callback goroutine.
func (s *Sim) callbackDone() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cbActive--
	if s.cbActive == 0 {
		close(s.cbIdle)
	}
}

// WaitCallbacks blocks until every callback started so far has ended
// (delivered, dropped, given up after its retries, or canceled by Reset or
// Close), or ctx ends. After it returns nil, no callback arrives that an
// event before the call caused: tests assert "nothing more was delivered"
// without sleeping.
func (s *Sim) WaitCallbacks(ctx context.Context) error {
	s.mu.Lock()
	idle := s.cbIdle
	s.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("gupshupsim: callbacks still running: %w", ctx.Err())
	}
}

// wait sleeps for d unless ctx ends first; it reports whether it slept.
func wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// deliver posts one event to a subscription, retrying failed attempts. The
// subscription is looked up before each attempt: if it was deleted or
// deactivated, or body returns nil for it (its modes or version changed),
// the event is dropped. deliver reports false when ctx ended.
func (s *Sim) deliver(ctx context.Context, subID string, body func(*Subscription) []byte) bool {
	for attempt := 0; ; attempt++ {
		s.mu.Lock()
		_, sub := s.findSub(subID)
		var (
			b       []byte
			target  string
			version int
			headers map[string]string
		)
		if sub != nil && sub.Active {
			b, target, version, headers = body(sub), sub.URL, sub.Version, metaHeaders(sub.Meta)
		}
		s.mu.Unlock()
		if b == nil {
			return ctx.Err() == nil
		}

		rec := Callback{SubscriptionID: subID, URL: target, Version: version, Body: b, At: s.now()}
		status, err := s.post(ctx, target, headers, b)
		rec.Status = status
		if err != nil {
			rec.Err = err.Error()
		}
		s.mu.Lock()
		if ctx.Err() != nil { // canceled by Reset or Close: forget the attempt
			s.mu.Unlock()
			return false
		}
		s.records = append(s.records, rec)
		s.mu.Unlock()
		if s.cb.onCallback != nil {
			s.cb.onCallback(rec)
		}
		if rec.OK() || attempt >= s.cb.retries {
			return true
		}
		if !wait(ctx, s.cb.retryDelay) {
			return false
		}
	}
}

// post makes one callback request and drains the answer.
func (s *Sim) post(ctx context.Context, target string, headers map[string]string, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cb.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("building callback request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", CallbackUserAgent)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := s.cb.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)); err != nil && resp.StatusCode/100 == 2 {
		// The answer did not complete in time: not a 2xx "within the timeout".
		return resp.StatusCode, fmt.Errorf("reading callback answer: %w", err)
	}
	return resp.StatusCode, nil
}

// metaHeaders returns the headers a subscription's meta asks for: the
// members of its "headers" object, or, without one, the top-level members.
// String values are used as they are, numbers and booleans as their JSON
// text; other values and invalid header names are ignored.
func metaHeaders(meta string) map[string]string {
	if meta == "" {
		return nil
	}
	var top map[string]json.RawMessage
	if json.Unmarshal([]byte(meta), &top) != nil {
		return nil
	}
	members := top
	if raw, ok := top["headers"]; ok {
		var h map[string]json.RawMessage
		if json.Unmarshal(raw, &h) == nil && h != nil {
			members = h
		}
	}
	out := make(map[string]string, len(members))
	for k, raw := range members {
		if !validHeaderName(k) {
			continue
		}
		var v any
		if json.Unmarshal(raw, &v) != nil {
			continue
		}
		switch v := v.(type) {
		case string:
			out[k] = v
		case float64, bool:
			out[k] = string(bytes.TrimSpace(raw))
		}
	}
	return out
}

// validHeaderName reports whether k is an HTTP token.
func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
