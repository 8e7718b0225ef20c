package zkstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/zkstore"
	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/testenv"
)

func openWith(t testing.TB, servers []string, chroot string, c zkstore.Credential, ids *zkstore.Identities) *zkstore.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := zkstore.Open(ctx, zkstore.Config{Servers: servers, Chroot: chroot, User: c.User, Password: c.Password},
		zkstore.Options{SessionTimeout: testSession, Identities: ids})
	if err != nil {
		t.Fatalf("open zkstore as %q: %v", c.User, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestAgentIdentities checks finding 6 of issue 16 on a real ZooKeeper: with
// an identity per agent, an agent writes its own registration and statuses
// and reads its own assignments, and nothing else: not another agent's
// status, registration or assignments, nor any assignment, nor the leader's
// nodes. A client without credentials reads nothing.
func TestAgentIdentities(t *testing.T) {
	testenv.Integration(t)
	zk := testenv.StartZooKeeper(t, 1)
	ctx := context.Background()
	secret := []byte("agent-secret-" + testenv.UniqueID(t))
	const chroot = "/identities"
	srv := zkstore.Credential{User: "berth-server", Password: "server-pw"}
	server := openWith(t, zk.Addrs(), chroot, srv, zkstore.ServerIdentities(srv.User, srv.Password, secret))
	st := cluster.NewState(server)
	if err := st.EnsureLayout(ctx); err != nil {
		t.Fatal(err)
	}
	lead, err := server.Campaign(ctx, cluster.DirLeader, "s1")
	if err != nil {
		t.Fatal(err)
	}
	var b cluster.Batch
	for _, a := range []string{"a1", "a2"} {
		b.PutAssignment(cluster.Assignment{TaskID: a + "-task", AgentID: a, Spec: cluster.TaskSpec{Image: "x", Env: map[string]string{"DB_PASSWORD": "hunter2"}}})
	}
	b.PutTemplate(cluster.PublishTemplate(manifests.Template{ID: "/edge", Contents: "x\n", Destination: "/etc/edge.conf"}))
	if _, err := st.Commit(ctx, lead, &b); err != nil {
		t.Fatal(err)
	}
	if err := server.Multi(ctx, cluster.Put("/commit", []byte(`{"commit":"abc"}`))); err != nil {
		t.Fatal(err)
	}

	agentStore := func(id string) *zkstore.Store {
		idn := zkstore.IssueAgentIdentity(srv.User, srv.Password, secret, id)
		parsed, err := zkstore.ParseAgentIdentity(idn.Format())
		if err != nil {
			t.Fatalf("identity file of %s: %v", id, err)
		}
		return openWith(t, zk.Addrs(), chroot, parsed.Agent, parsed.Identities())
	}
	a1, a2 := agentStore("a1"), agentStore("a2")
	s1, s2 := cluster.NewState(a1), cluster.NewState(a2)
	for id, s := range map[string]*cluster.State{"a1": s1, "a2": s2} {
		if _, err := s.RegisterAgent(ctx, cluster.Agent{ID: id}); err != nil {
			t.Fatalf("agent %s registers itself: %v", id, err)
		}
		if err := s.PutStatuses(ctx, cluster.TaskStatus{TaskID: id + "-task", AgentID: id, State: cluster.TaskRunning}); err != nil {
			t.Fatalf("agent %s reports its own status: %v", id, err)
		}
		as, err := s.Assignments(ctx, id)
		if err != nil || len(as) != 1 || as[0].Value.Spec.Env["DB_PASSWORD"] != "hunter2" {
			t.Fatalf("agent %s reads its own assignments: %v %+v", id, err, as)
		}
	}
	if _, err := s1.Templates(ctx); err != nil {
		t.Errorf("an agent cannot read the published templates: %v", err)
	}
	// The server reads everything the agents wrote.
	if tasks, err := st.Tasks(ctx); err != nil || len(tasks) != 2 {
		t.Errorf("server reads tasks: %v (%d)", err, len(tasks))
	}

	// What agent a1 must not do.
	denied := map[string]func() error{
		"write a2's status": func() error {
			return s1.PutStatuses(ctx, cluster.TaskStatus{TaskID: "a2-task", AgentID: "a2", State: cluster.TaskFailed})
		},
		"add a status under a2": func() error {
			return s1.PutStatuses(ctx, cluster.TaskStatus{TaskID: "forged", AgentID: "a2", State: cluster.TaskFailed})
		},
		"overwrite a2's registration": func() error {
			return a1.Multi(ctx, cluster.Put("/agents/a2", []byte(`{"id":"a2","address":"evil"}`)))
		},
		"change its own assignment": func() error {
			return a1.Multi(ctx, cluster.Put("/assignments/a1/a1-task", []byte(`{"spec":{"image":"evil","privileged":true}}`)))
		},
		"add an assignment for itself": func() error {
			return a1.Multi(ctx, cluster.Create("/assignments/a1/evil", []byte(`{}`)))
		},
		"write the applied commit": func() error {
			return a1.Multi(ctx, cluster.Put("/commit", []byte(`{"commit":"evil"}`)))
		},
		"read a2's assignments": func() error {
			_, err := s1.Assignments(ctx, "a2")
			return err
		},
	}
	for what, f := range denied {
		if err := f(); err == nil {
			t.Errorf("agent a1 could %s", what)
		}
	}

	// Without credentials, or with the old shared one, nothing is readable.
	anon := openWith(t, zk.Addrs(), chroot, zkstore.Credential{}, nil)
	for _, p := range []string{"/assignments/a1/a1-task", "/agents/a1", "/statuses/a1/a1-task", "/commit", "/templates"} {
		if _, err := anon.Get(ctx, p); err == nil || notFound(err) {
			t.Errorf("an anonymous client read %s (err %v)", p, err)
		}
	}
	if _, err := anon.Children(ctx, "/agents"); err == nil {
		t.Errorf("an anonymous client listed the agents")
	}
}

// notFound reports whether err says the node is missing rather than
// refused: the anonymous reads above must be refused, not find nothing.
func notFound(err error) bool { return errors.Is(err, cluster.ErrNotFound) }
