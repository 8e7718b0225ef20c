package agent

import (
	"context"
	"log/slog"
	"sync"

	"github.com/berthops/berth/cluster"
)

// StateCluster is the Cluster an agent uses in production: the typed
// cluster state over a ZooKeeper (or in-memory) store.
type StateCluster struct {
	State *cluster.State
	Log   *slog.Logger

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

// WatchAssignments implements Cluster; read errors are logged and retried by
// cluster.State itself.
func (s *StateCluster) WatchAssignments(ctx context.Context, agentID string) (<-chan []cluster.Assignment, error) {
	log := s.Log
	if log == nil {
		log = slog.Default()
	}
	return s.State.WatchAssignments(ctx, agentID, func(err error) { log.Warn("watch assignments", "err", err) }), nil
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
