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
)

// listDeadLetters prints dead letters straight from the store file.
func listDeadLetters(ctx context.Context, cfg *config.Config, limit int, stdout io.Writer) error {
	q, err := openStore(cfg)
	if err != nil {
		return err
	}
	defer q.Close()
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

// replayDeadLetters requeues the dead letters ids (nil: all).
func replayDeadLetters(ctx context.Context, cfg *config.Config, ids []uint64, stdout io.Writer) error {
	q, err := openStore(cfg)
	if err != nil {
		return err
	}
	defer q.Close()
	n, err := q.Replay(ctx, ids, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d dead letter(s) queued for delivery\n", n)
	return nil
}

// openStore opens the webhook store a stopped proxy left.
func openStore(cfg *config.Config) (*store.Bolt, error) {
	q, err := app.OpenQueue(cfg)
	if errors.Is(err, store.ErrLocked) {
		return nil, fmt.Errorf("%w (a running proxy holds it: use its /admin/deadletters endpoints, enabled by admin.token, or stop it first)", err)
	}
	if err != nil {
		return nil, err
	}
	return q, nil
}

// parseIDs parses a comma-separated list of event ids ("" = none).
func parseIDs(list string) ([]uint64, error) {
	var ids []uint64
	for _, f := range strings.Split(list, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		id, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not an event id", f)
		}
		ids = append(ids, id)
	}
	return ids, nil
}
