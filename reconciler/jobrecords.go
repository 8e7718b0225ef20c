package reconciler

import (
	"context"
	"fmt"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
)

// jobRecords is the loop's copy of the job scheduler's records (job states
// and runs), kept between passes while the reconciler leads. Only the leader
// writes these records, and only through the loop's own fenced commits, so
// after one full read a pass needs to re-read only the jobs the previous
// commit wrote: an idle pass over thousands of jobs reads none. Any doubt (a
// failed commit, a new term) drops the copy and the next pass reads it all.
type jobRecords struct {
	loaded bool
	states map[string]cluster.JobState
	runs   map[string][]cluster.JobRun
	// stale are jobs whose runs a commit wrote; statesStale says a job state
	// was written (states are listed as one directory).
	stale       map[string]bool
	statesStale bool
}

// read returns the records for a pass over desired, reading from the store
// only what may have changed since the last read.
func (c *jobRecords) read(ctx context.Context, st *cluster.State, desired *manifests.Set) (map[string]cluster.JobState, map[string][]cluster.JobRun, error) {
	if !c.loaded {
		states, runs, err := readJobRecords(ctx, st, desired)
		if err != nil {
			return nil, nil, err
		}
		c.loaded, c.states, c.runs, c.stale, c.statesStale = true, states, runs, map[string]bool{}, false
		return states, runs, nil
	}
	if c.statesStale {
		states, err := st.JobStates(ctx)
		if err != nil {
			c.reset()
			return nil, nil, fmt.Errorf("read job states: %w", err)
		}
		c.states, c.statesStale = states, false
	}
	refresh := func(name string) error {
		got, err := st.JobRuns(ctx, name)
		if err != nil {
			c.reset()
			return fmt.Errorf("read runs of job %s: %w", name, err)
		}
		c.runs[name] = got
		return nil
	}
	for name := range c.stale {
		if err := refresh(name); err != nil {
			return nil, nil, err
		}
	}
	for i := range desired.Jobs {
		// A job new in this commit may have runs from an earlier life.
		name := desired.Jobs[i].Name
		if _, ok := c.runs[name]; !ok {
			if err := refresh(name); err != nil {
				return nil, nil, err
			}
		}
	}
	c.stale = map[string]bool{}
	return c.states, c.runs, nil
}

// wrote records that a commit wrote the runs or state of jobs.
func (c *jobRecords) wrote(jobs []string) {
	if c == nil || !c.loaded {
		return // nothing kept: the next read reads everything anyway
	}
	for _, j := range jobs {
		c.stale[j] = true
	}
	if len(jobs) > 0 {
		c.statesStale = true
	}
}

// reset drops the copy: the next read reads everything.
func (c *jobRecords) reset() {
	if c != nil {
		*c = jobRecords{}
	}
}

// readJobRecords reads every job state, and the runs of every job that has
// recorded runs or is desired.
func readJobRecords(ctx context.Context, st *cluster.State, desired *manifests.Set) (map[string]cluster.JobState, map[string][]cluster.JobRun, error) {
	states, err := st.JobStates(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("read job states: %w", err)
	}
	names, err := st.JobNames(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("read job runs: %w", err)
	}
	for _, j := range desired.Jobs {
		names = append(names, j.Name)
	}
	runs := map[string][]cluster.JobRun{}
	for _, n := range names {
		if _, done := runs[n]; done {
			continue
		}
		got, err := st.JobRuns(ctx, n)
		if err != nil {
			return nil, nil, fmt.Errorf("read runs of job %s: %w", n, err)
		}
		runs[n] = got
	}
	return states, runs, nil
}
