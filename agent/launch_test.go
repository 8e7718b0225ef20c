package agent

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/berthops/berth/cluster"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got (as indented JSON) with testdata/<name>.json.
func golden(t *testing.T, name string, got any) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	file := filepath.Join("testdata", name+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(b)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", file, diff)
	}
}

var testNode = Node{ID: "node-2", Hostname: "node-2.example", Address: "127.0.0.2",
	Policy: cluster.AgentPolicy{HostPaths: []string{"/srv"}, Networks: []string{"backend"}}}

func appAssignment(spec cluster.TaskSpec) cluster.Assignment {
	return cluster.Assignment{TaskID: "web_nginx.1", Owner: cluster.OwnerApp, OwnerID: "/web/nginx", Version: "abc123",
		AgentID: testNode.ID, Spec: spec}
}

// launchCases are the specs whose container definitions are pinned by
// golden files: one per Marathon feature the agent translates.
func launchCases() map[string]cluster.Assignment {
	return map[string]cluster.Assignment{
		"bridge-two-ports": appAssignment(cluster.TaskSpec{
			Image: "nginx:1.25", Network: "BRIDGE",
			Env:       map[string]string{"MODE": "prod", "HOST": "overridden"},
			Labels:    map[string]string{"team": "web", "public": "tag"},
			Resources: cluster.Resources{CPUs: 0.5, Mem: 128, Disk: 10},
			Ports: []cluster.PortSpec{
				{Name: "http", ContainerPort: 80, HostPort: 31001, ServicePort: 10000, Protocol: "tcp"},
				{Name: "dns-udp", ContainerPort: 53, HostPort: 31002, Protocol: "udp,tcp"},
			},
			Volumes: []cluster.VolumeSpec{{HostPath: "/srv/conf", ContainerPath: "/etc/nginx/conf.d", ReadOnly: true}, {HostPath: "/srv/data", ContainerPath: "/data"}},
		}),
		"host-cmd-no-image": appAssignment(cluster.TaskSpec{
			Cmd: "python3 -m http.server $PORT0", Network: "HOST",
			Resources: cluster.Resources{CPUs: 1, Mem: 64},
			Ports:     []cluster.PortSpec{{HostPort: 31500, Protocol: "tcp"}},
		}),
		"user-network-args": appAssignment(cluster.TaskSpec{
			Image: "berth/web:dev", Args: []string{"--verbose", "x"}, Network: "USER", NetworkName: "backend",
			Ports:      []cluster.PortSpec{{Name: "api", ContainerPort: 8080, Protocol: "tcp"}, {ContainerPort: 9090, HostPort: 31003}},
			Parameters: []cluster.Parameter{{Key: "label", Value: "owner=ops"}, {Key: "env", Value: "EXTRA=1"}, {Key: "workdir", Value: "/app"}},
			User:       "nobody",
		}),
		// The same spec on an agent that allows host networking.
		"host-network-allowed": func() cluster.Assignment {
			a := appAssignment(cluster.TaskSpec{Cmd: "python3 -m http.server $PORT0", Network: "HOST",
				Ports: []cluster.PortSpec{{HostPort: 31500, Protocol: "tcp"}}})
			a.AgentID = "host-net"
			return a
		}(),
		"job": {TaskID: "nightly.20261125", Owner: cluster.OwnerJob, OwnerID: "nightly", Version: "v9", AgentID: testNode.ID,
			Spec: cluster.TaskSpec{Image: "berth/job:dev", Network: "HOST", ForcePullImage: true,
				Env: map[string]string{"EXIT_CODE": "0"}, KillGracePeriod: 5 * time.Second}},
	}
}

func TestBuildLaunchGolden(t *testing.T) {
	for name, as := range launchCases() {
		t.Run(name, func(t *testing.T) {
			node := testNode
			if as.AgentID == "host-net" {
				node.Policy.HostNetwork = true
			}
			l, err := buildLaunch(node, as, launchOptions{ShellImage: "berth/shell:dev"})
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "launch/"+name, l)
		})
	}
}

func TestBuildLaunchErrors(t *testing.T) {
	tests := map[string]struct {
		spec cluster.TaskSpec
		want string
	}{
		"cmd and args":    {cluster.TaskSpec{Image: "x", Cmd: "a", Args: []string{"b"}}, "both cmd and args"},
		"nothing to run":  {cluster.TaskSpec{}, "no image and no cmd"},
		"privileged":      {cluster.TaskSpec{Image: "x", Privileged: true}, "agent policy privileged"},
		"host volume":     {cluster.TaskSpec{Image: "x", Volumes: []cluster.VolumeSpec{{HostPath: "/etc", ContainerPath: "/d"}}}, "agent policy host-path"},
		"bad network":     {cluster.TaskSpec{Image: "x", Network: "OVERLAY"}, `network "OVERLAY"`},
		"user no name":    {cluster.TaskSpec{Image: "x", Network: "USER"}, "needs a network name"},
		"bad protocol":    {cluster.TaskSpec{Image: "x", Ports: []cluster.PortSpec{{ContainerPort: 1, Protocol: "sctp"}}}, `ports[0]: protocol "sctp"`},
		"bad port":        {cluster.TaskSpec{Image: "x", Ports: []cluster.PortSpec{{ContainerPort: 70000}}}, "ports[0]"},
		"relative volume": {cluster.TaskSpec{Image: "x", Volumes: []cluster.VolumeSpec{{HostPath: "data", ContainerPath: "/d"}}}, "volumes[0]"},
		"unknown param":   {cluster.TaskSpec{Image: "x", Parameters: []cluster.Parameter{{Key: "pid", Value: "host"}}}, `parameters[0]: docker option "pid"`},
		"berth label":     {cluster.TaskSpec{Image: "x", Parameters: []cluster.Parameter{{Key: "label", Value: "berth.agent=x"}}}, "agent's own"},
	}
	for name, tt := range tests {
		_, err := buildLaunch(testNode, appAssignment(tt.spec), launchOptions{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", name, err, tt.want)
		}
	}
	priv := testNode
	priv.AllowPrivileged = true
	priv.Policy.HostPaths = []string{"/srv"}
	if l, err := buildLaunch(priv, appAssignment(cluster.TaskSpec{Image: "x", Privileged: true}), launchOptions{}); err != nil || !l.Host.Privileged {
		t.Errorf("privileged on a consenting agent: %v", err)
	}
}

func TestTaskServicesGolden(t *testing.T) {
	cases := launchCases()
	multi := cases["bridge-two-ports"]
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
