package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/reconciler/decide"
	"github.com/berthops/berth/reconciler/plan"
	"github.com/berthops/berth/testenv"
)

const consulWeb = `kind: App
id: /web
instances: %d
cpus: 0.1
mem: 16
cmd: ./web
portDefinitions:
  - port: 0
`

// The upstream reads what only Consul has: a KV key and a service Berth does
// not run, beside Berth's own /web.
const consulUpstream = `kind: Template
id: /web-upstream
destination: /etc/nginx/conf.d/web.conf
contents: |
  keepalive {{ key "nginx/keepalive" }};
  upstream web {
  {{- range service "web" }}
    server {{ .Address }}:{{ .Port }};
  {{- end }}
  {{- range service "legacy" }}
    server {{ .Address }}:{{ .Port }} backup;
  {{- end }}
  }
`

// TestDiffPreviewsTemplatesAgainstConsul renders a PR's template preview
// against a real Consul agent's catalog: the KV key and the service Berth
// does not run come from Consul, and the change's own instances are swapped
// in. Without --consul the same preview waits for the key the snapshot
// lacks.
func TestDiffPreviewsTemplatesAgainstConsul(t *testing.T) {
	consul := testenv.StartConsul(t)
	repo := testenv.NewGitRepo(t, filepath.Join(t.TempDir(), "cluster.git"))
	baseFiles := map[string]string{"apps/web.yaml": fmt.Sprintf(consulWeb, 1), "templates/web.berth.yaml": consulUpstream}
	repo.Commit(t, "main", baseFiles, "web x1")
	repo.Commit(t, "scale", map[string]string{"apps/web.yaml": fmt.Sprintf(consulWeb, 2), "templates/web.berth.yaml": consulUpstream}, "web x2")

	// The live cluster runs the base: one /web task on one agent, in a
	// snapshot as GET /v1/observed gives it.
	dir := t.TempDir()
	for name, body := range baseFiles {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base, err := manifests.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	agents := []cluster.Agent{{ID: "a1", Hostname: "node-1", Address: "127.0.0.2", Reachable: true,
		Resources: cluster.Resources{CPUs: 2, Mem: 1024, Disk: 1000}, Ports: []cluster.PortRange{{Begin: 31000, End: 31010}}}}
	live := decide.Simulate(decide.Input{Desired: base, Agents: agents}, decide.Options{Prune: true, Seed: 1}, 0).End
	if len(live.Tasks) != 1 {
		t.Fatalf("live tasks %+v, want one /web", live.Tasks)
	}
	snap := decide.SnapshotOf(live, base)
	data, err := json.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(t.TempDir(), "observed.json")
	if err := os.WriteFile(state, data, 0o644); err != nil {
		t.Fatal(err)
	}

	// Consul holds what the agent registered for that task, and what
	// others put there.
	cfg := api.DefaultConfig()
	cfg.Address = consul.Addr
	client, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	task := live.Tasks[0]
	port := task.Spec.Ports[0].HostPort // a simulated task's port is its assigned one
	for _, s := range cluster.TaskServices("a1", "127.0.0.2", task.Assignment, []int{port}) {
		if err := client.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: s.ID, Name: s.Name, Address: s.Address, Port: s.Port}); err != nil {
			t.Fatal(err)
		}
	}
	if err := client.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "legacy-1", Name: "legacy", Address: "127.0.0.9", Port: 8080}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.KV().Put(&api.KVPair{Key: "nginx/keepalive", Value: []byte("32")}, nil); err != nil {
		t.Fatal(err)
	}

	// The agent syncs its registrations into the catalog a moment later.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		web, _, err1 := client.Health().Service("web", "", false, nil)
		legacy, _, err2 := client.Health().Service("legacy", "", false, nil)
		if err1 == nil && err2 == nil && len(web) == 1 && len(legacy) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the registrations never reached Consul's catalog: %v %v", err1, err2)
		}
	}

	out, errOut, code := runDiffCmd(t, "diff", "--repo", repo.Dir, "--base", "main", "--head", "scale", "--observed", state,
		"--consul", consul.Addr, "--format", "json", "--no-parse-cache")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got struct{ Templates []plan.TemplatePreview }
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if len(got.Templates) != 1 {
		t.Fatalf("previews %+v, want the upstream's\n%s", got.Templates, out)
	}
	p := got.Templates[0]
	webServer := fmt.Sprintf("server 127.0.0.2:%d;", port)
	for side, text := range map[string]string{"before": p.Before, "after": p.After} {
		for _, want := range []string{"keepalive 32;", "server 127.0.0.9:8080 backup;", webServer} {
			if !strings.Contains(text, want) {
				t.Errorf("%s lacks %q:\n%s", side, want, text)
			}
		}
	}
	if n := strings.Count(p.Before, "server 127.0.0.2:"); n != 1 {
		t.Errorf("before has %d /web servers, want 1:\n%s", n, p.Before)
	}
	if n := strings.Count(p.After, "server 127.0.0.2:"); n != 2 {
		t.Errorf("after has %d /web servers, want 2:\n%s", n, p.After)
	}
	if p.Problem != "" || strings.Count(p.Diff, "\n+  server 127.0.0.2:") != 1 {
		t.Errorf("problem %q, diff:\n%s", p.Problem, p.Diff)
	}

	// Berth's catalog alone has no KV: both sides wait for the key and
	// render nothing, so there is no preview to show.
	out, errOut, code = runDiffCmd(t, "diff", "--repo", repo.Dir, "--base", "main", "--head", "scale", "--observed", state,
		"--format", "json", "--no-parse-cache")
	if code != 0 || strings.Contains(out, `"templates"`) {
		t.Errorf("without --consul: exit %d (%s), want no preview:\n%s", code, errOut, out)
	}

	// --consul without a cluster to play the change on is refused.
	_, errOut, code = runDiffCmd(t, "diff", "--repo", repo.Dir, "--base", "main", "--head", "scale", "--consul", consul.Addr)
	if code != 1 || !strings.Contains(errOut, "--consul") {
		t.Errorf("--consul with only --base: exit %d, %q", code, errOut)
	}

	// A Consul that cannot be reached is an error naming the flag, not a
	// preview against a half-read catalog.
	_, errOut, code = runDiffCmd(t, "diff", "--repo", repo.Dir, "--base", "main", "--head", "scale", "--observed", state,
		"--consul", "127.0.0.1:1", "--no-parse-cache")
	if code != 1 || !strings.Contains(errOut, "--consul") || !strings.Contains(errOut, "127.0.0.1:1") {
		t.Errorf("unreachable --consul: exit %d, %q", code, errOut)
	}
}
