package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"waproxy/app"
	"waproxy/config"
	"waproxy/store"
	"waproxy/webhook"
)

// subscribe points every app's Gupshup subscription at the intake.
func subscribe(ctx context.Context, cfg *config.Config, stdout, stderr io.Writer) error {
	if cfg.Gupshup.BaseURL == config.Embedded {
		return errors.New("subscribe talks to a real Gupshup: set gupshup.base_url (the embedded simulator is subscribed when the proxy starts)")
	}
	log, err := newLogger(cfg.LogLevel, stderr)
	if err != nil {
		return err
	}
	a, err := app.BuildClients(cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	failed := 0
	for _, r := range a.Subscribe(ctx, cfg) {
		if r.Err != nil {
			failed++
			fmt.Fprintf(stdout, "%s\tfailed\t%v\n", r.AppID, r.Err)
			continue
		}
		fmt.Fprintf(stdout, "%s\t%s\tsubscription %s\n", r.AppID, r.Action, r.SubscriptionID)
	}
	if failed > 0 {
		return fmt.Errorf("%d subscription(s) failed", failed)
	}
	return nil
}

// verifyWebhooks runs Meta's handshake against each tenant webhook with a
// verify token.
func verifyWebhooks(ctx context.Context, cfg *config.Config, stdout io.Writer) error {
	failed := 0
	for _, t := range cfg.Tenants {
		if t.Webhook.URL == "" || t.Webhook.VerifyToken == "" {
			continue
		}
		if err := webhook.VerifyEndpoint(ctx, nil, t.Webhook.URL, t.Webhook.VerifyToken, cfg.Webhooks.AttemptTimeout); err != nil {
			failed++
			fmt.Fprintf(stdout, "%s\tfailed\t%v\n", t.Name, err)
			continue
		}
		fmt.Fprintf(stdout, "%s\tverified\n", t.Name)
	}
	if failed > 0 {
		return fmt.Errorf("%d webhook(s) failed verification", failed)
	}
	return nil
}

// deadLetters lists or replays dead letters straight from the store file
// (while the proxy is stopped; a running proxy serves /admin/deadletters).
func deadLetters(ctx context.Context, cfg *config.Config, sub, idList string, limit int, stdout io.Writer) error {
	q, err := app.OpenQueue(cfg)
	if err != nil {
		if errors.Is(err, store.ErrLocked) {
			return fmt.Errorf("%w (a running proxy holds it: use its /admin/deadletters endpoints, enabled by admin.token, or stop it first)", err)
		}
		return err
	}
	defer q.Close()
	if sub == "list" {
		evs, err := q.DeadLetters(ctx, limit)
		if err != nil {
			return err
		}
		for _, e := range evs {
			fmt.Fprintf(stdout, "%d\t%s\t%s\t%s\tattempts=%d\t%s\n", e.ID, e.Tenant,
				e.Created.UTC().Format(time.RFC3339), e.Key, e.Attempts, e.LastError)
		}
		fmt.Fprintf(stdout, "%d dead letter(s)\n", len(evs))
		return nil
	}
	var ids []uint64
	for _, f := range strings.Split(idList, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		id, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return fmt.Errorf("-ids: %q is not an event id", f)
		}
		ids = append(ids, id)
	}
	n, err := q.Replay(ctx, ids, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d dead letter(s) queued for delivery\n", n)
	return nil
}
