package mirror_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/mirror"
	"github.com/berthops/berth/cluster/zkstore"
	"github.com/berthops/berth/testenv"
)

// The session timeout of the mirror's client: short, so expiries are quick.
const testSession = 2 * time.Second

func openZK(t *testing.T, addr, chroot string) *zkstore.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := zkstore.Open(ctx, zkstore.Config{Servers: []string{addr}, Chroot: chroot},
		zkstore.Options{SessionTimeout: testSession})
	if err != nil {
		t.Fatalf("open zkstore: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// The mirror equals a fresh read of a real ZooKeeper after random writes by
// agents and the leader, connection losses the client survives, and
// expiries of the mirror's session (its watches lost).
func TestMirrorEqualsZooKeeper(t *testing.T) {
	testenv.Integration(t)
	zk := testenv.StartZooKeeper(t, 1)
	for seed := range uint64(2) {
		chroot := fmt.Sprintf("/mirror-%d", seed)
		agents := openZK(t, zk.Addrs()[0], chroot)
		px := zk.Proxy(t, 0)
		leader := openZK(t, px.Addr(), chroot)
		n := 0
		expire := func() {
			n++
			t.Logf("cut-off %d (expiry: %v)", n, n%2 == 0)
			if n%2 == 1 {
				// Cut off for less than the session: the client reconnects
				// in the same session and its watches carry over.
				px.Block()
				time.Sleep(testSession / 4)
				px.Unblock()
				return
			}
			sess := leader.Session()
			px.Block()
			time.Sleep(testSession + 3*testenv.TickTime)
			px.Unblock()
			select {
			case <-sess:
			case <-time.After(4 * testSession):
				t.Fatalf("the leader's client did not learn its session expired")
			}
		}
		runScenario(t, seed, 6, 25, agents, leader, expire)
	}
}

// A standby's mirror that settles after a watch on its own session fired
// (as a follower learns of its election) holds every write made before
// that watch's cause, though another session made them: watches fire in
// the order of the writes, and Settle reads what they told of. Statuses
// written in place (one watch each) and new assignments (a directory's
// children watch, then a read) are both covered.
func TestSettledMirrorHoldsWritesBeforeAWatchFired(t *testing.T) {
	testenv.Integration(t)
	zk := testenv.StartZooKeeper(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	chroot := "/settle-" + testenv.UniqueID(t)
	writer := openZK(t, zk.Addrs()[0], chroot)
	follower := openZK(t, zk.Addrs()[0], chroot)
	st := cluster.NewState(writer)
	if _, err := st.RegisterAgent(ctx, cluster.Agent{ID: "a1", Hostname: "a1"}); err != nil {
		t.Fatal(err)
	}
	m := mirror.New(follower, mirror.Options{})
	mctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { _ = m.Run(mctx) }()
	if err := m.WaitFresh(ctx); err != nil {
		t.Fatal(err)
	}
	if err := writer.Multi(ctx, cluster.Put("/marker", []byte("0"))); err != nil {
		t.Fatal(err)
	}
	for round := range 20 {
		marker, err := follower.Watch(ctx, "/marker")
		if err != nil {
			t.Fatal(err)
		}
		var b cluster.Batch
		task := fmt.Sprintf("web.%d", round)
		b.PutAssignment(cluster.Assignment{TaskID: task, Owner: cluster.OwnerApp, OwnerID: "/web", AgentID: "a1", Version: "v1"})
		if err := writer.Multi(ctx, b.Ops()...); err != nil {
			t.Fatal(err)
		}
		if err := st.PutStatuses(ctx, cluster.TaskStatus{TaskID: task, AgentID: "a1", State: cluster.TaskRunning, UpdatedAt: time.Unix(int64(round), 0)}); err != nil {
			t.Fatal(err)
		}
		if round > 0 {
			prev := fmt.Sprintf("web.%d", round-1)
			if err := st.PutStatuses(ctx, cluster.TaskStatus{TaskID: prev, AgentID: "a1", State: cluster.TaskFinished}); err != nil {
				t.Fatal(err)
			}
		}
		if err := writer.Multi(ctx, cluster.Put("/marker", []byte(fmt.Sprint(round+1)))); err != nil {
			t.Fatal(err)
		}
		select {
		case <-marker:
		case <-ctx.Done():
			t.Fatal("the marker's watch never fired")
		}
		if err := m.Settle(ctx); err != nil {
			t.Fatal(err)
		}
		s, err := m.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		states := map[string]cluster.TaskState{}
		for _, tk := range s.AllTasks() {
			states[tk.TaskID] = tk.Status.State
		}
		if states[task] != cluster.TaskRunning {
			t.Fatalf("round %d: settled after the marker, %s is %q, want RUNNING (tasks %v)", round, task, states[task], states)
		}
		if round > 0 && states[fmt.Sprintf("web.%d", round-1)] != cluster.TaskFinished {
			t.Fatalf("round %d: settled after the marker, the previous task's status rewritten in place is not seen (tasks %v)", round, states)
		}
	}
}
