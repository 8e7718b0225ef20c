package marathonapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/berthops/berth/cluster"
)

// TestReadinessCheckResults: while an app deploys, /v2/apps?embed=readiness
// and /v2/deployments show its new tasks' readiness, with the last response
// only for a check that preserves it; the app shows its readiness checks.
func TestReadinessCheckResults(t *testing.T) {
	const rdy = `kind: App
id: /rdy
cmd: serve
portDefinitions: [{port: 0, name: api}]
readinessChecks: [{name: ready, portName: api, intervalSeconds: 2, timeoutSeconds: 1, preserveLastResponse: true}]
`
	f := newFixed(t)
	f.set = loadSet(t, rdy)
	f.apps = []AppStatus{{ID: "/rdy", Version: "v2", Deploying: true}}
	old := task("rdy.1", "/rdy", cluster.TaskRunning, cluster.HealthHealthy)
	fresh := task("rdy.2", "/rdy", cluster.TaskRunning, cluster.HealthHealthy)
	fresh.Version = "v2"
	fresh.Status.Readiness = []cluster.ReadinessResult{{Name: "ready", LastResponse: &cluster.ReadinessResponse{Status: 503, ContentType: "text/plain", Body: "warming up"}}}
	f.tasks = []cluster.Task{old, fresh}
	srv := serve(t, f, Options{})

	code, body := do(t, "GET", srv.URL+"/v2/apps/rdy?embed=app.readiness", nil)
	if code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	var got struct {
		App struct {
			ReadinessChecks       json.RawMessage `json:"readinessChecks"`
			ReadinessCheckResults json.RawMessage `json:"readinessCheckResults"`
		} `json:"app"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if want := `[{"name":"ready","taskId":"rdy.2","ready":false,"lastResponse":{"status":503,"contentType":"text/plain","body":"warming up"}}]`; string(got.App.ReadinessCheckResults) != want {
		t.Errorf("readinessCheckResults = %s, want %s", got.App.ReadinessCheckResults, want)
	}
	if want := `[{"name":"ready","protocol":"HTTP","path":"/","portName":"api","intervalSeconds":2,"timeoutSeconds":1,"httpStatusCodesForReady":[200],"preserveLastResponse":true}]`; string(got.App.ReadinessChecks) != want {
		t.Errorf("readinessChecks = %s, want %s", got.App.ReadinessChecks, want)
	}
	code, body = do(t, "GET", srv.URL+"/v2/deployments", nil)
	if code != http.StatusOK || !strings.Contains(body, `"readinessCheckResults":[{"name":"ready","taskId":"rdy.2","ready":false`) {
		t.Errorf("deployments: %s", body)
	}

	// Once deployed, Marathon lists no results.
	f.apps = []AppStatus{{ID: "/rdy", Version: "v2"}}
	if _, body = do(t, "GET", srv.URL+"/v2/apps/rdy?embed=app.readiness", nil); strings.Contains(body, `"taskId"`) {
		t.Errorf("after the deployment: %s", body)
	}
}
