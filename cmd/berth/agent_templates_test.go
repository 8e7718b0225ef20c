package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/zkstore"
	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/testenv"
)

// TestAgentTemplatesFlag runs `berth agent --templates --consul ""` against
// a real ZooKeeper and Docker: of two published templates, it renders the
// one whose constraint selects its node, from Berth's catalog.
func TestAgentTemplatesFlag(t *testing.T) {
	testenv.Integration(t)
	cli := testenv.Docker(t)
	label := testenv.DockerTestLabel(t, cli)
	zk := testenv.StartZooKeeper(t, 1)
	id := testenv.UniqueID(t)
	url := zk.URL("/agent-tmpl-" + id)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
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
	lead, err := store.Campaign(ctx, cluster.DirLeader, "test")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var b cluster.Batch
	for _, role := range []string{"edge", "db"} {
		b.PutTemplate(cluster.PublishTemplate(manifests.Template{ID: "/" + role, Contents: "for {{ env \"BERTH_TEST_ROLE\" }}\n",
			Destination: filepath.Join(dir, role+".conf"),
			Constraints: []manifests.Constraint{{Field: "role", Operator: manifests.OpIs, Value: role}}}))
	}
	if _, err := state.Commit(ctx, lead, &b); err != nil {
		t.Fatal(err)
	}

	t.Setenv("BERTH_TEST_ROLE", "edge")
	actx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	var out bytes.Buffer
	var errb agentLogBuffer
	go func() {
		root := newRootCmd(&out, &errb)
		root.SetArgs([]string{"agent", "--zk", url, "--id", "tmpl-" + id, "--hostname", "tmpl-" + id, "--advertise", "127.0.0.4",
			"--resources", "cpus:1;mem:256;disk:100;ports:[34500-34510]", "--attributes", "role:edge",
			"--consul", "", "--templates", "--template-env-prefix", "BERTH_TEST_", "--label", testenv.TestLabel + "=" + label})
		done <- root.ExecuteContext(actx)
	}()
	stopped := false
	end := func() {
		if !stopped {
			stopped = true
			stop()
			if err := <-done; err != nil {
				t.Errorf("berth agent: %v\n%s", err, errb.String())
			}
		}
	}
	defer end()

	edge := filepath.Join(dir, "edge.conf")
	for {
		data, err := os.ReadFile(edge)
		if err == nil && string(data) == "for edge\n" {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s never rendered (read: %v)\nagent log:\n%s", edge, err, errb.String())
		case err := <-done:
			stopped = true
			t.Fatalf("berth agent ended: %v\n%s", err, errb.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	// Both templates would be handed to the runner together: once the agent
	// has ended, its log and the disk say what it selected.
	end()
	if !strings.Contains(errb.String(), "templates=[/edge]") {
		t.Errorf("agent log does not show /edge alone placed on the node:\n%s", errb.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "db.conf")); !os.IsNotExist(err) {
		t.Fatalf("the template for role db rendered on the edge node (stat: %v)", err)
	}
}

// agentLogBuffer is the agent's stderr: ZooKeeper's connection goroutine
// may still log while the test reads it.
type agentLogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *agentLogBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *agentLogBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
