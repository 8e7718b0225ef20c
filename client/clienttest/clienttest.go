// Package clienttest runs a real berth server for tests of API clients: the
// server replica (leader election, /v1/status) with the reconciler's routes
// and loop, over an in-memory cluster store and a real Git repository, with
// stand-in agents that run whatever is assigned to them by reporting it
// through the store, as the reconciler's own tests do. Docker is tested in
// package agent; what a client sees here is the API exactly as a real
// server serves it.
//
// Only tests import this package.
package clienttest

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/memstore"
	"github.com/berthops/berth/httpapi"
	"github.com/berthops/berth/reconciler"
	"github.com/berthops/berth/reconciler/decide"
	"github.com/berthops/berth/reconciler/gitsource"
	"github.com/berthops/berth/server"
	"github.com/berthops/berth/testenv"
)

// Token is the bearer token the test server accepts.
const Token = "test-token"

// Options shape the test server.
type Options struct {
	// ProtectReads makes reads need the token too.
	ProtectReads bool
	// Agents are the ids of the stand-in agents (one, "a1", if empty).
	Agents []string
	// Unhealthy, if set, says which tasks the agents report as failing their
	// health checks (to drive an app to Degraded).
	Unhealthy func(cluster.Assignment) bool
	// Files is the first commit on main (an empty repository if nil).
	Files map[string]string
}

// Env is a running server.
type Env struct {
	URL        string
	Repo       *testenv.GitRepo
	State      *cluster.State
	Reconciler *reconciler.Reconciler
}

// Start runs a server until the test ends. The reconciler fetches Git only
// when asked (POST /v1/sync or Reconciler.Sync), never on a timer, so a test
// sees exactly what a sync does.
func Start(t testing.TB, o Options) *Env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	repo := testenv.NewGitRepo(t, t.TempDir())
	files := o.Files
	if files == nil {
		files = map[string]string{"README.md": "no manifests yet\n"}
	}
	repo.Commit(t, "main", files, "first")

	tree := memstore.New()
	st := cluster.NewState(tree.Client())
	agents := o.Agents
	if len(agents) == 0 {
		agents = []string{"a1"}
	}
	for i, id := range agents {
		runAgent(ctx, t, cluster.NewState(tree.Client()), id, i, o.Unhealthy)
	}
	src, err := reconciler.OpenGit(ctx, gitsource.Options{URL: repo.FileURL(), CacheDir: t.TempDir()})
	if err != nil {
		cancel()
		t.Fatalf("open test repository: %v", err)
	}
	r := reconciler.New(reconciler.Config{Branch: "main", Poll: time.Hour, Resync: 20 * time.Millisecond,
		Pass: decide.Options{Prune: true}}, src, st)
	srv := server.New(server.Config{ID: "s1", Version: "test", Store: tree.Client(), Heartbeat: 100 * time.Millisecond,
		Lead: []server.LeadFunc{r.Run}})
	for pattern, h := range httpapi.Routes(r, st, httpapi.Options{Token: Token, ProtectReads: o.ProtectReads, WebhookSecret: "hook-secret"}) {
		srv.Handle(pattern, h)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		t.Fatalf("listen: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("test server: %v", err)
		}
	})
	e := &Env{URL: "http://" + ln.Addr().String(), Repo: repo, State: st, Reconciler: r}
	e.WaitFor(t, "the server to lead and load the first commit", func() bool {
		l, _ := st.Leader(ctx)
		return l == "s1" && r.Status().Desired != ""
	})
	return e
}

// Push commits files as the whole tree of main and returns the commit. The
// server does not see it until a sync.
func (e *Env) Push(t testing.TB, files map[string]string, msg string) string {
	t.Helper()
	return e.Repo.Commit(t, "main", files, msg)
}

// WaitFor polls ok for up to 20 seconds.
func (e *Env) WaitFor(t testing.TB, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; reconciler status %+v", what, e.Reconciler.Status())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Converged waits until the server converged to commit.
func (e *Env) Converged(t testing.TB, commit string) {
	t.Helper()
	e.WaitFor(t, "convergence to "+commit, func() bool {
		s := e.Reconciler.Status()
		return s.Desired == commit && s.Converged
	})
}

// runAgent registers a stand-in agent that reports every assigned task
// RUNNING (healthy unless unhealthy says otherwise) and every killed one
// KILLED, through the store as a real agent does.
func runAgent(ctx context.Context, t testing.TB, st *cluster.State, id string, i int, unhealthy func(cluster.Assignment) bool) {
	t.Helper()
	a := cluster.Agent{ID: id, Hostname: id + ".test", Address: net.IPv4(127, 0, 0, byte(2+i)).String(), Reachable: true,
		Resources:  cluster.Resources{CPUs: 4, Mem: 4096, Disk: 10000},
		Ports:      []cluster.PortRange{{Begin: 31000, End: 31100}},
		Attributes: map[string]string{"rack": "r1"}, Version: "test", RegisteredAt: time.Now()}
	if _, err := st.RegisterAgent(ctx, a); err != nil {
		t.Fatalf("register agent %s: %v", id, err)
	}
	go func() {
		for set := range st.WatchAssignments(ctx, id, func(error) {}) {
			var sts []cluster.TaskStatus
			for _, as := range set {
				s := cluster.TaskStatus{TaskID: as.TaskID, AgentID: id, State: cluster.TaskRunning, Health: cluster.HealthHealthy,
					StartedAt: as.CreatedAt, UpdatedAt: time.Now()}
				for j := range as.Spec.Ports {
					s.HostPorts = append(s.HostPorts, as.Spec.Ports[j].HostPort)
				}
				switch {
				case as.Kill:
					s.State, s.Health = cluster.TaskKilled, cluster.HealthUnknown
				case unhealthy != nil && unhealthy(as):
					s.Health = cluster.HealthUnhealthy
				}
				sts = append(sts, s)
			}
			if len(sts) > 0 {
				_ = st.PutStatuses(ctx, sts...)
			}
		}
	}()
}
