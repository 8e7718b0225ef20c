package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	docker "github.com/docker/docker/client"
	consul "github.com/hashicorp/consul/api"

	"github.com/berthops/berth/agent"
	"github.com/berthops/berth/client"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/reconciler"
	"github.com/berthops/berth/server"
	"github.com/berthops/berth/testenv"
)

// Options says what Start runs. Zero values are the defaults.
type Options struct {
	// Servers is the number of `berth server` replicas (default 1).
	Servers int
	// Agents is the number of `berth agent` processes (default 1), on
	// 127.0.0.2, 127.0.0.3, ...
	Agents int
	// ZooKeepers is the ensemble's size: 3 (default) or 1.
	ZooKeepers int
	// SessionTimeout is every berth process's ZooKeeper session timeout: how
	// soon a killed or paused leader or agent is noticed (default 4 s: short
	// enough for quick drills, long enough that a loaded 2-core machine does
	// not expire healthy sessions; the ensemble allows 1 s to 10 s).
	SessionTimeout time.Duration
	// Poll is how often servers fetch Git by themselves (default 1 minute,
	// so that tests see webhooks, not polling, start syncs).
	Poll time.Duration
	// Resync is how often the leader repairs drift without a commit
	// (default 500 ms).
	Resync time.Duration
	// AgentResources is every agent's --resources (default
	// "cpus:1;mem:512;disk:1000"); agent i gets the host ports
	// 31000+100i to 31099+100i unless this names ports.
	AgentResources string
	// Files is the first commit pushed, before the servers start (default:
	// a README only, so the cluster starts empty).
	Files map[string]string
	// ServerArgs and AgentArgs are extra flags for every server or agent.
	ServerArgs, AgentArgs []string
	// LogLevel of the berth processes (default "info").
	LogLevel string
}

func (o *Options) defaults() {
	if o.Servers <= 0 {
		o.Servers = 1
	}
	if o.Agents <= 0 {
		o.Agents = 1
	}
	if o.ZooKeepers == 0 {
		o.ZooKeepers = 3
	}
	if o.SessionTimeout == 0 {
		o.SessionTimeout = 4 * time.Second
	}
	if o.Poll == 0 {
		o.Poll = time.Minute
	}
	if o.Resync == 0 {
		o.Resync = 500 * time.Millisecond
	}
	if o.AgentResources == "" {
		o.AgentResources = "cpus:1;mem:512;disk:1000"
	}
	if o.Files == nil {
		o.Files = map[string]string{"README.md": "# cluster\n"}
	}
	if o.LogLevel == "" {
		o.LogLevel = "info"
	}
}

// Cluster is a running Berth cluster and everything around it.
type Cluster struct {
	t testing.TB
	// Bin is the berth binary every process runs.
	Bin    string
	ZK     *testenv.ZooKeeper
	ZKURL  string // the --zk every process uses, with its own chroot
	Consul *testenv.Consul
	Docker *docker.Client
	// Label is the value of testenv.TestLabel on every container the agents
	// create; the test's cleanup removes them all.
	Label string
	Git   *testenv.GitServer
	// Repo is the manifests repository the servers follow (branch main).
	Repo *Repo
	// Token authorizes write endpoints; WebhookSecret signs webhooks.
	Token, WebhookSecret string
	Servers              []*Server
	Agents               []*Agent

	consulMu sync.Mutex
	consul   *consul.Client
}

// Server is one `berth server` process.
type Server struct {
	ID   string
	Addr string // API address, host:port
	URL  string // http://Addr
	// Proc controls the process: Kill (kill -9), Pause/Resume
	// (SIGSTOP/SIGCONT), Start again after a kill, Output.
	Proc *testenv.Process
}

// Agent is one `berth agent` process.
type Agent struct {
	ID      string
	Address string // its advertise address, 127.0.0.N
	Proc    *testenv.Process
}

// Restart kills the server (kill -9) if it runs and starts it again with the
// same flags.
func (s *Server) Restart() error {
	s.Proc.Kill()
	return s.Proc.Start()
}

// Restart kills the agent (kill -9) if it runs and starts it again with the
// same flags and id: it re-attaches to its containers.
func (a *Agent) Restart() error {
	a.Proc.Kill()
	return a.Proc.Start()
}

// Start runs a cluster as Options say and waits until it has a leader and
// every agent is registered and reachable. Everything stops, and every
// container is removed, when the test ends.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	testenv.Integration(t)
	opts.defaults()
	c := &Cluster{t: t, Bin: Binary(t)}
	c.Docker = testenv.Docker(t)
	testenv.Images(t)
	// Registered first, so it runs after the agents are killed: nothing can
	// start a container again while they are being removed.
	c.Label = testenv.DockerTestLabel(t, c.Docker)
	c.ZK = testenv.StartZooKeeper(t, opts.ZooKeepers)
	c.ZKURL = c.ZK.URL("/berth-e2e")
	c.Consul = testenv.StartConsul(t)
	c.Git = testenv.StartGitServer(t)
	c.Repo = newRepo(t, c.Git)
	c.Repo.Push(t, "initial commit", opts.Files)

	dir := t.TempDir()
	c.Token, c.WebhookSecret = "e2e-token-"+testenv.UniqueID(t), "e2e-secret-"+testenv.UniqueID(t)
	tokenFile, secretFile := filepath.Join(dir, "token"), filepath.Join(dir, "webhook-secret")
	for f, v := range map[string]string{tokenFile: c.Token, secretFile: c.WebhookSecret} {
		if err := os.WriteFile(f, []byte(v+"\n"), 0o600); err != nil {
			t.Fatalf("e2e: %v", err)
		}
	}

	for i := 1; i <= opts.Servers; i++ {
		s := &Server{ID: fmt.Sprintf("server-%d", i), Addr: fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t, "127.0.0.1"))}
		s.URL = "http://" + s.Addr
		args := []string{"server", "--zk", c.ZKURL, "--listen", s.Addr, "--id", s.ID,
			"--repo", c.Repo.URL, "--branch", "main", "--cache-dir", t.TempDir(),
			"--poll", opts.Poll.String(), "--resync", opts.Resync.String(), "--prune=true",
			"--token-file", tokenFile, "--webhook-secret-file", secretFile,
			"--session-timeout", opts.SessionTimeout.String(), "--shell-image", testenv.ShellImage,
			"--log-level", opts.LogLevel}
		s.Proc = testenv.StartProcess(t, dir, c.Bin, append(args, opts.ServerArgs...)...)
		c.Servers = append(c.Servers, s)
	}
	// Agent ids are unique per test: container names derive from them, and
	// the Docker daemon is shared with every other test on the machine.
	suffix := testenv.UniqueID(t)[:6]
	for i := 1; i <= opts.Agents; i++ {
		a := &Agent{ID: fmt.Sprintf("agent-%d-%s", i, suffix), Address: fmt.Sprintf("127.0.0.%d", i+1)}
		res := opts.AgentResources
		if !strings.Contains(res, "ports:") {
			base := 31000 + 100*(i-1)
			res += fmt.Sprintf(";ports:[%d-%d]", base, base+99)
		}
		args := []string{"agent", "--zk", c.ZKURL, "--id", a.ID, "--hostname", fmt.Sprintf("agent-%d", i),
			"--advertise", a.Address, "--resources", res, "--consul", c.Consul.Addr,
			"--session-timeout", opts.SessionTimeout.String(), "--kill-grace", "1s", "--registry-sync", "1s",
			"--shell-image", testenv.ShellImage, "--label", testenv.TestLabel + "=" + c.Label,
			"--log-level", opts.LogLevel}
		a.Proc = testenv.StartProcess(t, dir, c.Bin, append(args, opts.AgentArgs...)...)
		c.Agents = append(c.Agents, a)
	}
	// Runs before the processes are killed: a failing test shows what each
	// of them logged.
	t.Cleanup(func() {
		if t.Failed() {
			c.LogOutputs(true)
		}
	})

	c.WaitLeader(time.Minute)
	c.Wait("every agent registered and reachable", time.Minute, func(ctx context.Context) error {
		agents, err := c.Client(nil).Agents(ctx)
		if err != nil {
			return err
		}
		return c.checkAgentsReachable(agents, c.Agents)
	})
	return c
}

func (c *Cluster) checkAgentsReachable(have []cluster.Agent, want []*Agent) error {
	up := map[string]bool{}
	for _, a := range have {
		up[a.ID] = a.Reachable
	}
	for _, a := range want {
		if !up[a.ID] {
			return fmt.Errorf("agent %s not registered or not reachable (have %v)", a.ID, up)
		}
	}
	return nil
}

// LogOutputs logs the tail of every berth process's output. With stacks,
// each berth process still running is first made to dump its goroutines
// (SIGQUIT, which also ends it), and the goroutines in Berth's own code are
// logged as well: what a hung request waits for.
func (c *Cluster) LogOutputs(stacks bool) {
	const tail = 16 << 10
	show := func(name string, p *testenv.Process) {
		out := p.Output()
		var dump string
		if stacks && p.Running() {
			before := len(out)
			_ = p.Signal(syscall.SIGCONT) // a paused process cannot dump
			_ = p.Signal(syscall.SIGQUIT)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			p.Wait(ctx)
			cancel()
			if all := p.Output(); len(all) > before {
				dump = berthGoroutines(all[before:])
			}
		}
		if len(out) > tail {
			out = "...\n" + out[len(out)-tail:]
		}
		c.t.Logf("--- %s output:\n%s", name, out)
		if dump != "" {
			c.t.Logf("--- %s goroutines in Berth's code at the failure:\n%s", name, dump)
		}
	}
	for _, s := range c.Servers {
		show(s.ID, s.Proc)
	}
	for _, a := range c.Agents {
		show(a.ID, a.Proc)
	}
	out := c.ZK.Output()
	if len(out) > tail {
		out = "...\n" + out[len(out)-tail:]
	}
	c.t.Logf("--- zookeeper output:\n%s", out)
}

// berthGoroutines keeps, from a Go goroutine dump, the goroutines with a
// frame in Berth's packages.
func berthGoroutines(dump string) string {
	var keep []string
	for _, g := range strings.Split(dump, "\n\n") {
		if strings.Contains(g, "github.com/berthops/berth/") {
			keep = append(keep, g)
		}
	}
	return strings.Join(keep, "\n\n")
}

// Client returns an API client for s, or for the first running server when s
// is nil, with the cluster's token.
func (c *Cluster) Client(s *Server) *client.Client {
	if s == nil {
		s = c.Servers[0]
		for _, cand := range c.Servers {
			if cand.Proc.Running() {
				s = cand
				break
			}
		}
	}
	cl, err := client.New(s.URL, c.Token, nil)
	if err != nil {
		c.t.Fatalf("e2e: client for %s: %v", s.ID, err)
	}
	return cl
}

// Leader returns the server that says it leads, asking each running one in
// turn (a paused one times out and is skipped).
func (c *Cluster) Leader(ctx context.Context) (*Server, error) {
	var errs []error
	for _, s := range c.Servers {
		if !s.Proc.Running() {
			continue
		}
		qctx, cancel := context.WithTimeout(ctx, time.Second)
		st, err := c.Client(s).Status(qctx)
		cancel()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if st.Role == server.RoleLeader && st.Leader == s.ID {
			return s, nil
		}
	}
	errs = append(errs, errors.New("no server says it leads"))
	return nil, errors.Join(errs...)
}

// WaitLeader waits until a server leads and returns it.
func (c *Cluster) WaitLeader(timeout time.Duration) *Server {
	c.t.Helper()
	var leader *Server
	c.Wait("a leader", timeout, func(ctx context.Context) error {
		var err error
		leader, err = c.Leader(ctx)
		return err
	})
	return leader
}

// Wait calls cond every 100 ms until it returns nil, failing the test with
// cond's last error when timeout passes first. what says what is awaited.
func (c *Cluster) Wait(what string, timeout time.Duration, cond func(ctx context.Context) error) {
	c.t.Helper()
	start := time.Now()
	if err := Poll(context.Background(), timeout, cond); err != nil {
		c.t.Fatalf("e2e: waiting for %s: %v", what, err)
	}
	c.t.Logf("e2e: %s after %s", what, time.Since(start).Round(time.Millisecond))
}

// Poll calls cond every 100 ms until it returns nil (then Poll returns nil),
// or until timeout or ctx ends (then it returns cond's last error).
func Poll(ctx context.Context, timeout time.Duration, cond func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		// Each try gets its own bound, so a hung request cannot use up the
		// whole deadline without a useful last error.
		tctx, tcancel := context.WithTimeout(ctx, 5*time.Second)
		last = cond(tctx)
		tcancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not after %s: %w", timeout, last)
		case <-tick.C:
		}
	}
}

// Tasks reads the tasks of app (every task when app is "") from a running
// server.
func (c *Cluster) Tasks(ctx context.Context, app string) ([]cluster.Task, error) {
	return c.Client(nil).Tasks(ctx, app)
}

// SyncStatus reads the reconciler's status (commits, a rejected commit,
// every app's sync and health) through a running server.
func (c *Cluster) SyncStatus(ctx context.Context) (reconciler.Status, error) {
	return c.Client(nil).SyncStatus(ctx)
}

// Running returns app's tasks that are RUNNING and healthy.
func Running(tasks []cluster.Task) []cluster.Task {
	var out []cluster.Task
	for _, tk := range tasks {
		if tk.Status.State == cluster.TaskRunning && tk.Status.Health == cluster.HealthHealthy && !tk.Kill {
			out = append(out, tk)
		}
	}
	return out
}

// WaitHealthy waits until app has exactly n tasks, all RUNNING and healthy
// and none being killed, and returns them.
func (c *Cluster) WaitHealthy(app string, n int, timeout time.Duration) []cluster.Task {
	c.t.Helper()
	var tasks []cluster.Task
	c.Wait(fmt.Sprintf("%d healthy tasks of %s", n, app), timeout, func(ctx context.Context) error {
		all, err := c.Tasks(ctx, app)
		if err != nil {
			return err
		}
		live := 0
		for _, tk := range all {
			if !tk.Status.State.Terminal() {
				live++
			}
		}
		tasks = Running(all)
		if len(tasks) != n || live != n {
			return fmt.Errorf("%d healthy of %d live tasks: %s", len(tasks), live, Describe(all))
		}
		return nil
	})
	return tasks
}

// Describe is a one-line summary of tasks for failure messages.
func Describe(tasks []cluster.Task) string {
	parts := make([]string, 0, len(tasks))
	for _, tk := range tasks {
		s := fmt.Sprintf("%s@%s:%s", tk.TaskID, tk.AgentID, tk.Status.State)
		if tk.Status.Health != "" {
			s += "/" + string(tk.Status.Health)
		}
		if tk.Kill {
			s += "(kill)"
		}
		parts = append(parts, s)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// Webhook sends a GitHub push webhook for the branch's head, signed with the
// cluster's secret, to the leader (or to s when not nil), and fails the
// test unless it is accepted. It returns when the server answered.
func (c *Cluster) Webhook(s *Server) {
	c.t.Helper()
	if s == nil {
		s = c.WaitLeader(30 * time.Second)
	}
	code, body, err := SendWebhook(context.Background(), s.URL, c.WebhookSecret, c.Repo.Head())
	if err != nil {
		c.t.Fatalf("e2e: webhook to %s: %v", s.ID, err)
	}
	if code != http.StatusAccepted {
		c.t.Fatalf("e2e: webhook to %s: %d %s", s.ID, code, body)
	}
}

// Containers lists the containers this cluster's agents created for app
// (every app when ""), running or not.
func (c *Cluster) Containers(ctx context.Context, app string) ([]container.Summary, error) {
	f := filters.NewArgs(filters.Arg("label", testenv.TestLabel+"="+c.Label))
	if app != "" {
		f.Add("label", agent.LabelApp+"="+app)
	}
	return c.Docker.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
}

// ConsulInstances returns the address:port of every instance of service
// registered in Consul whose checks pass.
func (c *Cluster) ConsulInstances(ctx context.Context, service string) ([]string, error) {
	cl, err := c.consulClient()
	if err != nil {
		return nil, err
	}
	entries, _, err := cl.Health().Service(service, "", true, (&consul.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("consul health of %s: %w", service, err)
	}
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		out = append(out, e.Service.Address+":"+strconv.Itoa(e.Service.Port))
	}
	return out, nil
}

// consulClient is one client for every read of Consul: a client per read
// would leave its idle connections open, and Consul answers 429 once one
// address holds too many (the agents, on the same address, would then fail
// to register).
func (c *Cluster) consulClient() (*consul.Client, error) {
	c.consulMu.Lock()
	defer c.consulMu.Unlock()
	if c.consul != nil {
		return c.consul, nil
	}
	cfg := consul.DefaultConfig()
	cfg.Address = c.Consul.Addr
	cl, err := consul.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("consul client: %w", err)
	}
	c.consul = cl
	return cl, nil
}
