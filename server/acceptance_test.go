package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/zkstore"
	"github.com/berthops/berth/server"
	"github.com/berthops/berth/testenv"
)

// sessionTimeout is berth server's default: the acceptance bounds are
// stated in terms of it.
const sessionTimeout = zkstore.DefaultSessionTimeout

// buildBerth builds ./cmd/berth as the tests' `berth` binary.
func buildBerth(t *testing.T) string {
	t.Helper()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "berth")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/berth")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build berth: %v\n%s", err, out)
	}
	return bin
}

type serverProc struct {
	id     string
	addr   string
	proc   *testenv.Process
	paused bool // SIGSTOPped: answers nothing, left out of agreement checks
}

func (s *serverProc) status() (server.Status, error) {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + s.addr + "/v1/status")
	if err != nil {
		return server.Status{}, err
	}
	defer resp.Body.Close()
	var st server.Status
	err = json.NewDecoder(resp.Body).Decode(&st)
	return st, err
}

// cluster3 starts a 3-server ZooKeeper ensemble and three berth servers on
// 127.0.0.2-4, and returns once they agree on a leader.
func cluster3(t *testing.T) (*testenv.ZooKeeper, []*serverProc, string) {
	t.Helper()
	testenv.Integration(t)
	bin := buildBerth(t)
	zk := testenv.StartZooKeeper(t, 3)
	url := zk.URL("/berth")
	var servers []*serverProc
	for i := range 3 {
		host := fmt.Sprintf("127.0.0.%d", i+2)
		s := &serverProc{id: fmt.Sprintf("server-%d", i+1), addr: fmt.Sprintf("%s:%d", host, testenv.FreePort(t, host))}
		s.proc = testenv.StartProcess(t, t.TempDir(), bin, "server", "--zk", url, "--listen", s.addr, "--id", s.id)
		servers = append(servers, s)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, s := range servers {
				t.Logf("--- %s output:\n%s", s.id, s.proc.Output())
			}
		}
	})
	leader := waitLeader(t, servers, "", 30*time.Second)
	return zk, servers, leader
}

// waitLeader waits until every running server reports the same leader,
// other than not, and that one reports itself leader.
func waitLeader(t *testing.T, servers []*serverProc, not string, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		leader, ok := agreedLeader(servers)
		if ok && leader != not {
			return leader
		}
		if time.Now().After(deadline) {
			var views []string
			for _, s := range servers {
				st, err := s.status()
				views = append(views, fmt.Sprintf("%s: %+v %v", s.id, st, err))
			}
			t.Fatalf("no agreed leader (other than %q) within %v:\n%s", not, within, strings.Join(views, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func agreedLeader(servers []*serverProc) (string, bool) {
	leader, leaders := "", 0
	for _, s := range servers {
		if !s.proc.Running() || s.paused {
			continue
		}
		st, err := s.status()
		if err != nil {
			return "", false
		}
		if leader == "" {
			leader = st.Leader
		}
		if st.Leader == "" || st.Leader != leader {
			return "", false
		}
		if st.Role == server.RoleLeader {
			if st.ID != leader {
				return "", false
			}
			leaders++
		}
	}
	return leader, leaders == 1
}

func byID(servers []*serverProc, id string) *serverProc {
	for _, s := range servers {
		if s.id == id {
			return s
		}
	}
	return nil
}

// TestHA runs the failure drills one after the other on one cluster of a
// 3-server ZooKeeper ensemble and three berth server processes (starting
// them costs more than any drill).
func TestHA(t *testing.T) {
	zk, servers, leader := cluster3(t)
	t.Logf("elected: %s", leader)
	drills := []struct {
		name string
		fn   func(t *testing.T, zk *testenv.ZooKeeper, servers []*serverProc)
	}{
		{"AgentLossDetected", testAgentLossDetected},
		{"PausedLeaderCannotWrite", testPausedLeaderCannotWrite},
		{"LeaderKilledIsReplaced", testLeaderKilledIsReplaced},
		{"QuorumLossStopsWrites", testQuorumLossStopsWrites},
	}
	for _, d := range drills {
		if !t.Run(d.name, func(t *testing.T) { d.fn(t, zk, servers) }) {
			return // later drills assume a healthy cluster
		}
	}
}

// testLeaderKilledIsReplaced: kill -9 of the leader; another server leads
// within the session timeout plus 2 s.
func testLeaderKilledIsReplaced(t *testing.T, _ *testenv.ZooKeeper, servers []*serverProc) {
	leader := waitLeader(t, servers, "", 10*time.Second)
	old := byID(servers, leader)
	start := time.Now()
	old.proc.Kill()
	next := waitLeader(t, servers, leader, sessionTimeout+2*time.Second)
	took := time.Since(start)
	t.Logf("leader %s killed with SIGKILL; %s took over after %v (session timeout %v)", leader, next, took.Round(10*time.Millisecond), sessionTimeout)
	if took > sessionTimeout+2*time.Second {
		t.Fatalf("takeover took %v, more than the session timeout + 2 s", took)
	}
	// The killed server comes back as a follower of the new leader.
	if err := old.proc.Start(); err != nil {
		t.Fatal(err)
	}
	if again := waitLeader(t, servers, "", 20*time.Second); again != next {
		t.Fatalf("leader changed to %s when %s came back", again, leader)
	}
}

// testPausedLeaderCannotWrite: the leader is paused (SIGSTOP) until its
// session expires and another server leads; when it wakes up, not one of
// its writes lands, and it steps down.
func testPausedLeaderCannotWrite(t *testing.T, zk *testenv.ZooKeeper, servers []*serverProc) {
	leader := waitLeader(t, servers, "", 10*time.Second)
	observer := openObserver(t, zk)
	rec := recordLeaderWrites(t, observer)

	old := byID(servers, leader)
	if err := old.proc.Pause(); err != nil {
		t.Fatal(err)
	}
	old.paused = true
	start := time.Now()
	next := waitLeader(t, servers, leader, sessionTimeout+5*time.Second)
	t.Logf("leader %s paused; %s took over after %v", leader, next, time.Since(start).Round(10*time.Millisecond))
	if err := old.proc.Resume(); err != nil {
		t.Fatal(err)
	}
	old.paused = false
	// The woken leader has a heartbeat overdue: it tries to write at once.
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := old.status()
		if err == nil && st.Role == server.RoleFollower && st.Leader == next {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("woken leader %s did not step down: %+v %v", leader, st, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(3 * time.Second) // a few heartbeats of the new leader, and any stray write of the old one
	writes := rec.stop()

	takeover := -1
	for i, w := range writes {
		if w.ID == next && takeover < 0 {
			takeover = i
		}
		if i > 0 && w.version != writes[i-1].version+1 {
			t.Fatalf("observer missed leader record versions %d..%d: cannot prove anything", writes[i-1].version+1, w.version-1)
		}
	}
	if takeover < 0 {
		t.Fatalf("no write of the new leader %s observed: %+v", next, writes)
	}
	for _, w := range writes[takeover:] {
		if w.ID != next {
			t.Fatalf("write by %s (term %d) after %s took over: %+v", w.ID, w.Term, next, writes)
		}
	}
	out := old.proc.Output()
	if !strings.Contains(out, "leadership lost") {
		t.Fatalf("old leader did not notice it lost leadership:\n%s", out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "heartbeat") || strings.Contains(line, "leader") || strings.Contains(line, "session") {
			t.Logf("old leader: %s", line)
		}
	}
	t.Logf("%d leader records observed, %d of them by %s after takeover, none by %s", len(writes), len(writes)-takeover, next, leader)
}

// testAgentLossDetected: an agent cut off from ZooKeeper is reported
// unreachable within its session timeout, and reachable again once back.
func testAgentLossDetected(t *testing.T, zk *testenv.ZooKeeper, servers []*serverProc) {
	leader := waitLeader(t, servers, "", 10*time.Second)
	lead := byID(servers, leader)
	px := zk.Proxy(t, 0)
	ctx := context.Background()
	octx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	agentStore, err := zkstore.Open(octx, zkstore.Config{Servers: []string{px.Addr()}, Chroot: "/berth"},
		zkstore.Options{SessionTimeout: sessionTimeout})
	if err != nil {
		t.Fatal(err)
	}
	defer agentStore.Close()
	if _, err := cluster.NewState(agentStore).RegisterAgent(ctx, cluster.Agent{ID: "agent-1", Address: "127.0.0.5"}); err != nil {
		t.Fatal(err)
	}
	reachable := func() (bool, bool) {
		st, err := lead.status()
		if err != nil || len(st.Agents) != 1 {
			return false, false
		}
		return st.Agents[0].Reachable, true
	}
	waitAgent(t, reachable, true, 10*time.Second)
	px.Block()
	start := time.Now()
	waitAgent(t, reachable, false, sessionTimeout+2*time.Second)
	took := time.Since(start)
	t.Logf("agent cut off; reported unreachable after %v (session timeout %v)", took.Round(10*time.Millisecond), sessionTimeout)
	if took > sessionTimeout+time.Second {
		t.Fatalf("agent loss took %v to detect", took)
	}
	// The log is read from the process's pipe as it comes, so the line may
	// land just after the API has answered: wait for it a little.
	logged := `msg="agent unreachable: its session expired" server=` + leader + ` agent=agent-1`
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(lead.proc.Output(), logged); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Errorf("leader did not log the agent loss")
			break
		}
	}
	px.Unblock()
	waitAgent(t, reachable, true, 2*sessionTimeout)
}

func waitAgent(t *testing.T, reachable func() (bool, bool), want bool, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if r, ok := reachable(); ok && r == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent reachable=%v not reported within %v", want, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func openObserver(t *testing.T, zk *testenv.ZooKeeper) *zkstore.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := zkstore.Open(ctx, zkstore.Config{Servers: zk.Addrs(), Chroot: "/berth"}, zkstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

type leaderWrite struct {
	cluster.LeaderRecord
	version int32
}

type recorder struct {
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	writes []leaderWrite
}

// recordLeaderWrites watches the leader record and keeps every version of
// it. The leader writes once a second, far slower than a watch re-arms, so
// a gap in versions would mean the recording is unsound, and is checked.
func recordLeaderWrites(t *testing.T, s *zkstore.Store) *recorder {
	ctx, cancel := context.WithCancel(context.Background())
	r := &recorder{cancel: cancel, done: make(chan struct{})}
	st := cluster.NewState(s)
	go func() {
		defer close(r.done)
		for ctx.Err() == nil {
			changed, err := s.Watch(ctx, "/leaderinfo")
			if err != nil {
				return
			}
			rec, v, err := st.LeaderRecord(ctx)
			if err == nil && v >= 0 {
				r.mu.Lock()
				if n := len(r.writes); n == 0 || r.writes[n-1].version != v {
					r.writes = append(r.writes, leaderWrite{rec, v})
				}
				r.mu.Unlock()
			} else if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("observer: %v", err)
			}
			select {
			case <-ctx.Done():
			case <-changed:
			}
		}
	}()
	t.Cleanup(func() { r.stop() })
	return r
}

func (r *recorder) stop() []leaderWrite {
	r.cancel()
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]leaderWrite(nil), r.writes...)
}

// testQuorumLossStopsWrites: with two of three ZooKeeper servers down for
// longer than the session timeout nothing can be written (the leader's
// heartbeats fail, then it gives its leadership up); once they are back the
// cluster converges on one leader whose heartbeats land again.
func testQuorumLossStopsWrites(t *testing.T, zk *testenv.ZooKeeper, servers []*serverProc) {
	leader := waitLeader(t, servers, "", 10*time.Second)
	observer := openObserver(t, zk)
	state := cluster.NewState(observer)
	ctx := context.Background()
	before, v0, err := state.LeaderRecord(ctx)
	if err != nil {
		t.Fatal(err)
	}
	down := []int{0, 1}
	for _, i := range down {
		zk.Servers[i].Kill()
	}
	// Longer than the session timeout: every server gives its leadership up
	// while ZooKeeper (which cannot expire anything without a quorum either)
	// may keep their sessions; the election must still converge.
	time.Sleep(sessionTimeout + 2*time.Second)
	lead := byID(servers, leader)
	if !strings.Contains(lead.proc.Output(), "heartbeat failed") {
		t.Errorf("leader %s wrote no failed heartbeat while the quorum was lost", leader)
	}
	for _, i := range down {
		if err := zk.Servers[i].Restart(); err != nil {
			t.Fatal(err)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := zk.WaitServing(wctx); err != nil {
		t.Fatalf("ensemble did not come back: %v", err)
	}
	start := time.Now()
	next := waitLeader(t, servers, "", 3*sessionTimeout)
	// Heartbeats land again: the record moves on from where it was.
	deadline := time.Now().Add(2 * sessionTimeout)
	for {
		rec, v, err := state.LeaderRecord(ctx)
		if err == nil && v > v0 && rec.ID == next && rec.Heartbeat.After(before.Heartbeat) {
			t.Logf("quorum back; leader %s (term %d, was %s term %d) writing again after %v",
				next, rec.Term, before.ID, before.Term, time.Since(start).Round(10*time.Millisecond))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no heartbeat of leader %s after the quorum came back: %+v v%d %v", next, rec, v, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
