package agent

import (
	"context"
	"time"
)

// repeat runs probe once delay has passed, then every interval, sending
// each result on out, until ctx ends or last (nil: never) says a result was
// the final one. Health checks, Mesos checks and readiness checks are each
// run by it; only what one probe does and when they stop differ.
func repeat[R any](ctx context.Context, delay, interval time.Duration, probe func(context.Context) R, out chan<- R, last func(R) bool) {
	if delay > 0 {
		wait := time.NewTimer(delay)
		select {
		case <-wait.C:
		case <-ctx.Done():
			wait.Stop()
			return
		}
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		r := probe(ctx)
		if ctx.Err() != nil {
			return
		}
		select {
		case out <- r:
		case <-ctx.Done():
			return
		}
		if last != nil && last(r) {
			return
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

// orDefault is d unless it is not positive: then def.
func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
