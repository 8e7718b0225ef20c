package client

import (
	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/reconciler/rollout"
	"github.com/berthops/berth/reconciler/wire"
)

func TestSyncWatch(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	web := func(sync, health, msg string) wire.AppStatus {
		return wire.AppStatus{ID: "/web", Sync: rollout.Sync(sync), Health: rollout.Health(health), Message: msg}
	}
	st := func(head, desired string, pass int, converged bool, apps ...wire.AppStatus) wire.Status {
		return wire.Status{Head: head, Desired: desired, LastSync: t0.Add(time.Duration(pass) * time.Second), Converged: converged, Apps: apps}
	}
	before := st("a", "a", 0, true, web("Synced", "Healthy", "2/2 healthy"))
	tests := []struct {
		name   string
		seq    []wire.Status
		want   SyncVerdict
		reason string
	}{
		{"the old status, unchanged, is not an answer", []wire.Status{before, before}, SyncWaiting, ""},
		{"a new head that converged", []wire.Status{
			st("b", "b", 1, false, web("OutOfSync", "Progressing", "1/3 healthy")),
			st("b", "b", 2, true, web("Synced", "Healthy", "3/3 healthy")),
		}, SyncDone, "synced: the cluster runs commit b (1 app)"},
		{"same head: done after three passes", []wire.Status{st("a", "a", 1, true), st("a", "a", 2, true), st("a", "a", 3, true)}, SyncDone, "synced"},
		{"same head: two passes are not enough", []wire.Status{st("a", "a", 1, true), st("a", "a", 2, true), st("a", "a", 2, true)}, SyncWaiting, ""},
		{"a rejected head", []wire.Status{{Head: "b", Desired: "a", Converged: true, LastSync: t0,
			Rejected: &wire.CommitError{Commit: "b", Errors: []string{"apps/web.yaml:3: bogus: unknown field"}}}},
			SyncFailed, "commit b is rejected; the cluster stays on a:\n  apps/web.yaml:3: bogus: unknown field"},
		{"a degraded app", []wire.Status{st("b", "b", 1, false, web("Synced", "Degraded", "1/2 healthy, 1 failing health checks"))},
			SyncFailed, "app /web is Degraded: 1/2 healthy, 1 failing health checks"},
		{"degraded before the fetch is not this sync's", []wire.Status{st("a", "a", 1, false, web("Synced", "Degraded", "x"))}, SyncWaiting, ""},
		{"a fetch error", []wire.Status{{Head: "a", Desired: "a", LastSync: t0, LastError: "git fetch: connection refused"}},
			SyncFailed, "the leader cannot read Git: git fetch: connection refused"},
		{"converged to the old commit is not done", []wire.Status{st("b", "a", 1, true)}, SyncWaiting, ""},
		// Issue 22: statuses are judged only for the head they describe.
		{"the previous commit's Degraded app is no answer", []wire.Status{
			{Head: "b", Desired: "b", Decided: "a", LastSync: t0.Add(time.Second), Apps: []wire.AppStatus{web("Synced", "Degraded", "image missing")}},
		}, SyncWaiting, ""},
		{"converged is not done while the head is undecided", []wire.Status{
			{Head: "b", Desired: "b", Decided: "a", Converged: true, LastSync: t0.Add(time.Second)},
		}, SyncWaiting, ""},
		{"the head decided and converged", []wire.Status{
			{Head: "b", Desired: "b", Decided: "a", LastSync: t0.Add(time.Second)},
			{Head: "b", Desired: "b", Decided: "b", Converged: true, LastSync: t0.Add(2 * time.Second)},
		}, SyncDone, "synced: the cluster runs commit b"},
		{"a pass error on the head that heals", []wire.Status{
			{Head: "b", Desired: "b", Decided: "b", LastError: "commit: zk: connection closed", LastErrorCommit: "b", LastSync: t0.Add(time.Second)},
			{Head: "b", Desired: "b", Decided: "b", Converged: true, LastSync: t0.Add(3 * time.Second)},
		}, SyncDone, "synced"},
		{"a pass error on the head that keeps failing", []wire.Status{
			{Head: "b", Desired: "b", Decided: "b", LastError: "commit: zk: not enough quorum", LastErrorCommit: "b", LastSync: t0.Add(time.Second)},
			{Head: "b", Desired: "b", Decided: "b", LastError: "commit: zk: not enough quorum", LastErrorCommit: "b", LastSync: t0.Add(time.Second)},
			{Head: "b", Desired: "b", Decided: "b", LastError: "commit: zk: not enough quorum", LastErrorCommit: "b", LastSync: t0.Add(time.Second)},
			{Head: "b", Desired: "b", Decided: "b", LastError: "commit: zk: not enough quorum", LastErrorCommit: "b", LastSync: t0.Add(time.Second)},
		}, SyncFailed, "the leader keeps failing to apply commit b: commit: zk: not enough quorum"},
		{"an app that cannot be decided", []wire.Status{
			{Head: "b", Desired: "b", Decided: "b", LastSync: t0.Add(time.Second), Apps: []wire.AppStatus{
				{ID: "/b", Sync: "OutOfSync", Health: "Degraded", Error: "app /b: servicePort[0]: 33180 is already the service port of /a"}}},
		}, SyncFailed, "app /b is Degraded: app /b: servicePort[0]: 33180 is already the service port of /a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := NewSyncWatch(before, 0)
			now := t0
			var (
				v      SyncVerdict
				reason string
			)
			for _, s := range tt.seq {
				if v != SyncWaiting {
					t.Fatalf("a verdict (%d, %q) before the last status", v, reason)
				}
				v, reason, _ = w.Observe(s, now)
				now = now.Add(4 * time.Second) // a status every 4 s
			}
			if v != tt.want || !strings.HasPrefix(reason, tt.reason) {
				t.Errorf("verdict %d %q, want %d %q", v, reason, tt.want, tt.reason)
			}
		})
	}
}

func TestSyncWatchProgress(t *testing.T) {
	w := NewSyncWatch(wire.Status{Head: "a"}, 0)
	_, _, lines := w.Observe(wire.Status{Head: "b", Apps: []wire.AppStatus{
		{ID: "/web", Sync: "OutOfSync", Health: "Progressing", Message: "1/3 healthy"}, {ID: "/old", Sync: "OutOfSync", Health: "Progressing"}}}, time.Time{})
	_, _, again := w.Observe(wire.Status{Head: "b", Apps: []wire.AppStatus{
		{ID: "/web", Sync: "OutOfSync", Health: "Progressing", Message: "1/3 healthy"}}}, time.Time{})
	got := strings.Join(append(lines, again...), "\n")
	want := "head is now b (was a)\n" +
		"/web                     OutOfSync Progressing 1/3 healthy\n" +
		"/old                     OutOfSync Progressing\n" +
		"/old                     removed"
	if got != want {
		t.Errorf("progress:\n%s\nwant:\n%s", got, want)
	}
}
