package marathonapi

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
)

// BenchmarkAppsWithTasks is Prometheus's request, GET /v2/apps/?embed=
// apps.tasks, on a cluster of 500 apps with 3 tasks each.
func BenchmarkAppsWithTasks(b *testing.B) {
	var yamls []string
	f := &fixed{agents: []cluster.Agent{{ID: "a1", Address: "10.0.0.5"}}}
	for i := range 500 {
		id := fmt.Sprintf("/team%d/app%d", i%20, i)
		yamls = append(yamls, strings.Replace(webYAML, "id: /shop/web", "id: "+id, 1))
		f.apps = append(f.apps, AppStatus{ID: id, Version: "v1"})
		for j := range 3 {
			f.tasks = append(f.tasks, task(fmt.Sprintf("app%d.%d", i, j), id, cluster.TaskRunning, cluster.HealthHealthy, 31000+j, 32000+j))
		}
		f.ports = append(f.ports, cluster.ServicePort{Port: 10000 + 2*i, AppID: id}, cluster.ServicePort{Port: 10001 + 2*i, AppID: id, PortIndex: 1})
	}
	set, err := manifests.LoadBytes("apps.yaml", []byte(strings.Join(yamls, "\n---\n")))
	if err != nil {
		b.Fatal(err)
	}
	f.set = set
	h := Routes(f, Options{Now: func() time.Time { return t0 }})["GET /v2/apps/{path...}"]
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequestWithContext(context.Background(), "GET", "/v2/apps/?embed=apps.tasks", nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
		b.ReportMetric(float64(rec.Body.Len()), "bytes/response")
	}
}
