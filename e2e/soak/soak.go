package soak

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"

	"github.com/berthops/berth/agent/launch"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/e2e"
	"github.com/berthops/berth/e2e/history"
	"github.com/berthops/berth/testenv"
)

// Config says how long a soak runs and what it starts from.
type Config struct {
	// Duration is how long the generator and the nemesis run.
	Duration time.Duration
	// Seed drives every choice of the generator and the nemesis.
	Seed int64
	// HistoryDir is where the history file is written (it is kept: the
	// report names it). Default: the system's temp directory.
	HistoryDir string
	// Checker holds the checker's bounds; zero values are the defaults.
	Checker history.Options
	// Out receives the report (default: os.Stdout).
	Out io.Writer
}

// Report is a finished soak.
type Report struct {
	Seed        int64
	HistoryFile string
	History     history.History
	Result      history.Result
}

// soak is one running soak.
type soak struct {
	t     testing.TB
	cfg   Config
	c     *e2e.Cluster
	nginx *testenv.Nginx
	want  *desired
	rec   *recorder
	nem   *nemesis
}

// Run runs a soak as cfg says, checks its history and prints the report. It
// fails t only when the soak itself cannot run; violations are in the
// report for the caller to judge. When ctx ends (an interrupt) the faults
// are healed and the soak ends early, so everything it started is still
// cleaned up.
func Run(ctx context.Context, t *testing.T, cfg Config) Report {
	if cfg.Out == nil {
		cfg.Out = os.Stdout
	}
	if cfg.HistoryDir == "" {
		cfg.HistoryDir = os.TempDir()
	}
	fmt.Fprintf(cfg.Out, "soak: seed=%d duration=%s (replay: make soak SEED=%d SOAK=%s)\n", cfg.Seed, cfg.Duration, cfg.Seed, cfg.Duration)
	s := &soak{t: t, cfg: cfg, rec: &recorder{}}
	s.start(t)
	rnd := rand.New(rand.NewSource(cfg.Seed))

	recCtx, stopRecording := context.WithCancel(context.Background())
	var recWG sync.WaitGroup
	s.record(recCtx, &recWG)
	defer func() { stopRecording(); recWG.Wait() }()

	runCtx, stop := context.WithTimeout(ctx, cfg.Duration)
	defer stop()
	s.nem = newNemesis(s, rnd.Int63())
	gen := &generator{s: s, rnd: rand.New(rand.NewSource(rnd.Int63()))}
	var wg sync.WaitGroup
	for i := 1; i <= 2; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); s.nem.worker(runCtx, i) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); gen.run(runCtx) }()
	wg.Wait()
	// Whatever a fault left behind is healed before convergence is timed.
	s.nem.healAll()
	s.rec.add(history.Event{At: time.Now(), Kind: history.KindFaultsStopped})
	s.settle(ctx)
	stopRecording()
	recWG.Wait()

	h := s.rec.history(cfg.Seed)
	rep := Report{Seed: cfg.Seed, History: h, Result: history.Check(h, cfg.Checker)}
	rep.HistoryFile = filepath.Join(cfg.HistoryDir, fmt.Sprintf("berth-soak-%d-%s.json", cfg.Seed, time.Now().UTC().Format("20060102T150405")))
	if err := writeHistory(rep.HistoryFile, h); err != nil {
		t.Errorf("soak: %v", err)
	}
	PrintReport(cfg.Out, rep)
	return rep
}

func writeHistory(path string, h history.History) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write history: %w", err)
	}
	if err := h.Write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// PrintReport writes the soak's summary; it ends with the fault count, the
// violation count, the convergence time and each violation.
func PrintReport(w io.Writer, rep Report) {
	r := rep.Result
	names := make([]string, 0, len(r.Faults))
	for n := range r.Faults {
		names = append(names, n)
	}
	sort.Strings(names)
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s=%d", n, r.Faults[n]))
	}
	commits, samples := 0, 0
	for _, e := range rep.History.Events {
		switch e.Kind {
		case history.KindCommit:
			commits++
		case history.KindTasks, history.KindConsul, history.KindUpstream, history.KindAnswer, history.KindJobRuns:
			samples++
		}
	}
	judged := make([]string, 0, len(r.Judged))
	for k, v := range r.Judged {
		judged = append(judged, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(judged)
	fmt.Fprintf(w, "history: %s (seed %d, %d events, %d commits, %d samples)\n", rep.HistoryFile, rep.Seed, len(rep.History.Events), commits, samples)
	fmt.Fprintf(w, "judged: %s\n", strings.Join(judged, " "))
	fmt.Fprintf(w, "fault kinds: %s\n", strings.Join(parts, " "))
	fmt.Fprintf(w, "faults: %d\n", r.FaultCount())
	fmt.Fprintf(w, "violations: %d\n", len(r.Violations))
	if r.Converge >= 0 {
		fmt.Fprintf(w, "converge_s: %.1f\n", r.Converge.Seconds())
	} else {
		fmt.Fprintf(w, "converge_s: -1 (never)\n")
	}
	for _, v := range r.Violations {
		fmt.Fprintf(w, "violation: %s\n", v)
	}
}

// start brings the cluster up with the first commit applied.
func (s *soak) start(t *testing.T) {
	// The upstream starts with the placeholder, so nginx starts before the
	// template first renders.
	s.nginx = testenv.StartNginx(t, "    location / { proxy_pass http://soak_web; }",
		map[string]string{upstreamFile: "upstream soak_web {\n  server 127.0.0.1:9 down;\n}\n"})
	s.c = e2e.Start(t, e2e.Options{Servers: 3, Agents: 3, ZooKeepers: 3, Poll: 5 * time.Second,
		AgentResources: "cpus:2;mem:1024;disk:4000",
		AgentArgs: []string{"--templates", "--template-root", s.nginx.ConfDir,
			"--allow-template-command", strings.Fields(s.nginx.ReloadCommand())[0]}})
	ctx := context.Background()
	images := []string{testenv.WebImage}
	for i := 1; i <= 2; i++ {
		tag := fmt.Sprintf("berth/web:soak-%s-%d", testenv.UniqueID(t)[:8], i)
		if err := s.c.Docker.ImageTag(ctx, testenv.WebImage, tag); err != nil {
			t.Fatalf("soak: tag %s: %v", tag, err)
		}
		t.Cleanup(func() { _, _ = s.c.Docker.ImageRemove(context.Background(), tag, image.RemoveOptions{}) })
		images = append(images, tag)
	}
	s.want = &desired{images: images, nginx: s.nginx,
		apps: map[string]*appState{"/web": {instances: 3, mhc: 0.6}, "/api": {instances: 2, mhc: 1}},
		jobs: map[string]*jobState{"tick": {start: time.Now().Add(30 * time.Second).Truncate(time.Second), every: 15 * time.Second, sleep: 2 * time.Second}}}
	s.want.mu.Lock()
	files := s.want.files()
	spec := s.want.commit("", "soak: first commit")
	s.want.mu.Unlock()
	spec.Hash = s.c.Repo.Push(t, spec.Message, files)
	s.rec.add(history.Event{At: time.Now(), Kind: history.KindCommit, Commit: spec})
	s.c.Webhook(nil)
	s.c.WaitHealthy("/web", 3, 3*time.Minute)
	s.c.WaitHealthy("/api", 2, time.Minute)
}

// anyServer is a random server that runs and is not paused (any server
// when none is).
func (s *soak) anyServer(rnd *rand.Rand) *e2e.Server {
	var up []*e2e.Server
	for _, srv := range s.c.Servers {
		if srv.Proc.Running() && (s.nem == nil || !s.nem.isPaused(srv)) {
			up = append(up, srv)
		}
	}
	if len(up) == 0 {
		return s.c.Servers[rnd.Intn(len(s.c.Servers))]
	}
	return up[rnd.Intn(len(up))]
}

// pickServer is the leader, or a random follower, among the running
// servers.
func (s *soak) pickServer(ctx context.Context, rnd *rand.Rand, leader bool) (*e2e.Server, error) {
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	l, err := s.c.Leader(lctx)
	if err != nil {
		return nil, fmt.Errorf("find the leader: %w", err)
	}
	if leader {
		return l, nil
	}
	var others []*e2e.Server
	for _, srv := range s.c.Servers {
		if srv != l && srv.Proc.Running() {
			others = append(others, srv)
		}
	}
	if len(others) == 0 {
		return nil, errors.New("no running follower")
	}
	return others[rnd.Intn(len(others))], nil
}

// isApp tells an app's id from a job's name in a container's owner label.
func (s *soak) isApp(owner string) bool { return strings.HasPrefix(owner, "/") }

// webhook announces commit to a running server (a follower forwards it);
// the servers' 5 s poll catches what a lost webhook misses.
func (s *soak) webhook(ctx context.Context, commit string) {
	srv := s.anyServer(rand.New(rand.NewSource(time.Now().UnixNano())))
	wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if code, body, err := e2e.SendWebhook(wctx, srv.URL, s.c.WebhookSecret, commit); err != nil || code >= 300 {
		s.rec.note("webhook to %s: %d %s %v", srv.ID, code, body, err)
	}
}

// convergeLimit is how long the soak observes after the faults stopped
// before it gives up waiting: past the checker's bound, so a slow
// convergence is reported with its time.
const convergeLimit = 5 * time.Minute

// finalLook is how long after converging the cluster is observed once more,
// for the containers that survive the end.
const finalLook = 10 * time.Second

// settle observes the whole cluster every second until it matches the
// head commit or convergeLimit passes.
func (s *soak) settle(ctx context.Context) {
	s.want.mu.Lock()
	head := s.want.commit(s.c.Repo.Head(), "")
	s.want.mu.Unlock()
	s.webhook(ctx, head.Hash)
	deadline := time.Now().Add(convergeLimit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		octx, cancel := context.WithTimeout(ctx, 5*time.Second)
		obs := s.observe(octx)
		cancel()
		s.rec.add(history.Event{At: time.Now(), Kind: history.KindSettle, Settle: &obs})
		err := history.Converged(*head, obs)
		if err == nil {
			s.t.Logf("soak: converged")
			// One more look once things had time to go wrong again: an
			// agent restarting a task it should not, a container left
			// behind that a late event brings back.
			select {
			case <-ctx.Done():
			case <-time.After(finalLook):
			}
			octx, cancel := context.WithTimeout(ctx, 5*time.Second)
			obs := s.observe(octx)
			cancel()
			s.rec.add(history.Event{At: time.Now(), Kind: history.KindSettle, Settle: &obs})
			return
		}
		s.t.Logf("soak: not converged yet: %v", err)
		time.Sleep(time.Second)
	}
}

// observe reads the whole cluster: the leader's applied commit, every task,
// every container, Consul.
func (s *soak) observe(ctx context.Context) history.Observation {
	obs := history.Observation{Head: s.c.Repo.Head()}
	fail := func(err error) history.Observation {
		obs.Error = err.Error()
		return obs
	}
	leader, err := s.c.Leader(ctx)
	if err != nil {
		return fail(err)
	}
	cl := s.c.Client(leader)
	st, err := cl.SyncStatus(ctx)
	if err != nil {
		return fail(err)
	}
	obs.Applied = st.Decided
	tasks, err := cl.Tasks(ctx, "")
	if err != nil {
		return fail(err)
	}
	for _, tk := range tasks {
		if tk.Owner == cluster.OwnerApp {
			obs.Tasks = append(obs.Tasks, historyTask(s.c, tk))
		} else if !tk.Status.State.Terminal() {
			obs.JobTasks = append(obs.JobTasks, tk.TaskID)
		}
	}
	list, err := s.c.Containers(ctx, "")
	if err != nil {
		return fail(err)
	}
	for _, ct := range list {
		obs.Containers = append(obs.Containers, history.Container{ID: ct.ID[:12], App: ct.Labels[launch.LabelApp],
			Task: ct.Labels[launch.LabelTask], Running: ct.State == container.StateRunning})
	}
	passing, err := s.consulPassing(ctx)
	if err != nil {
		return fail(err)
	}
	obs.Consul = history.Consul{Passing: passing}
	return obs
}
