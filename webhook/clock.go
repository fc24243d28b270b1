package webhook

import "time"

// steadyClock returns the relay's clock: the wall clock read once, when
// the clock is made, advanced from then on by the monotonic clock. Due
// times the relay persists are wall-clock instants, but each one is a
// delay decided in this process (a backoff, a Retry-After), and it must
// elapse in full: a wall clock that runs fast, or is stepped forward,
// would otherwise make a retry due early (or many at once), and one
// stepped backwards would hold every retry back by the step. Wall-clock
// steps after the relay starts are therefore ignored until it restarts,
// when the clock is read again.
func steadyClock(wall func() time.Time) func() time.Time {
	start := time.Now() // carries the monotonic reading
	// Round(0) drops wall's monotonic reading (if any): instants compare
	// by their wall value, like those read back from the store.
	wall0 := wall().Round(0)
	return func() time.Time { return wall0.Add(time.Since(start)) }
}
