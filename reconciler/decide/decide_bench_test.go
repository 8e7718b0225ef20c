package decide_test

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/reconciler/decide"
	"github.com/berthops/berth/reconciler/decide/decidebench"
)

// changed10 is set with 10 apps changed: 5 scaled, 5 given a new image.
func changed10(set *manifests.Set) *manifests.Set {
	out := &manifests.Set{Apps: append([]manifests.App(nil), set.Apps...)}
	for i := range 10 {
		a := &out.Apps[i*(len(out.Apps)/10)]
		if i%2 == 0 {
			a.Instances = 5
		} else {
			a.Cmd = "serve --port $PORT0 --v2"
		}
	}
	return out
}

// idNames makes the same task ids in a pass and a diff, so their decisions
// can be compared change for change.
func idNames() func(string) string {
	n := 0
	return func(app string) string { n++; return fmt.Sprintf("%s.new%d", decide.TaskPrefix(app), n) }
}

// A diff's first decision is the server's pass, change for change, on the
// same state.
func TestDiffDecidesAsThePass(t *testing.T) {
	set := &manifests.Set{Apps: decidebench.Apps(500)}
	in := decidebench.Converged(set, decidebench.BigAgents(20))
	in.Desired = changed10(set)
	pass := decide.Decide(in, decide.Options{Prune: true, NewTaskID: idNames()})
	diff := decide.Simulate(in, decide.Options{Prune: true, NewTaskID: idNames()}, 0)
	if !reflect.DeepEqual(pass.Changes, diff.First.Changes) || len(pass.Changes) == 0 {
		t.Fatalf("the diff's first decision differs from the pass (%d vs %d changes)", len(diff.First.Changes), len(pass.Changes))
	}
	if !diff.Converged || !diff.Fits() {
		t.Fatalf("the diff of 10 changed apps does not converge: %+v", diff.Unplaced)
	}
}

// BenchmarkDecide5000Apps is one reconcile decision over 5,000 apps (15,000
// tasks on 50 agents): "idle" with nothing to do, "change" with 10 apps
// changed (5 scaled, 5 restarted), and "diff" the whole preview of that
// change (berth diff's simulation played to the end). The setup checks that
// the diff's first decision is the pass's.
func BenchmarkDecide5000Apps(b *testing.B) {
	set := &manifests.Set{Apps: decidebench.Apps(5000)}
	idle := decidebench.Converged(set, decidebench.BigAgents(50))
	change := idle
	change.Desired = changed10(set)
	pass := decide.Decide(change, decide.Options{Prune: true, NewTaskID: idNames()})
	diff := decide.Simulate(change, decide.Options{Prune: true, NewTaskID: idNames()}, 0)
	if !reflect.DeepEqual(pass.Changes, diff.First.Changes) {
		b.Fatal("the diff's first decision differs from the pass")
	}
	for _, bc := range []struct {
		name string
		run  func()
	}{
		{"idle", func() { decide.Decide(idle, decide.Options{Prune: true}) }},
		{"change", func() { decide.Decide(change, decide.Options{Prune: true}) }},
		{"diff", func() { decide.Simulate(change, decide.Options{Prune: true}, 0) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bc.run()
			}
		})
	}
}
