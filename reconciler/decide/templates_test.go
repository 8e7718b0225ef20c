package decide

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
)

// templateOps summarises the template changes of a decision as "put <id>"
// and "delete <id>" lines, in order.
func templateOps(changes []Change) []string {
	var out []string
	for _, c := range changes {
		switch c := c.(type) {
		case PublishTemplate:
			out = append(out, "put "+c.Template.Template.ID)
		case WithdrawTemplate:
			out = append(out, "delete "+c.ID)
		}
	}
	return out
}

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

// roundTrip is what the leader reads back after publishing ts.
func roundTrip(t *testing.T, ts ...manifests.Template) []cluster.PublishedTemplate {
	t.Helper()
	var out []cluster.PublishedTemplate
	for _, tm := range ts {
		data, err := json.Marshal(cluster.PublishTemplate(tm))
		if err != nil {
			t.Fatal(err)
		}
		var p cluster.PublishedTemplate
		mustJSON(t, data, &p)
		out = append(out, p)
	}
	return out
}

func TestPublishTemplates(t *testing.T) {
	web := manifests.Template{ID: "web-upstreams", Contents: "{{range service \"web\"}}{{.Address}}{{end}}", Destination: "/etc/nginx/conf.d/web.conf",
		Constraints: []manifests.Constraint{{Field: "hostname", Operator: "IS", Value: "edge-1"}},
		Origin:      manifests.Origin{File: "templates/web.yaml", Line: 3}}
	// Empty but non-nil slices decode as nil: that must not count as a change.
	api := manifests.Template{ID: "api", Contents: "x", Destination: "/tmp/api", Constraints: []manifests.Constraint{}}
	changed := web
	changed.Contents = "changed"
	moved := web
	moved.Origin.Line = 9

	tests := []struct {
		name      string
		desired   []manifests.Template
		published []cluster.PublishedTemplate
		want      []string
	}{
		{"first publication", []manifests.Template{api, web}, nil, []string{"put api", "put web-upstreams"}},
		{"unchanged writes nothing", []manifests.Template{api, web}, roundTrip(t, api, web), nil},
		{"changed contents", []manifests.Template{api, changed}, roundTrip(t, api, web), []string{"put web-upstreams"}},
		// The origin travels with the template so agents' errors point at
		// the right line.
		{"moved in its file", []manifests.Template{api, moved}, roundTrip(t, api, web), []string{"put web-upstreams"}},
		{"removed", []manifests.Template{web}, roundTrip(t, api, web), []string{"delete api"}},
		{"all removed", nil, roundTrip(t, api, web), []string{"delete api", "delete web-upstreams"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var w writes
			publishTemplates(tc.desired, tc.published, &w)
			got := templateOps(w.list)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("ops %q, want %q", got, tc.want)
			}
		})
	}
}

// TestPassPublishesTemplates checks the wiring: a pass publishes the desired
// set's templates, with their origin, and the next pass over the result is
// quiet.
func TestPassPublishesTemplates(t *testing.T) {
	f := newFakeCluster("a1")
	tm := manifests.Template{ID: "lb", Contents: "x", Destination: "/tmp/lb.conf", Origin: manifests.Origin{File: "lb.yaml", Line: 2}}
	s := f.snapshot(&manifests.Set{Templates: []manifests.Template{tm}}, time.Unix(1e9, 0))
	out := Decide(s, f.opts())
	// Through JSON, as the store keeps it.
	var published []cluster.PublishedTemplate
	for _, c := range out.Changes {
		if p, ok := c.(PublishTemplate); ok {
			data, err := json.Marshal(p.Template)
			if err != nil {
				t.Fatal(err)
			}
			var back cluster.PublishedTemplate
			mustJSON(t, data, &back)
			published = append(published, back)
		}
	}
	if len(published) != 1 || published[0].Manifest().Origin != tm.Origin || published[0].Template.Contents != "x" {
		t.Fatalf("published %+v: want lb with its origin", published)
	}
	s.Templates = published
	out = Decide(s, f.opts())
	if ops := templateOps(out.Changes); len(ops) != 0 {
		t.Fatalf("second pass wrote %q: want nothing", ops)
	}
}

// BenchmarkPublishTemplatesUnchanged is the cost every reconcile pass pays
// to find that 1,000 published templates are up to date.
func BenchmarkPublishTemplatesUnchanged(b *testing.B) {
	var desired []manifests.Template
	for i := range 1000 {
		desired = append(desired, manifests.Template{ID: fmt.Sprintf("/t%d", i), Destination: fmt.Sprintf("/etc/t%d.conf", i),
			Contents:    strings.Repeat("upstream {{ range service \"web\" }}{{ .Address }}{{ end }}\n", 20),
			Constraints: []manifests.Constraint{{Field: "role", Operator: "IS", Value: "edge"}},
			Origin:      manifests.Origin{File: "templates.yaml", Line: i}})
	}
	t := &testing.T{}
	published := roundTrip(t, desired...)
	b.ReportAllocs()
	for b.Loop() {
		var w writes
		publishTemplates(desired, published, &w)
		if len(w.list) != 0 {
			b.Fatalf("%d writes for unchanged templates", len(w.list))
		}
	}
}
