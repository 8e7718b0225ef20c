package marathonapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/berthops/berth/cluster"
)

const checkedYAML = `kind: App
id: /checked
cmd: serve
cpus: 0.1
mem: 16
container: {type: MESOS}
check: {http: {path: /ping}, intervalSeconds: 5}
`

// TestCheckResults: an app's Mesos check is shown as written and its tasks'
// latest results as Marathon's checkResult; a message without a result (the
// check could not run) shows nothing, as Marathon shows nothing then.
func TestCheckResults(t *testing.T) {
	f := newFixed(t)
	f.set = loadSet(t, webYAML, workerYAML, checkedYAML)
	f.apps = append(f.apps, AppStatus{ID: "/checked", Version: "v1"})
	answered := task("checked.1", "/checked", cluster.TaskRunning, cluster.HealthHealthy, 31007)
	answered.Status.Check = &cluster.CheckResult{HTTP: &cluster.HTTPCheckResult{StatusCode: 503}}
	refused := task("checked.2", "/checked", cluster.TaskRunning, cluster.HealthHealthy, 31008)
	refused.Status.Check = &cluster.CheckResult{Message: "connection refused"}
	f.tasks = append(f.tasks, answered, refused)
	srv := serve(t, f, Options{})

	code, body := do(t, "GET", srv.URL+"/v2/apps/checked?embed=app.tasks", nil)
	if code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	for _, want := range []string{
		`"check":{"http":{"portIndex":0,"path":"/ping","scheme":"HTTP"},"intervalSeconds":5,"timeoutSeconds":20,"delaySeconds":15}`,
		`"container":{"type":"MESOS"`,
		`"checkResult":{"http":{"statusCode":503}}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("no %s in\n%s", want, body)
		}
	}
	if strings.Count(body, `"checkResult"`) != 1 || strings.Contains(body, "connection refused") {
		t.Errorf("a check that could not run shows a result:\n%s", body)
	}
}
