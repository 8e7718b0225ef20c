package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/testenv"
)

// syncWait runs `berth sync --wait` against server s and returns its
// output and exit code.
func (c *Cluster) syncWait(t *testing.T, s *Server, timeout string) (string, int) {
	t.Helper()
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(c.Token), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, c.Bin, "sync", "--wait", "--timeout", timeout, "--server", s.URL, "--token-file", tokenFile).CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	}
	t.Fatalf("berth sync --wait: %v: %s", err, out)
	return "", -1
}

func truthApp(id string, n int, image, extra string) string {
	return fmt.Sprintf("kind: App\nid: %s\ninstances: %d\ncpus: 0.1\nmem: 16\ncontainer:\n  type: DOCKER\n  docker:\n    image: %s\n%s", id, n, image, extra)
}

// TestSyncWaitTellsTheTruth (issue 22) on three servers over a three-server
// ZooKeeper ensemble: berth sync --wait, asked of a follower, exits 0 only
// when the cluster runs the head, 1 with the reason when the head is
// rejected or one of its apps is Degraded, never judges a head by the
// previous commit's statuses, and never reports success while ZooKeeper
// cannot take the head's writes.
func TestSyncWaitTellsTheTruth(t *testing.T) {
	c := Start(t, Options{Servers: 3, Agents: 1})
	leader := c.WaitLeader(30 * time.Second)
	var follower *Server
	for _, s := range c.Servers {
		if s != leader {
			follower = s
			break
		}
	}

	a := c.Repo.Push(t, "A: /c x1", map[string]string{"apps/c.yaml": truthApp("/c", 1, testenv.WebImage, "")})
	out, code := c.syncWait(t, follower, "2m")
	if code != 0 || !strings.Contains(out, "synced: the cluster runs commit "+a[:12]) {
		t.Fatalf("A: exit %d:\n%s", code, out)
	}

	clash := "portDefinitions:\n  - port: 33180\n"
	b := c.Repo.Push(t, "B: /c x2 and a service port clash", map[string]string{"apps/c.yaml": truthApp("/c", 2, testenv.WebImage, ""),
		"apps/a.yaml": truthApp("/a", 1, testenv.WebImage, clash), "apps/b.yaml": truthApp("/b", 1, testenv.WebImage, clash)})
	out, code = c.syncWait(t, follower, "2m")
	if code != 1 || !strings.Contains(out, "commit "+b[:12]+" is rejected") || !strings.Contains(out, "service port 33180 is also declared by app /a") {
		t.Fatalf("B: exit %d:\n%s", code, out)
	}
	if tasks, err := c.Tasks(context.Background(), "/c"); err != nil || len(Running(tasks)) != 1 {
		t.Fatalf("after the rejected B, /c runs %d tasks (%v), want A's 1", len(Running(tasks)), err)
	}

	c.Repo.Push(t, "C: an image that does not exist", map[string]string{"apps/c.yaml": truthApp("/c", 1, testenv.WebImage, ""),
		"apps/noimg.yaml": truthApp("/noimg", 1, "berth/does-not-exist:never", "backoffSeconds: 60\n")}, "apps/a.yaml", "apps/b.yaml")
	out, code = c.syncWait(t, follower, "2m")
	if code != 1 || !strings.Contains(out, "app /noimg is Degraded") {
		t.Fatalf("C: exit %d:\n%s", code, out)
	}

	d := c.Repo.Push(t, "D: /noimg removed, /d added", map[string]string{"apps/d.yaml": truthApp("/d", 1, testenv.WebImage, "")}, "apps/noimg.yaml")
	out, code = c.syncWait(t, follower, "2m")
	if code != 0 || !strings.Contains(out, "synced: the cluster runs commit "+d[:12]) {
		t.Fatalf("D (judged on D, not on C's Degraded app): exit %d:\n%s", code, out)
	}

	c.Repo.Push(t, "E: an app no agent can hold", map[string]string{"apps/big.yaml": strings.Replace(truthApp("/big", 1, testenv.WebImage, ""), "cpus: 0.1", "cpus: 64", 1)})
	out, code = c.syncWait(t, follower, "2m")
	if code != 1 || !strings.Contains(out, "app /big is Degraded") || !strings.Contains(out, "cpus") {
		t.Fatalf("E: exit %d:\n%s", code, out)
	}

	// F while ZooKeeper has no quorum: the head's writes cannot be made, and
	// sync --wait must not say they were (it fails or times out).
	first := c.ZK.Leader()
	second := (first + 1) % len(c.ZK.Servers)
	c.ZK.Servers[first].Kill()
	c.ZK.Servers[second].Kill()
	f := c.Repo.Push(t, "F: /c x2 without quorum", map[string]string{"apps/c.yaml": truthApp("/c", 2, testenv.WebImage, "")}, "apps/big.yaml")
	out, code = c.syncWait(t, follower, "20s")
	if code == 0 || strings.Contains(out, "synced") {
		t.Fatalf("F without quorum: exit %d:\n%s", code, out)
	}
	t.Logf("F without quorum: exit %d: %s", code, lastLine(out))
	for _, i := range []int{first, second} {
		if err := c.ZK.Servers[i].Restart(); err != nil {
			t.Fatalf("restart ZooKeeper %d: %v", i+1, err)
		}
	}
	out, code = c.syncWait(t, c.WaitLeader(60*time.Second), "2m")
	if code != 0 || !strings.Contains(out, "synced: the cluster runs commit "+f[:12]) {
		t.Fatalf("F once quorum is back: exit %d:\n%s", code, out)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
