package server_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/memstore"
	"github.com/berthops/berth/server"
)

type replica struct {
	srv    *server.Server
	client *memstore.Client
	addr   string
	stop   context.CancelFunc
	done   chan struct{} // closed when Serve returned
}

func start(t *testing.T, tree *memstore.Tree, id string) *replica {
	t.Helper()
	c := tree.Client()
	srv := server.New(server.Config{ID: id, Store: c, Heartbeat: 20 * time.Millisecond})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &replica{srv: srv, client: c, addr: ln.Addr().String(), stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		if err := srv.Serve(ctx, ln); err != nil {
			t.Errorf("server %s: %v", id, err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-r.done
		c.Close()
	})
	return r
}

func getStatus(t *testing.T, addr string) server.Status {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/v1/status")
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	defer resp.Body.Close()
	var st server.Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("decode status: %v", err)
	}
	return st
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestOneLeaderAndTakeover(t *testing.T) {
	tree := memstore.New()
	a := start(t, tree, "a")
	waitFor(t, "a to lead", func() bool { return getStatus(t, a.addr).Role == server.RoleLeader })
	b := start(t, tree, "b")
	waitFor(t, "b to see a", func() bool { return getStatus(t, b.addr).Leader == "a" })
	id, addr, self, err := b.srv.LeaderAddress(context.Background())
	if err != nil || id != "a" || addr != a.addr || self {
		t.Fatalf("b.LeaderAddress = %q %q %v %v, want a at %s, not self", id, addr, self, err, a.addr)
	}
	st := getStatus(t, b.addr)
	if st.Role != server.RoleFollower || st.LeaderAddress != a.addr || st.Term != 1 {
		t.Fatalf("b's status %+v, want follower of a at %s in term 1", st, a.addr)
	}

	// a's session expires (paused, partitioned): b takes over in term 2 and a
	// steps down without writing again.
	a.client.Expire()
	waitFor(t, "b to lead", func() bool { return getStatus(t, b.addr).Role == server.RoleLeader })
	waitFor(t, "a to step down", func() bool { return getStatus(t, a.addr).Role == server.RoleFollower })
	st = getStatus(t, a.addr)
	if st.Leader != "b" || st.Term != 2 {
		t.Fatalf("a's status after takeover %+v, want leader b in term 2", st)
	}
	state := cluster.NewState(tree.Client())
	for range 5 {
		rec, _, err := state.LeaderRecord(context.Background())
		if err != nil || rec.ID != "b" {
			t.Fatalf("leader record %+v, %v: written by someone other than b", rec, err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A clean shutdown resigns: a (campaigning again) leads at once.
	b.stop()
	<-b.done
	waitFor(t, "a to lead again", func() bool { return getStatus(t, a.addr).Role == server.RoleLeader })
}

func TestStatusListsAgentsAndHealthz(t *testing.T) {
	tree := memstore.New()
	agent := tree.Client()
	if _, err := cluster.NewState(agent).RegisterAgent(context.Background(), cluster.Agent{ID: "agent-1", Address: "127.0.0.2"}); err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Config{ID: "s", Store: tree.Client()})
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	st := getStatus(t, ts.Listener.Addr().String())
	if len(st.Agents) != 1 || !st.Agents[0].Reachable {
		t.Fatalf("agents %+v", st.Agents)
	}
	agent.Expire()
	agent.Close()
	st = getStatus(t, ts.Listener.Addr().String())
	if len(st.Agents) != 1 || st.Agents[0].Reachable {
		t.Fatalf("after loss agents %+v, want agent-1 unreachable", st.Agents)
	}
	srv.Handle("GET /v1/extra", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	resp, err = http.Get(ts.URL + "/v1/extra")
	if err != nil || resp.StatusCode != http.StatusTeapot {
		t.Fatalf("added route: %v %v", resp, err)
	}
	resp.Body.Close()
}
