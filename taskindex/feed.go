package taskindex

import (
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/reconciler"
	"github.com/berthops/berth/reconciler/decide"
)

// Feed returns a reconcile loop Observer that updates x after every pass,
// empties it when the loop stops leading (a former leader's index would
// miss every task started after it), and tells next (nil: nothing else)
// everything.
func Feed(x *Index, next reconciler.Observer) reconciler.Observer {
	if next == nil {
		next = nop{}
	}
	return feed{Observer: next, x: x}
}

type feed struct {
	reconciler.Observer
	x *Index
}

func (f feed) Pass(d time.Duration, out decide.Result, tasks [][]cluster.Task) {
	f.x.UpdateParts(tasks, out.Changes, time.Now())
	f.Observer.Pass(d, out, tasks)
}

func (f feed) Leader(leading bool) {
	if !leading {
		f.x.Reset()
	}
	f.Observer.Leader(leading)
}

type nop struct{}

func (nop) Pass(time.Duration, decide.Result, [][]cluster.Task) {}
func (nop) Placement(place func())                              { place() }
func (nop) StoreError()                                         {}
func (nop) GitError()                                           {}
func (nop) PassError()                                          {}
func (nop) Rejected(bool)                                       {}
func (nop) Leader(bool)                                         {}
func (nop) Degraded(int)                                        {}
func (nop) Converged(bool)                                      {}
func (nop) CacheResync(string, int)                             {}
func (nop) IdlePass()                                           {}
