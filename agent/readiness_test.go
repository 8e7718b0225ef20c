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

func TestProbeReadiness(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ready":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"ready":true}` + strings.Repeat(" ", 2*cluster.MaxReadinessBody)))
		case "/accepted":
			w.WriteHeader(http.StatusAccepted)
		default:
			http.Error(w, "warming up", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	_, p, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	port, _ := strconv.Atoi(p)
	ports := []int{1, port}
	check := func(path string, codes []int, preserve bool) readinessOutcome {
		rc := cluster.ReadinessCheckSpec{Name: "r", Protocol: "HTTP", Path: path, PortIndex: 1, Timeout: time.Second,
			StatusCodes: codes, PreserveLastResponse: preserve}
		return probeReadiness(context.Background(), rc, "127.0.0.1", ports)
	}

	if r := check("/ready", []int{200}, false); !r.ready || r.resp != nil || r.err != nil {
		t.Errorf("ready, not preserved: %+v", r)
	}
	r := check("/ready", []int{200}, true)
	if !r.ready || r.resp == nil || r.resp.Status != 200 || r.resp.ContentType != "application/json" ||
		!strings.HasPrefix(r.resp.Body, `{"ready":true}`) || len(r.resp.Body) != cluster.MaxReadinessBody {
		t.Errorf("ready, preserved: %+v", r)
	}
	if r := check("/warming", []int{200}, true); r.ready || r.resp == nil || r.resp.Status != 503 || r.resp.Body != "warming up\n" || r.err == nil {
		t.Errorf("not ready: %+v", r)
	}
	if r := check("/accepted", []int{200}, false); r.ready {
		t.Errorf("202 is not in [200]: %+v", r)
	}
	if r := check("/accepted", []int{200, 202}, false); !r.ready {
		t.Errorf("202 is in [200 202]: %+v", r)
	}
	rc := cluster.ReadinessCheckSpec{Name: "r", Protocol: "HTTP", Path: "/", PortIndex: 5, StatusCodes: []int{200}}
	if r := probeReadiness(context.Background(), rc, "127.0.0.1", ports); r.err == nil || r.ready {
		t.Errorf("missing port: %+v", r)
	}
}
