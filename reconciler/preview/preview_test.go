package preview

import (
	"bytes"
	"context"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/reconciler/decide"
	"github.com/berthops/berth/reconciler/plan"
	"github.com/berthops/berth/templates"
)

const upstream = `upstream web {
{{- range service "web" }}
  server {{ .Address }}:{{ .Port }};
{{- end }}
}
`

func webApp(n int) manifests.App {
	return manifests.App{ID: "/web", Instances: n, CPUs: 0.1, Mem: 16, Cmd: "serve",
		PortDefinitions: []manifests.PortDefinition{{Port: 0, Protocol: "tcp"}},
		UpgradeStrategy: manifests.UpgradeStrategy{MinimumHealthCapacity: 1, MaximumOverCapacity: 1}}
}

// A scale of an app makes the upstream that reads its service gain a
// server: the preview shows the rendered file before and after, as a diff,
// from the cluster played forward by the decision engine.
func TestUpstreamGainsAServerWhenAnAppScales(t *testing.T) {
	tmpl := manifests.Template{ID: "/upstream", Contents: upstream, Destination: "/etc/nginx/conf.d/web.conf", Validate: "nginx -t"}
	before := &manifests.Set{Apps: []manifests.App{webApp(1)}, Templates: []manifests.Template{tmpl}}
	after := &manifests.Set{Apps: []manifests.App{webApp(2)}, Templates: []manifests.Template{tmpl}}
	agents := []cluster.Agent{{ID: "a1", Hostname: "a1", Address: "127.0.0.2", Reachable: true,
		Resources: cluster.Resources{CPUs: 2, Mem: 1024, Disk: 1000}, Ports: []cluster.PortRange{{Begin: 31000, End: 31010}}}}

	// The cluster as it runs the base: one task of /web.
	run := decide.Simulate(decide.Input{Desired: before, Agents: agents}, decide.Options{Prune: true, Seed: 1}, 0)
	live := run.End
	// The head played forward from there.
	v := decide.Simulate(decide.Input{Desired: after, Agents: live.Agents, Tasks: live.Tasks, ServicePorts: live.ServicePorts,
		Templates: live.Templates}, decide.Options{Prune: true, Seed: 2}, 0)
	got := Templates(context.Background(), before, after, Catalog(Cluster{Agents: live.Agents, Tasks: live.Tasks}, Options{}), Catalog(Cluster{Agents: v.End.Agents, Tasks: v.End.Tasks}, Options{}), Options{})
	if len(got) != 1 {
		t.Fatalf("previews %+v, want the upstream's", got)
	}
	p := got[0]
	if strings.Count(p.Before, "server 127.0.0.2:") != 1 || strings.Count(p.After, "server 127.0.0.2:") != 2 {
		t.Fatalf("before:\n%s\nafter:\n%s", p.Before, p.After)
	}
	if !strings.Contains(p.Diff, "--- /etc/nginx/conf.d/web.conf (before)") || strings.Count(p.Diff, "\n+  server 127.0.0.2:") != 1 || p.Problem != "" {
		t.Fatalf("diff:\n%s (problem %q)", p.Diff, p.Problem)
	}

	// Nothing changes: no preview.
	if same := Templates(context.Background(), before, before, Catalog(Cluster{Agents: live.Agents, Tasks: live.Tasks}, Options{}), Catalog(Cluster{Agents: live.Agents, Tasks: live.Tasks}, Options{}), Options{}); len(same) != 0 {
		t.Fatalf("unchanged: %+v", same)
	}
}

// A template whose data the snapshot lacks says so instead of hanging, and
// a template that does not parse names its problem.
func TestProblemsAreShown(t *testing.T) {
	after := &manifests.Set{Templates: []manifests.Template{
		{ID: "/kv", Contents: `name={{ key "app/name" }}`, Destination: "/etc/kv.conf"},
	}}
	got := Templates(context.Background(), nil, after, nil, nil, Options{Wait: 200 * time.Millisecond})
	if len(got) != 1 || !strings.Contains(got[0].Problem, "waiting for kv.get(app/name)") {
		t.Fatalf("previews %+v", got)
	}
}

// With Validate, the rendered file is checked with the template's validate
// command on a temporary copy.
func TestValidate(t *testing.T) {
	after := &manifests.Set{Templates: []manifests.Template{
		{ID: "/ok", Contents: "fine\n", Destination: "/etc/ok.conf", Validate: "grep -q fine {{.}}"},
		{ID: "/bad", Contents: "broken\n", Destination: "/etc/bad.conf", Validate: "grep -q fine /etc/bad.conf"},
	}}
	got := Templates(context.Background(), nil, after, nil, nil, Options{Validate: true})
	v := map[string]string{}
	for _, p := range got {
		v[p.ID] = p.Validation
	}
	if !strings.HasPrefix(v["/ok"], "valid") || !strings.Contains(v["/bad"], "failed") {
		t.Fatalf("validations %q", v)
	}
}

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// The upstream-gains-a-server preview as the PR comment (Markdown) and the
// JSON form show it.
func TestGoldenUpstreamScale(t *testing.T) {
	tmpl := manifests.Template{ID: "/upstream", Contents: upstream, Destination: "/etc/nginx/conf.d/web.conf"}
	before := &manifests.Set{Apps: []manifests.App{webApp(1)}, Templates: []manifests.Template{tmpl}}
	after := &manifests.Set{Apps: []manifests.App{webApp(2)}, Templates: []manifests.Template{tmpl}}
	agents := []cluster.Agent{{ID: "a1", Hostname: "a1", Address: "127.0.0.2", Reachable: true,
		Resources: cluster.Resources{CPUs: 2, Mem: 1024, Disk: 1000}, Ports: []cluster.PortRange{{Begin: 31000, End: 31010}}}}
	live := decide.Simulate(decide.Input{Desired: before, Agents: agents}, decide.Options{Prune: true, Seed: 1}, 0).End
	v := decide.Simulate(decide.Input{Desired: after, Agents: live.Agents, Tasks: live.Tasks, ServicePorts: live.ServicePorts},
		decide.Options{Prune: true, Seed: 2}, 0)
	p := plan.Compute(after, plan.Observed{Applied: before})
	p.Fit = v.Fit()
	p.Templates = Templates(context.Background(), before, after, Catalog(Cluster{Agents: live.Agents, Tasks: live.Tasks}, Options{}),
		Catalog(Cluster{Agents: v.End.Agents, Tasks: v.End.Tasks}, Options{}), Options{})
	h := plan.Header{Base: plan.Revision{Ref: "main", Commit: "1111111111111111111111111111111111111111"},
		Head: plan.Revision{Ref: "scale", Commit: "2222222222222222222222222222222222222222"}}
	var md, js bytes.Buffer
	if err := plan.WriteMarkdown(&md, p, h); err != nil {
		t.Fatal(err)
	}
	if err := plan.WriteJSON(&js, p, h); err != nil {
		t.Fatal(err)
	}
	for file, got := range map[string][]byte{"testdata/upstream-scale.md": md.Bytes(), "testdata/upstream-scale.json": js.Bytes()} {
		if *update {
			if err := os.MkdirAll("testdata", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%v (go test -update writes it)", err)
		}
		if string(want) != string(got) {
			t.Errorf("%s differs (go test -update rewrites it); got:\n%s", file, got)
		}
	}
}

// Overlay swaps a change's own instances into a live catalog and keeps
// everything else Consul holds.
func TestOverlayKeepsWhatBerthDoesNotRun(t *testing.T) {
	live := &templates.CatalogData{KV: map[string]string{"k": "v"}, Instances: []templates.Instance{
		{ID: "berth-t1-0", Name: "web", Address: "127.0.0.2", Port: 31000},
		{ID: "berth-t2-0", Name: "web", Address: "127.0.0.2", Port: 31001},
		{ID: "legacy-1", Name: "legacy", Address: "127.0.0.9", Port: 8080},
	}}
	before := &templates.CatalogData{Instances: live.Instances[:2]}
	after := &templates.CatalogData{Instances: []templates.Instance{
		{ID: "berth-t2-0", Name: "web", Address: "127.0.0.2", Port: 31001},
		{ID: "berth-t3-0", Name: "web", Address: "127.0.0.3", Port: 31000},
	}}
	got := Overlay(live, before, after)
	var ids []string
	for _, in := range got.Instances {
		ids = append(ids, in.ID)
	}
	if strings.Join(ids, " ") != "berth-t2-0 berth-t3-0 legacy-1" || got.KV["k"] != "v" {
		t.Errorf("overlay %v (kv %v), want t1 gone, t3 added, legacy and the key kept", ids, got.KV)
	}
	if len(live.Instances) != 3 {
		t.Errorf("the live catalog changed: %v", live.Instances)
	}
}
