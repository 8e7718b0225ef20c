package decide

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
)

// fakeCluster is a decision input that decisions are applied to with
// Apply, and agents played with PlayAgents, so whole rollouts can be
// checked without I/O.
type fakeCluster struct {
	in Input
	n  int
}

func newFakeCluster(agents ...string) *fakeCluster {
	f := &fakeCluster{}
	for i, id := range agents {
		f.in.Agents = append(f.in.Agents, cluster.Agent{ID: id, Hostname: id, Address: fmt.Sprintf("127.0.0.%d", i+2), Reachable: true,
			Resources: cluster.Resources{CPUs: 4, Mem: 4096, Disk: 10000}, Ports: []cluster.PortRange{{Begin: 31000, End: 31010}}})
	}
	return f
}

func (f *fakeCluster) snapshot(set *manifests.Set, now time.Time) Input {
	in := f.in
	in.Desired, in.Now = set, now
	return in
}

func (f *fakeCluster) opts() Options {
	return Options{Prune: true, NewTaskID: func(app string) string { f.n++; return fmt.Sprintf("%s.%d", TaskPrefix(app), f.n) }}
}

// apply commits a decision's changes.
func (f *fakeCluster) apply(_ *testing.T, out Result) { f.in.Apply(out.Changes) }

// agentsAct plays the agents: new tasks run and become healthy, killed
// tasks end.
func (f *fakeCluster) agentsAct(now time.Time) { f.in.PlayAgents(now) }

func (f *fakeCluster) running(version string) int {
	n := 0
	for _, t := range f.in.Tasks {
		if t.Status.State == cluster.TaskRunning && !t.Kill && (version == "" || t.Version == version) {
			n++
		}
	}
	return n
}

func TestPassStartsScalesRollsAndPrunes(t *testing.T) {
	f := newFakeCluster("a1", "a2")
	app := manifests.App{ID: "/web", Instances: 3, CPUs: 0.5, Mem: 64, BackoffSeconds: 1, BackoffFactor: 1.15, MaxLaunchDelaySeconds: 300,
		KillSelection: "YOUNGEST_FIRST", UpgradeStrategy: manifests.UpgradeStrategy{MinimumHealthCapacity: 1, MaximumOverCapacity: 1},
		Container: &manifests.Container{Type: "DOCKER", Docker: &manifests.Docker{Image: "berth/web:dev", Network: "BRIDGE"},
			PortMappings: []manifests.PortMapping{{ContainerPort: 80, Protocol: "tcp"}}}}
	set := &manifests.Set{Apps: []manifests.App{app}}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	converge := func(set *manifests.Set) Result {
		t.Helper()
		var out Result
		for i := 0; i < 20; i++ {
			now = now.Add(time.Second)
			out := Decide(f.snapshot(set, now), f.opts())
			if out.Converged && len(out.Changes) == 0 {
				return out
			}
			f.apply(t, out)
			f.agentsAct(now)
		}
		t.Fatalf("did not converge: %+v", out.Apps)
		return out
	}
	out := converge(set)
	if got := f.running(""); got != 3 {
		t.Fatalf("running after start = %d, want 3", got)
	}
	if out.Apps[0].Status.Health != "Healthy" || out.Apps[0].Status.Sync != "Synced" {
		t.Errorf("status %+v", out.Apps[0].Status)
	}
	if len(f.in.ServicePorts) != 1 || f.in.ServicePorts[0].Port != 10000 {
		t.Errorf("service ports %+v, want 10000 for /web", f.in.ServicePorts)
	}
	for _, tk := range f.in.Tasks {
		if hp := tk.Spec.Ports[0].HostPort; hp < 31000 || hp > 31010 {
			t.Errorf("task %s host port %d outside the agent range", tk.TaskID, hp)
		}
		if tk.Spec.Ports[0].ServicePort != 10000 {
			t.Errorf("task %s service port %d", tk.TaskID, tk.Spec.Ports[0].ServicePort)
		}
	}

	set.Apps[0].Instances = 5
	converge(set)
	if got := f.running(""); got != 5 {
		t.Fatalf("running after scale up = %d, want 5", got)
	}

	set.Apps[0].Container.Docker.Image = "berth/web:v2"
	v2 := SpecVersion(AppTaskSpec(&set.Apps[0], []int{10000}, SpecOptions{}))
	converge(set)
	if got := f.running(v2); got != 5 || len(f.in.Tasks) != 5 {
		t.Fatalf("after rollout: %d of v2 running, %d tasks; want 5 and 5", got, len(f.in.Tasks))
	}

	converge(&manifests.Set{})
	if len(f.in.Tasks) != 0 || len(f.in.ServicePorts) != 0 {
		t.Fatalf("after prune %d tasks and %d service ports remain", len(f.in.Tasks), len(f.in.ServicePorts))
	}
}

func TestPassDependencyOrderAndStopBeforeStart(t *testing.T) {
	f := newFakeCluster("a1")
	db := manifests.App{ID: "/db", Instances: 1, CPUs: 0.1, Mem: 16, Cmd: "db", UpgradeStrategy: manifests.UpgradeStrategy{MinimumHealthCapacity: 1, MaximumOverCapacity: 1}}
	web := manifests.App{ID: "/web", Instances: 2, CPUs: 0.1, Mem: 16, Cmd: "web", Dependencies: []string{"/db"}, UpgradeStrategy: db.UpgradeStrategy}
	set := &manifests.Set{Apps: []manifests.App{db, web}}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	out := Decide(f.snapshot(set, now), f.opts())
	f.apply(t, out)
	if n := len(f.in.Tasks); n != 1 {
		t.Fatalf("first pass started %d tasks, want only /db's 1 (web waits for its dependency)", n)
	}
	if msg := out.Apps[1].Status.Message; !strings.Contains(msg, "waiting for /db") {
		t.Errorf("web status %q does not say what it waits for", msg)
	}
	f.agentsAct(now)
	out = Decide(f.snapshot(set, now.Add(time.Second)), f.opts())
	f.apply(t, out)
	f.agentsAct(now)
	if n := f.running(""); n != 3 {
		t.Fatalf("after /db is healthy, %d running, want 3", n)
	}

	// Rename /web to /web2: the old app's tasks stop before the new one starts.
	web2 := web
	web2.ID = "/web2"
	set = &manifests.Set{Apps: []manifests.App{db, web2}}
	out = Decide(f.snapshot(set, now.Add(2*time.Second)), f.opts())
	f.apply(t, out)
	for _, tk := range f.in.Tasks {
		if tk.OwnerID == "/web2" {
			t.Fatalf("/web2 started while /web was still stopping")
		}
	}
	if out.Apps[1].Status.Message != "waiting for removed apps to stop" {
		t.Errorf("web2 status %q", out.Apps[1].Status.Message)
	}
}

func TestPassUnreachableStrategyCountsFromWhenTheAgentWasLost(t *testing.T) {
	f := newFakeCluster("a1", "a2")
	app := manifests.App{ID: "/web", Instances: 1, CPUs: 0.1, Mem: 16, Cmd: "web",
		UpgradeStrategy:     manifests.UpgradeStrategy{MinimumHealthCapacity: 1, MaximumOverCapacity: 1},
		UnreachableStrategy: manifests.UnreachableStrategy{InactiveAfterSeconds: 60, ExpungeAfterSeconds: 600}}
	set := &manifests.Set{Apps: []manifests.App{app}}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	out := Decide(f.snapshot(set, now), f.opts())
	f.apply(t, out)
	f.agentsAct(now)
	var onAgent string
	for _, tk := range f.in.Tasks {
		onAgent = tk.AgentID
	}
	for i := range f.in.Agents {
		if f.in.Agents[i].ID == onAgent {
			f.in.Agents[i].Reachable = false
			f.in.Agents[i].LastSeen = now.Add(-time.Hour) // registered long ago
		}
	}
	lost := now.Add(10 * time.Second)
	snap := f.snapshot(set, lost.Add(30*time.Second))
	snap.Lost = map[string]cluster.AgentLost{onAgent: {AgentID: onAgent, Since: lost}}
	if out = Decide(snap, f.opts()); out.Apps[0].Decision.Start != 0 {
		t.Fatalf("replaced 30 s after the agent was lost; inactiveAfterSeconds is 60")
	}
	snap = f.snapshot(set, lost.Add(61*time.Second))
	snap.Lost = map[string]cluster.AgentLost{onAgent: {AgentID: onAgent, Since: lost}}
	if out = Decide(snap, f.opts()); out.Apps[0].Decision.Start != 1 {
		t.Fatalf("not replaced 61 s after the agent was lost")
	}
}

func TestPassPlacesPrivilegedAppsOnlyWhereAllowed(t *testing.T) {
	f := newFakeCluster("a1", "a2")
	f.in.Agents[1].AllowPrivileged = true
	app := manifests.App{ID: "/priv", Instances: 2, CPUs: 0.1, Mem: 16,
		Container:       &manifests.Container{Type: "DOCKER", Docker: &manifests.Docker{Image: "i", Privileged: true}},
		UpgradeStrategy: manifests.UpgradeStrategy{MinimumHealthCapacity: 1, MaximumOverCapacity: 1}}
	out := Decide(f.snapshot(&manifests.Set{Apps: []manifests.App{app}}, time.Now()), f.opts())
	f.apply(t, out)
	if len(f.in.Tasks) != 2 {
		t.Fatalf("%d tasks placed, want 2", len(f.in.Tasks))
	}
	for _, tk := range f.in.Tasks {
		if tk.AgentID != "a2" {
			t.Errorf("privileged task placed on %s, which does not allow privileged containers", tk.AgentID)
		}
	}
}
