package dockerrt

import (
	"flag"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/agent/launch"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got (as indented JSON) with testdata/<name>.json.
func golden(t *testing.T, name string, got any) {
	t.Helper()
	testenv.GoldenJSON(t, filepath.Join("testdata", name+".json"), got, *update)
}

var testNode = launch.Node{ID: "node-2", Hostname: "node-2.example", Address: "127.0.0.2",
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
			l, err := buildLaunch(node, as, "", launchOptions{ShellImage: "berth/shell:dev"})
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
		_, err := buildLaunch(testNode, appAssignment(tt.spec), "", launchOptions{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", name, err, tt.want)
		}
	}
	priv := testNode
	priv.Policy.Privileged = true
	if l, err := buildLaunch(priv, appAssignment(cluster.TaskSpec{Image: "x", Privileged: true}), "", launchOptions{}); err != nil || !l.Host.Privileged {
		t.Errorf("privileged on a consenting agent: %v", err)
	}
}
