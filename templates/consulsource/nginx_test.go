package consulsource_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/templates"
	"github.com/berthops/berth/templates/consulsource"
	"github.com/berthops/berth/testenv"
)

// walkthroughUpstream is the walkthrough's nginx upstream template.
const walkthroughUpstream = `upstream web {
{{- range service "web" }}
  server {{ .Address }}:{{ .Port }};
{{- end }}
}
`

// backend is a tiny HTTP server on a loopback address that answers its name.
type backend struct {
	name string
	host string
	port int
}

func startBackend(t *testing.T, name, host string) backend {
	t.Helper()
	l, err := net.Listen("tcp", host+":0")
	if err != nil {
		t.Fatalf("listen on %s: %v", host, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, name) })}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return backend{name: name, host: host, port: l.Addr().(*net.TCPAddr).Port}
}

func register(t *testing.T, client *api.Client, b backend) {
	t.Helper()
	err := client.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "web-" + b.name, Name: "web", Address: b.host, Port: b.port})
	if err != nil {
		t.Fatalf("register %s: %v", b.name, err)
	}
}

// servedSet asks nginx until every name in want has answered (round-robin
// across all of them) or 10 seconds pass.
func waitServes(t *testing.T, n *testenv.Nginx, want ...string) {
	t.Helper()
	sort.Strings(want)
	deadline := time.Now().Add(10 * time.Second)
	for {
		seen := map[string]bool{}
		for i := 0; i < 4*len(want); i++ {
			if body, err := n.Get(context.Background(), "/"); err == nil {
				seen[body] = true
			}
		}
		var got []string
		for k := range seen {
			got = append(got, k)
		}
		sort.Strings(got)
		if strings.Join(got, ",") == strings.Join(want, ",") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx served %v, want round-robin across %v\n%s", got, want, n.ErrorLog())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func statusOf(r *templates.Runner, id string) templates.Status {
	for _, s := range r.Status() {
		if s.ID == id {
			return s
		}
	}
	return templates.Status{}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestNginxUpstreamFromConsul is the walkthrough end to end: instances
// registered in Consul become nginx upstream servers; scaling changes the
// upstream and nginx round-robins across all; a template that nginx -t
// rejects leaves the old file and nginx serving; Consul going away for 30
// seconds (and coming back empty, until its agents re-register) changes
// nothing.
func TestNginxUpstreamFromConsul(t *testing.T) {
	consul := testenv.StartConsul(t)
	client := consulClient(t, consul)
	a := startBackend(t, "a", "127.0.0.2")
	b := startBackend(t, "b", "127.0.0.3")
	c := startBackend(t, "c", "127.0.0.4")
	register(t, client, a)
	register(t, client, b)

	nginx := testenv.StartNginx(t, "location / { proxy_pass http://web; }",
		map[string]string{"upstream.conf": "upstream web { server 127.0.0.1:9; }\n"})
	dest := filepath.Join(nginx.ConfDir, "upstream.conf")
	src, err := consulsource.New(consul.Addr)
	if err != nil {
		t.Fatal(err)
	}
	spec := manifests.Template{ID: "web-upstream", Contents: walkthroughUpstream, Destination: dest,
		Validate: nginx.TestCommand(), Command: nginx.ReloadCommand()}
	r, err := templates.NewRunner([]manifests.Template{spec}, templates.RunnerOptions{
		Source: src, RetryMin: 100 * time.Millisecond, RetryMax: time.Second, RecoveryHold: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	two := fmt.Sprintf("upstream web {\n  server 127.0.0.2:%d;\n  server 127.0.0.3:%d;\n}\n", a.port, b.port)
	eventually(t, "upstream with two instances", func() bool { got, _ := os.ReadFile(dest); return string(got) == two })
	waitServes(t, nginx, "a", "b")

	// Scale up.
	register(t, client, c)
	three := fmt.Sprintf("upstream web {\n  server 127.0.0.2:%d;\n  server 127.0.0.3:%d;\n  server 127.0.0.4:%d;\n}\n", a.port, b.port, c.port)
	eventually(t, "upstream with three instances", func() bool { got, _ := os.ReadFile(dest); return string(got) == three })
	waitServes(t, nginx, "a", "b", "c")

	// A template nginx rejects (no semicolons): the previous file is put
	// back, nothing reloads, nginx keeps serving all three.
	bad := spec
	bad.Contents = strings.ReplaceAll(walkthroughUpstream, ";", "")
	rBad, err := templates.NewRunner([]manifests.Template{bad}, templates.RunnerOptions{Source: src})
	if err != nil {
		t.Fatal(err)
	}
	onceCtx, onceCancel := context.WithTimeout(context.Background(), 30*time.Second)
	err = rBad.RunOnce(onceCtx)
	onceCancel()
	if err == nil || !strings.Contains(err.Error(), "validate failed, previous file restored") {
		t.Fatalf("RunOnce with a template nginx -t rejects: err = %v", err)
	}
	if got, _ := os.ReadFile(dest); string(got) != three {
		t.Fatalf("after failed validation the upstream is %q, want the previous one", got)
	}
	if !nginx.Running() {
		t.Fatal("nginx stopped")
	}
	waitServes(t, nginx, "a", "b", "c")

	// Consul goes away for 30 s, comes back empty (dev mode keeps nothing),
	// and the agents re-register a few seconds later.
	writes := statusOf(r, "web-upstream").Writes
	consul.Stop()
	eventually(t, "source error in status", func() bool {
		return strings.Contains(statusOf(r, "web-upstream").SourceErr, "data source error")
	})
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(time.Second) {
		if got, _ := os.ReadFile(dest); string(got) != three {
			t.Fatalf("upstream changed while Consul was down: %q", got)
		}
	}
	consul.Restart()
	time.Sleep(2 * time.Second)
	client = consulClient(t, consul)
	register(t, client, a)
	register(t, client, b)
	register(t, client, c)
	eventually(t, "source recovered", func() bool { return statusOf(r, "web-upstream").SourceErr == "" })
	if got, _ := os.ReadFile(dest); string(got) != three {
		t.Fatalf("upstream after Consul came back: %q, want %q", got, three)
	}
	if w := statusOf(r, "web-upstream").Writes; w != writes {
		t.Errorf("upstream written %d times during the outage, want 0", w-writes)
	}
	waitServes(t, nginx, "a", "b", "c")

	// A true scale to zero (Consul healthy) renders as the template says;
	// nginx -t rejects the empty upstream, so the last file nginx accepted
	// stays (deregistrations arrive one by one, so that may hold fewer than
	// three servers) and the status says why.
	for _, id := range []string{"web-a", "web-b", "web-c"} {
		if err := client.Agent().ServiceDeregister(id); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "validation failure for the empty upstream", func() bool {
		return strings.Contains(statusOf(r, "web-upstream").Err, "validate failed")
	})
	if got, _ := os.ReadFile(dest); !strings.Contains(string(got), "server 127.0.0.") {
		t.Fatalf("upstream after scale to zero: %q, want the last valid one", got)
	}
	if !nginx.Running() {
		t.Fatal("nginx stopped")
	}
}
