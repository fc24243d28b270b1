package integration

import "time"

// eventually calls cond at once and then every `every` until it holds, and
// reports whether it held before d passed. Tests use it to wait for an
// outcome another process only lets them observe by asking (readiness,
// metrics, deliveries a receiver recorded): d bounds a failing wait only,
// a passing one returns as soon as cond holds.
func eventually(d, every time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if cond() {
			return true
		}
		select {
		case <-deadline.C:
			return cond()
		case <-tick.C:
		}
	}
}
