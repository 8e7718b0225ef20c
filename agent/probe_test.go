package agent

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
)

func TestProbe(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
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
}
