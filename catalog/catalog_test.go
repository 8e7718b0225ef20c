package catalog

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/templates"
)

type reader struct {
	agents []cluster.Agent
	tasks  []cluster.Task
}

func (r *reader) Agents(context.Context) ([]cluster.Agent, error) { return r.agents, nil }
func (r *reader) Tasks(context.Context) ([]cluster.Task, error)   { return r.tasks, nil }

func task(id, agent string, port int, state cluster.TaskState, health cluster.Health) cluster.Task {
	return cluster.Task{
		Assignment: cluster.Assignment{TaskID: id, Owner: cluster.OwnerApp, OwnerID: "/nginx", AgentID: agent, Version: "v1",
			Spec: cluster.TaskSpec{Ports: []cluster.PortSpec{{ContainerPort: 80, HostPort: port}},
				HealthChecks: []cluster.HealthCheckSpec{{Protocol: "HTTP", Path: "/health"}}}},
		Status: cluster.TaskStatus{TaskID: id, State: state, Health: health, HostPorts: []int{port}},
	}
}

func TestCatalogRendersTheUpstreamOfRunningHealthyTasks(t *testing.T) {
	r := &reader{
		agents: []cluster.Agent{
			{ID: "a1", Hostname: "node-1", Address: "127.0.0.2", Reachable: true},
			{ID: "a2", Hostname: "node-2", Address: "127.0.0.3", Reachable: true},
			{ID: "gone", Hostname: "node-3", Address: "127.0.0.4", Reachable: false},
		},
		tasks: []cluster.Task{
			task("nginx.1", "a1", 31001, cluster.TaskRunning, cluster.HealthHealthy),
			task("nginx.2", "a2", 31002, cluster.TaskRunning, cluster.HealthHealthy),
			task("nginx.3", "a2", 31003, cluster.TaskRunning, cluster.HealthUnknown), // in its grace period
			task("nginx.4", "a1", 31004, cluster.TaskStaging, ""),
			task("nginx.5", "gone", 31005, cluster.TaskRunning, cluster.HealthHealthy),
		},
	}
	c := New(r, 10*time.Millisecond, "node-1")
	spec := manifests.Template{ID: "/up", Destination: "/tmp/x", Contents: `{{ range service "nginx" }}server {{ .Address }}:{{ .Port }};
{{ end }}{{ range service "nginx|critical" }}critical {{ .Port }}
{{ end }}`}
	var out bytes.Buffer
	run, err := templates.NewRunner([]manifests.Template{spec}, templates.RunnerOptions{Source: templates.CatalogSource{Catalog: c}, Dry: &out})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := run.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	want := "server 127.0.0.2:31001;\nserver 127.0.0.3:31002;\ncritical 31003\n"
	if got := out.String(); !strings.Contains(got, want) {
		t.Errorf("rendered:\n%s\nwant it to contain:\n%s", got, want)
	}
}

func TestCatalogVersionMovesOnlyOnChange(t *testing.T) {
	r := &reader{agents: []cluster.Agent{{ID: "a1", Hostname: "n1", Address: "127.0.0.2", Reachable: true}}}
	c := New(r, 5*time.Millisecond, "n1")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, v1, err := c.Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelShort()
	if _, _, err := c.Snapshot(short, v1); err == nil {
		t.Fatal("Snapshot returned with no change")
	}
	r.tasks = []cluster.Task{task("nginx.1", "a1", 31001, cluster.TaskRunning, cluster.HealthHealthy)}
	data, v2, err := c.Snapshot(ctx, v1)
	if err != nil || v2 <= v1 || len(data.Instances) != 1 {
		t.Fatalf("after a change: version %d -> %d, %d instances, %v", v1, v2, len(data.Instances), err)
	}
}
