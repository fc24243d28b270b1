package main

import (
	"math"
	"slices"
	"time"
)

// Latency summarises durations in milliseconds.
type Latency struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
}

// percentile is the nearest-rank p-quantile (0 < p <= 1) of sorted: the
// smallest value with at least p of all values at or below it. Zero for no
// values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	// The epsilon keeps p*n from landing just above an integer (0.99*100
	// is 99.00000000000001 in float64).
	rank := int(math.Ceil(p*float64(n) - 1e-9))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// summarize sorts d in place and returns its summary.
func summarize(d []time.Duration) Latency {
	if len(d) == 0 {
		return Latency{}
	}
	slices.Sort(d)
	var sum time.Duration
	for _, v := range d {
		sum += v
	}
	return Latency{
		N:    len(d),
		Mean: ms(sum / time.Duration(len(d))),
		P50:  ms(percentile(d, 0.50)),
		P90:  ms(percentile(d, 0.90)),
		P99:  ms(percentile(d, 0.99)),
		P999: ms(percentile(d, 0.999)),
		Max:  ms(d[len(d)-1]),
	}
}

// ms is d in milliseconds rounded to the microsecond.
func ms(d time.Duration) float64 { return round(float64(d)/1e6, 3) }

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// perSecond is n events over the span from first to last, 0 when the span
// is empty.
func perSecond(n int, first, last time.Duration) float64 {
	span := last - first
	if n == 0 || span <= 0 {
		return 0
	}
	return round(float64(n)/span.Seconds(), 1)
}

// Tick is one second of a run: events acknowledged 200 and delivered in
// it, and the backlog (acknowledged, not yet delivered) at its end.
type Tick struct {
	Second    int `json:"s"`
	Accepted  int `json:"accepted"`
	Delivered int `json:"delivered"`
	Backlog   int `json:"backlog"`
}

// timeline buckets acknowledgement and delivery times (offsets from the
// start of the measured phase) into whole seconds.
func timeline(acks, deliveries []time.Duration) []Tick {
	last := time.Duration(-1)
	for _, t := range acks {
		last = max(last, t)
	}
	for _, t := range deliveries {
		last = max(last, t)
	}
	if last < 0 {
		return nil
	}
	ticks := make([]Tick, int(last/time.Second)+1)
	for i := range ticks {
		ticks[i].Second = i + 1
	}
	for _, t := range acks {
		if t >= 0 {
			ticks[t/time.Second].Accepted++
		}
	}
	for _, t := range deliveries {
		if t >= 0 {
			ticks[t/time.Second].Delivered++
		}
	}
	backlog := 0
	for i := range ticks {
		backlog += ticks[i].Accepted - ticks[i].Delivered
		ticks[i].Backlog = max(backlog, 0)
	}
	return ticks
}

// maxBacklog is the largest end-of-second backlog of ticks.
func maxBacklog(ticks []Tick) int {
	m := 0
	for _, t := range ticks {
		m = max(m, t.Backlog)
	}
	return m
}
