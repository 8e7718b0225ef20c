package plan

import (
	"fmt"
	"testing"

	"github.com/berthops/berth/manifests"
)

// BenchmarkCompute plans 5,000 apps with 0, 10 and 1,000 of them changed:
// the planner's share of a PR diff, which should grow with the changes and
// stay small per unchanged app.
func BenchmarkCompute(b *testing.B) {
	app := func(i, instances int, image string) manifests.App {
		return manifests.App{
			ID: fmt.Sprintf("/team-%d/app-%04d", i%50, i), Cmd: "./serve", Instances: instances, CPUs: 0.1, Mem: 64,
			Env:       map[string]string{"PORT": "8080", "TEAM": fmt.Sprint(i % 50)},
			Container: &manifests.Container{Type: "DOCKER", Docker: &manifests.Docker{Image: image}, PortMappings: []manifests.PortMapping{{ContainerPort: 8080, Protocol: "tcp"}}},
			HealthChecks: []manifests.HealthCheck{{Protocol: "HTTP", Path: "/health", GracePeriodSeconds: 300, IntervalSeconds: 60,
				TimeoutSeconds: 20, MaxConsecutiveFailures: 3}},
			Labels: map[string]string{"team": fmt.Sprint(i % 50)},
			Origin: manifests.Origin{File: fmt.Sprintf("apps/app-%04d.yaml", i), Line: 1},
		}
	}
	for _, changed := range []int{0, 10, 1000} {
		b.Run(fmt.Sprintf("changed=%d", changed), func(b *testing.B) {
			var base, head manifests.Set
			for i := range 5000 {
				base.Apps = append(base.Apps, app(i, 2, "app:1"))
				head.Apps = append(head.Apps, app(i, 2, "app:1"))
			}
			for i := 0; i < changed; i++ {
				n := i * (5000 / changed)
				head.Apps[n] = app(n, 3, "app:2")
			}
			b.ReportAllocs()
			for b.Loop() {
				if p := Compute(&head, Observed{Applied: &base}); len(p.Changes) != changed {
					b.Fatalf("%d changes, want %d", len(p.Changes), changed)
				}
			}
		})
	}
}
