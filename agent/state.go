package agent

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/mirror"
)

// StateCluster is the Cluster an agent uses in production: the typed
// cluster state over a ZooKeeper (or in-memory) store.
type StateCluster struct {
	State *cluster.State
	Log   *slog.Logger
	// ResyncEvery is how often the agent re-reads all its assignments and
	// counts what its watches missed; 0 means 5 minutes (as the leader's
	// cache).
	ResyncEvery time.Duration
	// OnResync, if set, is told about every full re-read of the agent's
	// assignments: why it ran and how many assignments the agent's copy
	// had wrong (drift).
	OnResync func(reason string, drift int)

	mu  sync.Mutex
	reg cluster.Registration // the live node; kept so it is not collected
}

// RegisterAgent implements Cluster.
func (s *StateCluster) RegisterAgent(ctx context.Context, a cluster.Agent) error {
	reg, err := s.State.RegisterAgent(ctx, a)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.reg = reg
	s.mu.Unlock()
	return nil
}

// WatchAssignments implements Cluster. The agent follows its assignment
// directory with the same watch-driven cache the leader uses
// (mirror.ForAgent): a change costs a listing of the directory and a read of
// the one assignment that was added or changed, not a read of every
// assignment the agent holds, and each assignment is decoded once. The
// cache re-reads everything after a lost session and every ResyncEvery,
// and logs and reports (OnResync) what its watches had missed.
func (s *StateCluster) WatchAssignments(ctx context.Context, agentID string) (<-chan []cluster.Assignment, error) {
	log := s.Log
	if log == nil {
		log = slog.Default()
	}
	log = log.With("assignments", agentID)
	m := mirror.ForAgent(s.State.Store(), agentID, mirror.Options{
		ResyncEvery: s.ResyncEvery, Workers: 4, OnResync: s.OnResync, Logger: log})
	out := make(chan []cluster.Assignment, 1)
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		_ = m.Run(ctx) // returns ctx.Err(); it logs and retries failures itself
	}()
	go func() {
		defer close(out)
		defer func() { <-ran }()
		sent, first := uint64(0), true
		for {
			if err := m.WaitFresh(ctx); err != nil {
				if ctx.Err() != nil {
					return
				}
				continue // the mirror logged it; WaitFresh waits for its next attempt
			}
			set, epoch, err := m.Assignments()
			if errors.Is(err, mirror.ErrStale) {
				continue // lost its watches again since: wait for the resync
			}
			if first || epoch != sent {
				first, sent = false, epoch
				// Replace an unread set: only the latest matters.
				select {
				case <-out:
				default:
				}
				out <- set
			}
			select {
			case <-ctx.Done():
				return
			case <-m.Changed():
			}
		}
	}()
	return out, nil
}

// ReportStatuses implements Cluster.
func (s *StateCluster) ReportStatuses(ctx context.Context, sts []cluster.TaskStatus) error {
	return s.State.PutStatuses(ctx, sts...)
}

// ReportRenders records how agentID renders its templates (a
// TemplateConfig.Report over the cluster state).
func (s *StateCluster) ReportRenders(agentID string) func(ctx context.Context, renders []cluster.TemplateRender) error {
	return func(ctx context.Context, renders []cluster.TemplateRender) error {
		return s.State.PutRenders(ctx, agentID, renders)
	}
}
