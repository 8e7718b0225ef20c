package templates

import (
	"context"
	"log/slog"
	"time"
)

// watchUpdate is what a watch reports to the runner's loop.
type watchUpdate struct {
	key   string
	value any
	err   error     // non-nil: the source failed; value is not meaningful
	held  string    // non-empty: an answer is being held back, and why
	at    time.Time // when it was observed
}

// watchConfig tunes how watches retry and when they distrust an answer.
type watchConfig struct {
	retryMin, retryMax time.Duration
	// recoveryHold is how long, at most, a list of instances, nodes or
	// services that shrank is held back when it arrives right after the
	// source failed: a Consul that restarted or lost its leader answers "no
	// instances" before agents re-register, and rendering that would empty
	// an upstream. The hold ends early once the answer lists as many
	// entries as the last good one.
	recoveryHold time.Duration
	now          func() time.Time
}

// watch runs one blocking query in a loop and reports every changed
// answer. It owns nothing shared: it only sends on out, until ctx ends.
func watch(ctx context.Context, src Source, q Query, cfg watchConfig, out chan<- watchUpdate, log *slog.Logger) {
	key := q.String()
	var index uint64
	var last any
	haveLast := false
	failing := false
	// holdUntil is when a shrunken answer after a failure is used anyway;
	// zero while nothing is held.
	var holdUntil time.Time
	backoff := cfg.retryMin
	send := func(u watchUpdate) bool {
		u.key, u.at = key, cfg.now()
		select {
		case out <- u:
			return true
		case <-ctx.Done():
			return false
		}
	}
	sleep := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for ctx.Err() == nil {
		value, next, err := src.Fetch(ctx, q, index)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			log.Warn("template data source failed", "query", key, "err", err)
			failing = true
			// The source may come back as a new process whose indexes
			// restarted from 1: ask for its current answer, not for one
			// newer than an index it may not reach for a long time.
			index = 0
			if !send(watchUpdate{err: err}) || !sleep(backoff) {
				return
			}
			backoff = min(backoff*2, cfg.retryMax)
			continue
		}
		backoff = cfg.retryMin
		// An index that goes backwards means the source restarted: start
		// over rather than wait for an index it may never reach again.
		if next < index {
			next = 0
		}
		if failing && haveLast && shrank(last, value) {
			now := cfg.now()
			if holdUntil.IsZero() {
				holdUntil = now.Add(cfg.recoveryHold)
				log.Warn("holding a shrunken answer that arrived right after a source failure", "query", key, "hold", cfg.recoveryHold)
				if !send(watchUpdate{held: "fewer entries arrived right after the data source recovered; holding the last good data for up to " + cfg.recoveryHold.String() + " to confirm"}) {
					return
				}
			}
			if now.Before(holdUntil) {
				// Ask again soon, without blocking: as agents re-register
				// the answer grows back, and it is used as soon as it lists
				// as many entries as the last good one. Sleeping through
				// the whole hold kept an upstream on a task that was
				// replaced meanwhile for all of it (the soak's stale
				// upstreams after a Consul restart).
				index = 0
				if !sleep(min(cfg.retryMin, holdUntil.Sub(now))) {
					return
				}
				continue
			}
			// Held long enough: the source really lists fewer now.
		}
		holdUntil = time.Time{}
		recovered := failing
		failing = false
		if haveLast && next == index && next != 0 && !recovered {
			continue // the blocking query timed out with nothing new
		}
		index = next
		if !send(watchUpdate{value: value}) {
			return
		}
		last, haveLast = value, true
	}
}

// shrank reports whether next lists fewer instances, nodes or services than
// prev. Only those lists count: they are what a restarted Consul answers
// short before its agents re-register. KV data is ordinary data, and
// safeLs/safeTree already guard empty prefixes.
func shrank(prev, next any) bool {
	switch p := prev.(type) {
	case []*HealthService:
		n, ok := next.([]*HealthService)
		return ok && len(n) < len(p)
	case []*Node:
		n, ok := next.([]*Node)
		return ok && len(n) < len(p)
	case []*CatalogSnippet:
		n, ok := next.([]*CatalogSnippet)
		return ok && len(n) < len(p)
	}
	return false
}
