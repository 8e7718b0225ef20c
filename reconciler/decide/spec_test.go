package decide

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
)

func TestAppTaskSpec(t *testing.T) {
	tests := []struct {
		name         string
		app          manifests.App
		servicePorts []int
		want         cluster.TaskSpec
	}{{
		name: "cmd without image runs in the shell image on the host network",
		app:  manifests.App{ID: "/basic-0", Cmd: "while true; do echo hi; sleep 1; done", CPUs: 0.1, Mem: 10},
		want: cluster.TaskSpec{Image: DefaultShellImage, Cmd: "while true; do echo hi; sleep 1; done", Network: "HOST", Resources: cluster.Resources{CPUs: 0.1, Mem: 10}},
	}, {
		name: "bridge with a random host port and an assigned service port",
		app: manifests.App{ID: "/nginx", CPUs: 0.5, Mem: 64, Labels: map[string]string{"a": "b"},
			Container: &manifests.Container{Type: "DOCKER", Docker: &manifests.Docker{Image: "berth/web:dev", Network: "BRIDGE"},
				PortMappings: []manifests.PortMapping{{ContainerPort: 80, Protocol: "tcp", Name: "http"}},
				Volumes:      []manifests.Volume{{HostPath: "/srv", ContainerPath: "/data", Mode: "RO"}}},
			HealthChecks: []manifests.HealthCheck{{Protocol: "HTTP", Path: "/health", GracePeriodSeconds: 5, IntervalSeconds: 2, TimeoutSeconds: 1, MaxConsecutiveFailures: 3}}},
		servicePorts: []int{10001},
		want: cluster.TaskSpec{Image: "berth/web:dev", Network: "BRIDGE", Labels: map[string]string{"a": "b"},
			Resources: cluster.Resources{CPUs: 0.5, Mem: 64},
			Ports:     []cluster.PortSpec{{Name: "http", ContainerPort: 80, ServicePort: 10001, Protocol: "tcp"}},
			Volumes:   []cluster.VolumeSpec{{HostPath: "/srv", ContainerPath: "/data", ReadOnly: true}},
			HealthChecks: []cluster.HealthCheckSpec{{Protocol: "HTTP", Path: "/health", GracePeriod: 5 * time.Second, Interval: 2 * time.Second,
				Timeout: time.Second, MaxConsecutiveFailures: 3}}},
	}, {
		name: "host network with requirePorts keeps the declared port",
		app:  manifests.App{ID: "/fixed", Cmd: "x", RequirePorts: true, PortDefinitions: []manifests.PortDefinition{{Port: 8080}}},
		want: cluster.TaskSpec{Image: DefaultShellImage, Cmd: "x", Network: "HOST", Ports: []cluster.PortSpec{{HostPort: 8080, ServicePort: 8080, Protocol: "tcp"}}},
	}, {
		name: "networks container/bridge is bridge mode",
		app: manifests.App{ID: "/b", Networks: []manifests.Network{{Mode: "container/bridge"}},
			Container: &manifests.Container{Docker: &manifests.Docker{Image: "i"}, PortMappings: []manifests.PortMapping{{ContainerPort: 8080, HostPort: 0, ServicePort: 9000}}}},
		want: cluster.TaskSpec{Image: "i", Network: "BRIDGE", Ports: []cluster.PortSpec{{ContainerPort: 8080, ServicePort: 9000, Protocol: "tcp"}}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AppTaskSpec(&tt.app, tt.servicePorts, SpecOptions{})
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("AppTaskSpec (-want +got):\n%s", d)
			}
		})
	}
}

func TestJobTaskSpec(t *testing.T) {
	job := manifests.Job{Name: "camus", Command: "/bin/job", Arguments: []string{"-v"}, CPUs: 1, Mem: 128,
		EnvironmentVariables: []manifests.EnvVar{{Name: "A", Value: "1"}},
		Container:            &manifests.JobContainer{Type: "DOCKER", Image: "berth/job:dev", Network: "bridge"}}
	got := JobTaskSpec(&job, SpecOptions{})
	want := cluster.TaskSpec{Image: "berth/job:dev", Args: []string{"/bin/job", "-v"}, Env: map[string]string{"A": "1"}, Network: "BRIDGE", Resources: cluster.Resources{CPUs: 1, Mem: 128}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("JobTaskSpec (-want +got):\n%s", d)
	}
	job.Shell = true
	if got := JobTaskSpec(&job, SpecOptions{ShellImage: "sh:1"}); got.Cmd != "/bin/job" || got.Args != nil {
		t.Errorf("shell job: cmd %q args %q", got.Cmd, got.Args)
	}
}

func TestSpecVersionIgnoresLabelsOnly(t *testing.T) {
	a := manifests.App{ID: "/a", Cmd: "x", Labels: map[string]string{"v": "1"}}
	b := a
	b.Labels = map[string]string{"v": "2"}
	if SpecVersion(AppTaskSpec(&a, nil, SpecOptions{})) != SpecVersion(AppTaskSpec(&b, nil, SpecOptions{})) {
		t.Error("a labels-only change changed the version")
	}
	c := a
	c.Cmd = "y"
	if SpecVersion(AppTaskSpec(&a, nil, SpecOptions{})) == SpecVersion(AppTaskSpec(&c, nil, SpecOptions{})) {
		t.Error("a cmd change kept the version")
	}
	if TaskPrefix("/web/nginx") != "web-nginx" {
		t.Error("ServiceName")
	}
}
