package schedule

import "time"

// MaxSkippedListed bounds Decision.Skipped: a long outage of a frequent job
// can pass over millions of occurrences, and a job's history keeps only its
// last 100 runs anyway.
const MaxSkippedListed = 100

// Decision is what a scheduler should do about one job at one moment.
type Decision struct {
	// Run is the occurrence to launch now; zero when nothing is due.
	Run time.Time
	// Skipped are occurrences that passed and will never run, oldest first:
	// with an epsilon, those later than epsilon; without one, those collapsed
	// into the single catch-up run. Only the most recent MaxSkippedListed are
	// listed; SkippedCount counts them all.
	Skipped      []time.Time
	SkippedCount int64
	// Handled is what to record as the job's last handled occurrence: Run
	// when there is one, else the last skipped occurrence, else the last
	// occurrence passed in.
	Handled time.Time
	// Next is the first occurrence after Handled: when to look at the job
	// again. It can be at or before now when several runs are due within
	// epsilon. Zero when the schedule has ended.
	Next time.Time
}

// Ended reports whether the schedule has no occurrence left after this
// decision.
func (d Decision) Ended() bool { return d.Next.IsZero() }

// Due decides what is due at now for a job whose last handled occurrence
// (run or skipped) was last; the zero time means none yet, so every
// occurrence from the start counts (a cron schedule, which has no start,
// then has nothing pending: pass the time the job was created instead).
// Occurrences in (last, now] are pending.
//
// With epsilon zero (Chronos 3), any number of pending occurrences collapse
// into one catch-up run of the most recent one. With epsilon set (Chronos
// 2), an occurrence more than epsilon before now is skipped, and the oldest
// one within epsilon runs; the caller records it and asks again, so each of
// several occurrences within epsilon runs in turn.
//
// A schedule written without a start is anchored at last, or at now when
// last is zero. Due is pure: the same arguments give the same decision.
func (s Schedule) Due(last, now time.Time, epsilon time.Duration) Decision {
	anchor := last
	if anchor.IsZero() {
		anchor = now
	}
	from := last.Add(time.Nanosecond)
	if last.IsZero() {
		from = time.Time{}
		if s.cron != nil {
			from = now
		}
	}
	if epsilon < 0 {
		epsilon = 0
	}
	d := Decision{Handled: last}
	c := s.cursor(from, anchor)
	c.fastForward(now, epsilon, &d)
	var ring [MaxSkippedListed]time.Time
	var pending time.Time // the most recent pending occurrence not yet skipped
	for {
		o, ok := c.next()
		if !ok {
			break
		}
		if o.After(now) {
			d.Next = o
			break
		}
		if !pending.IsZero() {
			ring[d.SkippedCount%MaxSkippedListed] = pending
			d.SkippedCount++
			d.Handled = pending
		}
		pending = o
		if epsilon > 0 {
			if now.Sub(o) > epsilon {
				continue
			}
			// The oldest occurrence within epsilon runs; later ones wait for
			// the next call.
			d.Run, d.Handled = o, o
			if n, ok := c.next(); ok {
				d.Next = n
			}
			pending = time.Time{}
			break
		}
	}
	if !pending.IsZero() {
		if epsilon > 0 {
			// Past epsilon: the last pending occurrence is skipped too.
			ring[d.SkippedCount%MaxSkippedListed] = pending
			d.SkippedCount++
			d.Handled = pending
		} else {
			d.Run, d.Handled = pending, pending
		}
	}
	listed := min(d.SkippedCount, MaxSkippedListed)
	if listed > 0 {
		d.Skipped = make([]time.Time, 0, listed)
		for i := d.SkippedCount - listed; i < d.SkippedCount; i++ {
			d.Skipped = append(d.Skipped, ring[i%MaxSkippedListed])
		}
	}
	return d
}

// fastForward jumps an ISO cursor over occurrences Due would only count as
// skipped, keeping the last MaxSkippedListed of them to list, so a job whose
// start is years back costs no more than one that ran a minute ago. Cron
// cursors have no index to jump with and walk every occurrence.
func (c *cursor) fastForward(now time.Time, epsilon time.Duration, d *Decision) {
	if c.done || c.s.iso == nil {
		return
	}
	// Occurrences before end are certainly skipped: older than epsilon, or
	// (without epsilon) not the last one at or before now.
	var end int64
	var ok bool
	if epsilon > 0 {
		end, ok = c.s.iso.index(c.start, c.s.Location(), now.Add(-epsilon))
	} else {
		end, ok = c.s.iso.index(c.start, c.s.Location(), now.Add(time.Nanosecond))
		end--
	}
	if !ok {
		if c.s.iso.repeats < 0 {
			return // the end of time, not the end of the series
		}
		// No occurrence at or after that time: they all lie before it.
		end = c.s.iso.limit()
		if epsilon == 0 {
			end--
		}
	}
	if jump := end - c.k - MaxSkippedListed; jump > 0 {
		c.k += jump
		d.SkippedCount += jump
	}
}
