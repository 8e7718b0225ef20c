package rollout

import (
	"math"
	"time"
)

// Backoff is Marathon's launch backoff: after the k-th consecutive failed
// launch of a version, the next launch waits Initial * Factor^(k-1), never
// more than Max.
type Backoff struct {
	Initial time.Duration
	Factor  float64
	Max     time.Duration
}

// Launches is the launch-failure history of an app, the one piece of memory
// Step needs across calls. The caller stores the value a Decision returns.
type Launches struct {
	// Version is the spec version the failures were counted for; a new
	// version starts from zero (a new commit resets the backoff).
	Version     string
	Failures    int
	LastFailure time.Time
}

// Delay is the wait before the next launch after failures consecutive
// failures.
func (b Backoff) Delay(failures int) time.Duration {
	if failures <= 0 || b.Initial <= 0 {
		return 0
	}
	factor := b.Factor
	if !(factor >= 1) {
		// Marathon requires a factor of at least 1; a smaller one would make
		// a crash-looping app retry faster and faster.
		factor = 1
	}
	limit := b.Max
	if limit <= 0 {
		limit = time.Duration(maxSeconds) * time.Second
	}
	// Rounded to the nanosecond so that 1s * 1.15^2 is 1.3225s exactly.
	d := math.Round(float64(b.Initial) * math.Pow(factor, float64(failures-1)))
	if math.IsNaN(d) || d >= float64(limit) {
		return limit
	}
	return time.Duration(d)
}

// For returns the history as it applies to version: unchanged for the same
// version, empty for another one.
func (l Launches) For(version string) Launches {
	if l.Version != version {
		return Launches{Version: version}
	}
	return l
}

// Failed records one failed launch of version at the given time.
func (l Launches) Failed(version string, at time.Time) Launches {
	l = l.For(version)
	l.Failures++
	if at.After(l.LastFailure) {
		l.LastFailure = at
	}
	return l
}

// Next returns when version may next be launched; a zero time means now.
func (b Backoff) Next(l Launches, version string) time.Time {
	l = l.For(version)
	if l.Failures == 0 {
		return time.Time{}
	}
	return l.LastFailure.Add(b.Delay(l.Failures))
}

// Allowed reports whether version may be launched at now, and if not, when
// it may.
func (b Backoff) Allowed(l Launches, version string, now time.Time) (bool, time.Time) {
	next := b.Next(l, version)
	if next.IsZero() || !now.Before(next) {
		return true, time.Time{}
	}
	return false, next
}
