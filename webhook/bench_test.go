package webhook

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"waproxy/store"
	"waproxy/translate"
)

// BenchmarkRelayThroughput measures the whole relay on loopback: Gupshup
// callbacks POSTed over HTTP to the intake (durable enqueue with fsync
// before each 200), then leased, signed and POSTed to a webhook endpoint
// that answers 200. It reports delivered events per second end to end and
// the intake's p99 answer time.
//
//	go test -run '^$' -bench RelayThroughput -benchtime 5000x ./webhook/
func BenchmarkRelayThroughput(b *testing.B) {
	for _, sync := range []bool{true, false} {
		name := "fsync"
		if !sync {
			name = "nosync"
		}
		b.Run(name, func(b *testing.B) { benchRelay(b, !sync) })
	}
}

func benchRelay(b *testing.B, noSync bool) {
	var delivered atomic.Int64
	done := make(chan struct{})
	target := int64(b.N)
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if delivered.Add(1) == target {
			close(done)
		}
	}))
	defer endpoint.Close()

	q, err := store.Open(filepath.Join(b.TempDir(), "q.db"), store.Options{NoSync: noSync})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	r, err := New(Options{
		Queue:        q,
		Targets:      []Target{{Tenant: "a", URL: endpoint.URL, AppSecret: appSec, Concurrency: 32}},
		Sources:      []Source{{AppID: appA, Tenant: "a", Secret: secretA, Phone: translate.PhoneMeta{PhoneNumberID: "100000000000001"}}},
		Translate:    translate.WebhookOptions{StatusIDFromGsID: true},
		PollInterval: 50 * time.Millisecond,
	})
	if err != nil {
		b.Fatal(err)
	}
	intake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.ServeIntake(w, req, appA)
	}))
	defer intake.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	r.Start()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = r.Stop(ctx)
	}()

	const senders = 32
	var next atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					break
				}
				body := statusCallback(fmt.Sprintf("gs-%d", i), "sent")
				req, _ := http.NewRequest(http.MethodPost, intake.URL, strings.NewReader(body))
				req.Header.Set("X-Waproxy-Secret", secretA)
				req.Header.Set("Content-Type", "application/json")
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mine = append(mine, time.Since(t0))
				if resp.StatusCode != http.StatusOK {
					b.Errorf("intake answered %d", resp.StatusCode)
					return
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		b.Fatalf("delivered %d of %d", delivered.Load(), b.N)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	if len(lat) > 0 {
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "intake-p99-ms")
	}
}
