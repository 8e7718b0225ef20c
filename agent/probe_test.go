package agent

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
)

func TestProbe(t *testing.T) {
	// elsewhere is what a redirect or a crafted path points at: a probe
	// must never reach it.
	var strayed atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		strayed.Add(1)
	}))
	defer elsewhere.Close()
	otherHost := strings.TrimPrefix(elsewhere.URL, "http://")
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/health":
		case "/query":
			if r.URL.RawQuery != "full=1" {
				http.Error(w, "query lost: "+r.URL.RawQuery, http.StatusBadRequest)
			}
		case "/moved":
			http.Redirect(w, r, elsewhere.URL+"/health", http.StatusFound)
		case "/moved-to-error":
			http.Redirect(w, r, "/missing", http.StatusMovedPermanently)
		default:
			http.NotFound(w, r)
		}
	}))
	defer ok.Close()
	_, okPort, _ := net.SplitHostPort(strings.TrimPrefix(ok.URL, "http://"))
	port, _ := strconv.Atoi(okPort)
	closed := func() int {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		return p
	}()
	exec := func(_ context.Context, cmd string) (int, error) {
		if cmd == "true" {
			return 0, nil
		}
		return 1, nil
	}
	tests := []struct {
		name  string
		hc    cluster.HealthCheckSpec
		ports []int
		want  string // "" = healthy
	}{
		{"http ok", cluster.HealthCheckSpec{Protocol: "HTTP", Path: "/health"}, []int{port}, ""},
		{"http 404", cluster.HealthCheckSpec{Protocol: "HTTP", Path: "/nope"}, []int{port}, "status 404"},
		{"http second port", cluster.HealthCheckSpec{Protocol: "HTTP", Path: "/health", PortIndex: 1}, []int{closed, port}, ""},
		{"http explicit port", cluster.HealthCheckSpec{Protocol: "MESOS_HTTP", Path: "/health", Port: port}, nil, ""},
		{"http refused", cluster.HealthCheckSpec{Protocol: "HTTP"}, []int{closed}, "refused"},
		{"tcp ok", cluster.HealthCheckSpec{Protocol: "TCP"}, []int{port}, ""},
		{"tcp refused", cluster.HealthCheckSpec{Protocol: "TCP"}, []int{closed}, "refused"},
		{"port index out of range", cluster.HealthCheckSpec{Protocol: "TCP", PortIndex: 2}, []int{port}, "portIndex 2"},
		{"command ok", cluster.HealthCheckSpec{Protocol: "COMMAND", Command: "true"}, nil, ""},
		{"command fails", cluster.HealthCheckSpec{Protocol: "COMMAND", Command: "false"}, nil, `"false" exited 1`},
		{"unknown protocol", cluster.HealthCheckSpec{Protocol: "UDP"}, nil, `protocol "UDP"`},
		// Marathon counts 200-399 as healthy and does not follow redirects.
		{"a redirect is an answer, not followed", cluster.HealthCheckSpec{Protocol: "HTTP", Path: "/moved"}, []int{port}, ""},
		{"a redirect to an error page is still healthy", cluster.HealthCheckSpec{Protocol: "HTTP", Path: "/moved-to-error"}, []int{port}, ""},
		{"a query is kept", cluster.HealthCheckSpec{Protocol: "HTTP", Path: "/query?full=1"}, []int{port}, ""},
		{"a path without a slash", cluster.HealthCheckSpec{Protocol: "HTTP", Path: "health"}, []int{port}, ""},
		{"a path cannot name another host (userinfo)", cluster.HealthCheckSpec{Protocol: "HTTP", Path: "@" + otherHost + "/"}, []int{closed}, "refused"},
		{"a path cannot name another host (authority)", cluster.HealthCheckSpec{Protocol: "HTTP", Path: "//" + otherHost + "/"}, []int{closed}, "refused"},
	}
	for _, tt := range tests {
		tt.hc.Timeout = 2 * time.Second
		err := probe(context.Background(), tt.hc, "127.0.0.1", tt.ports, exec)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v, want healthy", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: %v, want an error with %q", tt.name, err, tt.want)
		}
	}
	if n := strayed.Load(); n != 0 {
		t.Errorf("probes reached another server %d times (a redirect followed, or a path taken as a host)", n)
	}
}

// TestServiceCheckURL: the Consul check of a port is built like the agent's
// own probe, so a crafted path cannot name another host there either.
func TestServiceCheckURL(t *testing.T) {
	for path, want := range map[string]string{
		"/health?full=1": "http://127.0.0.1:31000/health?full=1",
		"health":         "http://127.0.0.1:31000/health",
		"@evil:80/":      "http://127.0.0.1:31000/@evil:80/",
		"//evil/x":       "http://127.0.0.1:31000//evil/x",
	} {
		a := appAssignment(cluster.TaskSpec{Image: "x", Ports: []cluster.PortSpec{{ContainerPort: 80, HostPort: 31000}},
			HealthChecks: []cluster.HealthCheckSpec{{Protocol: "HTTP", Path: path}}})
		node := testNode
		node.Address = "127.0.0.1"
		svcs := taskServices(node, a, []int{31000})
		if len(svcs) != 1 || svcs[0].Check.HTTP != want {
			t.Errorf("path %q: check %+v, want %s", path, svcs, want)
		}
	}
}
