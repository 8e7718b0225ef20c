package agent

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/testenv"
)

func TestRunCheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/down" {
			http.Error(w, "down", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	_, p, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	port, _ := strconv.Atoi(p)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().(*net.TCPAddr).Port
	l.Close()
	exec := func(_ context.Context, cmd string) (int, error) { return len(cmd), nil }
	cases := []struct {
		name  string
		check cluster.CheckSpec
		want  cluster.CheckResult
	}{
		{"http ok", cluster.CheckSpec{Protocol: "HTTP", Path: "/"}, cluster.CheckResult{HTTP: &cluster.HTTPCheckResult{StatusCode: 200}}},
		{"http 503 is a result", cluster.CheckSpec{Protocol: "HTTP", Path: "/down"}, cluster.CheckResult{HTTP: &cluster.HTTPCheckResult{StatusCode: 503}}},
		{"tcp open", cluster.CheckSpec{Protocol: "TCP"}, cluster.CheckResult{TCP: &cluster.TCPCheckResult{Succeeded: true}}},
		{"command exit code", cluster.CheckSpec{Protocol: "COMMAND", Command: "abc"}, cluster.CheckResult{Command: &cluster.CommandCheckResult{ExitCode: 3}}},
		{"portIndex missing", cluster.CheckSpec{Protocol: "TCP", PortIndex: 4}, cluster.CheckResult{Message: "health check portIndex 4: the task has 2 ports"}},
	}
	for _, c := range cases {
		if got := runCheck(context.Background(), c.check, "127.0.0.1", []int{port, closed}, exec); !cmp.Equal(c.want, got) {
			t.Errorf("%s: %s", c.name, cmp.Diff(c.want, got))
		}
	}
	got := runCheck(context.Background(), cluster.CheckSpec{Protocol: "TCP", PortIndex: 1}, "127.0.0.1", []int{port, closed}, exec)
	if got.TCP == nil || got.TCP.Succeeded || got.Message == "" {
		t.Errorf("tcp to a closed port: %+v, want not succeeded with the reason", got)
	}
	got = runCheck(context.Background(), cluster.CheckSpec{Protocol: "HTTP", PortIndex: 1}, "127.0.0.1", []int{port, closed}, exec)
	if got.HTTP != nil || got.Message == "" {
		t.Errorf("http to a closed port: %+v, want no result and the reason", got)
	}
}

// TestAgentReportsMesosChecks runs an HTTP and a command check on real
// containers: each result is reported with the task when it changes, and a
// failing check neither kills the task nor changes its health.
func TestAgentReportsMesosChecks(t *testing.T) {
	h := newHarness(t)
	node := h.node("127.0.0.2")
	h.start(node, nil)

	web := webTask(node, "checked.1", testenv.FreePort(t, "127.0.0.2"))
	web.Spec.Check = &cluster.CheckSpec{Protocol: "HTTP", Path: "/health", Interval: 300 * time.Millisecond, Timeout: time.Second}
	sh := cluster.Assignment{TaskID: "cmdcheck.1", Owner: cluster.OwnerApp, OwnerID: "/cmd", AgentID: node.ID, Version: "v1",
		Spec: cluster.TaskSpec{Cmd: "sleep 2; touch /tmp/ready; exec sleep 1000", Network: networkHost, KillGracePeriod: time.Second,
			Check: &cluster.CheckSpec{Protocol: "COMMAND", Command: "test -f /tmp/ready", Interval: 300 * time.Millisecond, Timeout: 5 * time.Second}}}
	h.fc.put(web)
	h.fc.put(sh)

	code := func(want int) func(cluster.TaskStatus) bool {
		return func(s cluster.TaskStatus) bool {
			return s.Check != nil && s.Check.HTTP != nil && s.Check.HTTP.StatusCode == want
		}
	}
	st := h.fc.waitFor(t, "checked.1", 30*time.Second, "check answered 200", code(200))
	if st.State != cluster.TaskRunning || st.Health != cluster.HealthHealthy {
		t.Fatalf("checked.1: %s %s", st.State, st.Health)
	}
	resp, err := http.Post("http://127.0.0.2:"+strconv.Itoa(st.HostPorts[0])+"/fail", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	st = h.fc.waitFor(t, "checked.1", 10*time.Second, "check answered 503", code(503))
	if st.State != cluster.TaskRunning || st.Health != cluster.HealthHealthy {
		t.Errorf("a failing check changed the task: %s %s", st.State, st.Health)
	}

	st = h.fc.waitFor(t, "cmdcheck.1", 30*time.Second, "command check exit 1", func(s cluster.TaskStatus) bool {
		return s.Check != nil && s.Check.Command != nil && s.Check.Command.ExitCode == 1
	})
	st = h.fc.waitFor(t, "cmdcheck.1", 30*time.Second, "command check exit 0", func(s cluster.TaskStatus) bool {
		return s.Check != nil && s.Check.Command != nil && s.Check.Command.ExitCode == 0
	})
	if st.State != cluster.TaskRunning {
		t.Errorf("cmdcheck.1: %s", st.State)
	}

	// Three more runs of each check change nothing: nothing is reported,
	// and nothing was killed.
	before := map[string]int{"checked.1": len(h.fc.states("checked.1")), "cmdcheck.1": len(h.fc.states("cmdcheck.1"))}
	time.Sleep(time.Second)
	for id, n := range before {
		states := h.fc.states(id)
		if slices.Contains(states, cluster.TaskKilling) || slices.Contains(states, cluster.TaskKilled) {
			t.Errorf("%s was killed: %v", id, states)
		}
		if len(states) != n {
			t.Errorf("%s: %d status reports after the check's result settled, want none (%v)", id, len(states)-n, states)
		}
	}
	h.fc.remove(node.ID, "checked.1")
	h.fc.remove(node.ID, "cmdcheck.1")
	waitGone(t, h.cli, st.ContainerID)
}
