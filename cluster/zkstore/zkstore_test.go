package zkstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/storetest"
	"github.com/berthops/berth/cluster/zkstore"
	"github.com/berthops/berth/testenv"
)

// The session timeout of test clients: short, so expiry tests are quick,
// and inside the ensemble's 2-20 tick bounds.
const testSession = 2 * time.Second

func open(t testing.TB, servers []string, chroot, user, pass string) *zkstore.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := zkstore.Open(ctx, zkstore.Config{Servers: servers, Chroot: chroot, User: user, Password: pass},
		zkstore.Options{SessionTimeout: testSession})
	if err != nil {
		t.Fatalf("open zkstore: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	testenv.Integration(t)
	zk := testenv.StartZooKeeper(t, 1)
	var n atomic.Int64
	var proxies sync.Map // *zkstore.Store -> *testenv.ZKProxy
	storetest.Run(t, storetest.Harness{
		Namespace: func(t *testing.T) func() cluster.Store {
			chroot := fmt.Sprintf("/conformance-%d", n.Add(1))
			return func() cluster.Store {
				px := zk.Proxy(t, 0)
				s := open(t, []string{px.Addr()}, chroot, "", "")
				proxies.Store(s, px)
				return s
			}
		},
		Expire: func(t *testing.T, s cluster.Store) {
			p, _ := proxies.Load(s)
			expire(t, s.(*zkstore.Store), p.(*testenv.ZKProxy))
		},
	})
}

// expire cuts a client off (as a partition or a paused process would) for
// longer than its session timeout, then lets it reconnect and waits until it
// has learnt its session expired.
func expire(t *testing.T, s *zkstore.Store, px *testenv.ZKProxy) {
	t.Helper()
	sess := s.Session()
	px.Block()
	// The ensemble expires sessions on tick boundaries after the timeout.
	time.Sleep(testSession + 3*testenv.TickTime)
	px.Unblock()
	select {
	case <-sess:
	case <-time.After(4 * testSession):
		t.Fatalf("client did not learn its session expired")
	}
	// Back in a new session once a read goes through.
	deadline := time.Now().Add(4 * testSession)
	for {
		if _, err := s.Children(context.Background(), "/"); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("client did not reconnect after its session expired")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDigestCredentialsProtectTheTree(t *testing.T) {
	testenv.Integration(t)
	zk := testenv.StartZooKeeper(t, 1)
	ctx := context.Background()
	berth := open(t, zk.Addrs(), "/secured", "berth", "s3cret")
	defer berth.Close()
	st := cluster.NewState(berth)
	if _, err := st.RegisterAgent(ctx, cluster.Agent{ID: "a1"}); err != nil {
		t.Fatal(err)
	}
	if err := berth.Multi(ctx, cluster.Put("/commit", []byte(`{"commit":"abc"}`))); err != nil {
		t.Fatal(err)
	}
	for _, creds := range [][2]string{{"", ""}, {"mallory", "guess"}} {
		other := open(t, zk.Addrs(), "/secured", creds[0], creds[1])
		if _, err := other.Get(ctx, "/commit"); err != nil {
			t.Errorf("%q cannot read Berth's tree: %v", creds[0], err)
		}
		if err := other.Multi(ctx, cluster.Set("/commit", []byte("x"), cluster.AnyVersion)); err == nil {
			t.Errorf("%q changed a node Berth protected", creds[0])
		}
		if err := other.Multi(ctx, cluster.Create("/agents/evil", nil)); err == nil {
			t.Errorf("%q created a node in a directory Berth protected", creds[0])
		}
		other.Close()
	}
}

func TestWritesAreBatched(t *testing.T) {
	testenv.Integration(t)
	zk := testenv.StartZooKeeper(t, 1)
	ctx := context.Background()
	s := open(t, zk.Addrs(), "/batched", "", "")
	defer s.Close()
	st := cluster.NewState(s)
	lead, err := s.Campaign(ctx, cluster.DirLeader, "s1")
	if err != nil {
		t.Fatal(err)
	}
	before := s.Stats().Transactions
	var b cluster.Batch
	for i := range 1000 {
		b.PutAssignment(cluster.Assignment{TaskID: fmt.Sprintf("app.%d", i), AgentID: fmt.Sprintf("agent-%d", i%10),
			Spec: cluster.TaskSpec{Image: "registry.example/app:1", Cmd: "serve --port $PORT0"}})
	}
	n, err := st.Commit(ctx, lead, &b)
	if err != nil {
		t.Fatal(err)
	}
	txns := s.Stats().Transactions - before
	t.Logf("1000 placements over 10 new agents: %d multi, %d transactions", n, txns)
	if txns > 2 {
		t.Fatalf("1000 small placements took %d transactions, want at most 2", txns)
	}
}

// TestCutOffLeaderStepsDown: a leader that cannot reach ZooKeeper gives its
// leadership up for lost after the session timeout, without waiting to
// reconnect and hear that its session expired; when it does reconnect it
// campaigns again normally.
func TestCutOffLeaderStepsDown(t *testing.T) {
	testenv.Integration(t)
	zk := testenv.StartZooKeeper(t, 1)
	ctx := context.Background()
	px := zk.Proxy(t, 0)
	s := open(t, []string{px.Addr()}, "/cutoff", "", "")
	defer s.Close()
	other := open(t, zk.Addrs(), "/cutoff", "", "")
	defer other.Close()
	lead, err := s.Campaign(ctx, cluster.DirLeader, "cut")
	if err != nil {
		t.Fatal(err)
	}
	px.Block()
	start := time.Now()
	select {
	case <-lead.Lost():
		t.Logf("cut-off leader stepped down after %v (session timeout %v)", time.Since(start).Round(10*time.Millisecond), testSession)
	case <-time.After(testSession + 2*time.Second):
		t.Fatalf("cut-off leader still leads after the session timeout")
	}
	px.Unblock()
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// Like berth server, campaign again until the connection is back.
	var again cluster.Leadership
	for again == nil {
		again, err = s.Campaign(cctx, cluster.DirLeader, "cut")
		if cctx.Err() != nil {
			t.Fatalf("campaign after reconnecting: %v", err)
		}
		if err != nil {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if err := s.Multi(ctx, again.Fence(), cluster.Put("/x", nil)); err != nil {
		t.Fatalf("fenced write of the new leadership: %v", err)
	}
	id, err := other.Leader(ctx, cluster.DirLeader)
	if err != nil || id != "cut" {
		t.Fatalf("leader = %q, %v", id, err)
	}
}

// TestWatchesAreShared: re-watching a node that does not change (what an
// agent does with each assignment after every change of its set) does not
// pile up watches or goroutines, and a change still reaches every watcher.
func TestWatchesAreShared(t *testing.T) {
	testenv.Integration(t)
	zk := testenv.StartZooKeeper(t, 1)
	ctx := context.Background()
	s := open(t, zk.Addrs(), "/shared", "", "")
	defer s.Close()
	if err := s.Multi(ctx, cluster.Create("/n", []byte("v"))); err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	for range 1000 {
		wctx, cancel := context.WithCancel(ctx)
		if _, err := s.Watch(wctx, "/n"); err != nil {
			t.Fatal(err)
		}
		cancel()
	}
	time.Sleep(50 * time.Millisecond)
	if grown := runtime.NumGoroutine() - before; grown > 10 {
		t.Fatalf("1000 abandoned watches left %d goroutines behind", grown)
	}
	w1, _ := s.Watch(ctx, "/n")
	w2, _ := s.Watch(ctx, "/n")
	if err := s.Multi(ctx, cluster.Set("/n", []byte("w"), cluster.AnyVersion)); err != nil {
		t.Fatal(err)
	}
	for i, w := range []<-chan cluster.Event{w1, w2} {
		select {
		case ev := <-w:
			if ev.Kind != cluster.EventChanged {
				t.Fatalf("watcher %d: %+v", i, ev)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("watcher %d not told of the change", i)
		}
	}
}

// TestWatchFuncNeedsNoGoroutinePerNode: a cache watching many nodes (the
// leader's mirror watches every assignment and status) costs no goroutine
// per watch, each change reaches its own node's function once, and
// closing the store tells the rest their watches are gone.
func TestWatchFuncNeedsNoGoroutinePerNode(t *testing.T) {
	testenv.Integration(t)
	zk := testenv.StartZooKeeper(t, 1)
	ctx := context.Background()
	s := open(t, zk.Addrs(), "/funcs", "", "")
	const n = 500
	ops := make([]cluster.Op, n)
	for i := range ops {
		ops[i] = cluster.Create(fmt.Sprintf("/n%03d", i), nil)
	}
	if err := s.Multi(ctx, ops...); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	got := map[string][]cluster.Event{}
	fired := make(chan struct{}, 2*n)
	before := runtime.NumGoroutine()
	for i := range n {
		p := fmt.Sprintf("/n%03d", i)
		if err := s.WatchFunc(ctx, p, false, func(ev cluster.Event) {
			mu.Lock()
			got[p] = append(got[p], ev)
			mu.Unlock()
			fired <- struct{}{}
		}); err != nil {
			t.Fatal(err)
		}
	}
	if grown := runtime.NumGoroutine() - before; grown > 10 {
		t.Fatalf("%d watches started %d goroutines", n, grown)
	}
	// Change the first half: each of their functions runs once.
	for i := range n / 2 {
		if err := s.Multi(ctx, cluster.Set(fmt.Sprintf("/n%03d", i), []byte("x"), cluster.AnyVersion)); err != nil {
			t.Fatal(err)
		}
	}
	for range n / 2 {
		select {
		case <-fired:
		case <-time.After(10 * time.Second):
			t.Fatal("a change was not told")
		}
	}
	// The rest hear that their watches are gone when the store closes.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for range n - n/2 {
		select {
		case <-fired:
		case <-time.After(10 * time.Second):
			t.Fatal("closing the store did not end every watch")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for i := range n {
		p := fmt.Sprintf("/n%03d", i)
		want := cluster.EventChanged
		if i >= n/2 {
			want = cluster.EventSessionLost
		}
		if len(got[p]) != 1 || got[p][0].Kind != want || got[p][0].Path != p {
			t.Errorf("%s: events %+v, want one of kind %d", p, got[p], want)
		}
	}
}

// TestPutBesideManySiblings: a put into a directory of thousands (an agent
// registering among 5,000, its first status beside 5,000 agents' status
// directories) reads no listing of that directory. The benchmark's agents
// use 4 KiB-class buffers here: a listing over the buffer makes the client
// close its connection, which dropped agents at about 4,850 of 5,000.
func TestPutBesideManySiblings(t *testing.T) {
	testenv.Integration(t)
	zk := testenv.StartZooKeeper(t, 1)
	ctx := context.Background()
	big := open(t, zk.Addrs(), "/siblings", "", "")
	defer big.Close()
	for start := 0; start < 2000; start += 500 {
		ops := make([]cluster.Op, 0, 500)
		for i := start; i < start+500; i++ {
			ops = append(ops, cluster.Create(fmt.Sprintf("/agents/agent-%05d", i), []byte("x")),
				cluster.Create(fmt.Sprintf("/statuses/agent-%05d/t", i), []byte("x")))
		}
		if err := big.Multi(ctx, ops...); err != nil {
			t.Fatal(err)
		}
	}
	octx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	// 2,000 names of 11 bytes list to about 30 KB: over this buffer.
	small, err := zkstore.Open(octx, zkstore.Config{Servers: zk.Addrs(), Chroot: "/siblings"},
		zkstore.Options{SessionTimeout: testSession, BufferSize: 8 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	for _, op := range []cluster.Op{
		cluster.Put("/agents/agent-02000", []byte("new")),           // a new node beside 2,000
		cluster.Put("/agents/agent-00007", []byte("again")),         // an existing one
		cluster.Put("/statuses/agent-02000/t1", []byte("first")),    // under a missing directory
		cluster.Put("/statuses/agent-02001/sub/t1", []byte("deep")), // two missing levels
		cluster.Create("/statuses/agent-02002", nil),                // a create beside 2,000
	} {
		before := small.Stats().Transactions
		if err := small.Multi(ctx, op); err != nil {
			t.Fatalf("put %s: %v", op.Path, err)
		}
		if n := small.Stats().Transactions - before; n != 1 {
			t.Errorf("put %s: %d transactions, want 1", op.Path, n)
		}
		n, err := small.Get(ctx, op.Path)
		if err != nil || !bytes.Equal(n.Data, op.Data) {
			t.Fatalf("get %s: %q, %v", op.Path, n.Data, err)
		}
	}
}

// TestGetWatchFunc: one request reads a node and watches it; a change
// calls the function once; a missing node is ErrNotFound with nothing armed.
func TestGetWatchFunc(t *testing.T) {
	testenv.Integration(t)
	zk := testenv.StartZooKeeper(t, 1)
	ctx := context.Background()
	s := open(t, zk.Addrs(), "/getw", "", "")
	defer s.Close()
	if err := s.Multi(ctx, cluster.Create("/n", []byte("v1"))); err != nil {
		t.Fatal(err)
	}
	fired := make(chan cluster.Event, 4)
	n, err := s.GetWatchFunc(ctx, "/n", func(ev cluster.Event) { fired <- ev })
	if err != nil || string(n.Data) != "v1" {
		t.Fatalf("GetWatchFunc /n: %q, %v", n.Data, err)
	}
	if err := s.Multi(ctx, cluster.Set("/n", []byte("v2"), cluster.AnyVersion)); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-fired:
		if ev.Kind != cluster.EventChanged || ev.Path != "/n" {
			t.Fatalf("event %+v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the change was not told")
	}
	if _, err := s.GetWatchFunc(ctx, "/missing", func(ev cluster.Event) { fired <- ev }); !errors.Is(err, cluster.ErrNotFound) {
		t.Fatalf("GetWatchFunc /missing: %v, want ErrNotFound", err)
	}
	// Neither the second change of /n (its watch fired already) nor the
	// creation of /missing calls anything; a fresh watch on /n sees the
	// last change, which proves the others were delivered by then.
	if err := s.Multi(ctx, cluster.Create("/missing", nil), cluster.Set("/n", []byte("v3"), cluster.AnyVersion)); err != nil {
		t.Fatal(err)
	}
	w, err := s.Watch(ctx, "/n")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Multi(ctx, cluster.Set("/n", []byte("v4"), cluster.AnyVersion)); err != nil {
		t.Fatal(err)
	}
	<-w
	if len(fired) != 0 {
		t.Fatalf("%d more calls, want none", len(fired))
	}
}
