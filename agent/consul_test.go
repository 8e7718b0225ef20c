package agent

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/berthops/berth/agent/consulreg"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/testenv"
)

// rangePort picks a random free port of the agents' range on addr, as the
// allocator would.
func rangePort(t *testing.T, addr string, taken map[int]bool) int {
	t.Helper()
	for range 200 {
		p := 31000 + rand.IntN(1001)
		if taken[p] {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort(addr, strconv.Itoa(p)))
		if err != nil {
			continue
		}
		l.Close()
		taken[p] = true
		return p
	}
	t.Fatalf("no free port in 31000-32000 on %s", addr)
	return 0
}

func consulClient(t *testing.T, c *testenv.Consul) *api.Client {
	t.Helper()
	cfg := api.DefaultConfig()
	cfg.Address = c.Addr
	cl, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// waitPassing waits until name has want passing instances and returns them.
func waitPassing(t *testing.T, cl *api.Client, name string, want int) []*api.ServiceEntry {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		entries, _, err := cl.Health().Service(name, "", true, nil)
		if err == nil && len(entries) == want {
			return entries
		}
		if time.Now().After(deadline) {
			t.Fatalf("consul service %s: %d passing instances (err %v), want %d", name, len(entries), err, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestWalkthroughNginxOnTwoAgents is the acceptance test of issue 6: the
// walkthrough's nginx app, 3 instances on 2 agents, registered in a real
// Consul with passing checks and reachable on ports from the range.
func TestWalkthroughNginxOnTwoAgents(t *testing.T) {
	h := newHarness(t)
	consul := testenv.StartConsul(t)
	cl := consulClient(t, consul)
	nodes := []Node{h.node("127.0.0.2"), h.node("127.0.0.3")}
	regs := make([]*consulreg.Registry, 2)
	for i, n := range nodes {
		regs[i] = consulreg.New(cl, n.ID, nil)
	}
	// A registration left by a crashed run of agent 0 must be cleaned up.
	stale := Service{ID: "berth-gone.1-0", Name: "web-nginx", Address: "127.0.0.2", Port: 31999,
		Meta: map[string]string{metaAgent: nodes[0].ID, metaTask: "gone.1"}, Check: ServiceCheck{TTL: time.Minute}}
	if err := consulreg.New(cl, nodes[0].ID, nil).Register(context.Background(), "gone.1", []Service{stale}); err != nil {
		t.Fatal(err)
	}
	stops := make([]func(), 2)
	for i, n := range nodes {
		stops[i] = h.startWith(n, regs[i], time.Second)
	}

	taken := map[int]bool{}
	nginx := func(node Node, id string) cluster.Assignment {
		as := webTask(node, id, rangePort(t, node.Address, taken))
		as.Spec.Env["WEB_PORTS"] = "80"
		as.Spec.HealthChecks = []cluster.HealthCheckSpec{{Protocol: "HTTP", Path: "/health", GracePeriod: 10 * time.Second,
			Interval: time.Second, Timeout: time.Second, MaxConsecutiveFailures: 3}}
		return as
	}
	tasks := []cluster.Assignment{nginx(nodes[0], "nginx.1"), nginx(nodes[1], "nginx.2"), nginx(nodes[0], "nginx.3")}
	for _, as := range tasks {
		h.fc.put(as)
	}
	for _, as := range tasks {
		st := h.fc.waitFor(t, as.TaskID, 30*time.Second, "healthy", func(s cluster.TaskStatus) bool { return s.Health == cluster.HealthHealthy })
		if st.HostPorts[0] != as.Spec.Ports[0].HostPort {
			t.Errorf("%s: host port %d, want the assigned %d", as.TaskID, st.HostPorts[0], as.Spec.Ports[0].HostPort)
		}
	}
	entries := waitPassing(t, cl, "web-nginx", 3)
	for _, e := range entries {
		url := fmt.Sprintf("http://%s:%d/", e.Service.Address, e.Service.Port)
		body := getEventually(t, url)
		if !strings.Contains(body, "task="+e.Service.Meta[metaTask]) {
			t.Errorf("%s answered %q; registered for task %s", url, body, e.Service.Meta[metaTask])
		}
		if e.Service.Port < 31000 || e.Service.Port > 32000 {
			t.Errorf("port %d outside the agent's range", e.Service.Port)
		}
		if !contains(e.Service.Tags, "public") || e.Service.Meta[metaApp] != "/web/nginx" || e.Service.Meta[metaVersion] != "v1" {
			t.Errorf("registration %+v: want tag public and app/version meta", e.Service)
		}
	}
	if svcs, _ := cl.Agent().Services(); svcs[stale.ID] != nil {
		t.Errorf("stale registration %s survived the agent's start", stale.ID)
	}

	// Consul restarted (dev mode forgets everything): the agents re-register.
	consul.Restart()
	waitPassing(t, cl, "web-nginx", 3)

	// A container killed by hand is reported and deregistered; the server
	// (here, the test) replaces it and the replacement registers.
	st := h.fc.waitState(t, "nginx.2", cluster.TaskRunning)
	if err := h.cli.ContainerKill(context.Background(), st.ContainerID, "KILL"); err != nil {
		t.Fatal(err)
	}
	h.fc.waitState(t, "nginx.2", cluster.TaskFailed)
	waitPassing(t, cl, "web-nginx", 2)
	h.fc.remove(nodes[1].ID, "nginx.2")
	h.fc.put(nginx(nodes[1], "nginx.4"))
	waitPassing(t, cl, "web-nginx", 3)

	// An agent restart keeps its containers and their registrations.
	before := map[string]cluster.TaskStatus{}
	for _, id := range []string{"nginx.1", "nginx.3"} {
		before[id] = h.fc.waitState(t, id, cluster.TaskRunning)
	}
	stops[0]()
	h.startWith(nodes[0], consulreg.New(cl, nodes[0].ID, nil), time.Second)
	for _, id := range []string{"nginx.1", "nginx.3"} {
		before := before[id]
		after := h.fc.waitFor(t, id, 30*time.Second, "re-attached", func(s cluster.TaskStatus) bool {
			return s.Health == cluster.HealthHealthy && s.UpdatedAt.After(before.UpdatedAt)
		})
		if after.ContainerID != before.ContainerID {
			t.Errorf("%s: container changed across an agent restart", id)
		}
	}
	waitPassing(t, cl, "web-nginx", 3)

	// Withdrawing an assignment deregisters before the container stops.
	h.fc.remove(nodes[0].ID, "nginx.3")
	waitPassing(t, cl, "web-nginx", 2)
	h.fc.waitState(t, "nginx.3", cluster.TaskKilled)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
