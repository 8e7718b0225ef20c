package allocator_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/berthops/berth/allocator"
	"github.com/berthops/berth/manifests"
)

func TestGroupFromApp(t *testing.T) {
	base := manifests.App{ID: "/web", CPUs: 0.5, Mem: 256, Disk: 10, Queue: "/q",
		Constraints: []manifests.Constraint{{Field: "hostname", Operator: "UNIQUE"}},
		Origin:      manifests.Origin{File: "apps/web.yaml", Line: 2}}
	tests := []struct {
		name  string
		edit  func(a *manifests.App)
		ports []int
	}{
		{"no ports", func(a *manifests.App) {}, nil},
		{"bridge mappings (old docker form)", func(a *manifests.App) {
			a.Container = &manifests.Container{Type: "DOCKER", Docker: &manifests.Docker{Network: "BRIDGE",
				PortMappings: []manifests.PortMapping{{ContainerPort: 80}, {ContainerPort: 443, HostPort: 8443}}}}
		}, []int{0, 8443}},
		{"networks container/bridge", func(a *manifests.App) {
			a.Networks = []manifests.Network{{Mode: "container/bridge"}}
			a.Container = &manifests.Container{Type: "DOCKER", PortMappings: []manifests.PortMapping{{ContainerPort: 80}}}
		}, []int{0}},
		{"user network needs only named host ports", func(a *manifests.App) {
			a.Networks = []manifests.Network{{Mode: "container", Name: "dcos"}}
			a.Container = &manifests.Container{Type: "DOCKER", PortMappings: []manifests.PortMapping{{ContainerPort: 80}, {ContainerPort: 81, HostPort: 9000}}}
		}, []int{9000}},
		{"host ports without requirePorts are any", func(a *manifests.App) {
			a.PortDefinitions = []manifests.PortDefinition{{Port: 10000}, {Port: 0}}
		}, []int{0, 0}},
		{"host ports with requirePorts are exact", func(a *manifests.App) {
			a.PortDefinitions = []manifests.PortDefinition{{Port: 7777}}
			a.RequirePorts = true
		}, []int{7777}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := base
			tt.edit(&app)
			got := allocator.GroupFromApp(app, 3)
			want := allocator.Group{ID: "/web", Instances: 3, Resources: allocator.Resources{CPUs: 0.5, Mem: 256, Disk: 10},
				HostPorts: tt.ports, Constraints: base.Constraints, Queue: "/q", Origin: base.Origin}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
