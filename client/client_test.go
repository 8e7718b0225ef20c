package client_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/client"
	"github.com/berthops/berth/client/clienttest"
	"github.com/berthops/berth/reconciler"
)

const webApp = `kind: App
id: /web
instances: %d
cpus: 0.1
mem: 32
container:
  type: DOCKER
  docker:
    image: berth/web:dev
    network: BRIDGE
  portMappings:
    - containerPort: 80
`

func TestClientAgainstServer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a berth server; skipped under -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	env := clienttest.Start(t, clienttest.Options{Agents: []string{"a1", "a2"}})
	c, err := client.New(env.URL+"/", clienttest.Token, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Healthz(ctx); err != nil {
		t.Fatalf("healthz: %v", err)
	}
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	if st.Leader != "s1" || st.Role != "leader" || len(st.Agents) != 2 {
		t.Errorf("status = %+v, want s1 leading with 2 agents", st)
	}

	commit := env.Push(t, map[string]string{"apps/web.yaml": fmt.Sprintf(webApp, 3)}, "web x3")
	gen, err := c.Sync(ctx)
	if err != nil || gen == 0 {
		t.Fatalf("sync: generation %d, %v", gen, err)
	}
	env.Converged(t, commit)
	ss, err := c.SyncStatus(ctx)
	if err != nil {
		t.Fatalf("sync status: %v", err)
	}
	if ss.Fetched < gen {
		t.Errorf("converged to the pushed commit, but fetched generation %d < requested %d", ss.Fetched, gen)
	}
	if ss.Desired != commit || !ss.Converged || len(ss.Apps) != 1 || ss.Apps[0].Health != "Healthy" {
		t.Errorf("sync status = %+v, want converged to %s with /web healthy", ss, commit)
	}
	apps, err := c.Apps(ctx)
	if err != nil || len(apps) != 1 || apps[0].ID != "/web" || apps[0].Instances != 3 {
		t.Errorf("apps = %+v, %v; want /web with 3 instances", apps, err)
	}
	app, err := c.App(ctx, "/web")
	if err != nil || app.ID != "/web" {
		t.Errorf("app /web = %+v, %v", app, err)
	}
	if _, err := c.App(ctx, "/nope"); !client.NotFound(err) || !strings.Contains(err.Error(), "no app /nope") {
		t.Errorf("app /nope: err = %v, want a 404 with the server's message", err)
	}
	tasks, err := c.Tasks(ctx, "/web")
	if err != nil || len(tasks) != 3 {
		t.Errorf("tasks of /web = %d, %v; want 3", len(tasks), err)
	}
	if tasks, err := c.Tasks(ctx, "/other"); err != nil || len(tasks) != 0 {
		t.Errorf("tasks of /other = %d, %v; want none", len(tasks), err)
	}
	agents, err := c.Agents(ctx)
	if err != nil || len(agents) != 2 {
		t.Errorf("agents = %+v, %v; want 2", agents, err)
	}

	// Events: the current status first, then the scale-down as it happens.
	next := env.Push(t, map[string]string{"apps/web.yaml": fmt.Sprintf(webApp, 1)}, "web x1")
	var seen []reconciler.Status
	err = c.Events(ctx, func(s reconciler.Status) error {
		if len(seen) == 0 {
			if _, err := c.Sync(ctx); err != nil {
				return err
			}
		}
		seen = append(seen, s)
		if s.Desired == next && s.Converged {
			return client.ErrStop
		}
		return nil
	})
	if err != nil {
		t.Fatalf("events: %v", err)
	}
	if seen[0].Desired != commit {
		t.Errorf("first event desired %s, want the current commit %s", seen[0].Desired, commit)
	}

	// A filtered stream: only the apps asked for, the commit fields kept.
	for _, c2 := range []struct {
		f    client.EventFilter
		apps int
	}{
		{client.EventFilter{Apps: []string{"/web"}}, 1},
		{client.EventFilter{Apps: []string{"/other", "/group/"}}, 0},
		{client.EventFilter{Agent: "no-such-agent"}, 0},
	} {
		var first reconciler.Status
		if err := c.EventsOf(ctx, c2.f, func(s reconciler.Status) error { first = s; return client.ErrStop }); err != nil {
			t.Fatalf("events of %+v: %v", c2.f, err)
		}
		if len(first.Apps) != c2.apps || first.Desired != next {
			t.Errorf("events of %+v: first status has %d apps (want %d), desired %s (want %s)", c2.f, len(first.Apps), c2.apps, first.Desired, next)
		}
	}
	if err := c.EventsOf(ctx, client.EventFilter{Apps: []string{"web"}}, func(reconciler.Status) error { return client.ErrStop }); err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("events of app \"web\" (no leading /): %v, want the server's 400", err)
	}
}

func TestClientErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a berth server; skipped under -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	env := clienttest.Start(t, clienttest.Options{ProtectReads: true})

	anon, _ := client.New(env.URL, "", nil)
	_, err := anon.Sync(ctx)
	if !client.Unauthorized(err) || !strings.Contains(err.Error(), "POST "+env.URL+"/v1/sync: 401 Unauthorized: this endpoint needs a bearer token") {
		t.Errorf("sync without a token: %v", err)
	}
	if _, err := anon.Apps(ctx); !client.Unauthorized(err) {
		t.Errorf("apps without a token on a server protecting reads: %v", err)
	}
	wrong, _ := client.New(env.URL, "wrong", nil)
	if _, err := wrong.Tasks(ctx, ""); !client.Unauthorized(err) {
		t.Errorf("tasks with a wrong token: %v", err)
	}
	if err := wrong.Events(ctx, func(reconciler.Status) error { return nil }); !client.Unauthorized(err) {
		t.Errorf("events with a wrong token: %v", err)
	}
	good, _ := client.New(env.URL, clienttest.Token+"\n", nil) // as read from a token file
	if _, err := good.Apps(ctx); err != nil {
		t.Errorf("apps with the token: %v", err)
	}

	// Nothing listens on this port once the listener is closed.
	down, _ := client.New("http://127.0.0.1:1", "", nil)
	if err := down.Healthz(ctx); err == nil || !strings.Contains(err.Error(), "GET http://127.0.0.1:1/healthz") {
		t.Errorf("healthz of a server that is down: %v", err)
	}
	ended, stop := context.WithCancel(ctx)
	stop()
	if err := good.Events(ended, func(reconciler.Status) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("events with an ended context: %v", err)
	}
}

func TestNewRejectsBadURLs(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:8080", "ftp://host", "http://", "http://[::1"} {
		if _, err := client.New(u, "", nil); err == nil {
			t.Errorf("New(%q) accepted it", u)
		}
	}
	if _, err := client.New("https://berth.example:8443/prefix/", "", nil); err != nil {
		t.Errorf("New with a path prefix: %v", err)
	}
}
