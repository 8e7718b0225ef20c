package taskindex

import (
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/reconciler/decide"
)

func task(agent, id, owner string, st cluster.TaskState) cluster.Task {
	return cluster.Task{Assignment: cluster.Assignment{TaskID: id, AgentID: agent, OwnerID: owner, Owner: cluster.OwnerApp,
		Spec: cluster.TaskSpec{Resources: cluster.Resources{CPUs: 1, Mem: 10}}}, Status: cluster.TaskStatus{TaskID: id, AgentID: agent, State: st}}
}

func TestIndex(t *testing.T) {
	var x Index
	if x.Ready() {
		t.Fatal("an index never updated is ready")
	}
	tasks := []cluster.Task{
		task("b", "web.2", "/web", cluster.TaskRunning),
		task("a", "web.1", "/web", cluster.TaskRunning),
		task("a", "db.1", "/db", cluster.TaskStarting),
		task("c", "web.3", "/web", cluster.TaskFinished),
	}
	changes := []decide.Change{
		decide.StartTask{Assignment: cluster.Assignment{TaskID: "web.4", AgentID: "c", OwnerID: "/web", Spec: cluster.TaskSpec{Resources: cluster.Resources{CPUs: 1}}}},
		decide.ForgetTask{AgentID: "c", TaskID: "web.3"},
	}
	x.Update(tasks, changes, time.Now())
	if !x.Ready() {
		t.Fatal("not ready after Update")
	}
	refs := func(es []Entry) (out []string) {
		for _, e := range es {
			out = append(out, e.AgentID+"/"+e.TaskID)
		}
		return out
	}
	if got := refs(x.Select(Filter{}, cluster.TaskRef{}, 10)); len(got) != 4 || got[0] != "a/db.1" || got[1] != "a/web.1" || got[2] != "b/web.2" || got[3] != "c/web.4" {
		t.Errorf("all: %v; want sorted by agent then task, web.3 forgotten, web.4 started", got)
	}
	if got := refs(x.Select(Filter{Owner: "/web"}, cluster.TaskRef{AgentID: "a", TaskID: "web.1"}, 1)); len(got) != 1 || got[0] != "b/web.2" {
		t.Errorf("/web after a/web.1, 1: %v", got)
	}
	if got := refs(x.Select(Filter{}, cluster.TaskRef{AgentID: "a", TaskID: "zzz"}, 10)); len(got) != 2 || got[0] != "b/web.2" {
		t.Errorf("after a cursor that is no task: %v", got)
	}
	for _, c := range []struct {
		owner string
		after cluster.TaskRef
		n     int
		want  string
		ok    bool
	}{
		{"", cluster.TaskRef{}, 1, "a/db.1", true},
		{"", cluster.TaskRef{}, 4, "c/web.4", true},
		{"", cluster.TaskRef{}, 5, "", false},
		{"", cluster.TaskRef{AgentID: "a", TaskID: "web.1"}, 1, "b/web.2", true},
		{"", cluster.TaskRef{AgentID: "a", TaskID: "x"}, 2, "c/web.4", true},
		{"/web", cluster.TaskRef{}, 3, "c/web.4", true},
		{"/web", cluster.TaskRef{AgentID: "a", TaskID: "web.1"}, 2, "c/web.4", true},
		{"/web", cluster.TaskRef{AgentID: "a", TaskID: "web.1"}, 3, "", false},
	} {
		ref, ok := x.Skip(c.owner, c.after, c.n)
		if got := ref.AgentID + "/" + ref.TaskID; ok != c.ok || (ok && got != c.want) {
			t.Errorf("Skip(%q, %v, %d) = %s, %v; want %s, %v", c.owner, c.after, c.n, got, ok, c.want, c.ok)
		}
	}
	if n := x.Count(Filter{Owner: "/web", States: map[cluster.TaskState]bool{cluster.TaskStaging: true}}); n != 1 {
		t.Errorf("/web staging: %d, want 1 (web.4)", n)
	}
	if c := x.OwnerCounts()["/web"]; c.Running != 2 || c.Staged != 1 {
		t.Errorf("/web counts %+v", c)
	}
	if u := x.AgentUsage()["a"]; u.Tasks != 2 || u.Used.CPUs != 2 || u.Used.Mem != 20 {
		t.Errorf("agent a usage %+v", u)
	}
}

func TestFeedEmptiesTheIndexWhenLeadershipEnds(t *testing.T) {
	var x Index
	o := Feed(&x, nil)
	o.Leader(true)
	o.Pass(time.Millisecond, decide.Result{}, [][]cluster.Task{{task("a", "web.1", "/web", cluster.TaskRunning)}})
	if !x.Ready() || x.Count(Filter{}) != 1 {
		t.Fatalf("after a pass: ready %v, %d entries", x.Ready(), x.Count(Filter{}))
	}
	o.Leader(false)
	if x.Ready() || x.Count(Filter{}) != 0 {
		t.Fatalf("after leadership ended: ready %v, %d entries; want an empty index", x.Ready(), x.Count(Filter{}))
	}
}

// An index fed the cache's parts, some shared with the pass before and some
// new, holds what one fed the same tasks in one list holds.
func TestUpdatePartsEqualsUpdate(t *testing.T) {
	a := []cluster.Task{task("a", "db.1", "/db", cluster.TaskStarting), task("a", "web.1", "/web", cluster.TaskRunning)}
	b := []cluster.Task{task("b", "web.2", "/web", cluster.TaskRunning)}
	c := []cluster.Task{task("c", "web.3", "/web", cluster.TaskFinished)}
	passes := []struct {
		parts   [][]cluster.Task
		changes []decide.Change
	}{
		{parts: [][]cluster.Task{a, b, c}},
		{parts: [][]cluster.Task{a, b, c}, changes: []decide.Change{
			decide.StartTask{Assignment: cluster.Assignment{TaskID: "web.0", AgentID: "b", OwnerID: "/web"}},
			decide.StartTask{Assignment: cluster.Assignment{TaskID: "web.9", AgentID: "a", OwnerID: "/web"}},
			decide.ForgetTask{AgentID: "c", TaskID: "web.3"}}},
		// b's part changed (a new slice, as the cache makes one), a's is shared.
		{parts: [][]cluster.Task{a, {task("b", "web.0", "/web", cluster.TaskRunning), task("b", "web.2", "/web", cluster.TaskKilled)}}},
		{parts: [][]cluster.Task{a}, changes: []decide.Change{decide.ForgetTask{AgentID: "a", TaskID: "db.1"}}},
	}
	var parts, flat Index
	for i, p := range passes {
		var all []cluster.Task
		for _, part := range p.parts {
			all = append(all, part...)
		}
		parts.UpdateParts(p.parts, p.changes, time.Now())
		flat.Update(all, p.changes, time.Now())
		got := parts.Select(Filter{}, cluster.TaskRef{}, 100)
		want := flat.Select(Filter{}, cluster.TaskRef{}, 100)
		if len(got) == 0 || len(got) != len(want) {
			t.Fatalf("pass %d: %d entries from parts, %d from the list", i, len(got), len(want))
		}
		for k := range got {
			if got[k] != want[k] {
				t.Fatalf("pass %d entry %d: %+v from parts, %+v from the list", i, k, got[k], want[k])
			}
		}
		for _, owner := range []string{"/web", "/db"} {
			if parts.Count(Filter{Owner: owner}) != flat.Count(Filter{Owner: owner}) {
				t.Fatalf("pass %d: %s counts %d from parts, %d from the list", i, owner, parts.Count(Filter{Owner: owner}), flat.Count(Filter{Owner: owner}))
			}
		}
	}
}
