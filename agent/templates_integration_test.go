package agent_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthops/berth/agent"
	"github.com/berthops/berth/agent/dockerrt"
	"github.com/berthops/berth/catalog"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/zkstore"
	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/reconciler"
	"github.com/berthops/berth/reconciler/decide"
	"github.com/berthops/berth/templates"
	"github.com/berthops/berth/testenv"
)

// templateManifests is the repository of the test: an app (one instance
// per node), a template
// constrained to the first agent's hostname and one with no constraints.
func templateManifests(t *testing.T, id string, instances int) *manifests.Set {
	t.Helper()
	src := fmt.Sprintf(`kind: App
id: /tweb-%[1]s
instances: %[2]d
cpus: 0.1
mem: 32
taskKillGracePeriodSeconds: 1
constraints:
  - [hostname, UNIQUE]
container:
  type: DOCKER
  docker:
    image: %[3]s
  portMappings:
    - containerPort: 80
      hostPort: 0
      protocol: tcp
networks:
  - mode: container/bridge
env:
  WEB_PORTS: "80"
---
kind: Template
id: /edge-upstream
contents: |
  {{- range service "tweb-%[1]s" }}
  server {{ .Address }}:{{ .Port }};
  {{- end }}
destination: /etc/nginx/conf.d/upstream.conf
constraints:
  - [hostname, IS, edge-a-%[1]s]
---
kind: Template
id: /everywhere
contents: "node {{ env \"BERTH_TEST_NODE\" }}{{ range service \"tweb-%[1]s\" }}.{{ end }}\n"
destination: /etc/berth/everywhere
`, id, instances, testenv.WebImage)
	set, err := manifests.LoadBytes("berth.yaml", []byte(src))
	if err != nil {
		t.Fatalf("manifests: %v", err)
	}
	return set
}

// TestTemplatesRenderWhereConstrained runs two real agents on ZooKeeper and
// Docker and a leader making real passes: the template constrained to the
// first agent's hostname renders only under that agent's root, the
// unconstrained one under both, and the constrained one is re-rendered
// with the other node's new instance when the app scales.
func TestTemplatesRenderWhereConstrained(t *testing.T) {
	testenv.Integration(t)
	cli := testenv.Docker(t)
	testenv.Images(t)
	label := testenv.DockerTestLabel(t, cli)
	zk := testenv.StartZooKeeper(t, 1)
	id := testenv.UniqueID(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("BERTH_TEST_VERBOSE") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	cfg, err := zkstore.ParseURL(zk.URL("/tmpl-" + id))
	if err != nil {
		t.Fatal(err)
	}
	open := func() *zkstore.Store {
		t.Helper()
		s, err := zkstore.Open(ctx, cfg, zkstore.Options{Logger: log})
		if err != nil {
			t.Fatalf("open ZooKeeper: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}

	// Two agents, each with its own session, Docker runner, catalog and
	// destination root.
	roots := map[string]string{}
	var renderers []*agent.TemplateRenderer
	for i, name := range []string{"a", "b"} {
		node := agent.Node{
			ID: fmt.Sprintf("tmpl-%s-%s", name, id), Hostname: fmt.Sprintf("edge-%s-%s", name, id), Address: fmt.Sprintf("127.0.0.%d", i+2),
			Resources: cluster.Resources{CPUs: 2, Mem: 1024, Disk: 1000},
			Ports:     []cluster.PortRange{{Begin: 34200 + 100*i, End: 34299 + 100*i}},
		}
		roots[name] = t.TempDir()
		node.Policy.TemplateRoots = []string{roots[name]}
		store := open()
		sc := &agent.StateCluster{State: cluster.NewState(store), Log: log}
		ag, err := agent.New(agent.Config{Node: node, Runtime: dockerrt.New(cli, dockerrt.Options{ExtraLabels: map[string]string{testenv.TestLabel: label}}), Cluster: sc,
			DefaultKillGrace: time.Second, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		src := templates.CatalogSource{Catalog: catalog.New(cluster.NewState(store), 200*time.Millisecond, node.Hostname)}
		env := func(k string) (string, bool) {
			if k == "BERTH_TEST_NODE" {
				return name, true
			}
			return "", false
		}
		r, err := agent.NewTemplateRenderer(agent.TemplateConfig{Node: node, Published: sc, Root: roots[name], Logger: log,
			Runner: templates.RunnerOptions{Source: src, Env: env}, Report: sc.ReportRenders(node.ID), ReportEvery: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		renderers = append(renderers, r)
		run(t, ctx, "agent "+name, ag.Run)
		run(t, ctx, "templates "+name, r.Run)
	}

	var desired atomic.Pointer[manifests.Set]
	desired.Store(templateManifests(t, id, 1))
	leader := open()
	run(t, ctx, "leader", func(ctx context.Context) error { return leadPasses(ctx, leader, &desired) })

	upstreamA := filepath.Join(roots["a"], "etc/nginx/conf.d/upstream.conf")
	waitFile(t, ctx, upstreamA, func(s string) bool { return strings.Count(s, "server 127.0.0.") == 1 })
	waitFile(t, ctx, filepath.Join(roots["a"], "etc/berth/everywhere"), func(s string) bool { return s == "node a.\n" })
	// Agent b renders the unconstrained template, so by then it has seen
	// the published set and decided about the constrained one too.
	waitFile(t, ctx, filepath.Join(roots["b"], "etc/berth/everywhere"), func(s string) bool { return s == "node b.\n" })
	if _, err := os.Stat(filepath.Join(roots["b"], "etc/nginx/conf.d/upstream.conf")); !os.IsNotExist(err) {
		t.Fatalf("the template constrained to edge-a rendered on agent b too (stat: %v)", err)
	}
	if got := renderers[1].Selected(); strings.Join(got, ",") != "/everywhere" {
		t.Fatalf("agent b selected %v: want only /everywhere", got)
	}

	desired.Store(templateManifests(t, id, 2))
	// One instance per node: agent a's upstream lists agent b's instance too.
	got := waitFile(t, ctx, upstreamA, func(s string) bool {
		return strings.Count(s, "server 127.0.0.2:") == 1 && strings.Count(s, "server 127.0.0.3:") == 1
	})
	t.Logf("upstream after scaling:\n%s", got)
	for _, st := range renderers[0].Status() {
		if st.Err != "" || st.SourceErr != "" {
			t.Errorf("template %s status: %+v", st.ID, st)
		}
	}

	// Each agent reports its renders to the cluster state, which the API
	// shows (GET /v1/renders): a has both templates, b only /everywhere.
	obs := cluster.NewState(open())
	for deadline := time.Now().Add(20 * time.Second); ; {
		renders, err := obs.Renders(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var seen []string
		for _, r := range renders {
			if r.Rendered && r.Error == "" {
				seen = append(seen, r.Agent[len("tmpl-"):len("tmpl-")+1]+r.Template)
			}
		}
		if strings.Join(seen, ",") == "a/edge-upstream,a/everywhere,b/everywhere" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("renders in the cluster state: %+v", renders)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// run runs f until the test ends and fails the test if it returns an error.
func run(t *testing.T, ctx context.Context, what string, f func(context.Context) error) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- f(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && ctx.Err() == nil {
			t.Errorf("%s: %v", what, err)
		}
	})
}

// leadPasses is a minimal leader: it campaigns, then runs reconcile passes
// over the live state and commits them, as the reconcile loop does.
func leadPasses(ctx context.Context, store cluster.Store, desired *atomic.Pointer[manifests.Set]) error {
	lead, err := store.Campaign(ctx, cluster.DirLeader, "test-leader")
	if err != nil {
		return err
	}
	state := cluster.NewState(store)
	for ctx.Err() == nil {
		var in decide.Input
		in, err = reconciler.ReadInput(ctx, state, desired.Load())
		if err == nil {
			in.Now = time.Now()
			out := decide.Decide(in, decide.Options{Prune: true, NewTaskID: reconciler.NewTaskID})
			err = reconciler.CommitChanges(ctx, state, lead, out.Changes, "main")
		}
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("reconcile pass: %w", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
	return nil
}

// waitFile waits until the file at p exists and ok accepts its contents,
// which it returns.
func waitFile(t *testing.T, ctx context.Context, p string, ok func(string) bool) string {
	t.Helper()
	last := ""
	for {
		data, err := os.ReadFile(p)
		if err == nil {
			last = string(data)
			if ok(last) {
				return last
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s never had the expected contents; last:\n%s", p, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
