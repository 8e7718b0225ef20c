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
// a real ZooKeeper and Docker: of the published templates, it renders those
// whose constraint selects its node, from Berth's catalog, and its policy
// holds: a destination outside --template-root is refused, a command runs
// only when its program is allowed and it holds no shell syntax.
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
	dir, outside := t.TempDir(), t.TempDir()
	var b cluster.Batch
	for _, role := range []string{"edge", "db"} {
		// /edge's command is not an allowed program: rendered, not run.
		b.PutTemplate(cluster.PublishTemplate(manifests.Template{ID: "/" + role, Contents: "for {{ env \"BERTH_TEST_ROLE\" }}\n",
			Destination: filepath.Join(dir, role+".conf"), Command: "touch " + filepath.Join(dir, role+".ran"),
			Constraints: []manifests.Constraint{{Field: "role", Operator: manifests.OpIs, Value: role}}}))
	}
	edgeOnly := []manifests.Constraint{{Field: "role", Operator: manifests.OpIs, Value: "edge"}}
	// Outside --template-root: refused on the node.
	b.PutTemplate(cluster.PublishTemplate(manifests.Template{ID: "/outside", Contents: "x\n",
		Destination: filepath.Join(outside, "x.conf"), Constraints: edgeOnly}))
	// An allowed program, with shell syntax that would start another one.
	b.PutTemplate(cluster.PublishTemplate(manifests.Template{ID: "/sneaky", Contents: "y\n",
		Destination: filepath.Join(dir, "sneaky.conf"), Command: "true; touch " + filepath.Join(dir, "sneaky.ran"), Constraints: edgeOnly}))
	// An allowed program: it runs.
	b.PutTemplate(cluster.PublishTemplate(manifests.Template{ID: "/allowed", Contents: "z\n",
		Destination: filepath.Join(dir, "allowed.conf"), Command: "mkdir " + filepath.Join(dir, "allowed.ran"), Constraints: edgeOnly}))
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
			"--consul", "", "--templates", "--template-env-prefix", "BERTH_TEST_", "--template-root", dir, "--allow-template-command", "mkdir", "--allow-template-command", "true",
			"--label", testenv.TestLabel + "=" + label})
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
		_, ranErr := os.Stat(filepath.Join(dir, "allowed.ran"))
		if err == nil && string(data) == "for edge\n" && ranErr == nil {
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
	if !strings.Contains(errb.String(), "templates=\"[/allowed /edge /sneaky]\"") {
		t.Errorf("agent log does not show /edge, /sneaky and /allowed placed on the node:\n%s", errb.String())
	}
	for _, f := range []string{filepath.Join(dir, "db.conf"), filepath.Join(outside, "x.conf"), filepath.Join(dir, "edge.ran"), filepath.Join(dir, "sneaky.ran")} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s exists: a refused template rendered or a refused command ran (stat: %v)", f, err)
		}
	}
	for _, rule := range []string{"rule=template-root", "rule=template-command"} {
		if !strings.Contains(errb.String(), rule) {
			t.Errorf("agent log does not name %s:\n%s", rule, errb.String())
		}
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
