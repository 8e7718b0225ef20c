package cluster_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/memstore"
)

// existsSignal tells when a Register found the node already there.
type existsSignal struct {
	*memstore.Client
	once  sync.Once
	found chan struct{}
}

func (s *existsSignal) Register(ctx context.Context, p string, data []byte) (cluster.Registration, error) {
	r, err := s.Client.Register(ctx, p, data)
	if errors.Is(err, cluster.ErrExists) {
		s.once.Do(func() { close(s.found) })
	}
	return r, err
}

// restartWithinSession registers a process (register, with the address
// it announces) the way a crashed process and its restart do: the restart
// finds the crashed one's node while its session lives, must wait instead
// of failing, and must register once that session ends. It returns the
// restarted process's store.
func restartWithinSession(t *testing.T, register func(st *cluster.State, address string) error) cluster.Store {
	t.Helper()
	tree := memstore.New()
	crashed := tree.Client()
	if err := register(cluster.NewState(crashed), "first"); err != nil {
		t.Fatal(err)
	}
	store := &existsSignal{Client: tree.Client(), found: make(chan struct{})}
	done := make(chan error, 1)
	go func() { done <- register(cluster.NewState(store), "again") }()
	select {
	case <-store.found:
	case err := <-done:
		t.Fatalf("registered while the old session lived: %v", err)
	}
	// The crashed process's session ends (it expires in ZooKeeper).
	crashed.Close()
	if err := <-done; err != nil {
		t.Fatalf("after the old session expired: %v", err)
	}
	return store
}

// TestRegisterServerWaitsForItsPreviousSession: a server restarted before
// its previous session expired finds its old announcement, and registers
// once that session ends instead of failing (which made `berth server`
// exit, and left the 06:00 soak with no server at all).
func TestRegisterServerWaitsForItsPreviousSession(t *testing.T) {
	ctx := context.Background()
	store := restartWithinSession(t, func(st *cluster.State, address string) error {
		_, err := st.RegisterServer(ctx, cluster.ServerInfo{ID: "server-1", Address: address})
		return err
	})
	got, err := cluster.NewState(store).Server(ctx, "server-1")
	if err != nil || got.Address != "again" {
		t.Fatalf("announcement %+v, %v; want the restarted server's", got, err)
	}
}

// TestRegisterAgentWaitsForItsPreviousSession: the same for an agent killed
// and started again within its session timeout. It exited on the old live
// node, and stayed down until someone started it again; its tasks were
// replaced elsewhere meanwhile, so only a check that processes stay up
// (the soak's process-down-without-fault) could see it.
func TestRegisterAgentWaitsForItsPreviousSession(t *testing.T) {
	ctx := context.Background()
	store := restartWithinSession(t, func(st *cluster.State, address string) error {
		_, err := st.RegisterAgent(ctx, cluster.Agent{ID: "agent-1", Address: address})
		return err
	})
	agents, err := cluster.NewState(store).Agents(ctx)
	if err != nil || len(agents) != 1 || !agents[0].Reachable || agents[0].Address != "again" {
		t.Fatalf("agents %+v, %v; want agent-1 reachable at its new address", agents, err)
	}
}
