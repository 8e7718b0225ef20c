package agent

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/policy"
	"github.com/berthops/berth/testenv"
)

// TestAgentPolicyOnDocker runs the ways of becoming root on an agent
// against a real Docker Engine, on an agent that allows one host directory
// only: each is reported FAILED naming the rule, no container is created for
// them, and a HOST task runs in its own network namespace with its port
// published at the same number.
func TestAgentPolicyOnDocker(t *testing.T) {
	h := newHarness(t)
	node := h.node("127.0.0.2")
	allowed := t.TempDir()
	// A link inside the allowed directory to the host's /etc: Docker would
	// follow it.
	if err := os.Symlink("/etc", filepath.Join(allowed, "etc")); err != nil {
		t.Fatal(err)
	}
	node.Policy.HostPaths = []string{allowed}
	h.start(node, nil)

	job := func(id string, edit func(*cluster.TaskSpec)) cluster.Assignment {
		spec := cluster.TaskSpec{Image: testenv.JobImage, Args: []string{"x"}, Network: networkBridge}
		edit(&spec)
		return cluster.Assignment{TaskID: id, Owner: cluster.OwnerJob, OwnerID: "root", Version: "v1", AgentID: node.ID, Spec: spec}
	}
	volume := func(host string) func(*cluster.TaskSpec) {
		return func(s *cluster.TaskSpec) {
			s.Volumes = []cluster.VolumeSpec{{HostPath: host, ContainerPath: "/host"}}
		}
	}
	param := func(k, v string) func(*cluster.TaskSpec) {
		return func(s *cluster.TaskSpec) { s.Parameters = []cluster.Parameter{{Key: k, Value: v}} }
	}
	refused := map[string]struct {
		edit func(*cluster.TaskSpec)
		rule string
	}{
		"root.1":     {volume("/"), policy.RuleDockerSocket},
		"socket.1":   {volume("/var/run/docker.sock"), policy.RuleDockerSocket},
		"dotdot.1":   {volume(allowed + "/../../etc"), policy.RuleHostPath},
		"link.1":     {volume(allowed + "/etc/cron.d"), policy.RuleHostPath},
		"capall.1":   {param("cap-add", "ALL"), policy.RuleCapAdd},
		"seccomp.1":  {param("security-opt", "seccomp=unconfined"), policy.RuleParameter},
		"apparmor.1": {param("security-opt", "apparmor=unconfined"), policy.RuleParameter},
		"hostnet.1": {func(s *cluster.TaskSpec) {
			s.Network, s.NetworkName = networkUser, "host"
		}, policy.RuleHostNetwork},
		"othernet.1": {func(s *cluster.TaskSpec) {
			s.Network, s.NetworkName = networkUser, "some-network"
		}, policy.RuleNetwork},
		"priv.1": {func(s *cluster.TaskSpec) { s.Privileged = true }, policy.RulePrivileged},
	}
	for id, r := range refused {
		h.fc.put(job(id, r.edit))
	}
	for id, r := range refused {
		st := h.fc.waitState(t, id, cluster.TaskFailed)
		if !strings.Contains(st.Message, "agent policy "+r.rule+":") {
			t.Errorf("%s: message %q, want the rule %s named", id, st.Message, r.rule)
		}
		if st.ContainerID != "" {
			t.Errorf("%s: a container %s was created for a refused task", id, st.ContainerID)
		}
	}

	// HOST networking without --allow-host-network: the task's port is
	// published on the advertise address at the same number, from the
	// task's own network namespace.
	port := testenv.FreePort(t, node.Address)
	web := webTask(node, "hostport.1")
	web.Spec.Network = networkHost
	web.Spec.Env = map[string]string{"WEB_PORTS": strconv.Itoa(port)}
	web.Spec.Ports = []cluster.PortSpec{{HostPort: port, Protocol: "tcp"}}
	h.fc.put(web)
	st := h.fc.waitState(t, "hostport.1", cluster.TaskRunning)
	getEventually(t, "http://"+node.Address+":"+strconv.Itoa(port)+"/")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := h.cli.ContainerInspect(ctx, st.ContainerID)
	if err != nil {
		t.Fatal(err)
	}
	if mode := string(info.HostConfig.NetworkMode); mode == "host" {
		t.Errorf("a HOST task shares the host's network namespace on an agent without --allow-host-network")
	}
}
