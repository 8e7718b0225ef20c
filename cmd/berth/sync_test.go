package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/berthops/berth/client/clienttest"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/reconciler"
)

func TestSyncAgainstServer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a berth server; skipped under -short")
	}
	env := clienttest.Start(t, clienttest.Options{Files: webFiles(1, "v1"),
		Unhealthy: func(a cluster.Assignment) bool { return strings.HasSuffix(a.Spec.Image, ":bad") }})
	env.Converged(t, env.Reconciler.Status().Desired)

	t.Run("without --wait", func(t *testing.T) {
		out, _, err := runAPI(t, env, "sync")
		if err != nil || out != "sync started\n" {
			t.Errorf("sync: %v, %q", err, out)
		}
	})
	t.Run("a rollout converges", func(t *testing.T) {
		commit := env.Push(t, webFiles(3, "v2"), "web v2 x3")
		out, errs, err := runAPI(t, env, "sync", "--wait", "--timeout", "30s")
		if err != nil {
			t.Fatalf("sync --wait: %v\nstdout:\n%s\nstderr:\n%s", err, out, errs)
		}
		t.Logf("berth sync --wait:\n%s", out)
		for _, want := range []string{"head is now " + commit[:12], "/web ", "synced: the cluster runs commit " + commit[:12] + " (1 app)\n"} {
			if !strings.Contains(out, want) {
				t.Errorf("sync --wait output lacks %q:\n%s", want, out)
			}
		}
		if s := env.Reconciler.Status(); s.Desired != commit || !s.Converged {
			t.Errorf("sync --wait returned before convergence: %+v", s)
		}
	})
	t.Run("nothing new: done after a fetch", func(t *testing.T) {
		out, _, err := runAPI(t, env, "sync", "--wait", "-o", "json")
		var st reconciler.Status
		if err != nil || json.Unmarshal([]byte(out), &st) != nil || !st.Converged {
			t.Errorf("sync --wait -o json: %v\n%s", err, out)
		}
	})
	t.Run("a rejected commit", func(t *testing.T) {
		bad := env.Push(t, map[string]string{"apps/web.yaml": fmt.Sprintf(cliWebApp, 3, "v2") + "bogus: 1\n"}, "broken")
		_, _, err := runAPI(t, env, "sync", "--wait", "--timeout", "30s")
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != exitSyncFailed || !strings.Contains(ee.msg, "commit "+bad[:12]+" is rejected") || !strings.Contains(ee.msg, "apps/web.yaml:") {
			t.Errorf("sync --wait of a broken commit: %v", err)
		}
	})
	t.Run("a degraded app", func(t *testing.T) {
		env.Push(t, webFiles(2, "bad"), "a version whose health checks fail")
		_, _, err := runAPI(t, env, "sync", "--wait", "--timeout", "30s")
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != exitSyncFailed || !strings.Contains(ee.msg, "app /web is Degraded") {
			t.Errorf("sync --wait of a failing version: %v", err)
		}
	})
	t.Run("an app that cannot be placed", func(t *testing.T) {
		env.Push(t, map[string]string{"apps/web.yaml": strings.Replace(fmt.Sprintf(cliWebApp, 1, "v3"), "cpus: 0.1", "cpus: 64", 1)}, "too big to place")
		_, _, err := runAPI(t, env, "sync", "--wait", "--timeout", "30s")
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != exitSyncFailed || !strings.Contains(ee.msg, "app /web is Degraded") || !strings.Contains(ee.msg, "cannot place") {
			t.Errorf("sync --wait of an app that cannot be placed: %v", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		env.Push(t, map[string]string{"apps/web.yaml": fmt.Sprintf(cliWebApp, 3, "v4")}, "three of a new version")
		_, _, err := runAPI(t, env, "sync", "--wait", "--timeout", "100ms")
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != exitSyncTimeout || !strings.Contains(ee.msg, "timed out after 100ms") {
			t.Errorf("sync --wait with a timeout too short for a rollout: %v", err)
		}
	})
}
