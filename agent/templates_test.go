package agent

import (
	"fmt"
	"strings"
	"testing"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/templates"
)

func TestMatchNode(t *testing.T) {
	node := Node{ID: "n1", Hostname: "edge-1.example", Attributes: map[string]string{"rack": "r1", "zone": "eu-a"}}
	c := func(field, op, value string) manifests.Constraint {
		return manifests.Constraint{Field: field, Operator: op, Value: value}
	}
	tests := []struct {
		name string
		cs   []manifests.Constraint
		want bool
	}{
		{"no constraints: every node", nil, true},
		{"hostname IS", []manifests.Constraint{c("hostname", "IS", "edge-1.example")}, true},
		{"hostname IS other", []manifests.Constraint{c("hostname", "IS", "edge-2.example")}, false},
		{"@hostname spelling", []manifests.Constraint{c("@hostname", "IS", "edge-1.example")}, true},
		{"LIKE is a full match", []manifests.Constraint{c("hostname", "LIKE", "edge-1")}, false},
		{"LIKE regex", []manifests.Constraint{c("hostname", "LIKE", `edge-\d+\..*`)}, true},
		{"LIKE alternation stays anchored", []manifests.Constraint{c("rack", "LIKE", "r1|r2")}, true},
		{"LIKE alternation anchored both sides", []manifests.Constraint{c("rack", "LIKE", "x|r")}, false},
		{"UNLIKE", []manifests.Constraint{c("rack", "UNLIKE", "r1")}, false},
		{"UNLIKE other", []manifests.Constraint{c("rack", "UNLIKE", "r2")}, true},
		{"missing attribute matches UNLIKE", []manifests.Constraint{c("gpu", "UNLIKE", "true")}, true},
		{"missing attribute fails LIKE", []manifests.Constraint{c("gpu", "LIKE", ".*")}, false},
		{"missing attribute fails IS", []manifests.Constraint{c("gpu", "IS", "")}, false},
		{"CLUSTER value", []manifests.Constraint{c("zone", "CLUSTER", "eu-a")}, true},
		{"CLUSTER other value", []manifests.Constraint{c("zone", "CLUSTER", "eu-b")}, false},
		{"CLUSTER without value: field present", []manifests.Constraint{c("zone", "CLUSTER", "")}, true},
		{"CLUSTER without value: field missing", []manifests.Constraint{c("gpu", "CLUSTER", "")}, false},
		{"UNIQUE hostname: every node", []manifests.Constraint{c("hostname", "UNIQUE", "")}, true},
		{"UNIQUE attribute present", []manifests.Constraint{c("rack", "UNIQUE", "")}, true},
		{"UNIQUE attribute missing", []manifests.Constraint{c("gpu", "UNIQUE", "")}, false},
		{"GROUP_BY present", []manifests.Constraint{c("rack", "GROUP_BY", "2")}, true},
		{"GROUP_BY missing", []manifests.Constraint{c("gpu", "GROUP_BY", "")}, false},
		{"MAX_PER present", []manifests.Constraint{c("zone", "MAX_PER", "1")}, true},
		{"MAX_PER missing", []manifests.Constraint{c("gpu", "MAX_PER", "1")}, false},
		{"all must hold", []manifests.Constraint{c("rack", "IS", "r1"), c("zone", "LIKE", "us-.*")}, false},
		{"all hold", []manifests.Constraint{c("rack", "IS", "r1"), c("zone", "LIKE", "eu-.*")}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MatchNode(node, tc.cs)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("MatchNode(%v) = %v, want %v", tc.cs, got, tc.want)
			}
		})
	}
}

func TestMatchNodeErrors(t *testing.T) {
	node := Node{Hostname: "h"}
	tests := []struct {
		c    manifests.Constraint
		want string
	}{
		{manifests.Constraint{Field: "hostname", Operator: "LIKE", Value: "("}, "constraints[1]: LIKE value \"(\" is not a valid regular expression"},
		{manifests.Constraint{Field: "", Operator: "IS", Value: "x"}, "constraints[1]: field is empty"},
		{manifests.Constraint{Field: "rack", Operator: "NEAR"}, "constraints[1]: unknown operator \"NEAR\""},
		{manifests.Constraint{Field: "rack", Operator: "MAX_PER", Value: "0"}, "constraints[1]: MAX_PER value \"0\" is not a limit"},
		{manifests.Constraint{Field: "rack", Operator: "GROUP_BY", Value: "x"}, "constraints[1]: GROUP_BY value \"x\" is not a count"},
	}
	for _, tc := range tests {
		// The first constraint already fails: the invalid one is still reported.
		cs := []manifests.Constraint{{Field: "hostname", Operator: "IS", Value: "other"}, tc.c}
		_, err := MatchNode(node, cs)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("MatchNode(%v) error %v, want %q", tc.c, err, tc.want)
		}
	}
}

func TestSelectTemplates(t *testing.T) {
	node := Node{ID: "n1", Hostname: "edge-1", Attributes: map[string]string{"role": "edge"}}
	pub := func(id string, origin manifests.Origin, cs ...manifests.Constraint) cluster.PublishedTemplate {
		return cluster.PublishTemplate(manifests.Template{ID: id, Destination: "/tmp/" + id, Contents: "x", Constraints: cs, Origin: origin})
	}
	set := []cluster.PublishedTemplate{
		pub("everywhere", manifests.Origin{}),
		pub("edge", manifests.Origin{File: "edge.yaml", Line: 2}, manifests.Constraint{Field: "role", Operator: "IS", Value: "edge"}),
		pub("other-host", manifests.Origin{}, manifests.Constraint{Field: "hostname", Operator: "IS", Value: "edge-2"}),
		pub("broken", manifests.Origin{File: "templates/broken.yaml", Line: 7}, manifests.Constraint{Field: "hostname", Operator: "LIKE", Value: "["}),
	}
	got, problems := SelectTemplates(node, set)
	var ids []string
	for _, t := range got {
		ids = append(ids, t.ID)
	}
	if strings.Join(ids, ",") != "everywhere,edge" {
		t.Errorf("selected %v, want everywhere,edge", ids)
	}
	if got[1].Origin.File != "edge.yaml" {
		t.Errorf("selected template lost its origin: %+v", got[1].Origin)
	}
	if len(problems) != 1 || !strings.HasPrefix(problems[0].Error(), "templates/broken.yaml:7: template broken: field constraints[0]: LIKE") {
		t.Errorf("problems %v, want one naming templates/broken.yaml:7 and constraints[0]", problems)
	}
}

// FuzzMatchNode feeds arbitrary constraints (field, operator, value: the
// operator's regular expressions included) to the matcher: it must answer
// or return an error, never panic, and LIKE and UNLIKE of the same valid
// pattern must disagree on a node that has the field.
func FuzzMatchNode(f *testing.F) {
	f.Add("hostname", "LIKE", `edge-\d+`, "edge-1", "rack", "r1")
	f.Add("rack", "UNLIKE", "(", "h", "rack", "r1")
	f.Add("rack", "MAX_PER", "-1", "h", "", "")
	f.Add("@hostname", "CLUSTER", "", "h", "zone", "")
	f.Fuzz(func(t *testing.T, field, op, value, hostname, attr, attrValue string) {
		node := Node{Hostname: hostname, Attributes: map[string]string{attr: attrValue}}
		like, err := MatchNode(node, []manifests.Constraint{{Field: field, Operator: op, Value: value}})
		if err != nil || op != manifests.OpLike {
			return
		}
		present := field == "hostname" || field == "@hostname" || field == attr
		unlike, err := MatchNode(node, []manifests.Constraint{{Field: field, Operator: manifests.OpUnlike, Value: value}})
		if err != nil {
			t.Fatalf("UNLIKE %q failed where LIKE did not: %v", value, err)
		}
		if present && like == unlike {
			t.Fatalf("LIKE and UNLIKE %q both %v on %+v", value, like, node)
		}
	})
}

func BenchmarkSelectTemplates(b *testing.B) {
	node := Node{ID: "n1", Hostname: "edge-7", Attributes: map[string]string{"rack": "r3", "role": "edge"}}
	var set []cluster.PublishedTemplate
	for i := range 1000 {
		set = append(set, cluster.PublishTemplate(manifests.Template{
			ID: fmt.Sprintf("t%d", i), Destination: fmt.Sprintf("/etc/t%d", i), Contents: "x",
			Constraints: []manifests.Constraint{
				{Field: "hostname", Operator: "LIKE", Value: fmt.Sprintf("edge-%d", i%10)},
				{Field: "rack", Operator: "UNLIKE", Value: "r9"},
			},
		}))
	}
	b.ReportAllocs()
	for b.Loop() {
		got, problems := SelectTemplates(node, set)
		if len(got) != 100 || len(problems) != 0 {
			b.Fatalf("selected %d, problems %v", len(got), problems)
		}
	}
}

// A template the node's policy refuses is reported with the refusal, as
// the API and the UI show it, not only logged.
func TestRendersReportRefusals(t *testing.T) {
	root := t.TempDir()
	r, err := NewTemplateRenderer(TemplateConfig{
		Node:      Node{ID: "n1", Policy: cluster.AgentPolicy{TemplateRoots: []string{root}, TemplateCommands: []string{"true"}}},
		Published: &StateCluster{},
		Runner:    templates.RunnerOptions{Source: templates.CatalogSource{Catalog: &templates.MemoryCatalog{}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	placed := r.allowed([]manifests.Template{
		{ID: "/inside", Contents: "x", Destination: root + "/a.conf", Command: "nginx -s reload"},
		{ID: "/outside", Contents: "x", Destination: "/etc/passwd"},
		{ID: "/fine", Contents: "x", Destination: root + "/b.conf", Command: "true"},
	})
	if len(placed) != 2 || placed[0].Command != "" || placed[1].Command != "true" {
		t.Fatalf("placed %+v: want /inside without its command and /fine with it", placed)
	}
	got := map[string]string{}
	for _, rd := range r.Renders() {
		got[rd.Template] = rd.Refused
	}
	if !strings.Contains(got["/outside"], "template-root") || !strings.Contains(got["/inside"], "validate and command not run") || got["/fine"] != "" {
		t.Fatalf("reported refusals %q", got)
	}
}
