package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/zkstore"
	"github.com/berthops/berth/testenv"
)

// TestAgentWithItsOwnZKIdentity issues an agent identity with `berth
// zk-identity` and runs `berth agent --zk-identity` on a real ZooKeeper
// whose tree the servers' identities protect: the agent registers itself,
// and its registration is readable by the servers and not by anyone else.
func TestAgentWithItsOwnZKIdentity(t *testing.T) {
	testenv.Integration(t)
	cli := testenv.Docker(t)
	label := testenv.DockerTestLabel(t, cli)
	zk := testenv.StartZooKeeper(t, 1)
	id := testenv.UniqueID(t)
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "agent-secret")
	if err := os.WriteFile(secretFile, []byte("s3cret-"+id+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	chroot := "/zkid-" + id
	serverURL := strings.Replace(zk.URL(chroot), "zk://", "zk://berth-server:pw-"+id+"@", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg, err := zkstore.ParseURL(serverURL)
	if err != nil {
		t.Fatal(err)
	}
	server, err := zkstore.Open(ctx, cfg, zkstore.Options{Identities: zkstore.ServerIdentities(cfg.User, cfg.Password, []byte("s3cret-"+id))})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	if err := cluster.NewState(server).EnsureLayout(ctx); err != nil {
		t.Fatal(err)
	}

	agentID := "zkid-" + id
	idFile := filepath.Join(dir, "agent.zkid")
	var out, errb bytes.Buffer
	root := newRootCmd(&out, &errb)
	root.SetArgs([]string{"zk-identity", agentID, "--zk", serverURL, "--zk-agent-secret-file", secretFile, "-o", idFile})
	if err := root.ExecuteContext(ctx); err != nil {
		t.Fatalf("berth zk-identity: %v\n%s", err, errb.String())
	}
	if fi, err := os.Stat(idFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("identity file: %v, mode %v", err, fi.Mode())
	}

	actx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	var alog agentLogBuffer
	go func() {
		root := newRootCmd(&out, &alog)
		root.SetArgs([]string{"agent", "--zk", zk.URL(chroot), "--zk-identity", idFile, "--id", agentID, "--advertise", "127.0.0.4",
			"--resources", "cpus:1;mem:256;disk:100;ports:[34520-34530]", "--consul", "", "--label", testenv.TestLabel + "=" + label})
		done <- root.ExecuteContext(actx)
	}()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("berth agent: %v\n%s", err, alog.String())
		}
	}()
	for {
		n, err := server.Get(ctx, "/agents/"+agentID)
		if err == nil {
			var a cluster.Agent
			if err := json.Unmarshal(n.Data, &a); err != nil || a.ID != agentID {
				t.Fatalf("registration %s: %v", n.Data, err)
			}
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the agent never registered: %v\n%s", err, alog.String())
		case err := <-done:
			done <- nil // for the deferred stop
			t.Fatalf("berth agent ended: %v\n%s", err, alog.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	anon, err := zkstore.Open(ctx, zkstore.Config{Servers: cfg.Servers, Chroot: chroot}, zkstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()
	if _, err := anon.Get(ctx, "/agents/"+agentID); err == nil {
		t.Errorf("an anonymous client read the agent's registration")
	}
}
