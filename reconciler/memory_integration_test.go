package reconciler_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/testenv"
)

// scriptedAgent registers id on its own ZooKeeper session and reports every
// task assigned to it as state (FAILED: a crash loop; RUNNING: healthy).
// Closing the returned store ends its session: the agent is lost.
func (c *jobsCluster) scriptedAgent(id, addr string, state cluster.TaskState) func() {
	c.t.Helper()
	store := c.open(addr)
	st := cluster.NewState(store)
	a := cluster.Agent{ID: id, Hostname: id, Address: "127.0.0.2", Resources: cluster.Resources{CPUs: 2, Mem: 2048, Disk: 1000},
		Ports: []cluster.PortRange{{Begin: 31000, End: 31100}}}
	if _, err := st.RegisterAgent(c.ctx, a); err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(c.ctx)
	go func() {
		for set := range st.WatchAssignments(ctx, id, func(error) {}) {
			var sts []cluster.TaskStatus
			for _, as := range set {
				s := state
				if as.Kill {
					s = cluster.TaskKilled
				}
				sts = append(sts, cluster.TaskStatus{TaskID: as.TaskID, AgentID: id, State: s, Health: cluster.HealthHealthy,
					StartedAt: as.CreatedAt, UpdatedAt: time.Now()})
			}
			if len(sts) > 0 {
				_ = st.PutStatuses(ctx, sts...)
			}
		}
	}()
	return func() { cancel(); store.Close() }
}

// A new leader continues the old leader's clocks: the backoff of a crash
// looping app and the unreachable clock of a lost agent are in ZooKeeper,
// so after the leader is cut off mid-backoff and mid-unreachable-window the
// new one neither relaunches early nor restarts either clock.
func TestNewLeaderContinuesTheClocks(t *testing.T) {
	testenv.Integration(t)
	zk := testenv.StartZooKeeper(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c := &jobsCluster{t: t, ctx: ctx, zk: zk, chroot: "/memory-" + testenv.UniqueID(t)}
	c.obs = cluster.NewState(c.open(zk.Addrs()[0]))
	t.Cleanup(c.wg.Wait)

	const inactive = 12 // seconds an unreachable task waits for its agent
	repo := testenv.NewGitRepo(t, t.TempDir())
	repo.Commit(t, "main", map[string]string{
		"apps/crash.yaml": "kind: App\nid: /crash\ninstances: 1\ncpus: 0.1\nmem: 16\ncmd: crash\nbackoffSeconds: 40\nbackoffFactor: 2\n" +
			"constraints: [[hostname, IS, crashy]]\n",
		"apps/web.yaml": "kind: App\nid: /web\ninstances: 1\ncpus: 0.1\nmem: 16\ncmd: serve\n" +
			"unreachableStrategy: {inactiveAfterSeconds: " + fmt.Sprint(inactive) + ", expungeAfterSeconds: 600}\n" +
			"constraints: [[hostname, LIKE, \"steady|spare\"]]\n",
	}, "a crash loop and a web app")
	c.scriptedAgent("crashy", zk.Addrs()[0], cluster.TaskFailed)
	loseSteady := c.scriptedAgent("steady", zk.Addrs()[0], cluster.TaskRunning)

	proxies := map[string]*testenv.ZKProxy{"s1": zk.Proxy(t, 0), "s2": zk.Proxy(t, 0)}
	c.serve("s1", c.open(proxies["s1"].Addr()), repo.FileURL())
	var first string
	c.waitFor("a leader", func() bool { first, _ = c.obs.Leader(ctx); return first != "" })
	other := "s2"
	if first == "s2" {
		other = "s1"
	}
	c.serve(other, c.open(proxies[other].Addr()), repo.FileURL())

	var history cluster.LaunchHistory
	c.waitFor("the crash loop's first failure stored", func() bool {
		l, err := c.obs.Launches(ctx)
		history = l["/crash"]
		return err == nil && history.Failures >= 1
	})
	c.waitFor("/web running on steady", func() bool { return liveTasks(ctx, c.obs, "/web") == 1 })
	loseSteady()
	var lost cluster.AgentLost
	c.waitFor("the lost clock of steady stored", func() bool {
		l, err := c.obs.LostAgents(ctx)
		lost = l["steady"]
		return err == nil && !lost.Since.IsZero()
	})
	// A spare agent joins, where /web's replacement can go once the window
	// has passed.
	c.scriptedAgent("spare", zk.Addrs()[0], cluster.TaskRunning)

	proxies[first].Block()
	cutAt := time.Now()
	c.waitFor("the other server to lead", func() bool { l, _ := c.obs.Leader(ctx); return l == other })
	tookOver := time.Since(cutAt)
	t.Logf("%s cut off; %s leads after %v", first, other, tookOver.Round(10*time.Millisecond))

	// The replacement waits for the clock the old leader started.
	var replacement cluster.Task
	c.waitFor("/web replaced on spare", func() bool {
		tasks, _ := c.obs.Tasks(ctx)
		for _, tk := range tasks {
			if tk.OwnerID == "/web" && tk.AgentID == "spare" {
				replacement = tk
				return true
			}
		}
		return false
	})
	due := lost.Since.Add(inactive * time.Second)
	if replacement.CreatedAt.Before(due) {
		t.Errorf("replaced at %s, before the window that began at %s ended (%s)", replacement.CreatedAt, lost.Since, due)
	}
	if restarted := cutAt.Add(tookOver).Add(inactive * time.Second); !replacement.CreatedAt.Before(restarted.Add(-time.Second)) {
		t.Errorf("replaced at %s: the new leader started the window again (it would end at %s)", replacement.CreatedAt, restarted)
	}
	if l, _ := c.obs.LostAgents(ctx); !l["steady"].Since.Equal(lost.Since) {
		t.Errorf("lost clock of steady is %s after the failover, was %s", l["steady"].Since, lost.Since)
	}

	// The crash loop's backoff (40 s after the first failure) is still on:
	// no relaunch, and the stored history is the old leader's.
	l, err := c.obs.Launches(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := l["/crash"]; got.Failures != history.Failures || !got.LastFailure.Equal(history.LastFailure) {
		t.Errorf("launch history after the failover %+v, was %+v", got, history)
	}
	if time.Since(history.LastFailure) < 40*time.Second {
		if n := liveTasks(ctx, c.obs, "/crash"); n != 0 {
			t.Errorf("/crash relaunched inside its backoff by the new leader (%d live tasks)", n)
		}
	}
	proxies[first].Unblock()
}

// liveTasks counts app id's tasks that run or are starting.
func liveTasks(ctx context.Context, st *cluster.State, id string) int {
	tasks, err := st.Tasks(ctx)
	if err != nil {
		return -1
	}
	n := 0
	for _, t := range tasks {
		if t.OwnerID == id && !t.Status.State.Terminal() && !t.Kill {
			n++
		}
	}
	return n
}
