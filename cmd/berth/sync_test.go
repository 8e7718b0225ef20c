package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/client/clienttest"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/reconciler"
	"github.com/berthops/berth/reconciler/rollout"
)

func TestSyncWatch(t *testing.T) {
	t0 := goldenNow
	web := func(sync, health, msg string) reconciler.AppStatus {
		return reconciler.AppStatus{ID: "/web", Sync: rollout.Sync(sync), Health: rollout.Health(health), Message: msg}
	}
	st := func(head, desired string, pass int, converged bool, apps ...reconciler.AppStatus) reconciler.Status {
		return reconciler.Status{Head: head, Desired: desired, LastSync: t0.Add(time.Duration(pass) * time.Second), Converged: converged, Apps: apps}
	}
	before := st("a", "a", 0, true, web("Synced", "Healthy", "2/2 healthy"))
	tests := []struct {
		name   string
		seq    []reconciler.Status
		want   syncVerdict
		reason string
	}{
		{"the old status, unchanged, is not an answer", []reconciler.Status{before, before}, syncWaiting, ""},
		{"a new head that converged", []reconciler.Status{
			st("b", "b", 1, false, web("OutOfSync", "Progressing", "1/3 healthy")),
			st("b", "b", 2, true, web("Synced", "Healthy", "3/3 healthy")),
		}, syncDone, "synced: the cluster runs commit b (1 app)"},
		{"same head: done after three passes", []reconciler.Status{st("a", "a", 1, true), st("a", "a", 2, true), st("a", "a", 3, true)}, syncDone, "synced"},
		{"same head: two passes are not enough", []reconciler.Status{st("a", "a", 1, true), st("a", "a", 2, true), st("a", "a", 2, true)}, syncWaiting, ""},
		{"a rejected head", []reconciler.Status{{Head: "b", Desired: "a", Converged: true, LastSync: t0,
			Rejected: &reconciler.CommitError{Commit: "b", Errors: []string{"apps/web.yaml:3: bogus: unknown field"}}}},
			syncFailed, "commit b is rejected; the cluster stays on a:\n  apps/web.yaml:3: bogus: unknown field"},
		{"a degraded app", []reconciler.Status{st("b", "b", 1, false, web("Synced", "Degraded", "1/2 healthy, 1 failing health checks"))},
			syncFailed, "app /web is Degraded: 1/2 healthy, 1 failing health checks"},
		{"degraded before the fetch is not this sync's", []reconciler.Status{st("a", "a", 1, false, web("Synced", "Degraded", "x"))}, syncWaiting, ""},
		{"a fetch error", []reconciler.Status{{Head: "a", Desired: "a", LastSync: t0, LastError: "git fetch: connection refused"}},
			syncFailed, "the leader cannot read Git: git fetch: connection refused"},
		{"converged to the old commit is not done", []reconciler.Status{st("b", "a", 1, true)}, syncWaiting, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newSyncWatch(before)
			var (
				v      syncVerdict
				reason string
			)
			for _, s := range tt.seq {
				if v != syncWaiting {
					t.Fatalf("a verdict (%d, %q) before the last status", v, reason)
				}
				v, reason, _ = w.observe(s)
			}
			if v != tt.want || !strings.HasPrefix(reason, tt.reason) {
				t.Errorf("verdict %d %q, want %d %q", v, reason, tt.want, tt.reason)
			}
		})
	}
}

func TestSyncWatchProgress(t *testing.T) {
	w := newSyncWatch(reconciler.Status{Head: "a"})
	_, _, lines := w.observe(reconciler.Status{Head: "b", Apps: []reconciler.AppStatus{
		{ID: "/web", Sync: "OutOfSync", Health: "Progressing", Message: "1/3 healthy"}, {ID: "/old", Sync: "OutOfSync", Health: "Progressing"}}})
	_, _, again := w.observe(reconciler.Status{Head: "b", Apps: []reconciler.AppStatus{
		{ID: "/web", Sync: "OutOfSync", Health: "Progressing", Message: "1/3 healthy"}}})
	got := strings.Join(append(lines, again...), "\n")
	want := "head is now b (was a)\n" +
		"/web                     OutOfSync Progressing 1/3 healthy\n" +
		"/old                     OutOfSync Progressing\n" +
		"/old                     removed"
	if got != want {
		t.Errorf("progress:\n%s\nwant:\n%s", got, want)
	}
}

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
	t.Run("timeout", func(t *testing.T) {
		env.Push(t, map[string]string{"apps/web.yaml": strings.Replace(fmt.Sprintf(cliWebApp, 1, "v3"), "cpus: 0.1", "cpus: 64", 1)}, "too big to place")
		_, _, err := runAPI(t, env, "sync", "--wait", "--timeout", "1500ms")
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != exitSyncTimeout || !strings.Contains(ee.msg, "timed out after 1.5s: not converged: /web") {
			t.Errorf("sync --wait of an app that cannot be placed: %v", err)
		}
	})
}
