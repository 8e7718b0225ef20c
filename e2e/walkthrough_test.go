package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/testenv"
)

// lbAddr is the load-balancer node's nginx: its own loopback address, and
// the walkthrough's port 8085.
const lbAddr = "127.0.0.24:8085"

// walkthroughRepo is examples/ adapted to the test machine, path by path.
// Every change is made with Adapt, so an example that changes shape fails
// the test instead of running unadapted.
func walkthroughRepo(t *testing.T, nginx *testenv.Nginx, volume string) map[string]string {
	ex := ExampleFiles(t)
	small := func(name, s string) string {
		// Tiny containers: the machine is shared by every test.
		for _, cpus := range []string{"cpus: 0.5", "cpus: 0.3", "cpus: 0.2", "cpus: 0.1"} {
			s = strings.Replace(s, cpus, "cpus: 0.05", 1)
		}
		for _, mem := range []string{"mem: 64", "mem: 32"} {
			s = strings.Replace(s, mem, "mem: 16", 1)
		}
		return s
	}
	out := map[string]string{}
	for p, s := range ex {
		out[p] = small(p, s)
	}
	// The walkthrough had three slaves; here two agents hold the three
	// instances, so UNIQUE on hostname could place only two.
	out["apps/nginx.yaml"] = Adapt(t, "apps/nginx.yaml", out["apps/nginx.yaml"], "constraints:\n  - [hostname, UNIQUE]\n", "")
	// Health checked every second: the walkthrough's 10 s would make each
	// step wait for a check.
	out["apps/nginx.yaml"] = Adapt(t, "apps/nginx.yaml", out["apps/nginx.yaml"], "gracePeriodSeconds: 30\n    intervalSeconds: 10\n    timeoutSeconds: 5", "gracePeriodSeconds: 10\n    intervalSeconds: 1\n    timeoutSeconds: 1")
	out["apps/nginx.yaml"] = Adapt(t, "apps/nginx.yaml", out["apps/nginx.yaml"], "instances: 1", "instances: 3")
	// The volume's host directory is the test's own, not a shared /tmp path.
	out["apps/nginx-1.yaml"] = Adapt(t, "apps/nginx-1.yaml", out["apps/nginx-1.yaml"], "hostPath: /tmp/berth-examples/www", "hostPath: "+volume)
	// The test's nginx has its own prefix and configuration file; its
	// conf.d is included at http level, and the upstream is rendered by the
	// first agent only (the load-balancer role; both agents run
	// --templates).
	tmpl := out["templates/nginx.berth.yaml"]
	tmpl = Adapt(t, "templates/nginx.berth.yaml", tmpl, "destination: /etc/nginx/conf.d/berth-upstream.conf", "destination: "+filepath.Join(nginx.ConfDir, "berth-upstream.conf"))
	tmpl = Adapt(t, "templates/nginx.berth.yaml", tmpl, "command: nginx -s reload", "command: "+nginx.ReloadCommand())
	tmpl = Adapt(t, "templates/nginx.berth.yaml", tmpl, "validate: nginx -t", "validate: "+nginx.TestCommand())
	tmpl = Adapt(t, "templates/nginx.berth.yaml", tmpl, "min: 2s\n  max: 10s", "min: 500ms\n  max: 2s")
	out["templates/nginx.berth.yaml"] = tmpl + "constraints:\n  - [hostname, IS, agent-1]\n"
	// Port 8085 on the load-balancer node's own loopback address: other
	// tests on this machine may hold 8085 elsewhere.
	out["templates/nginx.ctmpl"] = Adapt(t, "templates/nginx.ctmpl", out["templates/nginx.ctmpl"], "listen 8085;", "listen "+lbAddr+";")
	return out
}

// pick returns the entries of files named by paths.
func pick(files map[string]string, paths ...string) map[string]string {
	out := map[string]string{}
	for _, p := range paths {
		out[p] = files[p]
	}
	return out
}

// TestWalkthrough is the classic Mesos + Marathon + Chronos + Consul +
// nginx walkthrough on real components: a three-server ZooKeeper ensemble,
// three berth servers, two agents (127.0.0.2 and .3, the first also
// rendering templates), Consul, and nginx on the load-balancer address,
// every step a commit of examples/ pushed over smart HTTP. It also holds
// the drills cheapest to run on a cluster that is already up: a template
// that breaks nginx, and writes without a token.
func TestWalkthrough(t *testing.T) {
	testenv.Integration(t)
	// nginx binds lbAddr only when it loads the rendered template: a port
	// already taken would show up later as a confusing refused connection.
	ln, err := net.Listen("tcp", lbAddr)
	if err != nil {
		t.Fatalf("the load balancer's address %s is taken (another test or service?): %v", lbAddr, err)
	}
	ln.Close()
	nginx := testenv.StartNginx(t, "    location / { return 200 \"lb\\n\"; }", nil)
	volume := t.TempDir()
	if err := os.WriteFile(filepath.Join(volume, "index.html"), []byte("from the volume\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The agents' policy allows what the walkthrough needs and no more: the
	// volume's directory, nginx's conf.d for the template, nginx itself for
	// its validate and reload.
	c := Start(t, Options{Servers: 3, Agents: 2, AgentArgs: []string{"--templates", "--allow-host-path", volume,
		"--template-root", nginx.ConfDir, "--allow-template-command", strings.Fields(nginx.ReloadCommand())[0]},
		AgentResources: "cpus:2;mem:1024;disk:4000"})
	files := walkthroughRepo(t, nginx, volume)
	ctx := context.Background()
	upstream := filepath.Join(nginx.ConfDir, "berth-upstream.conf")

	// The nginx app with 3 instances, the queues and the upstream template.
	c.Repo.Push(t, "nginx app, queues, upstream template", pick(files, "apps/nginx.yaml", "queues.yaml", "templates/nginx.berth.yaml", "templates/nginx.ctmpl"))
	c.Webhook(nil)
	web := c.WaitHealthy("/nginx", 3, 2*time.Minute)
	c.Wait("the 3 nginx tasks passing in Consul", 30*time.Second, func(ctx context.Context) error {
		return wantInstances(ctx, c, "nginx", web)
	})
	c.Wait("nginx on "+lbAddr+" round-robin over the 3 tasks", time.Minute, func(ctx context.Context) error {
		return wantRoundRobin(ctx, web)
	})

	// Tomcat, then scaled to 2: CLUSTER on hostname keeps both on one host.
	c.Repo.Push(t, "tomcat", pick(files, "apps/tomcat-1.yaml"))
	c.Webhook(nil)
	tomcat := c.WaitHealthy("/tomcat-1", 1, time.Minute)
	wantAnswers(t, c, tomcat)
	c.Repo.Push(t, "scale tomcat to 2", map[string]string{"apps/tomcat-1.yaml": Adapt(t, "apps/tomcat-1.yaml", files["apps/tomcat-1.yaml"], "instances: 1", "instances: 2")})
	c.Webhook(nil)
	tomcat = c.WaitHealthy("/tomcat-1", 2, time.Minute)
	if tomcat[0].AgentID != tomcat[1].AgentID {
		t.Fatalf("CLUSTER on hostname placed tomcat on two agents: %s", Describe(tomcat))
	}
	wantAnswers(t, c, tomcat)

	// The volume app and the fixed-port app.
	c.Repo.Push(t, "volume and fixed-port apps", pick(files, "apps/nginx-1.yaml", "apps/nginx-2.yaml"))
	c.Webhook(nil)
	vol := c.WaitHealthy("/nginx-1", 1, time.Minute)
	info, err := c.Docker.ContainerInspect(ctx, vol[0].Status.ContainerID)
	if err != nil {
		t.Fatalf("inspect the volume app's container: %v", err)
	}
	if !slices.ContainsFunc(info.Mounts, func(m container.MountPoint) bool {
		return m.Source == volume && m.Destination == "/usr/share/nginx/html" && m.RW
	}) {
		t.Fatalf("the volume app's container mounts %+v, want %s on /usr/share/nginx/html read-write", info.Mounts, volume)
	}
	fixed := c.WaitHealthy("/nginx-2", 1, time.Minute)
	if !slices.Equal(fixed[0].Status.HostPorts, []int{31030}) {
		t.Fatalf("the fixed-port app has host ports %v, want [31030]", fixed[0].Status.HostPorts)
	}
	wantAnswers(t, c, fixed)

	// The daily job and its dependent: a manual run of the first starts the
	// second once it succeeded, each exactly once.
	c.Repo.Push(t, "the daily job and its report", pick(files, "jobs/chronos-nginx.yaml", "jobs/chronos-nginx-report.yaml", "apps/basic-0.json"))
	c.Webhook(nil)
	c.WaitHealthy("/basic-0", 1, time.Minute)
	c.Wait("the jobs known to the leader", 30*time.Second, func(ctx context.Context) error {
		jobs, err := c.Client(nil).Jobs(ctx)
		if err != nil {
			return err
		}
		if len(jobs) != 2 {
			return fmt.Errorf("%d jobs: %+v", len(jobs), jobs)
		}
		return nil
	})
	// The schedule started in 2018, so the leader runs today's missed
	// occurrence at once (Chronos does too); the manual trigger comes after
	// it, since a job does not run twice at the same time.
	c.Wait("the catch-up run of chronos-nginx ended", time.Minute, func(ctx context.Context) error {
		runs, err := c.Client(nil).JobRuns(ctx, "chronos-nginx")
		if err != nil {
			return err
		}
		caughtUp := false
		for _, r := range runs {
			if !r.State.Ended() {
				return fmt.Errorf("runs %s", describeRuns(runs))
			}
			caughtUp = caughtUp || r.Trigger == cluster.TriggerSchedule
		}
		if !caughtUp {
			return fmt.Errorf("no scheduled run yet: %s", describeRuns(runs))
		}
		return nil
	})
	// A write without the token is refused and triggers nothing.
	leader := c.WaitLeader(30 * time.Second)
	for _, path := range []string{"/v1/jobs/chronos-nginx/run", "/v1/sync"} {
		code, err := Post(ctx, leader.URL+path, "")
		if err != nil || code != http.StatusUnauthorized {
			t.Fatalf("POST %s without a token: %d %v, want 401", path, code, err)
		}
	}
	if runs := manualRuns(t, c, "chronos-nginx"); len(runs) != 0 {
		t.Fatalf("a run without a token started %d runs: %+v", len(runs), runs)
	}
	triggered := time.Now()
	if err := c.Client(leader).RunJob(ctx, "chronos-nginx"); err != nil {
		t.Fatalf("run chronos-nginx: %v", err)
	}
	var daily cluster.JobRun
	c.Wait("chronos-nginx's manual run succeeded", time.Minute, func(ctx context.Context) error {
		runs, err := c.Client(nil).JobRuns(ctx, "chronos-nginx")
		if err != nil {
			return err
		}
		for _, r := range runs {
			if r.Trigger == cluster.TriggerManual && r.State == cluster.JobRunSucceeded {
				daily = r
				return nil
			}
		}
		return fmt.Errorf("runs %s", describeRuns(runs))
	})
	c.Wait("chronos-nginx-report run after it", time.Minute, func(ctx context.Context) error {
		runs, err := c.Client(nil).JobRuns(ctx, "chronos-nginx-report")
		if err != nil {
			return err
		}
		for _, r := range runs {
			if r.Trigger == cluster.TriggerParents && r.State == cluster.JobRunSucceeded && !r.StartedAt.Before(daily.FinishedAt) {
				return nil
			}
		}
		return fmt.Errorf("runs %s", describeRuns(runs))
	})
	t.Logf("job and dependent done %s after the trigger", time.Since(triggered).Round(100*time.Millisecond))
	if runs := manualRuns(t, c, "chronos-nginx"); len(runs) != 1 {
		t.Fatalf("one trigger, %d manual runs: %+v", len(runs), runs)
	}

	// A template that renders but breaks nginx: validation fails, the old
	// file is put back, nginx is not reloaded and keeps serving the tasks.
	good, err := os.ReadFile(upstream)
	if err != nil {
		t.Fatalf("read the rendered upstream: %v", err)
	}
	broken := Adapt(t, "templates/nginx.ctmpl", files["templates/nginx.ctmpl"], "server_name localhost;", "server_name localhost;\n  no_such_directive on;")
	const refused = "template failed validation"
	agent1 := c.Agents[0]
	refusedBefore := strings.Count(agent1.Proc.Output(), refused)
	c.Repo.Push(t, "a template that breaks nginx", map[string]string{"templates/nginx.ctmpl": broken})
	c.Webhook(nil)
	pushed := time.Now()
	served := 0
	c.Wait("the broken template refused by nginx -t", time.Minute, func(ctx context.Context) error {
		// nginx answers from a task all along.
		if err := wantRoundRobin(ctx, web); err != nil {
			return fmt.Errorf("nginx stopped serving while the broken template was tried: %w", err)
		}
		served++
		if strings.Count(agent1.Proc.Output(), refused) == refusedBefore {
			return fmt.Errorf("agent %s has not tried the broken template yet", agent1.ID)
		}
		return nil
	})
	refusedAfter := time.Since(pushed).Round(100 * time.Millisecond)
	now, err := os.ReadFile(upstream)
	if err != nil || string(now) != string(good) {
		t.Fatalf("after a failed validation the upstream file is %q (%v), want the previous %q", now, err, good)
	}
	// Past the template's wait window: nginx still serves the old
	// configuration, from every task, in turn.
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); served++ {
		if err := wantRoundRobin(ctx, web); err != nil {
			t.Fatalf("nginx after the broken template: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("CONVERGE broken template refused: %s; nginx served round-robin throughout (%d checks over %s)", refusedAfter, served, time.Since(pushed).Round(100*time.Millisecond))
	c.Repo.Push(t, "template fixed", pick(files, "templates/nginx.ctmpl"))
	c.Webhook(nil)

	// Delete the nginx app: its tasks stop and its upstream empties.
	c.Repo.Push(t, "remove the nginx app", nil, "apps/nginx.yaml")
	c.Webhook(nil)
	c.Wait("the nginx app's upstream gone", time.Minute, func(ctx context.Context) error {
		all, err := c.Tasks(ctx, "/nginx")
		if err != nil {
			return err
		}
		for _, tk := range all {
			if !tk.Status.State.Terminal() {
				return fmt.Errorf("tasks left: %s", Describe(all))
			}
		}
		if err := wantInstances(ctx, c, "nginx", nil); err != nil {
			return err
		}
		b, err := os.ReadFile(upstream)
		if err != nil {
			return err
		}
		for _, addr := range c.TaskAddrs(web) {
			if strings.Contains(string(b), addr) {
				return fmt.Errorf("upstream still names %s:\n%s", addr, b)
			}
		}
		if !strings.Contains(string(b), "127.0.0.1:9 down") {
			return fmt.Errorf("upstream is not the empty one:\n%s", b)
		}
		code, body, err := Get(ctx, "http://"+lbAddr+"/")
		if err == nil && code == http.StatusOK {
			return fmt.Errorf("nginx still answers 200 %q", body)
		}
		return nil
	})
	// The other apps are untouched.
	c.WaitHealthy("/tomcat-1", 2, 10*time.Second)
}

// wantRoundRobin asks nginx on lbAddr six times and checks the answers go
// round the tasks in turn, each naming its task.
func wantRoundRobin(ctx context.Context, tasks []cluster.Task) error {
	var got []string
	for range 2 * len(tasks) {
		code, body, err := Get(ctx, "http://"+lbAddr+"/")
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("nginx answered %d %q", code, body)
		}
		got = append(got, taskOf(body))
	}
	n := len(tasks)
	for i, id := range got {
		if i >= n && got[i-n] != id {
			return fmt.Errorf("answers %v are not round-robin over %d tasks", got, n)
		}
	}
	for _, tk := range tasks {
		if !slices.Contains(got[:n], tk.TaskID) {
			return fmt.Errorf("answers %v, none from %s", got, tk.TaskID)
		}
	}
	return nil
}

// taskOf reads the task id from the test web server's answer
// ("task=ID host=...").
func taskOf(body string) string {
	for _, f := range strings.Fields(body) {
		if id, ok := strings.CutPrefix(f, "task="); ok {
			return id
		}
	}
	return body
}

// wantAnswers waits until each task answers on its first host port with
// its own task id (a task without health checks counts as running before
// its server listens).
func wantAnswers(t *testing.T, c *Cluster, tasks []cluster.Task) {
	t.Helper()
	c.Wait(fmt.Sprintf("answers from %d tasks on their host ports", len(tasks)), 30*time.Second, func(ctx context.Context) error {
		for _, tk := range tasks {
			a := c.AgentFor(tk.AgentID)
			if a == nil || len(tk.Status.HostPorts) == 0 {
				return fmt.Errorf("task %s: agent %q, host ports %v", tk.TaskID, tk.AgentID, tk.Status.HostPorts)
			}
			url := fmt.Sprintf("http://%s:%d/", a.Address, tk.Status.HostPorts[0])
			code, body, err := Get(ctx, url)
			if err != nil || code != http.StatusOK || taskOf(body) != tk.TaskID {
				return fmt.Errorf("GET %s: %d %q %v, want an answer from %s", url, code, body, err, tk.TaskID)
			}
		}
		return nil
	})
}

// manualRuns lists job's runs started by hand.
func manualRuns(t *testing.T, c *Cluster, job string) []cluster.JobRun {
	t.Helper()
	runs, err := c.Client(nil).JobRuns(context.Background(), job)
	if err != nil {
		t.Fatalf("runs of %s: %v", job, err)
	}
	var out []cluster.JobRun
	for _, r := range runs {
		if r.Trigger == cluster.TriggerManual {
			out = append(out, r)
		}
	}
	return out
}

// describeRuns is a one-line summary of job runs for failure messages.
func describeRuns(runs []cluster.JobRun) string {
	parts := make([]string, 0, len(runs))
	for _, r := range runs {
		parts = append(parts, fmt.Sprintf("%s:%s/%s %s", r.RunID, r.Trigger, r.State, r.Message))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// FuzzTaskOf: reading the task id from any answer never panics, and an id
// read back is one field of the answer.
func FuzzTaskOf(f *testing.F) {
	f.Add("task=nginx.1a2b host=abc")
	f.Add("task= host=")
	f.Add("")
	f.Fuzz(func(t *testing.T, body string) {
		id := taskOf(body)
		if id != body && !slices.Contains(strings.Fields(body), "task="+id) {
			t.Fatalf("taskOf(%q) = %q, not a field of it", body, id)
		}
	})
}
