package rollout

import (
	"fmt"
	"time"
)

// Sync says whether the cluster runs what Git declares, as Argo CD does.
type Sync string

const (
	Synced    Sync = "Synced"
	OutOfSync Sync = "OutOfSync"
)

// Health is an object's health in Argo CD's terms.
type Health string

const (
	Healthy     Health = "Healthy"
	Progressing Health = "Progressing"
	Degraded    Health = "Degraded"
	// Suspended is an app declared with 0 instances and none left running,
	// what Marathon's UI calls a suspended app.
	Suspended Health = "Suspended"
)

// Status is one object's sync and health with a one-line explanation.
type Status struct {
	Sync    Sync   `json:"sync"`
	Health  Health `json:"health"`
	Message string `json:"message,omitempty"`
}

// SyncOf compares the version Git declares with the version the cluster
// applied, for objects whose status is only that (jobs, templates, queues).
func SyncOf(desired, applied string) Sync {
	if desired == applied {
		return Synced
	}
	return OutOfSync
}

// AppStatus derives an app's status from the same input Step takes.
//
// Sync is about intent: the app is OutOfSync while tasks of another version
// run or the instance count differs from the declared one for any reason
// other than tasks that failed and are being replaced, which Argo CD would
// report as Synced and Degraded, like a crash-looping pod.
//
// Health: Suspended for 0 instances and nothing running; Healthy when Step
// finds nothing to do; Degraded when launches are held back by the backoff,
// tasks fail their health checks or an agent is lost; otherwise Progressing.
func AppStatus(in Input) Status {
	return StatusOf(in, Step(in))
}

// StatusOf is AppStatus for a decision already made: d must be Step(in).
// The decision engine steps each app once and derives both from it.
func StatusOf(in Input, d Decision) Status {
	c := d.Counts
	n := max(in.Spec.Instances, 0)
	st := Status{Sync: Synced, Health: Progressing}

	failing := d.Launches.Failures > 0
	switch {
	case c.Old > 0 || d.Rolling:
		st.Sync = OutOfSync
	case c.Current > n:
		st.Sync = OutOfSync
	case c.Current < n && !failing && c.Unreachable == 0 && c.Unhealthy == 0:
		st.Sync = OutOfSync
	}

	switch {
	case n == 0 && d.Done:
		st.Health = Suspended
	case d.Done:
		st.Health = Healthy
	case !d.DelayedUntil.IsZero() || c.Unhealthy > 0 || c.Unreachable > 0:
		st.Health = Degraded
	}
	st.Message = describe(d, n, in.Now)
	return st
}

// describe says in one line where the app stands, for `berth status`.
func describe(d Decision, n int, now time.Time) string {
	c := d.Counts
	msg := fmt.Sprintf("%d/%d healthy", c.CurrentHealthy, n)
	if c.Old > 0 {
		msg += fmt.Sprintf(", %d old (%d healthy)", c.Old, c.OldHealthy)
	}
	if c.CurrentUnready > 0 {
		msg += fmt.Sprintf(", %d not ready", c.CurrentUnready)
	}
	if c.Killing > 0 {
		msg += fmt.Sprintf(", %d stopping", c.Killing)
	}
	if c.Unhealthy > 0 {
		msg += fmt.Sprintf(", %d failing health checks", c.Unhealthy)
	}
	if c.Unreachable > 0 {
		msg += fmt.Sprintf(", %d unreachable", c.Unreachable)
	}
	if !d.DelayedUntil.IsZero() {
		failures := "failures"
		if d.Launches.Failures == 1 {
			failures = "failure"
		}
		msg += fmt.Sprintf(", launch delayed %s after %d %s", d.DelayedUntil.Sub(now).Round(time.Second), d.Launches.Failures, failures)
	}
	return msg
}
