package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/zkstore"
	"github.com/berthops/berth/testenv"
)

// TestRenderFromZooKeeperCatalog renders from Berth's own catalog: a running
// task recorded in the cluster state on a real ZooKeeper, no Consul.
func TestRenderFromZooKeeperCatalog(t *testing.T) {
	testenv.Integration(t)
	zk := testenv.StartZooKeeper(t, 1)
	url := zk.URL("/render-" + testenv.UniqueID(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg, err := zkstore.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	store, err := zkstore.Open(ctx, cfg, zkstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	state := cluster.NewState(store)
	// The agent's live node lasts as long as this session: the catalog
	// lists only reachable agents' tasks.
	if _, err := state.RegisterAgent(ctx, cluster.Agent{ID: "node-2", Hostname: "node-2", Address: "127.0.0.2"}); err != nil {
		t.Fatal(err)
	}
	lead, err := store.Campaign(ctx, cluster.DirLeader, "test")
	if err != nil {
		t.Fatal(err)
	}
	var b cluster.Batch
	b.PutAssignment(cluster.Assignment{TaskID: "web.1", Owner: cluster.OwnerApp, OwnerID: "/web", AgentID: "node-2",
		Spec: cluster.TaskSpec{Network: "BRIDGE", Ports: []cluster.PortSpec{{ContainerPort: 80, HostPort: 31005, Protocol: "tcp"}}}})
	if _, err := state.Commit(ctx, lead, &b); err != nil {
		t.Fatal(err)
	}
	if err := state.PutStatuses(ctx, cluster.TaskStatus{TaskID: "web.1", AgentID: "node-2", State: cluster.TaskRunning, HostPorts: []int{31005}}); err != nil {
		t.Fatal(err)
	}

	src := filepath.Join(t.TempDir(), "up.ctmpl")
	tmpl := "{{ range service \"web\" }}server {{ .Address }}:{{ .Port }};\n{{ end }}"
	if err := os.WriteFile(src, []byte(tmpl), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errs, err := runRender(t, "--zk", url, "--template", src+":/etc/nginx/up.conf", "--once", "--dry")
	if err != nil {
		t.Fatalf("render --zk: %v\n%s", err, errs)
	}
	if !strings.Contains(out, "server 127.0.0.2:31005;\n") {
		t.Fatalf("output %q: want the task's address and port from the catalog", out)
	}

	if _, _, err := runRender(t, "--zk", "zk://", "--template", src+":/tmp/x", "--once"); err == nil || !strings.Contains(err.Error(), "--zk zk://") {
		t.Fatalf("render with a bad --zk: %v, want an error naming the flag", err)
	}
}
