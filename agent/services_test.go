package agent

import (
	"flag"
	"path/filepath"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got (as indented JSON) with testdata/<name>.json.
func golden(t *testing.T, name string, got any) {
	t.Helper()
	testenv.GoldenJSON(t, filepath.Join("testdata", name+".json"), got, *update)
}

var testNode = Node{ID: "node-2", Hostname: "node-2.example", Address: "127.0.0.2"}

func appAssignment(spec cluster.TaskSpec) cluster.Assignment {
	return cluster.Assignment{TaskID: "web_nginx.1", Owner: cluster.OwnerApp, OwnerID: "/web/nginx", Version: "abc123",
		AgentID: testNode.ID, Spec: spec}
}

func bridgeTwoPorts() cluster.Assignment {
	return appAssignment(cluster.TaskSpec{
		Image: "nginx:1.25", Network: "BRIDGE",
		Env:       map[string]string{"MODE": "prod", "HOST": "overridden"},
		Labels:    map[string]string{"team": "web", "public": "tag"},
		Resources: cluster.Resources{CPUs: 0.5, Mem: 128, Disk: 10},
		Ports: []cluster.PortSpec{
			{Name: "http", ContainerPort: 80, HostPort: 31001, ServicePort: 10000, Protocol: "tcp"},
			{Name: "dns-udp", ContainerPort: 53, HostPort: 31002, Protocol: "udp,tcp"},
		},
	})
}

func TestTaskServicesGolden(t *testing.T) {
	multi := bridgeTwoPorts()
	multi.Spec.Labels[LabelServiceTags] = "edge, v2"
	multi.Spec.Ports[1].Labels = map[string]string{LabelServiceName: "dns"}
	multi.Spec.HealthChecks = []cluster.HealthCheckSpec{{Protocol: "HTTP", Path: "/health", PortIndex: 0, Interval: 10 * time.Second, Timeout: 2 * time.Second}}
	named := appAssignment(cluster.TaskSpec{Image: "x", Labels: map[string]string{LabelServiceName: "frontend"},
		Ports:        []cluster.PortSpec{{ContainerPort: 80, HostPort: 31010}},
		HealthChecks: []cluster.HealthCheckSpec{{Protocol: "TCP", PortIndex: 0, Interval: 5 * time.Second, Timeout: time.Second}}})
	command := appAssignment(cluster.TaskSpec{Image: "x", Ports: []cluster.PortSpec{{ContainerPort: 80, HostPort: 31011}, {ContainerPort: 81}},
		HealthChecks: []cluster.HealthCheckSpec{{Protocol: "COMMAND", Command: "true"}}})
	golden(t, "services/two-ports", taskServices(testNode, multi, []int{31001, 31002}))
	golden(t, "services/label-name-tcp", taskServices(testNode, named, []int{31010}))
	golden(t, "services/command-ttl-unpublished", taskServices(testNode, command, []int{31011, 0}))
}

func TestServiceName(t *testing.T) {
	for in, want := range map[string]string{"/web/nginx": "web-nginx", "/a": "a", "/Prod/API_v2/": "prod-api-v2", "nightly": "nightly"} {
		if got := serviceName(in); got != want {
			t.Errorf("serviceName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHealthTracker(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	spec := cluster.HealthCheckSpec{GracePeriod: 10 * time.Second, MaxConsecutiveFailures: 3}
	type step struct {
		at      time.Duration
		ok      bool
		kill    bool
		verdict cluster.Health
	}
	tests := map[string][]step{
		"failures in grace are ignored": {
			{1 * time.Second, false, false, cluster.HealthUnknown},
			{9 * time.Second, false, false, cluster.HealthUnknown},
			{11 * time.Second, false, false, cluster.HealthUnhealthy},
			{12 * time.Second, false, false, cluster.HealthUnhealthy},
			{13 * time.Second, false, true, cluster.HealthUnhealthy},
		},
		"grace ends at the first success": {
			{1 * time.Second, true, false, cluster.HealthHealthy},
			{2 * time.Second, false, false, cluster.HealthUnhealthy},
			{3 * time.Second, false, false, cluster.HealthUnhealthy},
			{4 * time.Second, true, false, cluster.HealthHealthy},
			{5 * time.Second, false, false, cluster.HealthUnhealthy},
			{6 * time.Second, false, false, cluster.HealthUnhealthy},
			{7 * time.Second, false, true, cluster.HealthUnhealthy},
		},
	}
	for name, steps := range tests {
		h := &healthTracker{spec: spec, started: start}
		for i, s := range steps {
			kill := h.observe(start.Add(s.at), s.ok)
			if kill != s.kill || h.verdict != s.verdict {
				t.Errorf("%s step %d: kill %v verdict %q, want %v %q", name, i, kill, h.verdict, s.kill, s.verdict)
			}
		}
	}
	never := &healthTracker{spec: cluster.HealthCheckSpec{MaxConsecutiveFailures: 0}, started: start}
	for i := range 10 {
		if never.observe(start.Add(time.Duration(i)*time.Second), false) {
			t.Fatal("maxConsecutiveFailures 0 must never kill")
		}
	}
	a := &healthTracker{verdict: cluster.HealthHealthy}
	b := &healthTracker{verdict: cluster.HealthUnknown}
	if got := combinedHealth([]*healthTracker{a, b}); got != cluster.HealthUnknown {
		t.Errorf("combined healthy+unknown = %q", got)
	}
	b.verdict = cluster.HealthUnhealthy
	if got := combinedHealth([]*healthTracker{a, b}); got != cluster.HealthUnhealthy {
		t.Errorf("combined healthy+unhealthy = %q", got)
	}
}
