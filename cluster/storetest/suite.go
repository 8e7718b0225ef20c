package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
)

// Harness opens stores for the suite.
type Harness struct {
	// Namespace returns a function opening sessions on a fresh, empty tree
	// (each returned store is closed by the suite or at the end of t).
	Namespace func(t *testing.T) func() cluster.Store
	// Expire ends s's session the way the server does after the session
	// timeout, and returns once the store has a new session. Nil when the
	// implementation cannot do it on demand.
	Expire func(t *testing.T, s cluster.Store)
	// Wait bounds how long the suite waits for an asynchronous effect
	// (a watch firing, a new leader).
	Wait time.Duration
}

// Run runs the whole suite.
func Run(t *testing.T, h Harness) {
	if h.Wait == 0 {
		h.Wait = 10 * time.Second
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, h Harness)
	}{
		{"ConditionalWrites", testConditionalWrites},
		{"MultiIsAtomic", testMultiIsAtomic},
		{"PutUpserts", testPutUpserts},
		{"DeleteIfExists", testDeleteIfExists},
		{"Watch", testWatch},
		{"Ephemeral", testEphemeral},
		{"Expire", testExpire},
		{"Election", testElection},
		{"FenceAfterNodeLost", testFenceAfterNodeLost},
		{"CampaignCancel", testCampaignCancel},
		{"CampaignRemovesOwnStaleNode", testCampaignRemovesOwnStaleNode},
		{"StateAgentsAndTasks", testStateAgentsAndTasks},
		{"StateLargeBatch", testStateLargeBatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func mustErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func open(t *testing.T, newStore func() cluster.Store) cluster.Store {
	s := newStore()
	t.Cleanup(func() { s.Close() })
	return s
}

func testConditionalWrites(t *testing.T, h Harness) {
	ctx := ctxFor(t, h.Wait)
	s := open(t, h.Namespace(t))
	_, err := s.Get(ctx, "/a/b")
	mustErr(t, "get missing", err, cluster.ErrNotFound)
	must(t, "create with missing parent", s.Multi(ctx, cluster.Create("/a/b", []byte("one"))))
	mustErr(t, "create again", s.Multi(ctx, cluster.Create("/a/b", nil)), cluster.ErrExists)
	n, err := s.Get(ctx, "/a/b")
	must(t, "get", err)
	if string(n.Data) != "one" || n.Version != 0 {
		t.Fatalf("get = %q v%d, want \"one\" v0", n.Data, n.Version)
	}
	mustErr(t, "set at wrong version", s.Multi(ctx, cluster.Set("/a/b", []byte("x"), 5)), cluster.ErrVersion)
	must(t, "set at version", s.Multi(ctx, cluster.Set("/a/b", []byte("two"), 0)))
	mustErr(t, "set missing", s.Multi(ctx, cluster.Set("/a/zz", nil, cluster.AnyVersion)), cluster.ErrNotFound)
	n, _ = s.Get(ctx, "/a/b")
	if string(n.Data) != "two" || n.Version != 1 {
		t.Fatalf("after set: %q v%d, want \"two\" v1", n.Data, n.Version)
	}
	must(t, "create sibling", s.Multi(ctx, cluster.Create("/a/c", nil)))
	names, err := s.Children(ctx, "/a")
	must(t, "children", err)
	if strings.Join(names, ",") != "b,c" {
		t.Fatalf("children = %v, want [b c]", names)
	}
	_, err = s.Children(ctx, "/nope")
	mustErr(t, "children of missing", err, cluster.ErrNotFound)
	mustErr(t, "delete non-empty", s.Multi(ctx, cluster.Delete("/a", cluster.AnyVersion)), cluster.ErrNotEmpty)
	mustErr(t, "delete at wrong version", s.Multi(ctx, cluster.Delete("/a/b", 0)), cluster.ErrVersion)
	must(t, "delete at version", s.Multi(ctx, cluster.Delete("/a/b", 1)))
	mustErr(t, "delete missing", s.Multi(ctx, cluster.Delete("/a/b", cluster.AnyVersion)), cluster.ErrNotFound)
	mustErr(t, "check missing", s.Multi(ctx, cluster.Check("/a/b", cluster.AnyVersion)), cluster.ErrNotFound)
	must(t, "check", s.Multi(ctx, cluster.Check("/a/c", 0)))
}

func testMultiIsAtomic(t *testing.T, h Harness) {
	ctx := ctxFor(t, h.Wait)
	s := open(t, h.Namespace(t))
	must(t, "seed", s.Multi(ctx, cluster.Create("/x", []byte("0"))))
	err := s.Multi(ctx,
		cluster.Set("/x", []byte("1"), 0),
		cluster.Create("/y/z", []byte("new")),
		cluster.Create("/x", nil), // fails: the whole transaction must not apply
	)
	mustErr(t, "failing multi", err, cluster.ErrExists)
	n, _ := s.Get(ctx, "/x")
	if string(n.Data) != "0" || n.Version != 0 {
		t.Fatalf("/x changed by a failed multi: %q v%d", n.Data, n.Version)
	}
	if _, err := s.Get(ctx, "/y/z"); !errors.Is(err, cluster.ErrNotFound) {
		t.Fatalf("/y/z created by a failed multi: %v", err)
	}
	must(t, "good multi", s.Multi(ctx, cluster.Set("/x", []byte("1"), 0), cluster.Create("/y/z", nil), cluster.Delete("/y/z", 0)))
	n, _ = s.Get(ctx, "/x")
	if string(n.Data) != "1" {
		t.Fatalf("/x = %q after good multi", n.Data)
	}
}

func testPutUpserts(t *testing.T, h Harness) {
	ctx := ctxFor(t, h.Wait)
	s := open(t, h.Namespace(t))
	must(t, "seed", s.Multi(ctx, cluster.Create("/p/b", []byte("old")), cluster.Create("/p/d", []byte("old"))))
	var ops []cluster.Op
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		ops = append(ops, cluster.Put("/p/"+name, []byte("new-"+name)))
	}
	ops = append(ops, cluster.Put("/q/r/s", []byte("deep")))
	must(t, "puts", s.Multi(ctx, ops...))
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		n, err := s.Get(ctx, "/p/"+name)
		must(t, "get", err)
		if string(n.Data) != "new-"+name {
			t.Fatalf("/p/%s = %q", name, n.Data)
		}
	}
	n, _ := s.Get(ctx, "/p/b")
	if n.Version != 1 {
		t.Fatalf("put over existing /p/b: version %d, want 1", n.Version)
	}
	if _, err := s.Get(ctx, "/q/r/s"); err != nil {
		t.Fatalf("put with missing parents: %v", err)
	}
}

// testDeleteIfExists: a delete of a node that may never have been written
// (a lost agent's unreported task status) neither fails nor blocks the
// other writes of its transaction; one of a node that is there deletes it.
func testDeleteIfExists(t *testing.T, h Harness) {
	ctx := ctxFor(t, h.Wait)
	s := open(t, h.Namespace(t))
	must(t, "seed", s.Multi(ctx, cluster.Create("/statuses/a1/t1", []byte("RUNNING"))))
	must(t, "deletes of missing nodes with a write", s.Multi(ctx,
		cluster.DeleteIfExists("/statuses/a1/never-reported"),
		cluster.DeleteIfExists("/statuses/no-such-agent/t9"),
		cluster.Put("/assignments/a1/t2", []byte("new"))))
	if _, err := s.Get(ctx, "/assignments/a1/t2"); err != nil {
		t.Fatalf("the write next to deletes of missing nodes: %v", err)
	}
	must(t, "delete of a present node", s.Multi(ctx, cluster.DeleteIfExists("/statuses/a1/t1")))
	_, err := s.Get(ctx, "/statuses/a1/t1")
	mustErr(t, "get after delete", err, cluster.ErrNotFound)
	must(t, "only deletes of missing nodes", s.Multi(ctx, cluster.DeleteIfExists("/statuses/a1/t1")))
	// A plain Delete still fails on a missing node.
	mustErr(t, "plain delete of a missing node", s.Multi(ctx, cluster.Delete("/statuses/a1/t1", cluster.AnyVersion)), cluster.ErrNotFound)
}

func wantEvent(t *testing.T, h Harness, ch <-chan cluster.Event, what string) {
	t.Helper()
	select {
	case ev := <-ch:
		if ev.Kind != cluster.EventChanged {
			t.Fatalf("%s: event %+v, want a change", what, ev)
		}
	case <-time.After(h.Wait):
		t.Fatalf("%s: watch did not fire within %v", what, h.Wait)
	}
}

func wantQuiet(t *testing.T, ch <-chan cluster.Event, what string) {
	t.Helper()
	select {
	case ev := <-ch:
		t.Fatalf("%s: unexpected event %+v", what, ev)
	case <-time.After(100 * time.Millisecond):
	}
}

func testWatch(t *testing.T, h Harness) {
	ctx := ctxFor(t, 4*h.Wait)
	ns := h.Namespace(t)
	s := open(t, ns)
	other := open(t, ns)
	w, err := s.Watch(ctx, "/w")
	must(t, "watch missing", err)
	must(t, "create", other.Multi(ctx, cluster.Create("/w", nil)))
	wantEvent(t, h, w, "create of watched node")

	w, _ = s.Watch(ctx, "/w")
	wantQuiet(t, w, "no change")
	must(t, "set", other.Multi(ctx, cluster.Set("/w", []byte("d"), cluster.AnyVersion)))
	wantEvent(t, h, w, "set of watched node")

	w, _ = s.Watch(ctx, "/w")
	must(t, "child", other.Multi(ctx, cluster.Create("/w/c", nil)))
	wantEvent(t, h, w, "child created")

	w, _ = s.Watch(ctx, "/w")
	must(t, "child delete", other.Multi(ctx, cluster.Delete("/w/c", cluster.AnyVersion)))
	wantEvent(t, h, w, "child deleted")

	w, _ = s.Watch(ctx, "/w")
	must(t, "delete", other.Multi(ctx, cluster.Delete("/w", cluster.AnyVersion)))
	wantEvent(t, h, w, "node deleted")
}

func testEphemeral(t *testing.T, h Harness) {
	ctx := ctxFor(t, 4*h.Wait)
	ns := h.Namespace(t)
	agent := ns()
	t.Cleanup(func() { agent.Close() })
	observer := open(t, ns)
	reg, err := agent.Register(ctx, "/live/a1", []byte("hello"))
	must(t, "register", err)
	if reg.Path() != "/live/a1" {
		t.Fatalf("registration path %q", reg.Path())
	}
	_, err = observer.Register(ctx, "/live/a1", nil)
	mustErr(t, "register taken name", err, cluster.ErrExists)
	n, err := observer.Get(ctx, "/live/a1")
	must(t, "observer sees registration", err)
	if string(n.Data) != "hello" {
		t.Fatalf("registration data %q", n.Data)
	}
	must(t, "unregister", reg.Close(ctx))
	_, err = observer.Get(ctx, "/live/a1")
	mustErr(t, "after unregister", err, cluster.ErrNotFound)

	_, err = agent.Register(ctx, "/live/a1", []byte("again"))
	must(t, "register again", err)
	w, err := observer.Watch(ctx, "/live")
	must(t, "watch", err)
	must(t, "close agent", agent.Close())
	wantEvent(t, h, w, "agent session closed")
	_, err = observer.Get(ctx, "/live/a1")
	mustErr(t, "after close", err, cluster.ErrNotFound)
}

func testExpire(t *testing.T, h Harness) {
	if h.Expire == nil {
		t.Skip("this store cannot expire a session on demand; the acceptance tests cover it with real processes")
	}
	ctx := ctxFor(t, 6*h.Wait)
	ns := h.Namespace(t)
	agent := open(t, ns)
	observer := open(t, ns)
	_, err := agent.Register(ctx, "/live/a1", []byte("v"))
	must(t, "register", err)
	lead, err := agent.Campaign(ctx, "/leader", "agent")
	must(t, "campaign", err)
	w, err := observer.Watch(ctx, "/live/a1")
	must(t, "watch", err)
	h.Expire(t, agent)
	wantEvent(t, h, w, "registration lost with the session")
	select {
	case <-lead.Lost():
	case <-time.After(h.Wait):
		t.Fatalf("leadership not lost with the session")
	}
	mustErr(t, "write fenced by an expired leadership", agent.Multi(ctx, lead.Fence(), cluster.Create("/stale", nil)), cluster.ErrFenced)
	// The store re-registers in its new session.
	deadline := time.Now().Add(h.Wait)
	for {
		if _, err := observer.Get(ctx, "/live/a1"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("registration not re-created after the new session")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func testElection(t *testing.T, h Harness) {
	ctx := ctxFor(t, 6*h.Wait)
	ns := h.Namespace(t)
	a := ns()
	t.Cleanup(func() { a.Close() })
	b := open(t, ns)
	c := open(t, ns)
	_, err := c.Leader(ctx, "/leader")
	mustErr(t, "leader before any campaign", err, cluster.ErrNotFound)
	la, err := a.Campaign(ctx, "/leader", "a")
	must(t, "a campaigns", err)
	if la.ID() != "a" {
		t.Fatalf("leadership id %q", la.ID())
	}
	got := make(chan cluster.Leadership, 1)
	errs := make(chan error, 1)
	go func() {
		l, err := b.Campaign(ctx, "/leader", "b")
		if err != nil {
			errs <- err
			return
		}
		got <- l
	}()
	select {
	case <-got:
		t.Fatalf("b became leader while a leads")
	case err := <-errs:
		t.Fatalf("b campaign: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	id, err := c.Leader(ctx, "/leader")
	must(t, "leader", err)
	if id != "a" {
		t.Fatalf("leader = %q, want a", id)
	}
	must(t, "fenced write by the leader", a.Multi(ctx, la.Fence(), cluster.Create("/by-a", nil)))
	must(t, "a dies", a.Close())
	var lb cluster.Leadership
	select {
	case lb = <-got:
	case err := <-errs:
		t.Fatalf("b campaign: %v", err)
	case <-time.After(h.Wait):
		t.Fatalf("b did not take over within %v", h.Wait)
	}
	select {
	case <-la.Lost():
	case <-time.After(h.Wait):
		t.Fatalf("a's leadership not marked lost after close")
	}
	id, _ = c.Leader(ctx, "/leader")
	if id != "b" {
		t.Fatalf("leader = %q, want b", id)
	}
	mustErr(t, "write with a's stale fence", c.Multi(ctx, la.Fence(), cluster.Create("/by-stale-a", nil)), cluster.ErrFenced)
	must(t, "b resigns", lb.Resign(ctx))
	_, err = c.Leader(ctx, "/leader")
	mustErr(t, "leader after resign", err, cluster.ErrNotFound)
}

func testFenceAfterNodeLost(t *testing.T, h Harness) {
	ctx := ctxFor(t, 4*h.Wait)
	ns := h.Namespace(t)
	a := open(t, ns)
	admin := open(t, ns)
	la, err := a.Campaign(ctx, "/leader", "a")
	must(t, "campaign", err)
	names, err := admin.Children(ctx, "/leader")
	must(t, "list candidates", err)
	if len(names) != 1 {
		t.Fatalf("candidates %v", names)
	}
	// What the server does when it expires a's session while a is paused.
	must(t, "delete a's node", admin.Multi(ctx, cluster.Delete("/leader/"+names[0], cluster.AnyVersion)))
	err = a.Multi(ctx, la.Fence(), cluster.Create("/after", nil))
	mustErr(t, "fenced write", err, cluster.ErrFenced)
	if _, err := admin.Get(ctx, "/after"); !errors.Is(err, cluster.ErrNotFound) {
		t.Fatalf("a fenced write went through: %v", err)
	}
	select {
	case <-la.Lost():
	case <-time.After(h.Wait):
		t.Fatalf("leadership not marked lost")
	}
}

func testCampaignCancel(t *testing.T, h Harness) {
	ctx := ctxFor(t, 4*h.Wait)
	ns := h.Namespace(t)
	a := open(t, ns)
	b := open(t, ns)
	if _, err := a.Campaign(ctx, "/leader", "a"); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	_, err := b.Campaign(cctx, "/leader", "b")
	mustErr(t, "cancelled campaign", err, context.DeadlineExceeded)
	names, _ := a.Children(ctx, "/leader")
	if len(names) != 1 {
		t.Fatalf("cancelled candidate left its node: %v", names)
	}
}

// testCampaignRemovesOwnStaleNode: a server that gave its leadership up for
// lost while its session survived campaigns again with its old node still
// first in line; it must not wait behind itself (and make everyone wait for
// a leader that does not lead): its stale node goes, the next in line leads.
func testCampaignRemovesOwnStaleNode(t *testing.T, h Harness) {
	ctx := ctxFor(t, 4*h.Wait)
	ns := h.Namespace(t)
	a := open(t, ns)
	b := open(t, ns)
	old, err := a.Campaign(ctx, "/leader", "a")
	must(t, "first campaign", err)
	bLeads := make(chan cluster.Leadership, 1)
	go func() {
		l, err := b.Campaign(ctx, "/leader", "b")
		if err != nil {
			t.Errorf("b's campaign: %v", err)
		}
		bLeads <- l
	}()
	time.Sleep(100 * time.Millisecond) // b's node is now behind a's
	aLeads := make(chan cluster.Leadership, 1)
	go func() {
		l, err := a.Campaign(ctx, "/leader", "a")
		if err != nil {
			t.Errorf("a's second campaign: %v", err)
		}
		aLeads <- l
	}()
	var lb cluster.Leadership
	select {
	case lb = <-bLeads:
	case <-time.After(h.Wait):
		t.Fatalf("b did not lead once a's stale node was gone")
	}
	select {
	case <-old.Lost():
	case <-time.After(h.Wait):
		t.Fatalf("the stale leadership was not marked lost")
	}
	mustErr(t, "write with the stale fence", a.Multi(ctx, old.Fence(), cluster.Create("/stale", nil)), cluster.ErrFenced)
	must(t, "b resigns", lb.Resign(ctx))
	select {
	case la := <-aLeads:
		must(t, "fenced write of a's new leadership", a.Multi(ctx, la.Fence(), cluster.Create("/again", nil)))
	case <-time.After(h.Wait):
		t.Fatalf("a did not lead after b resigned")
	}
}

func testStateAgentsAndTasks(t *testing.T, h Harness) {
	ctx := ctxFor(t, 6*h.Wait)
	ns := h.Namespace(t)
	agentStore := ns()
	t.Cleanup(func() { agentStore.Close() })
	server := open(t, ns)
	agentState, st := cluster.NewState(agentStore), cluster.NewState(server)

	_, err := agentState.RegisterAgent(ctx, cluster.Agent{ID: "agent-1", Address: "127.0.0.2",
		Resources: cluster.Resources{CPUs: 2, Mem: 1024}})
	must(t, "register agent", err)
	agents, err := st.Agents(ctx)
	must(t, "agents", err)
	if len(agents) != 1 || agents[0].ID != "agent-1" || !agents[0].Reachable || agents[0].Resources.CPUs != 2 {
		t.Fatalf("agents = %+v", agents)
	}

	wctx, stop := context.WithCancel(ctx)
	defer stop()
	sets := agentState.WatchAssignments(wctx, "agent-1", func(err error) { t.Logf("watch: %v", err) })
	first := nextSet(t, h, sets)
	if len(first) != 0 {
		t.Fatalf("initial assignments %v", first)
	}

	lead, err := server.Campaign(ctx, cluster.DirLeader, "s1")
	must(t, "campaign", err)
	var b cluster.Batch
	for i := range 3 {
		b.PutAssignment(cluster.Assignment{TaskID: fmt.Sprintf("web_app.%d", i), Owner: cluster.OwnerApp,
			OwnerID: "/web/app", AgentID: "agent-1", Version: "v1", Spec: cluster.TaskSpec{Image: "img"}})
	}
	b.PutServicePort(cluster.ServicePort{Port: 10001, AppID: "/web/app"})
	b.SetAppliedCommit(cluster.AppliedCommit{Commit: "abc123"})
	b.PutDeployment(cluster.Deployment{ID: "d1", Commit: "abc123", AppIDs: []string{"/web/app"}})
	b.PutJobRun(cluster.JobRun{Job: "backup/db", RunID: "r1", State: cluster.JobRunRunning})
	n, err := st.Commit(ctx, lead, &b)
	must(t, "commit", err)
	if n != 1 {
		t.Fatalf("small batch took %d transactions", n)
	}
	var set []cluster.Assignment
	for len(set) != 3 {
		set = nextSet(t, h, sets)
	}
	if set[0].TaskID != "web_app.0" || set[0].Spec.Image != "img" {
		t.Fatalf("assignment %+v", set[0])
	}
	// A changed assignment (a kill request) reaches the agent too.
	b = cluster.Batch{}
	killed := set[1]
	killed.Kill = true
	b.PutAssignment(killed)
	_, err = st.Commit(ctx, lead, &b)
	must(t, "kill commit", err)
	for !set[1].Kill {
		set = nextSet(t, h, sets)
	}
	must(t, "statuses", agentState.PutStatuses(ctx,
		cluster.TaskStatus{TaskID: "web_app.0", AgentID: "agent-1", State: cluster.TaskRunning, Health: cluster.HealthHealthy},
		cluster.TaskStatus{TaskID: "web_app.1", AgentID: "agent-1", State: cluster.TaskStarting}))
	must(t, "status update", agentState.PutStatuses(ctx,
		cluster.TaskStatus{TaskID: "web_app.1", AgentID: "agent-1", State: cluster.TaskRunning}))
	tasks, err := st.Tasks(ctx)
	must(t, "tasks", err)
	if len(tasks) != 3 {
		t.Fatalf("tasks = %d, want 3", len(tasks))
	}
	wantStates := []cluster.TaskState{cluster.TaskRunning, cluster.TaskRunning, cluster.TaskStaging}
	for i, task := range tasks {
		if task.Status.State != wantStates[i] {
			t.Fatalf("task %s state %s, want %s", task.TaskID, task.Status.State, wantStates[i])
		}
	}
	ports, err := st.ServicePorts(ctx)
	must(t, "ports", err)
	if len(ports) != 1 || ports[0].Port != 10001 {
		t.Fatalf("ports %+v", ports)
	}
	c, err := st.AppliedCommit(ctx)
	must(t, "commit read", err)
	if c.Commit != "abc123" {
		t.Fatalf("applied commit %+v", c)
	}
	deps, err := st.Deployments(ctx)
	must(t, "deployments", err)
	runs, err := st.JobRuns(ctx, "backup/db")
	must(t, "job runs", err)
	if len(deps) != 1 || len(runs) != 1 || runs[0].State != cluster.JobRunRunning {
		t.Fatalf("deployments %+v, runs %+v", deps, runs)
	}

	b = cluster.Batch{}
	b.DeleteAssignment("agent-1", "web_app.2", cluster.AnyVersion)
	b.DeleteDeployment("d1")
	_, err = st.Commit(ctx, lead, &b)
	must(t, "delete commit", err)
	for len(set) != 2 {
		set = nextSet(t, h, sets)
	}

	// Agent loss: the live node goes with the session, the record stays.
	w, err := st.WatchAgents(ctx)
	must(t, "watch agents", err)
	must(t, "agent dies", agentStore.Close())
	wantEvent(t, h, w, "agent lost")
	agents, err = st.Agents(ctx)
	must(t, "agents", err)
	if len(agents) != 1 || agents[0].Reachable {
		t.Fatalf("after loss agents = %+v, want agent-1 unreachable", agents)
	}
}

func nextSet(t *testing.T, h Harness, sets <-chan []cluster.Assignment) []cluster.Assignment {
	t.Helper()
	select {
	case s, ok := <-sets:
		if !ok {
			t.Fatalf("assignment watch closed")
		}
		return s
	case <-time.After(h.Wait):
		t.Fatalf("no assignment set within %v", h.Wait)
	}
	return nil
}

func testStateLargeBatch(t *testing.T, h Harness) {
	ctx := ctxFor(t, 6*h.Wait)
	ns := h.Namespace(t)
	s := open(t, ns)
	st := cluster.NewState(s)
	lead, err := s.Campaign(ctx, cluster.DirLeader, "s1")
	must(t, "campaign", err)
	big := strings.Repeat("x", 2000)
	var b cluster.Batch
	const count = 1500 // about 3.5 MiB of assignments
	for i := range count {
		b.PutAssignment(cluster.Assignment{TaskID: fmt.Sprintf("t%04d", i), AgentID: fmt.Sprintf("a%d", i%3),
			Spec: cluster.TaskSpec{Image: "img", Env: map[string]string{"PAD": big}}})
	}
	n, err := st.Commit(ctx, lead, &b)
	must(t, "commit a batch larger than 1 MiB", err)
	if n < 4 || n > 6 {
		t.Fatalf("%d transactions for ~3.5 MiB, want 4-6", n)
	}
	tasks, err := st.Tasks(ctx)
	must(t, "tasks", err)
	if len(tasks) != count {
		t.Fatalf("%d tasks stored, want %d", len(tasks), count)
	}
}
