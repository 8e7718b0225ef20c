package plan

import (
	"testing"

	"github.com/berthops/berth/manifests"
)

// TestGroupDependencyOrdersSteps: an app depending on a group path is a
// step after every changed app under it, and an app never waits for itself.
func TestGroupDependencyOrdersSteps(t *testing.T) {
	app := func(id string, deps ...string) manifests.App {
		return manifests.App{ID: id, Cmd: "x", Instances: 1, Dependencies: deps}
	}
	set := &manifests.Set{Apps: []manifests.App{
		app("/prod/db/mysql", "/prod/db"), app("/prod/db/redis"), app("/prod/web/nginx", "/prod/db"),
	}}
	p := Compute(set, Observed{})
	step := map[string]int{}
	for _, c := range p.Changes {
		step[c.ID] = c.Step
	}
	if !(step["/prod/db/redis"] < step["/prod/db/mysql"] && step["/prod/db/mysql"] < step["/prod/web/nginx"]) {
		t.Errorf("steps %v: want redis, then mysql (which depends on the rest of its own group), then nginx", step)
	}
}
