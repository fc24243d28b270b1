// Package store is the relay's durable queue: webhook events waiting for
// delivery, the deduplication window, dead letters and the Gupshup-id →
// wamid map. Queue is the contract; Bolt is the embedded single-file
// implementation (one process owns the file); store/pgstore is the
// PostgreSQL one for many replicas. Both run the same conformance tests
// (package storetest).
package store

import (
	"context"
	"errors"
	"time"
)

// Event is one webhook body waiting for delivery to a tenant.
type Event struct {
	// ID is assigned by Enqueue, increasing.
	ID uint64
	// Tenant names the delivery queue (one webhook endpoint per tenant).
	Tenant string
	// Key deduplicates (see translate.WebhookEvent.Key); "" never dedups.
	Key string
	// Body is the exact bytes to sign and POST.
	Body []byte
	// Created is when the event was accepted.
	Created time.Time
	// Attempts counts delivery attempts so far.
	Attempts int
	// NextAt is when the event is due.
	NextAt time.Time
	// LastError describes the last failed attempt (no content).
	LastError string
}

// IDPair links Gupshup's message id with WhatsApp's.
type IDPair struct{ GsID, WAMID string }

// Stats describe the queue.
type Stats struct {
	// Pending counts queued (not dead) events per tenant.
	Pending map[string]int
	// Oldest is the Created time of the oldest pending event (zero if none).
	Oldest time.Time
	// Dead counts dead letters.
	Dead int
}

// Queue is what the relay needs from a durable store.
type Queue interface {
	// Enqueue stores events durably before it returns. An event whose Key
	// was enqueued within the dedup window is not stored; dup[i] reports
	// that for events[i]. IDs are assigned into events[i].ID.
	Enqueue(ctx context.Context, events []Event) (dup []bool, err error)
	// EnqueueWithIDs is Enqueue and PutIDs(pairs) in one durable write:
	// the id pairs a callback teaches are stored with its events.
	EnqueueWithIDs(ctx context.Context, events []Event, pairs []IDPair) (dup []bool, err error)
	// Lease returns up to max of tenant's events due at now (NextAt <=
	// now), earliest NextAt first, and hides them from later Leases until
	// Ack, Retry or DeadLetter (or until the process restarts: leases are
	// not durable in Bolt, so unacknowledged events are delivered again).
	Lease(ctx context.Context, tenant string, now time.Time, max int) ([]Event, error)
	// Ack removes a delivered event. Ack, Retry and DeadLetter end the
	// event's lease; an id that is not a queued event fails with an error
	// wrapping ErrNotFound.
	Ack(ctx context.Context, id uint64) error
	// Retry records a failed attempt (Attempts+1, LastError) and makes the
	// event due again at at.
	Retry(ctx context.Context, id uint64, at time.Time, lastErr string) error
	// DeadLetter records a final failed attempt (Attempts+1, LastError =
	// reason) and moves the event out of the queue into the dead letters.
	DeadLetter(ctx context.Context, id uint64, reason string) error
	// DeadLetters lists up to limit dead letters, oldest (lowest ID)
	// first, with LastError the DeadLetter reason.
	DeadLetters(ctx context.Context, limit int) ([]Event, error)
	// Replay moves dead letters back into the queue, due at at, with
	// Attempts reset and Created = at (a retry horizon measured from
	// Created starts over), keeping ID, Tenant, Key and Body; ids nil
	// means all, an empty non-nil ids none, and ids that are not dead
	// letters are skipped. It returns how many moved.
	Replay(ctx context.Context, ids []uint64, at time.Time) (int, error)
	// Stats reports depth (leased events count as pending), oldest age
	// and dead letters.
	Stats(ctx context.Context) (Stats, error)
	// PutIDs remembers Gupshup id → wamid pairs for the id-map TTL.
	PutIDs(ctx context.Context, pairs []IDPair) error
	// WAMID returns the wamid for a Gupshup id, if known and not expired.
	WAMID(ctx context.Context, gsID string) (string, bool, error)
	// Close releases the store; later calls fail with ErrClosed.
	Close() error
}

// Retention defaults every implementation uses.
const (
	// DefaultDedupWindow is how long an event Key suppresses later events
	// with the same Key.
	DefaultDedupWindow = 24 * time.Hour
	// DefaultIDTTL is how long Gupshup-id → wamid pairs are remembered.
	DefaultIDTTL = 7 * 24 * time.Hour
	// DefaultMediaTTL is how long a media record is valid (Meta keeps media
	// for 30 days).
	DefaultMediaTTL = 30 * 24 * time.Hour
)

// ErrNotFound means no event (or dead letter) has that id.
var ErrNotFound = errors.New("store: no such event")

// ErrClosed means the store was closed.
var ErrClosed = errors.New("store: closed")
