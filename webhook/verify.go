package webhook

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
)

// VerifyResult is the outcome of Meta's verification handshake against one
// tenant's endpoint.
type VerifyResult struct {
	Tenant string
	// OK is true when the endpoint echoed the challenge with a 200.
	OK bool
	// Detail says what went wrong ("" when OK).
	Detail string
}

// Verify runs Meta's handshake against every endpoint with a verify token:
// GET url?hub.mode=subscribe&hub.verify_token=…&hub.challenge=<random>,
// expecting 200 and the challenge as the body. Results are logged and kept
// for VerifyStatus.
func (r *Relay) Verify(ctx context.Context) []VerifyResult {
	var out []VerifyResult
	for _, t := range r.routes.Load().targets {
		if t.VerifyToken == "" {
			continue
		}
		res := VerifyResult{Tenant: t.Tenant}
		if err := VerifyEndpoint(ctx, r.opt.Client, t.URL, t.VerifyToken, r.opt.AttemptTimeout); err != nil {
			res.Detail = err.Error()
			r.log.Warn("webhook verification failed", zap.String("tenant", t.Tenant), zap.String("reason", res.Detail))
		} else {
			res.OK = true
			r.log.Info("webhook verified", zap.String("tenant", t.Tenant))
		}
		r.verifyMu.Lock()
		if cur, ok := r.routes.Load().target(t.Tenant); ok && cur == t {
			// Not recorded when a reload replaced or removed the target meanwhile.
			if res.OK {
				r.verified[t.Tenant] = "verified"
			} else {
				r.verified[t.Tenant] = "failed: " + res.Detail
			}
		}
		r.verifyMu.Unlock()
		out = append(out, res)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Tenant < out[j].Tenant })
	return out
}

// VerifyStatus reports, per tenant with a verify token, "unverified",
// "verified" or "failed: <reason>".
func (r *Relay) VerifyStatus() map[string]string {
	r.verifyMu.Lock()
	defer r.verifyMu.Unlock()
	out := make(map[string]string, len(r.verified))
	for k, v := range r.verified {
		out[k] = v
	}
	return out
}

// VerifyEndpoint runs Meta's verification handshake against one endpoint:
// GET endpoint?hub.mode=subscribe&hub.verify_token=token&hub.challenge=<random>
// must answer 200 with the challenge as its body. A redirect is a failure
// (Meta does not follow it). The client is used with the delivery policy
// (see NewDeliveryClient); nil means NewDeliveryClient's.
func VerifyEndpoint(ctx context.Context, client *http.Client, endpoint, token string, timeout time.Duration) error {
	if client == nil {
		client = defaultVerifyClient()
	} else {
		client = withDeliveryPolicy(client)
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return fmt.Errorf("bad url: %w", err)
	}
	challenge := strconv.FormatUint(uint64(rand.Uint32()), 10)
	q := u.Query()
	q.Set("hub.mode", "subscribe")
	q.Set("hub.verify_token", token)
	q.Set("hub.challenge", challenge)
	u.RawQuery = q.Encode()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", userAgent)
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("no answer after %s: %s", time.Since(start).Round(time.Millisecond), transportReason(err))
	}
	defer drainAnswer(resp.Body)
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		host := ""
		if loc, err := resp.Location(); err == nil {
			host = " to " + loc.Host
		}
		return fmt.Errorf("HTTP %d redirect%s (not followed)", resp.StatusCode, host)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	if strings.TrimSpace(string(body)) != challenge {
		return fmt.Errorf("the answer did not echo hub.challenge")
	}
	return nil
}
