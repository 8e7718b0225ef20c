package decide

import (
	"fmt"

	"github.com/google/go-cmp/cmp"

	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/reconciler/rollout"
)

func hostApp(id string, instances int, servicePort int) manifests.App {
	return manifests.App{ID: id, Instances: instances, CPUs: 0.1, Mem: 16, Cmd: "serve",
		PortDefinitions: []manifests.PortDefinition{{Port: servicePort, Protocol: "tcp"}},
		UpgradeStrategy: manifests.UpgradeStrategy{MinimumHealthCapacity: 1, MaximumOverCapacity: 1}}
}

// converge decides, applies and plays the agents until nothing changes.
func (f *fakeCluster) converge(t *testing.T, set *manifests.Set, now *time.Time) Result {
	t.Helper()
	var out Result
	for range 30 {
		*now = now.Add(time.Second)
		out = Decide(f.snapshot(set, *now), f.opts())
		if !progressed(out.Changes) {
			return out
		}
		f.apply(t, out)
		f.agentsAct(*now)
	}
	t.Fatalf("no steady state after 30 decisions: %+v", out.Apps)
	return out
}

func outcome(t *testing.T, out Result, id string) AppOutcome {
	t.Helper()
	for _, a := range out.Apps {
		if a.ID == id {
			return a
		}
	}
	t.Fatalf("no outcome for %s in %+v", id, out.Apps)
	return AppOutcome{}
}

// Two apps declaring one fixed service port (which validation refuses, but
// a hand-made or older state can hold) make one of them Degraded; every
// other app still deploys, scales and heals, and jobs still run.
func TestOneBrokenAppDoesNotStopTheOthers(t *testing.T) {
	f := newFakeCluster("a1", "a2")
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	set := &manifests.Set{
		Apps: []manifests.App{hostApp("/a", 1, 33180), hostApp("/b", 1, 33180), hostApp("/c", 1, 0)},
		Jobs: []manifests.Job{{Name: "tick", Schedule: "R/2026-01-01T00:00:00Z/PT1M", Command: "true", Shell: true, CPUs: 0.1, Mem: 16}},
	}
	out := f.converge(t, set, &now)
	b := outcome(t, out, "/b")
	if b.Error == "" || !strings.Contains(b.Error, "33180 is already the service port of /a") || b.Status.Health != rollout.Degraded {
		t.Fatalf("/b: %+v, want Degraded naming /a's port", b)
	}
	if out.Converged {
		t.Errorf("converged with a Degraded app")
	}
	if got := f.running(""); got < 2 {
		t.Fatalf("%d tasks running, want /a's and /c's at least", got)
	}
	for _, id := range []string{"/a", "/c"} {
		if a := outcome(t, out, id); a.Error != "" || a.Status.Health != rollout.Healthy {
			t.Errorf("%s: %+v, want Healthy", id, a.Status)
		}
	}
	runs := f.in.JobRuns["tick"]
	if len(runs) == 0 {
		t.Errorf("the job did not run while /b was Degraded")
	}

	// Scale /c, kill /a's task: both happen with /b still broken.
	set.Apps[2].Instances = 3
	for i := range f.in.Tasks {
		if f.in.Tasks[i].OwnerID == "/a" {
			f.in.Tasks[i].Status.State = cluster.TaskFailed
		}
	}
	out = f.converge(t, set, &now)
	n := map[string]int{}
	for _, tk := range f.in.Tasks {
		if tk.Status.State == cluster.TaskRunning {
			n[tk.OwnerID]++
		}
	}
	if n["/c"] != 3 || n["/a"] != 1 || n["/b"] != 0 {
		t.Fatalf("running per app %v: want /c scaled to 3, /a healed, /b not started", n)
	}
	if outcome(t, out, "/b").Error == "" {
		t.Errorf("/b is no longer reported")
	}
}

// A group the allocator cannot place (a host port asked for twice) Degrades
// only its app.
func TestAllocatorRefusalDegradesOnlyItsApp(t *testing.T) {
	f := newFakeCluster("a1")
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	bad := hostApp("/bad", 1, 0)
	bad.PortDefinitions = nil
	bad.Container = &manifests.Container{Type: "DOCKER", Docker: &manifests.Docker{Image: "x", Network: "BRIDGE"},
		PortMappings: []manifests.PortMapping{{ContainerPort: 80, HostPort: 31001}, {ContainerPort: 81, HostPort: 31001}}}
	set := &manifests.Set{Apps: []manifests.App{bad, hostApp("/good", 2, 0)}}
	out := f.converge(t, set, &now)
	if b := outcome(t, out, "/bad"); !strings.Contains(b.Unplaced, "asked for twice") || b.Status.Health != rollout.Degraded {
		t.Fatalf("/bad: %+v", b)
	}
	if got := f.running(""); got != 2 {
		t.Fatalf("%d running, want /good's 2", got)
	}
}

// The backoff's memory is a change like any other: a new leader deciding
// from the stored history keeps the delay, and the lost clock is stored the
// first time an agent is seen lost, then counted from by every decision.
func TestMemoryIsStoredAndContinued(t *testing.T) {
	f := newFakeCluster("a1", "a2")
	app := hostApp("/web", 1, 0)
	app.BackoffSeconds, app.BackoffFactor, app.MaxLaunchDelaySeconds = 60, 2, 3600
	app.UnreachableStrategy = manifests.UnreachableStrategy{InactiveAfterSeconds: 60, ExpungeAfterSeconds: 600}
	set := &manifests.Set{Apps: []manifests.App{app}}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.apply(t, Decide(f.snapshot(set, now), f.opts()))
	// The task fails at once.
	for i := range f.in.Tasks {
		f.in.Tasks[i].Status = cluster.TaskStatus{TaskID: f.in.Tasks[i].TaskID, State: cluster.TaskFailed, UpdatedAt: now}
	}
	now = now.Add(time.Second)
	out := Decide(f.snapshot(set, now), f.opts())
	var remembered *cluster.LaunchHistory
	for _, c := range out.Changes {
		if r, ok := c.(RememberLaunches); ok {
			remembered = &r.Launches
		}
	}
	if remembered == nil || remembered.Failures != 1 || remembered.AppID != "/web" {
		t.Fatalf("no launch history stored: %+v", out.Changes)
	}
	f.apply(t, out)
	// A new leader 30 s later decides from the stored history alone.
	later := now.Add(30 * time.Second)
	out = Decide(f.snapshot(set, later), f.opts())
	if a := outcome(t, out, "/web"); a.Decision.Start != 0 || a.Decision.DelayedUntil.IsZero() {
		t.Fatalf("the new leader launched inside the backoff: %+v", a.Decision)
	}
	for _, c := range out.Changes {
		if _, ok := c.(RememberLaunches); ok {
			t.Errorf("an unchanged history was written again")
		}
	}
	if a := outcome(t, Decide(f.snapshot(set, now.Add(61*time.Second)), f.opts()), "/web"); a.Decision.Start != 1 {
		t.Fatalf("not launched once the 60 s backoff passed: %+v", a.Decision)
	}

	// Lost clocks.
	f.in.Tasks = nil
	f.in.Launches = nil
	f.converge(t, set, &now)
	f.in.Agents[0].Reachable, f.in.Agents[1].Reachable = false, false
	lostAt := now.Add(time.Second)
	out = Decide(f.snapshot(set, lostAt), f.opts())
	marks := 0
	for _, c := range out.Changes {
		if m, ok := c.(MarkAgentLost); ok && m.Lost.Since.Equal(lostAt) {
			marks++
		}
	}
	if marks != 2 {
		t.Fatalf("lost clocks stored: %d, want 2 (%+v)", marks, out.Changes)
	}
	f.apply(t, out)
	out = Decide(f.snapshot(set, lostAt.Add(30*time.Second)), f.opts())
	for _, c := range out.Changes {
		if _, ok := c.(MarkAgentLost); ok {
			t.Errorf("a stored lost clock was restarted: %+v", c)
		}
	}
	f.in.Agents[0].Reachable = true
	out = Decide(f.snapshot(set, lostAt.Add(40*time.Second)), f.opts())
	cleared := false
	for _, c := range out.Changes {
		if c, ok := c.(ClearAgentLost); ok && c.AgentID == "a1" {
			cleared = true
		}
	}
	if !cleared {
		t.Errorf("the lost clock of an agent that is back was kept")
	}
}

// Simulate's first decision is exactly Decide's, and its verdict names the
// reason the server gives.
func TestSimulateFirstIsDecide(t *testing.T) {
	f := newFakeCluster("a1", "a2")
	f.in.Agents[1].AllowPrivileged = false
	priv := hostApp("/priv", 1, 0)
	priv.Container = &manifests.Container{Type: "DOCKER", Docker: &manifests.Docker{Image: "x", Privileged: true}}
	set := &manifests.Set{Apps: []manifests.App{hostApp("/web", 2, 0), priv}}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	in := f.snapshot(set, now)
	v := Simulate(in, Options{Prune: true}, 0)
	want := Decide(in, Options{Prune: true})
	if len(v.First.Changes) != len(want.Changes) || len(v.First.Apps) != len(want.Apps) {
		t.Fatalf("first simulated decision differs from Decide")
	}
	if v.Fits() || len(v.Unplaced) != 1 || v.Unplaced[0].ID != "/priv" || v.Unplaced[0].Reason != outcome(t, want, "/priv").Unplaced {
		t.Fatalf("verdict %+v, want /priv unplaced with the server's reason %q", v.Unplaced, outcome(t, want, "/priv").Unplaced)
	}
	if len(f.in.Tasks) != 0 {
		t.Errorf("the simulation changed its caller's input")
	}
	f.in.Agents[1].AllowPrivileged = true
	if v := Simulate(f.snapshot(set, now), Options{Prune: true}, 0); !v.Fits() || !v.Converged {
		t.Fatalf("with a privileged agent: %+v", v.Unplaced)
	}
}

// An app that fits only once another app's tasks have stopped waits for
// them (Progressing), instead of turning Degraded for a pass: a sync --wait
// must not fail on it.
func TestWaitingForFreedResourcesIsNotDegraded(t *testing.T) {
	f := newFakeCluster("a1")
	f.in.Agents[0].Resources = cluster.Resources{CPUs: 1, Mem: 4096, Disk: 1000}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	web := hostApp("/web", 10, 0)
	f.converge(t, &manifests.Set{Apps: []manifests.App{web}}, &now)
	web.Instances = 3
	set := &manifests.Set{Apps: []manifests.App{web, hostApp("/a", 1, 0)}}
	out := Decide(f.snapshot(set, now), f.opts())
	a := outcome(t, out, "/a")
	if a.Unplaced == "" || a.Status.Health == rollout.Degraded || !strings.Contains(a.Status.Message, "waiting for resources being freed") {
		t.Fatalf("/a while /web's tasks stop: %+v", a.Status)
	}
	f.apply(t, out)
	f.agentsAct(now)
	out = f.converge(t, set, &now)
	if a := outcome(t, out, "/a"); a.Status.Health != rollout.Healthy {
		t.Fatalf("/a once the tasks stopped: %+v", a.Status)
	}
}

// Tasks go only to agents whose policy allows them; when none does, the app
// is Degraded with the policy's reason, which names the flag.
func TestPlacementFollowsAgentPolicies(t *testing.T) {
	f := newFakeCluster("a1", "a2")
	f.in.Agents[1].Policy.HostPaths = []string{"/srv/data"}
	vol := func(id, hostPath string) manifests.App {
		a := hostApp(id, 2, 0)
		a.Container = &manifests.Container{Type: "DOCKER", Docker: &manifests.Docker{Image: "x"},
			Volumes: []manifests.Volume{{HostPath: hostPath, ContainerPath: "/data", Mode: "RW"}}}
		return a
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	set := &manifests.Set{Apps: []manifests.App{vol("/allowed", "/srv/data/x"), vol("/nowhere", "/etc"), hostApp("/plain", 2, 0)}}
	out := f.converge(t, set, &now)
	for _, tk := range f.in.Tasks {
		if tk.OwnerID == "/allowed" && tk.AgentID != "a2" {
			t.Errorf("a task of /allowed went to %s, whose policy does not allow /srv/data", tk.AgentID)
		}
		if tk.OwnerID == "/nowhere" {
			t.Errorf("a task of /nowhere was placed on %s", tk.AgentID)
		}
	}
	if got := f.running(""); got != 4 {
		t.Errorf("%d running, want /allowed's 2 and /plain's 2", got)
	}
	n := outcome(t, out, "/nowhere")
	if n.Status.Health != rollout.Degraded || !strings.Contains(n.Unplaced, "agent policy host-path") || !strings.Contains(n.Unplaced, "--allow-host-path") {
		t.Fatalf("/nowhere: %+v", n)
	}
}

// The blast radius of a change: what a rolling restart, a scale and a moved
// service port do to their apps, as the rollout is played.
func TestBlastRadius(t *testing.T) {
	f := newFakeCluster("a1", "a2")
	web := hostApp("/web", 3, 10001)
	api := hostApp("/api", 2, 0)
	api.UpgradeStrategy.MinimumHealthCapacity = 0.5
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.converge(t, &manifests.Set{Apps: []manifests.App{web, api}}, &now)

	web.PortDefinitions[0].Port = 10002 // a new service port: a restart too
	api.Cmd = "serve --v2"
	api.Instances = 4
	v := Simulate(f.snapshot(&manifests.Set{Apps: []manifests.App{web, api}}, now), Options{Prune: true}, 0)
	if !v.Converged {
		t.Fatalf("did not converge: %+v", v.Unplaced)
	}
	got := map[string]string{}
	for _, b := range v.Blast {
		got[b.ID] = fmt.Sprintf("started %d stopped %d restarted %d min %d/%d ports %v services %v",
			b.Started, b.Stopped, b.Restarted, b.MinHealthy, b.Instances, b.ServicePorts, b.Services)
	}
	want := map[string]string{
		"/web": "started 3 stopped 3 restarted 3 min 3/3 ports [{0 10001 10002}] services [web]",
		"/api": "started 4 stopped 2 restarted 2 min 2/4 ports [] services [api]", // minimumHealthCapacity 0.5 of 4
	}
	if !cmp.Equal(got, want) {
		t.Errorf("blast radius (-want +got):\n%s", cmp.Diff(want, got))
	}
}

// The same input gives the same changes in the same order, whatever the
// order maps are walked in: orphans pruned, histories and clocks forgotten,
// service ports released.
func TestDecideIsDeterministic(t *testing.T) {
	f := newFakeCluster("a1", "a2", "a3")
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var apps []manifests.App
	for i := range 8 {
		apps = append(apps, hostApp(fmt.Sprintf("/app-%d", i), 2, 0))
	}
	f.converge(t, &manifests.Set{Apps: apps}, &now)
	f.in.Launches = map[string]cluster.LaunchHistory{}
	f.in.Lost = map[string]cluster.AgentLost{}
	for i := range 8 {
		id := fmt.Sprintf("/app-%d", i)
		f.in.Launches[id] = cluster.LaunchHistory{AppID: id, Version: "old", Failures: 1}
		f.in.Lost[fmt.Sprintf("gone-%d", i)] = cluster.AgentLost{AgentID: fmt.Sprintf("gone-%d", i), Since: now}
	}
	in := f.snapshot(&manifests.Set{}, now) // everything is an orphan now
	ids := func() func(string) string { n := 0; return func(a string) string { n++; return fmt.Sprint(a, n) } }
	first := Decide(in, Options{Prune: true, NewTaskID: ids()})
	if len(first.Changes) == 0 {
		t.Fatal("no changes")
	}
	for range 20 {
		if again := Decide(in, Options{Prune: true, NewTaskID: ids()}); !cmp.Equal(first.Changes, again.Changes) {
			t.Fatalf("two decisions on one input differ:\n%s", cmp.Diff(first.Changes, again.Changes))
		}
	}
}
