package main

import (
	"strings"
	"testing"

	"github.com/berthops/berth/cluster"
)

func TestAgentNodeFlags(t *testing.T) {
	n, err := agentNode(agentFlags{id: "node-2", hostname: "h2", advertise: "127.0.0.2", dockerRoot: "/nonexistent",
		resources: "cpus:4;mem:8192;ports:[31000-31010]", attributes: "rack:r1;zone:a", allowPrivileged: true})
	if err != nil {
		t.Fatal(err)
	}
	if n.ID != "node-2" || n.Hostname != "h2" || n.Address != "127.0.0.2" || !n.AllowPrivileged {
		t.Errorf("node %+v", n)
	}
	if n.Resources.CPUs != 4 || n.Resources.Mem != 8192 || n.Resources.Disk <= 0 {
		t.Errorf("resources %+v: want cpus and mem overridden, disk detected", n.Resources)
	}
	if len(n.Ports) != 1 || n.Ports[0] != (cluster.PortRange{Begin: 31000, End: 31010}) || n.Attributes["zone"] != "a" {
		t.Errorf("ports %v attributes %v", n.Ports, n.Attributes)
	}
	if _, err := agentNode(agentFlags{resources: "gpus:1"}); err == nil || !strings.Contains(err.Error(), "--resources") {
		t.Errorf("bad --resources: %v", err)
	}
	if _, err := agentNode(agentFlags{attributes: "rack"}); err == nil || !strings.Contains(err.Error(), "--attributes") {
		t.Errorf("bad --attributes: %v", err)
	}
	n, err = agentNode(agentFlags{advertise: "127.0.0.1"})
	if err != nil || n.ID == "" || n.ID != n.Hostname {
		t.Errorf("defaults: %+v %v: want id = hostname", n, err)
	}
}
