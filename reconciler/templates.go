package reconciler

import (
	"bytes"
	"encoding/json"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
)

// publishTemplates makes the published templates match the desired ones:
// agents watch them and render those their node's constraints select. Only
// differences are written, because every write wakes every agent's watch
// (and a pass runs far more often than templates change); templates no
// longer declared are withdrawn (agents then stop rendering them and leave
// their files alone).
func publishTemplates(desired []manifests.Template, published []cluster.PublishedTemplate, b *cluster.Batch) {
	have := make(map[string][]byte, len(published))
	for _, p := range published {
		have[p.Template.ID] = canonicalTemplate(p)
	}
	want := make(map[string]bool, len(desired))
	for _, t := range desired {
		want[t.ID] = true
		p := cluster.PublishTemplate(t)
		if old := have[t.ID]; old != nil && bytes.Equal(old, canonicalTemplate(p)) {
			continue
		}
		b.PutTemplate(p)
	}
	for _, p := range published {
		if !want[p.Template.ID] {
			b.DeleteTemplate(p.Template.ID)
		}
	}
}

// canonicalTemplate is the record's stored form, so that a template read
// back from the store compares equal to the same template from the
// manifests whatever nil-versus-empty differences decoding introduced.
// Encoding these plain values cannot fail; nil then only ever causes an
// extra (identical) write.
func canonicalTemplate(p cluster.PublishedTemplate) []byte {
	data, err := json.Marshal(p)
	if err != nil {
		return nil
	}
	return data
}
