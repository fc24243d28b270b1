package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// receiver is the tenant's webhook endpoint: it checks X-Hub-Signature-256
// with the app secret as a Meta webhook handler does, records which event
// each delivery is and when it came, and answers 200 whatever it got (so
// no retry blurs the numbers).
type receiver struct {
	run   uint32
	t0    time.Time // deliveries are timed from here
	macs  sync.Pool
	srv   *http.Server
	ln    net.Listener
	mu    sync.Mutex
	seen  map[uint64]struct{}
	times []delivery // first delivery of each event, in arrival order

	valid, invalid, duplicates, unknown int
}

type delivery struct {
	seq uint64
	at  time.Duration // since t0
}

func newReceiver(addr, appSecret string, run uint32, t0 time.Time) (*receiver, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	rc := &receiver{run: run, t0: t0, ln: ln, seen: map[uint64]struct{}{}}
	key := []byte(appSecret)
	rc.macs.New = func() any { return hmac.New(sha256.New, key) }
	rc.srv = &http.Server{Handler: rc, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = rc.srv.Serve(ln) }()
	return rc, nil
}

// URL is where the proxy must deliver.
func (rc *receiver) URL() string { return "http://" + rc.ln.Addr().String() + "/webhook" }

func (rc *receiver) Close() error { return rc.srv.Close() }

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusOK)
		return
	}
	body, err := io.ReadAll(r.Body)
	now := time.Since(rc.t0)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	ok := rc.verify(body, r.Header.Get("X-Hub-Signature-256"))
	seq, known := eventOf(body, rc.run)
	rc.mu.Lock()
	if ok {
		rc.valid++
	} else {
		rc.invalid++
	}
	switch {
	case !known:
		rc.unknown++
	default:
		if _, dup := rc.seen[seq]; dup {
			rc.duplicates++
		} else {
			rc.seen[seq] = struct{}{}
			rc.times = append(rc.times, delivery{seq, now})
		}
	}
	rc.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// verify checks "sha256=<hex HMAC-SHA256 of body>" in constant time.
func (rc *receiver) verify(body []byte, header string) bool {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	m := rc.macs.Get().(hash.Hash)
	m.Reset()
	m.Write(body)
	var sum [sha256.Size]byte
	want := m.Sum(sum[:0])
	rc.macs.Put(m)
	return hmac.Equal(got, want)
}

// distinct is how many events have been delivered at least once.
func (rc *receiver) distinct() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.seen)
}

// counts are the receiver's totals so far.
type counts struct {
	Valid, Invalid, Duplicates, Unknown int
}

func (rc *receiver) counts() counts {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return counts{rc.valid, rc.invalid, rc.duplicates, rc.unknown}
}

// deliveries returns the first deliveries so far.
func (rc *receiver) deliveries() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.times)
}
