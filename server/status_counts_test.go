package server_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/berthops/berth/client"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/memstore"
	"github.com/berthops/berth/server"
)

// getCounter counts the nodes a store reads one by one.
type getCounter struct {
	cluster.Store
	gets atomic.Int64
}

func (s *getCounter) Get(ctx context.Context, p string) (cluster.Node, error) {
	s.gets.Add(1)
	return s.Store.Get(ctx, p)
}

// GET /v1/status?agents=count (berth status) counts the agents from the
// listings of registered and live agents, reading no agent's record: the
// same counts as the full list, which reads every agent.
func TestStatusCountsAgentsWithoutReadingThem(t *testing.T) {
	ctx := context.Background()
	tree := memstore.New()
	const agents = 40
	for i := range agents {
		c := tree.Client()
		if _, err := cluster.NewState(c).RegisterAgent(ctx, cluster.Agent{ID: fmt.Sprintf("agent-%02d", i), Address: "127.0.0.2"}); err != nil {
			t.Fatal(err)
		}
		if i%4 == 0 {
			c.Expire() // lost, and not coming back
			_ = c.Close()
		}
	}
	store := &getCounter{Store: tree.Client()}
	srv := server.New(server.Config{ID: "s", Store: store})
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	c, err := client.New(ts.URL, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	full, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(full.Agents) != agents || full.AgentCounts == nil {
		t.Fatalf("full status: %d agents, counts %+v", len(full.Agents), full.AgentCounts)
	}
	store.gets.Store(0)
	counted, err := c.StatusCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counted.Agents != nil {
		t.Errorf("?agents=count listed %d agents", len(counted.Agents))
	}
	got, want := *counted.AgentCounts, *full.AgentCounts
	if got.Registered != agents || got.Reachable != agents-agents/4 || got.Registered != want.Registered ||
		got.Reachable != want.Reachable || !slices.Equal(slices.Sorted(slices.Values(got.Unreachable)), slices.Sorted(slices.Values(want.Unreachable))) {
		t.Errorf("counts %+v, the full status counts %+v", got, want)
	}
	if n := store.gets.Load(); n > 4 {
		t.Errorf("?agents=count read %d nodes one by one; want only the leader's and server records, no agent's", n)
	}
}

// BenchmarkStatus5000Agents is GET /v1/status on a cluster of 5,000 agents
// (in memory): the full list, as berth status -o json asks, and the counts
// berth status asks for. It reports the nodes read one by one per request.
//
//	go test -run '^$' -bench Status5000Agents -benchtime 20x ./server/
func BenchmarkStatus5000Agents(b *testing.B) {
	ctx := context.Background()
	tree := memstore.New()
	for i := range 5000 {
		c := tree.Client()
		if _, err := cluster.NewState(c).RegisterAgent(ctx, cluster.Agent{ID: fmt.Sprintf("agent-%04d", i), Address: "127.0.0.2",
			Resources: cluster.Resources{CPUs: 8, Mem: 32768}}); err != nil {
			b.Fatal(err)
		}
	}
	store := &getCounter{Store: tree.Client()}
	srv := server.New(server.Config{ID: "s", Store: store})
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	c, err := client.New(ts.URL, "", nil)
	if err != nil {
		b.Fatal(err)
	}
	for name, status := range map[string]func(context.Context) (server.Status, error){"list": c.Status, "count": c.StatusCounts} {
		b.Run(name, func(b *testing.B) {
			store.gets.Store(0)
			for range b.N {
				if _, err := status(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(store.gets.Load())/float64(b.N), "gets/op")
		})
	}
}
