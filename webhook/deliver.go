package webhook

import (
	"bytes"
	"context"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"go.uber.org/zap"

	"waproxy/store"
	"waproxy/translate"
)

// userAgent is what Meta's webhook requests send.
const userAgent = "facebookexternalua"

// Start begins delivery: one dispatcher per tenant endpoint. It returns at
// once; Stop ends it.
func (r *Relay) Start() {
	r.runMu.Lock()
	defer r.runMu.Unlock()
	if r.cancel != nil {
		return
	}
	r.runCtx, r.cancel = context.WithCancel(context.Background())
	for _, t := range r.routes.Load().targets {
		r.startTarget(t)
	}
}

// Stop ends leasing and waits, until ctx ends, for attempts in flight.
// Events whose attempt did not finish stay queued and are delivered again
// after a restart.
func (r *Relay) Stop(ctx context.Context) error {
	r.runMu.Lock()
	cancel := r.cancel
	r.runMu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	done := make(chan struct{})
	go func() {
		r.loops.Wait()
		r.flights.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// dispatch keeps up to t.Concurrency deliveries in flight for one tenant,
// leasing due events whenever a slot is free and something may be due.
func (r *Relay) dispatch(ctx context.Context, t *target) {
	slots := make(chan struct{}, t.Concurrency)
	tick := time.NewTicker(r.opt.PollInterval)
	defer tick.Stop()
	for {
		free := cap(slots) - len(slots)
		full := false
		if free > 0 {
			evs, err := r.q.Lease(ctx, t.Tenant, r.opt.Now(), free)
			if err != nil && ctx.Err() == nil {
				r.log.Error("leasing webhook events failed", zap.String("tenant", t.Tenant), zap.Error(err))
			}
			for _, ev := range evs {
				slots <- struct{}{}
				r.flights.Add(1)
				go func(ev store.Event) {
					defer r.flights.Done()
					// The slot bounds requests in flight to the endpoint:
					// it is free once the POST is answered, while the
					// outcome is recorded (the event stays leased until
					// then, so it is not delivered twice).
					r.attempt(t, ev, func() {
						<-slots
						select {
						case t.wake <- struct{}{}:
						default:
						}
					})
				}(ev)
			}
			full = len(evs) == free
		}
		if full {
			// Maybe more is due: look again once a slot frees up.
			select {
			case <-ctx.Done():
				return
			case <-t.wake:
			}
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-t.wake:
		case <-tick.C:
		}
	}
}

// attempt POSTs one event, calls posted once the endpoint answered (or
// failed to), and records the outcome in the queue.
func (r *Relay) attempt(t *target, ev store.Event, posted func()) {
	start := time.Now()
	status, retryAfter, redirect, err := r.post(t, ev.Body)
	elapsed := time.Since(start)
	posted()
	result := outcome(status, err)
	r.m.WebhookDelivery(t.Tenant, result, elapsed)
	// Recording the outcome must not be cut short by Stop: it is quick and
	// it decides whether the event is delivered again.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fields := []zap.Field{zap.String("tenant", t.Tenant), zap.Uint64("event_id", ev.ID),
		zap.Int("attempt", ev.Attempts+1), zap.String("result", result), zap.Duration("latency", elapsed)}
	if result == "ok" {
		if err := r.q.Ack(ctx, ev.ID); err != nil {
			r.log.Error("acknowledging a delivered webhook failed; it will be delivered again", append(fields, zap.Error(err))...)
			return
		}
		r.log.Debug("webhook delivered", fields...)
		return
	}
	reason := result
	if status >= 300 && status < 400 {
		// Not followed: Meta does not follow a webhook's redirect either.
		// Only the Location's host is told (its path or query may carry
		// credentials).
		reason = "HTTP " + strconv.Itoa(status) + " redirect"
		if redirect != "" {
			reason += " to " + redirect
		}
	} else if status != 0 {
		reason = "HTTP " + strconv.Itoa(status)
	} else if err != nil {
		reason = result + ": " + transportReason(err)
	}
	now := r.opt.Now()
	wait := r.backoff(ev.Attempts + 1)
	if retryAfter > wait {
		wait = retryAfter
	}
	next := now.Add(wait)
	if next.After(ev.Created.Add(r.opt.Horizon)) {
		if err := r.q.DeadLetter(ctx, ev.ID, reason); err != nil {
			r.log.Error("dead-lettering a webhook failed", append(fields, zap.Error(err))...)
			return
		}
		r.m.WebhookDeadLetter(t.Tenant)
		r.log.Error("webhook given up after the retry horizon; it is in the dead letters",
			append(fields, zap.String("reason", reason))...)
		return
	}
	if err := r.q.Retry(ctx, ev.ID, next, reason); err != nil {
		r.log.Error("rescheduling a webhook failed", append(fields, zap.Error(err))...)
		return
	}
	r.m.WebhookRetry(t.Tenant)
	r.log.Warn("webhook delivery failed; retrying",
		append(fields, zap.String("reason", reason), zap.Duration("retry_in", wait))...)
}

// post sends one signed body. It returns the HTTP status (0 when there was
// none), the Retry-After the endpoint asked for and, for a redirect (never
// followed), the host of its Location.
func (r *Relay) post(t *target, body []byte) (status int, wait time.Duration, redirect string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), r.opt.AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(body))
	if err != nil {
		return 0, 0, "", &deliveryError{"error", err}
	}
	sig256, sig1 := translate.SignWebhook(body, t.AppSecret)
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", userAgent)
	h.Set("X-Hub-Signature-256", sig256)
	h.Set("X-Hub-Signature", sig1)
	resp, err := r.opt.Client.Do(req)
	if err != nil {
		kind := "error"
		if errors.Is(err, context.DeadlineExceeded) {
			kind = "timeout"
		}
		return 0, 0, "", &deliveryError{kind, err}
	}
	drainAnswer(resp.Body)
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		if loc, err := resp.Location(); err == nil {
			redirect = loc.Host
		}
	}
	// A Retry-After date is on the endpoint's wall clock: the delay is
	// measured against ours, then waited on the relay's clock.
	return resp.StatusCode, retryAfter(resp.Header.Get("Retry-After"), r.wall()), redirect, nil
}

// transportReason describes a transport failure without the URL (which
// may carry a tenant's credentials in its query).
func transportReason(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

type deliveryError struct {
	kind string
	err  error
}

func (e *deliveryError) Error() string { return e.kind + ": " + e.err.Error() }
func (e *deliveryError) Unwrap() error { return e.err }

func outcome(status int, err error) string {
	var de *deliveryError
	switch {
	case errors.As(err, &de):
		return de.kind
	case err != nil:
		return "error"
	case status >= 200 && status < 300:
		return "ok"
	case status >= 300 && status < 400:
		return "http_3xx"
	case status >= 400 && status < 500:
		return "http_4xx"
	case status >= 500:
		return "http_5xx"
	default:
		return "http_" + strconv.Itoa(status)
	}
}

// backoff is the delay before attempt n+1: BackoffBase·2^(n-1), capped at
// BackoffMax, spread over its upper half so retries of many events do not
// arrive together.
func (r *Relay) backoff(n int) time.Duration {
	d := float64(r.opt.BackoffBase) * math.Pow(2, float64(n-1))
	if d > float64(r.opt.BackoffMax) || math.IsInf(d, 0) {
		d = float64(r.opt.BackoffMax)
	}
	return time.Duration(d/2 + r.opt.Jitter()*d/2)
}

// retryAfter reads a Retry-After header: delay seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
