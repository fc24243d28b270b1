package main

import (
	"os"
	"reflect"
	"testing"
	"time"
)

func durations(vals ...int) []time.Duration {
	d := make([]time.Duration, len(vals))
	for i, v := range vals {
		d[i] = time.Duration(v) * time.Millisecond
	}
	return d
}

func seq(n int) []time.Duration {
	d := make([]time.Duration, n)
	for i := range d {
		d[i] = time.Duration(i+1) * time.Millisecond
	}
	return d
}

func TestPercentileNearestRank(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    []time.Duration
		p    float64
		want time.Duration
	}{
		{"empty", nil, 0.99, 0},
		{"one value", durations(7), 0.5, 7 * time.Millisecond},
		{"one value p99.9", durations(7), 0.999, 7 * time.Millisecond},
		{"p50 of 1..100", seq(100), 0.50, 50 * time.Millisecond},
		{"p99 of 1..100", seq(100), 0.99, 99 * time.Millisecond}, // not 100: 0.99*100 is a float above 99
		{"p99.9 of 1..100", seq(100), 0.999, 100 * time.Millisecond},
		{"p100 of 1..100", seq(100), 1, 100 * time.Millisecond},
		{"p99.9 of 1..1000", seq(1000), 0.999, 999 * time.Millisecond},
		{"p99.9 of 1..10000", seq(10000), 0.999, 9990 * time.Millisecond},
		{"p50 of 1..3", seq(3), 0.5, 2 * time.Millisecond},
		{"p50 of 1..4", seq(4), 0.5, 2 * time.Millisecond},
		{"tiny p", seq(4), 0.0001, 1 * time.Millisecond},
	} {
		if got := percentile(tc.d, tc.p); got != tc.want {
			t.Errorf("%s: percentile(%v) = %v, want %v", tc.name, tc.p, got, tc.want)
		}
	}
}

func TestSummarizeSortsAndRounds(t *testing.T) {
	d := []time.Duration{3 * time.Millisecond, 1500 * time.Microsecond, time.Millisecond, 10 * time.Millisecond, 1234567}
	got := summarize(d)
	want := Latency{N: 5, Mean: 3.347, P50: 1.5, P90: 10, P99: 10, P999: 10, Max: 10}
	if got != want {
		t.Errorf("summarize = %+v, want %+v", got, want)
	}
	if d[0] != time.Millisecond || d[4] != 10*time.Millisecond {
		t.Errorf("not sorted in place: %v", d)
	}
	if (summarize(nil) != Latency{}) {
		t.Error("summarize(nil) is not zero")
	}
}

func TestPerSecond(t *testing.T) {
	if got := perSecond(5000, time.Second, 3*time.Second); got != 2500 {
		t.Errorf("5000 in 2s = %v/s", got)
	}
	if got := perSecond(3, 0, 7*time.Second); got != 0.4 {
		t.Errorf("3 in 7s = %v/s, want 0.4 (one decimal)", got)
	}
	if got := perSecond(1, time.Second, time.Second); got != 0 {
		t.Errorf("empty span = %v/s", got)
	}
	if got := perSecond(0, 0, time.Second); got != 0 {
		t.Errorf("no events = %v/s", got)
	}
}

func TestTimelineAndBacklog(t *testing.T) {
	acks := durations(10, 20, 900, 1100, 1200, 2500)
	dels := durations(500, 1300, 1400, 3100)
	got := timeline(acks, dels)
	want := []Tick{
		{Second: 1, Accepted: 3, Delivered: 1, Backlog: 2},
		{Second: 2, Accepted: 2, Delivered: 2, Backlog: 2},
		{Second: 3, Accepted: 1, Delivered: 0, Backlog: 3},
		{Second: 4, Accepted: 0, Delivered: 1, Backlog: 2},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("timeline =\n%+v\nwant\n%+v", got, want)
	}
	if m := maxBacklog(got); m != 3 {
		t.Errorf("maxBacklog = %d, want 3", m)
	}
	if timeline(nil, nil) != nil {
		t.Error("empty timeline is not nil")
	}
}

func TestAggregate(t *testing.T) {
	ms := time.Millisecond
	phase := 1000 * ms  // the measured phase began 1s after t0
	first := uint64(11) // events 1..10 were the warm-up
	recs := []sent{
		{seq: 11, start: 1000 * ms, end: 1002 * ms, status: 200},
		{seq: 12, start: 1001 * ms, end: 1005 * ms, status: 200},
		{seq: 13, start: 1001 * ms, end: 1004 * ms, status: 503},
		{seq: 14, start: 1003 * ms, end: 1010 * ms, status: 0},
		{seq: 15, start: 1500 * ms, end: 2001 * ms, status: 200},
		{seq: 16, start: 1600 * ms, end: 1700 * ms, status: 200}, // never delivered
	}
	dels := []delivery{
		{seq: 3, at: 500 * ms}, // warm-up: ignored
		{seq: 11, at: 1010 * ms},
		{seq: 12, at: 1020 * ms},
		{seq: 14, at: 1030 * ms}, // stored, though its request failed: not counted as delivered
		{seq: 15, at: 2101 * ms},
	}
	res := &Result{Rejected: map[string]int{}, TargetPerSec: 2}
	res.Complete = true
	aggregate(res, recs, dels, counts{Valid: 9, Duplicates: 1}, first, phase, 2001*ms, 2200*ms)

	if res.Sent != 6 || res.Accepted != 4 {
		t.Errorf("sent %d accepted %d, want 6 and 4", res.Sent, res.Accepted)
	}
	if want := map[string]int{"http_503": 1, "transport_error": 1}; !reflect.DeepEqual(res.Rejected, want) {
		t.Errorf("rejected = %v, want %v", res.Rejected, want)
	}
	// 4 accepted from the first request (1.000s) to the last 200 (2.001s).
	if res.AcceptedPerSec != 4 {
		t.Errorf("accepted_per_s = %v, want 4", res.AcceptedPerSec)
	}
	if want := (Latency{N: 4, Mean: 151.75, P50: 4, P90: 501, P99: 501, P999: 501, Max: 501}); res.AckMS != want {
		t.Errorf("ack_ms = %+v, want %+v", res.AckMS, want)
	}
	if res.Delivered != 3 || res.Missing != 1 {
		t.Errorf("delivered %d missing %d, want 3 and 1", res.Delivered, res.Missing)
	}
	// 3 deliveries from 1.010s to 2.101s; end to end from 1.000s.
	if res.DeliveredPerSec != 2.7 || res.EndToEndPerSec != 2.7 {
		t.Errorf("delivered_per_s %v end_to_end_per_s %v, want 2.7 and 2.7", res.DeliveredPerSec, res.EndToEndPerSec)
	}
	if want := (Latency{N: 3, Mean: 210, P50: 19, P90: 601, P99: 601, P999: 601, Max: 601}); res.EndToEndMS != want {
		t.Errorf("end_to_end_ms = %+v, want %+v", res.EndToEndMS, want)
	}
	if res.ValidSignatures != 9 || res.Duplicates != 1 || res.InvalidSignatures != 0 {
		t.Errorf("receiver counts = %d valid %d invalid %d dups", res.ValidSignatures, res.InvalidSignatures, res.Duplicates)
	}
	wantTicks := []Tick{{Second: 1, Accepted: 3, Delivered: 3, Backlog: 0}, {Second: 2, Accepted: 1, Delivered: 1, Backlog: 0}}
	if !reflect.DeepEqual(res.Timeline, wantTicks) {
		t.Errorf("timeline = %+v, want %+v", res.Timeline, wantTicks)
	}
	if res.SendSeconds != 1.001 || res.DrainSeconds != 0.199 {
		t.Errorf("send_s %v drain_s %v", res.SendSeconds, res.DrainSeconds)
	}
	if !res.TargetMet {
		t.Error("target of 2/s not met")
	}
	res2 := &Result{Rejected: map[string]int{}, TargetPerSec: 3, Complete: true}
	aggregate(res2, recs, dels, counts{}, first, phase, 2001*ms, 2200*ms)
	if res2.TargetMet {
		t.Error("target of 3/s met with 2.7 deliveries/s")
	}
	res3 := &Result{Rejected: map[string]int{}, TargetPerSec: 2, Complete: true}
	aggregate(res3, recs, dels, counts{Invalid: 1}, first, phase, 2001*ms, 2200*ms)
	if res3.TargetMet {
		t.Error("target met with an invalid signature")
	}
}

func TestParseStat(t *testing.T) {
	line := []byte("4242 (pro xy) (x)) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 75 0 0 20 0 8 0 99 1234567 890 18446744073709551615\n")
	u, s, err := parseStat(line)
	if err != nil {
		t.Fatal(err)
	}
	if u != 2500*time.Millisecond || s != 750*time.Millisecond {
		t.Errorf("utime %v stime %v, want 2.5s and 750ms", u, s)
	}
	if _, _, err := parseStat([]byte("4242 (proxy) S 1")); err == nil {
		t.Error("short stat line accepted")
	}
}

func TestProcOfSelf(t *testing.T) {
	if _, _, err := cpuTimes(os.Getpid()); err != nil {
		t.Skip("no /proc:", err)
	}
	hwm, rss, err := memKB(os.Getpid())
	if err != nil || hwm <= 0 || rss <= 0 || rss > hwm {
		t.Errorf("memKB = %d, %d, %v", hwm, rss, err)
	}
}

func TestMachineCPU(t *testing.T) {
	a, err := parseCPULine("cpu  1000 10 500 9000 40 0 200 5 0 0")
	if err != nil {
		t.Fatal(err)
	}
	if a != (cpuTicks{busy: 1000 + 10 + 500 + 0 + 200 + 5, irq: 200, iowait: 40}) {
		t.Errorf("parseCPULine = %+v", a)
	}
	// Over 2 s: 300 ticks busy (1.5 cores), 40 of them softirq, 20 iowait.
	b, _ := parseCPULine("cpu  1200 10 560 9100 60 0 240 5 0 0")
	m := machineCPU(a, b, 2*time.Second)
	if m == nil || m.BusyCores != 1.5 || m.IRQCores != 0.2 || m.IOWaitCore != 0.1 || m.WindowS != 2 || m.Cores < 1 {
		t.Errorf("machineCPU = %+v", m)
	}
	if machineCPU(a, b, 0) != nil {
		t.Error("empty window: not nil")
	}
	for _, bad := range []string{"cpu0 1 2 3 4 5 6 7 8", "cpu 1 2 3", "cpu 1 2 3 x 5 6 7 8"} {
		if _, err := parseCPULine(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if _, err := machineTicks(); err != nil {
		t.Skip("no /proc/stat:", err)
	}
}
