package decide

import (
	"reflect"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
)

// publishTemplates makes the published templates match the desired ones:
// agents watch them and render those their node's constraints select. Only
// differences are written, because every write wakes every agent's watch
// (and a pass runs far more often than templates change); templates no
// longer declared are withdrawn (agents then stop rendering them and leave
// their files alone).
func publishTemplates(desired []manifests.Template, published []cluster.PublishedTemplate, w *writes) {
	have := make(map[string]cluster.PublishedTemplate, len(published))
	for _, p := range published {
		have[p.Template.ID] = p
	}
	want := make(map[string]bool, len(desired))
	for _, t := range desired {
		want[t.ID] = true
		p := cluster.PublishTemplate(t)
		if old, ok := have[t.ID]; ok && samePublished(old, p) {
			continue
		}
		w.add(PublishTemplate{Template: p})
	}
	for _, p := range published {
		if !want[p.Template.ID] {
			w.add(WithdrawTemplate{ID: p.Template.ID})
		}
	}
}

// samePublished compares what a record stores. An empty constraint list
// reads back as nil, which is no change.
func samePublished(a, b cluster.PublishedTemplate) bool {
	for _, p := range []*cluster.PublishedTemplate{&a, &b} {
		if len(p.Template.Constraints) == 0 {
			p.Template.Constraints = nil
		}
		p.Template.Origin = manifests.Origin{} // not stored in Template
	}
	return reflect.DeepEqual(a, b)
}
