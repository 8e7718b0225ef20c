package decide

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/berthops/berth/manifests"
)

// groupSet is a Marathon group as `berth import marathon` reads it: /prod/web
// depends on the group /prod/db, and /solo's own dependency names one of its
// apps.
func groupSet(t *testing.T, mysqlCmd, nginxCmd string) *manifests.Set {
	t.Helper()
	group := `{"id": "/", "groups": [
  {"id": "/prod", "groups": [
    {"id": "db", "apps": [
      {"id": "mysql", "cmd": "` + mysqlCmd + `", "cpus": 0.1, "mem": 16},
      {"id": "redis", "cmd": "redis", "cpus": 0.1, "mem": 16}]},
    {"id": "web", "dependencies": ["/prod/db"], "apps": [
      {"id": "nginx", "cmd": "` + nginxCmd + `", "cpus": 0.1, "mem": 16, "instances": 2}]}]},
  {"id": "/solo", "dependencies": ["/solo/db"], "apps": [
    {"id": "db", "cmd": "db", "cpus": 0.1, "mem": 16},
    {"id": "api", "cmd": "api", "cpus": 0.1, "mem": 16}]}]}`
	set, err := manifests.Load(fstest.MapFS{"group.json": {Data: []byte(group)}})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// TestPassGroupDependencies: an app of a group that depends on another group
// starts, and is upgraded, only after every app of that group has finished
// deploying and is healthy; an app never waits for itself.
func TestPassGroupDependencies(t *testing.T) {
	f := newFakeCluster("a1", "a2")
	set := groupSet(t, "mysql", "nginx")
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

	out := Decide(f.snapshot(set, now), f.opts())
	f.apply(t, out)
	started := map[string]int{}
	for _, tk := range f.in.Tasks {
		started[tk.OwnerID]++
	}
	if diff := cmp.Diff(map[string]int{"/prod/db/mysql": 1, "/prod/db/redis": 1, "/solo/db": 1}, started); diff != "" {
		t.Fatalf("first pass started (-want +got):\n%s", diff)
	}
	if msg := outcome(t, out, "/prod/web/nginx").Status.Message; !strings.Contains(msg, "waiting for /prod/db/mysql, /prod/db/redis") {
		t.Errorf("nginx status %q does not name the apps of /prod/db it waits for", msg)
	}
	if msg := outcome(t, out, "/solo/api").Status.Message; !strings.Contains(msg, "waiting for /solo/db") {
		t.Errorf("/solo/api status %q", msg)
	}

	// Both an app and the group it depends on change in one commit: the
	// dependent's rollout waits for the new mysql to be deployed and healthy.
	f.converge(t, set, &now)
	set = groupSet(t, "mysql --v2", "nginx --v2")
	nginxStarted, mysqlDeployed := -1, -1
	for pass := 0; pass < 30; pass++ {
		now = now.Add(time.Second)
		out = Decide(f.snapshot(set, now), f.opts())
		mysql, nginx := outcome(t, out, "/prod/db/mysql"), outcome(t, out, "/prod/web/nginx")
		if mysql.Decision.Deployed() && mysqlDeployed < 0 {
			mysqlDeployed = pass
		}
		if nginx.Decision.Start > 0 && nginxStarted < 0 {
			nginxStarted = pass
		}
		for _, k := range nginx.Decision.Kill {
			if mysqlDeployed < 0 {
				t.Fatalf("pass %d: nginx task %s killed (%s) before mysql was deployed", pass, k.TaskID, k.Reason)
			}
		}
		if out.Converged && len(out.Changes) == 0 {
			break
		}
		f.apply(t, out)
		f.agentsAct(now)
	}
	if mysqlDeployed < 0 || nginxStarted < mysqlDeployed {
		t.Fatalf("nginx's upgrade started at pass %d, mysql deployed at pass %d", nginxStarted, mysqlDeployed)
	}
	if n := f.running(""); n != 6 {
		t.Errorf("%d tasks running after the upgrade, want 6", n)
	}
}
