package reconciler

import (
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/reconciler/decide"
)

// Observer is told what the loop does, for metrics (package metrics exports
// it to Prometheus). It measures; it decides nothing.
type Observer interface {
	// Pass is a completed pass: its duration, its result and the tasks it
	// read.
	Pass(d time.Duration, out decide.Result, tasks [][]cluster.Task)
	// Placement runs the allocator's work (timing it).
	Placement(place func())
	StoreError()
	GitError()
	PassError()
	Rejected(bool)
	Leader(bool)
	Degraded(n int)
	Converged(bool)
	// CacheResync is a full re-read of the cluster state into the leader's
	// cache (package mirror), why it ran and how many nodes the cache had
	// wrong.
	CacheResync(reason string, drift int)
	// IdlePass is a pass that found nothing changed and reused the last
	// decision.
	IdlePass()
}

// PassObserver is what an Observer may also implement to see a pass start
// and a new head arrive; the cluster benchmark (package clusterbench) times
// a pass's CPU and a change's way from Git to the store with it.
type PassObserver interface {
	// PassStarted comes right before a pass reads the cluster, in the
	// pass's goroutine; Pass or PassError follows.
	PassStarted()
	// HeadFetched comes once a fetch found a new head, before it is loaded;
	// the next completed pass decides it (unless it is rejected).
	HeadFetched(commit string)
}

// noObserver is the loop's Observer when none is configured.
type noObserver struct{}

func (noObserver) Pass(time.Duration, decide.Result, [][]cluster.Task) {}
func (noObserver) Placement(place func())                              { place() }
func (noObserver) StoreError()                                         {}
func (noObserver) GitError()                                           {}
func (noObserver) PassError()                                          {}
func (noObserver) Rejected(bool)                                       {}
func (noObserver) Leader(bool)                                         {}
func (noObserver) Degraded(int)                                        {}
func (noObserver) Converged(bool)                                      {}
func (noObserver) CacheResync(string, int)                             {}
func (noObserver) IdlePass()                                           {}
