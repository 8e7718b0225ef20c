package ui_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/berthops/berth/agent/launch"
	"github.com/berthops/berth/catalog"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/memstore"
	"github.com/berthops/berth/httpapi"
	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/reconciler"
	"github.com/berthops/berth/reconciler/decide"
	"github.com/berthops/berth/reconciler/gitsource"
	"github.com/berthops/berth/server"
	"github.com/berthops/berth/taskindex"
	"github.com/berthops/berth/templates"
	"github.com/berthops/berth/testenv"
	"github.com/berthops/berth/ui"
)

const testToken = "ui-test-token-0123456789"

// healthGate holds the health checks of played apps' new tasks while the
// test looks at a rollout under way, so that the state it waits for does
// not pass before a slow browser sees it.
type healthGate struct {
	mu      sync.Mutex
	held    map[string]bool
	pending map[string][]func()
}

// pass runs turnHealthy a moment from now, or when app is released.
func (g *healthGate) pass(app string, turnHealthy func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held[app] {
		g.pending[app] = append(g.pending[app], turnHealthy)
		return
	}
	time.AfterFunc(300*time.Millisecond, turnHealthy)
}

func (g *healthGate) hold(app string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.held[app] = true
}

func (g *healthGate) release(app string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.held, app)
	for _, f := range g.pending[app] {
		go f()
	}
	delete(g.pending, app)
}

// playedLogs stands in for the agents' logs: the agents are played, with
// no container (agentlogs and cmd/berth test the real path on Docker).
type playedLogs struct{}

func (playedLogs) Logs(_ context.Context, ag cluster.Agent, taskID string, opts launch.LogOptions, w io.Writer) error {
	n, err := strconv.Atoi(opts.Tail)
	if err != nil || n > 50 {
		n = 50
	}
	for i := 1; i <= n; i++ {
		fmt.Fprintf(w, "line %d of %s on %s\n", i, taskID, ag.ID)
	}
	return nil
}

// plane is a control plane as `berth up` runs it, in this process: a
// leading server and reconciler over an in-memory store, following a real
// Git repository that holds the walkthrough's examples/, with agents played
// by the test (tasks' statuses written to the store as agents report them),
// so no Docker container is needed.
type plane struct {
	gate *healthGate
	url  string
	// protectedURL serves the same cluster with --protect-reads.
	protectedURL string
	repo         *testenv.GitRepo
	rec          *reconciler.Reconciler
	st           *cluster.State
}

func startPlane(ctx context.Context, t *testing.T) *plane {
	t.Helper()
	files := map[string]string{}
	for name, body := range testenv.Files(t, "../examples") {
		files["examples/"+name] = body
	}
	repo := testenv.NewGitRepo(t, t.TempDir())
	repo.Commit(t, "main", files, "the walkthrough")

	tree := memstore.New()
	store := tree.Client()
	st := cluster.NewState(store)
	gate := &healthGate{held: map[string]bool{}, pending: map[string][]func(){}}
	for i, id := range []string{"agent-1", "agent-2", "agent-3"} {
		playAgent(ctx, t, st, gate, id, map[string]string{"rack": fmt.Sprintf("r%d", i%2+1), "zone": "lab"})
	}
	src, err := reconciler.OpenGit(ctx, gitsource.Options{URL: repo.FileURL(), CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	// The API reads tasks through the leader's index, as berth server
	// wires it.
	index := &taskindex.Index{}
	rec := reconciler.New(reconciler.Config{Branch: "main", Path: "examples", Poll: 300 * time.Millisecond, Resync: 200 * time.Millisecond,
		Logger: logger, Observer: taskindex.Feed(index, nil), Pass: decide.Options{Prune: true, Spec: decide.SpecOptions{ShellImage: decide.DefaultShellImage}}}, src, st)
	srv := server.New(server.Config{ID: "up", Version: "test", Store: store, Logger: logger, Lead: []server.LeadFunc{rec.Run}})
	startRenderer(ctx, t, rec, st)
	for pattern, h := range httpapi.Routes(rec, st, httpapi.Options{Token: testToken, Logger: logger, Index: index, Logs: playedLogs{}}) {
		srv.Handle(pattern, h)
	}
	srv.Handle("GET "+ui.Prefix, ui.Handler())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ctx, ln) }()

	protected := http.NewServeMux()
	for pattern, h := range httpapi.Routes(rec, st, httpapi.Options{Token: testToken, ProtectReads: true, Logger: logger, Index: index, Logs: playedLogs{}}) {
		protected.Handle(pattern, h)
	}
	protected.Handle("GET /v1/status", srv.Handler())
	protected.Handle("GET "+ui.Prefix, ui.Handler())
	pln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: protected, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(pln) }()
	t.Cleanup(func() { _ = hs.Close() })
	return &plane{gate: gate, url: "http://" + ln.Addr().String(), protectedURL: "http://" + pln.Addr().String(), repo: repo, rec: rec, st: st}
}

// startRenderer renders the desired templates in this process from Berth's
// own catalog, as berth up does (under a temporary directory, without their
// validate and reload commands), and returns what GET /v1/renders reports.
func startRenderer(ctx context.Context, t *testing.T, rec *reconciler.Reconciler, st *cluster.State) {
	t.Helper()
	runner, err := templates.NewRunner(nil, templates.RunnerOptions{Source: templates.CatalogSource{Catalog: catalog.New(st, 200*time.Millisecond, "agent-1.lab")}})
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	go func() { _ = runner.Run(ctx) }()
	go func() {
		last := ""
		for ctx.Err() == nil {
			if set, commit := rec.Desired(); set != nil && commit != last {
				var specs []manifests.Template
				for _, tm := range set.Templates {
					tm.Destination = filepath.Join(root, tm.Destination)
					tm.Validate, tm.Command = "", ""
					specs = append(specs, tm)
				}
				if err := runner.Update(specs); err != nil {
					t.Errorf("templates of %s: %v", commit, err)
				}
				last = commit
			}
			// Reported as an agent reports its renders (GET /v1/renders).
			var renders []cluster.TemplateRender
			for _, s := range runner.Status() {
				renders = append(renders, cluster.TemplateRender{Template: s.ID, Agent: "agent-1", Destination: s.Destination, Rendered: s.Rendered,
					LastRender: s.LastRender, LastWrite: s.LastWrite, Writes: s.Writes, Waiting: s.Waiting, Error: s.Err, SourceError: s.SourceErr})
			}
			if err := st.PutRenders(ctx, "agent-1", renders); err != nil && ctx.Err() == nil {
				t.Errorf("report renders: %v", err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
}

// playAgent registers an agent and answers its assignments as a real one
// would: apps' tasks run and pass their health checks, jobs' tasks run
// briefly and finish, killed tasks end KILLED.
func playAgent(ctx context.Context, t *testing.T, st *cluster.State, gate *healthGate, id string, attrs map[string]string) {
	a := cluster.Agent{ID: id, Hostname: id + ".lab", Address: "127.0.0.2", Reachable: true, Version: "test", Attributes: attrs,
		Resources: cluster.Resources{CPUs: 4, Mem: 4096, Disk: 20000}, Ports: []cluster.PortRange{{Begin: 31000, End: 31100}},
		RegisteredAt: time.Now().Add(-2 * time.Hour),
		// The walkthrough's nginx-1 mounts a host directory, as make run
		// allows it (scripts/run-examples.sh).
		Policy: cluster.AgentPolicy{HostPaths: []string{"/tmp/berth-examples"}}}
	if _, err := st.RegisterAgent(ctx, a); err != nil {
		t.Fatalf("register agent %s: %v", id, err)
	}
	go func() {
		reported := map[string]cluster.TaskState{}
		started := map[string]time.Time{}
		for set := range st.WatchAssignments(ctx, id, func(error) {}) {
			var sts []cluster.TaskStatus
			now := time.Now()
			for _, as := range set {
				s := cluster.TaskStatus{TaskID: as.TaskID, AgentID: id, State: cluster.TaskRunning, UpdatedAt: now}
				if _, ok := started[as.TaskID]; !ok {
					started[as.TaskID] = now
				}
				s.StartedAt = started[as.TaskID]
				switch {
				case as.Kill:
					s.State = cluster.TaskKilled
				case as.Owner == cluster.OwnerJob:
					if _, ok := reported[as.TaskID]; ok {
						continue
					}
					// The run ends a moment later, as the agent reports it.
					fin := s
					zero := 0
					fin.State, fin.ExitCode, fin.OutputTail = cluster.TaskFinished, &zero, as.OwnerID+": done, 42 lines written\n"
					time.AfterFunc(700*time.Millisecond, func() {
						fin.UpdatedAt = time.Now()
						_ = st.PutStatuses(ctx, fin)
					})
				case as.Owner == cluster.OwnerApp:
					for i, p := range as.Spec.Ports {
						hp := p.HostPort
						if hp == 0 {
							hp = 31050 + i
						}
						s.HostPorts = append(s.HostPorts, hp)
					}
					if _, ok := reported[as.TaskID]; ok {
						continue
					}
					// A task starts, then passes its health checks.
					healthy := s
					healthy.Health = cluster.HealthHealthy
					s.State = cluster.TaskStarting
					gate.pass(as.OwnerID, func() {
						healthy.UpdatedAt = time.Now()
						_ = st.PutStatuses(ctx, healthy)
					})
				}
				if reported[as.TaskID] == s.State {
					continue
				}
				reported[as.TaskID] = s.State
				sts = append(sts, s)
			}
			if len(sts) > 0 {
				_ = st.PutStatuses(ctx, sts...)
			}
		}
	}()
}

// browser starts headless Chromium (Debian's package, installed by
// scripts/install-deps.sh) and records console errors and uncaught
// exceptions of every page it shows.
func browser(t *testing.T) (context.Context, func() []string) {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium not found (make deps installs Debian's chromium): %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.WindowSize(1360, 900), chromedp.Flag("disable-gpu", true), chromedp.Flag("lang", "en-US"))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	var mu sync.Mutex
	var problems []string
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	err = chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				problems = append(problems, "console error: "+strings.Join(args, " "))
			}
		case *cdplog.EventEntryAdded:
			// The browser's own errors: failed loads, CSP violations. The
			// test asks for 401s (a wrong token, reads before the token).
			e := ev.Entry
			// ERR_NETWORK_CHANGED: Chromium drops requests in flight when
			// the host's interfaces change, as Docker's do on a shared
			// machine; the page retries them.
			expected := e.Source == cdplog.EntrySourceNetwork && (strings.Contains(e.Text, "status of 401") || strings.Contains(e.Text, "ERR_NETWORK_CHANGED"))
			if e.Level == cdplog.EntryLevelError && !expected {
				problems = append(problems, fmt.Sprintf("browser %s error: %s %s", e.Source, e.Text, e.URL))
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			problems = append(problems, fmt.Sprintf("uncaught exception at %s:%d: %s", d.URL, d.LineNumber+1, msg))
		}
	})
	if err != nil {
		t.Fatalf("listen to chromium: %v", err)
	}
	return ctx, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), problems...) }
}

// waitJS polls a JavaScript expression until it is true.
func waitJS(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { try { return !!(`+expr+`); } catch (e) { return false; } })()`))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('banner').innerText + '\n' + document.getElementById('main').innerText`))
			t.Fatalf("waiting for %s: not true after 30s (%v); the page shows:\n%s", what, err, body)
		}
		time.Sleep(150 * time.Millisecond)
	}
}

func mainText(selector string) string {
	return fmt.Sprintf(`(document.querySelector(%q)?.innerText ?? '')`, selector)
}

// screenshot writes docs/ui/NAME.png when BERTH_UI_SCREENSHOTS=1, so that
// an ordinary run leaves the tree alone.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("BERTH_UI_SCREENSHOTS") != "1" {
		return
	}
	time.Sleep(300 * time.Millisecond) // let the last render settle
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join("..", "docs", "ui", name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func navigate(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
}

// click follows a link or presses a button the way a user does.
func click(t *testing.T, ctx context.Context, selector string) {
	t.Helper()
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(cctx, chromedp.Click(chromedp.CSS(selector))); err != nil {
		t.Fatalf("click %s: %v", selector, err)
	}
}

func jobRuns(t *testing.T, ctx context.Context, st *cluster.State, job string) []cluster.JobRun {
	t.Helper()
	runs, err := st.JobRuns(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

// TestUI walks the UI in a real headless Chromium against a running
// control plane: the walkthrough's apps with their health, a scale pushed to
// Git appearing without a reload, the app, agents, jobs (history and graph),
// queues, diff and templates pages, the token flow, and no console error
// on any page.
func TestUI(t *testing.T) {
	testenv.Integration(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	p := startPlane(ctx, t)
	bctx, problems := browser(t)
	bctx, cancelB := context.WithTimeout(bctx, 4*time.Minute)
	defer cancelB()

	t.Run("overview", func(t *testing.T) {
		navigate(t, bctx, p.url+"/ui/")
		waitJS(t, bctx, "5 apps, converged", mainText("#app-count")+` === '5' && `+mainText("#ov")+`.includes('converged')`)
		waitJS(t, bctx, "the live stream connected", `document.getElementById('live').classList.contains('on')`)
		screenshot(t, bctx, "overview")
	})

	t.Run("apps appear with their health", func(t *testing.T) {
		click(t, bctx, `nav a[data-nav="apps"]`)
		for _, id := range []string{"/basic-0", "/nginx", "/nginx-1", "/nginx-2", "/tomcat-1"} {
			waitJS(t, bctx, id+" healthy and synced", fmt.Sprintf(`(document.querySelector('tr[data-app=%q]')?.innerText ?? '').match(/Synced\s+Healthy/)`, id))
		}
		if err := chromedp.Do(bctx, chromedp.SendKeys(chromedp.ID("f-q"), "TOM")); err != nil {
			t.Fatal(err)
		}
		waitJS(t, bctx, "the filtered list", `document.querySelectorAll('tr[data-app]').length === 1 && document.querySelector('tr[data-app="/tomcat-1"]') && location.search === '?q=TOM'`)
		navigate(t, bctx, p.url+"/ui/apps")
		waitJS(t, bctx, "the whole list again", `document.querySelectorAll('tr[data-app]').length === 5`)
	})

	t.Run("a scale pushed to Git shows up live", func(t *testing.T) {
		// A reload would lose this mark.
		if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`window.berthNoReload = true`)); err != nil {
			t.Fatal(err)
		}
		p.gate.hold("/nginx")
		nginx := p.repo.Files(t, "refs/heads/main")["examples/apps/nginx.yaml"]
		p.repo.Change(t, "main", map[string]string{"examples/apps/nginx.yaml": strings.Replace(nginx, "instances: 1", "instances: 3", 1)}, nil, "nginx x3")
		waitJS(t, bctx, "/nginx's scale under way", `(document.querySelector('tr[data-app="/nginx"]')?.innerText ?? '').match(/Progressing[\s\S]*1 \/ 1 \/ 2/)`)
		screenshot(t, bctx, "apps")
		p.gate.release("/nginx")
		waitJS(t, bctx, "/nginx at 3 healthy instances", `(document.querySelector('tr[data-app="/nginx"]')?.innerText ?? '').includes('3 / 3 / 0')`)
		waitJS(t, bctx, "no reload", `window.berthNoReload === true`)
	})

	t.Run("app page", func(t *testing.T) {
		click(t, bctx, `tr[data-app="/nginx"] a`)
		waitJS(t, bctx, "3 tasks", `document.querySelectorAll('#tasks tr[data-task]').length === 3`)
		waitJS(t, bctx, "the manifest as committed", mainText("#manifest")+`.includes('examples/apps/nginx.yaml:') && `+mainText("#manifest")+`.includes('instances: 3')`)
		click(t, bctx, `#tasks tr[data-task] a`)
		waitJS(t, bctx, "the log tail panel", mainText("#log")+`.includes('berth logs')`)
		waitJS(t, bctx, "the task's log tail, from its agent", `(document.getElementById('log-text')?.innerText ?? '').includes('line 50 of nginx')`)
		waitJS(t, bctx, "recent events", `document.querySelectorAll('#events li').length >= 3`)
		screenshot(t, bctx, "app")

		// A deployment under way shows its progress.
		p.gate.hold("/tomcat-1")
		tomcat := p.repo.Files(t, "refs/heads/main")["examples/apps/tomcat-1.yaml"]
		p.repo.Change(t, "main", map[string]string{"examples/apps/tomcat-1.yaml": strings.Replace(tomcat, "instances: 1", "instances: 2", 1)}, nil, "tomcat x2")
		navigate(t, bctx, p.url+"/ui/apps/tomcat-1")
		waitJS(t, bctx, "the rollout in progress", mainText("#deploy")+`.includes('in progress') && `+mainText("#deploy")+`.includes('1 of 2')`)
		screenshot(t, bctx, "app-rollout")
		p.gate.release("/tomcat-1")
		waitJS(t, bctx, "the rollout done", mainText("#deploy")+`.includes('no rollout') && `+mainText("#deploy")+`.includes('2 of 2')`)
	})

	t.Run("agents", func(t *testing.T) {
		click(t, bctx, `nav a[data-nav="agents"]`)
		waitJS(t, bctx, "3 agents with bars", `document.querySelectorAll('.agent .bar').length === 9`)
		waitJS(t, bctx, "attributes", mainText("#agents")+`.includes('rack=r1')`)
		click(t, bctx, `details[data-agent="agent-2"] summary`)
		waitJS(t, bctx, "agent-2's tasks", `document.querySelectorAll('details[data-agent="agent-2"] .tl tr').length > 0`)
		screenshot(t, bctx, "agents")
	})

	t.Run("job history and graph", func(t *testing.T) {
		waitFor(t, ctx, "chronos-nginx-report ran after chronos-nginx", func() bool {
			runs := jobRuns(t, ctx, p.st, "chronos-nginx-report")
			return len(runs) > 0 && runs[len(runs)-1].State == "SUCCEEDED"
		})
		click(t, bctx, `nav a[data-nav="jobs"]`)
		waitJS(t, bctx, "the jobs table", mainText("#jobs")+`.includes('every day at 14:00 UTC')`)
		waitJS(t, bctx, "the graph: two nodes and an edge", `document.querySelectorAll('#graph .node').length === 2 && document.querySelectorAll('#graph path.edge').length === 1`)
		screenshot(t, bctx, "jobs")
		click(t, bctx, `#graph a[data-job="chronos-nginx"]`)
		waitJS(t, bctx, "the history with a duration", `document.querySelectorAll('#runs tr[data-run]').length >= 1 && `+mainText("#runs")+`.includes('SUCCEEDED')`)
		click(t, bctx, `#runs tr[data-run] a`)
		waitJS(t, bctx, "the run's output", mainText("#run-out")+`.includes('42 lines written')`)
	})

	t.Run("a read-only visitor cannot write; the token flow", func(t *testing.T) {
		before := len(jobRuns(t, ctx, p.st, "chronos-nginx"))
		// No token: the UI asks for one; dismissing it sends nothing.
		click(t, bctx, `#run-now`)
		waitJS(t, bctx, "the token dialog", `document.getElementById('token-dialog').open`)
		click(t, bctx, `#token-cancel`)
		waitJS(t, bctx, "the refusal", mainText("#run-msg")+`.includes('needs the API token')`)
		// A wrong token is refused by the server.
		click(t, bctx, `#run-now`)
		if err := chromedp.Do(bctx, chromedp.SendKeys(chromedp.ID("token-input"), "not-the-token"), chromedp.Click(chromedp.ID("token-save"))); err != nil {
			t.Fatal(err)
		}
		waitJS(t, bctx, "the server's refusal", mainText("#run-msg")+`.includes('did not accept')`)
		time.Sleep(500 * time.Millisecond)
		if n := len(jobRuns(t, ctx, p.st, "chronos-nginx")); n != before {
			t.Fatalf("a visitor without the token started a run: %d runs, want %d", n, before)
		}
		// The right token, once: kept for the session, never in the URL.
		click(t, bctx, `#run-now`)
		if err := chromedp.Do(bctx, chromedp.SendKeys(chromedp.ID("token-input"), testToken), chromedp.Click(chromedp.ID("token-save"))); err != nil {
			t.Fatal(err)
		}
		waitJS(t, bctx, "the run requested", mainText("#run-msg")+`.includes('Run requested')`)
		waitJS(t, bctx, "the manual run in the history", mainText("#runs")+`.includes('manual')`)
		waitJS(t, bctx, "the token kept for the session", fmt.Sprintf(`sessionStorage.getItem('berth.token') === %q && !location.href.includes(%q)`, testToken, testToken))
		click(t, bctx, `#run-now`) // no dialog this time
		waitJS(t, bctx, "a second run without asking again", `!document.getElementById('token-dialog').open && document.querySelectorAll('#runs tr[data-run]').length >= 3`)
		click(t, bctx, `#runs tr[data-run] a`)
		screenshot(t, bctx, "job")
	})

	t.Run("protected reads need the token", func(t *testing.T) {
		navigate(t, bctx, p.protectedURL+"/ui/apps")
		waitJS(t, bctx, "the request for the token", `document.getElementById('banner').innerText.includes('protects reads')`)
		waitJS(t, bctx, "no app shown", `document.querySelectorAll('tr[data-app]').length === 0`)
		click(t, bctx, `#banner [data-act="token"]`)
		if err := chromedp.Do(bctx, chromedp.SendKeys(chromedp.ID("token-input"), testToken), chromedp.Click(chromedp.ID("token-save"))); err != nil {
			t.Fatal(err)
		}
		waitJS(t, bctx, "the apps", `document.querySelectorAll('tr[data-app]').length === 5 && document.getElementById('banner').hidden`)
		waitJS(t, bctx, "the live stream with the token", `document.getElementById('live').classList.contains('on')`)
		navigate(t, bctx, p.url+"/ui/")
	})

	t.Run("queues, diff and templates", func(t *testing.T) {
		click(t, bctx, `nav a[data-nav="queues"]`)
		waitJS(t, bctx, "the queues", mainText("#queues")+`.includes('/biz1/q11')`)
		screenshot(t, bctx, "queues")
		files := p.repo.Files(t, "refs/heads/main")
		files["examples/apps/tomcat-1.yaml"] = strings.Replace(files["examples/apps/tomcat-1.yaml"], "instances: 2", "instances: 3", 1)
		p.repo.Commit(t, "feature", files, "tomcat x2")
		navigate(t, bctx, p.url+"/ui/diff?ref=feature")
		waitJS(t, bctx, "the diff of feature", mainText("#diff")+`.includes('tomcat-1') && `+mainText("#diff")+`.includes('1 to update')`)
		screenshot(t, bctx, "diff")
		click(t, bctx, `nav a[data-nav="templates"]`)
		waitJS(t, bctx, "the templates", mainText("#templates")+`.includes('/nginx-upstream') && `+mainText("#templates")+`.includes('nginx -t')`)
		waitJS(t, bctx, "the template's last render", mainText(`tr[data-template="/nginx-upstream"]`)+`.includes('rendered')`)
		screenshot(t, bctx, "templates")
	})

	t.Run("a rejected commit on the overview", func(t *testing.T) {
		click(t, bctx, `nav a[data-nav="overview"]`)
		waitJS(t, bctx, "the overview", mainText("#app-count")+` === '5'`)
		web := p.repo.Files(t, "refs/heads/main")["examples/apps/nginx-2.yaml"]
		p.repo.Change(t, "main", map[string]string{"examples/apps/nginx-2.yaml": strings.Replace(web, "cpus: 0.2", "cpus: lots", 1)}, nil, "more cpu")
		waitJS(t, bctx, "the rejection with its error", mainText("#rejected")+`.includes('nginx-2.yaml:8') && `+mainText("#rejected")+`.includes('cpus')`)
		screenshot(t, bctx, "overview-rejected")
	})

	if ps := problems(); len(ps) > 0 {
		t.Errorf("the pages logged errors:\n%s", strings.Join(ps, "\n"))
	}
}

func waitFor(t *testing.T, ctx context.Context, what string, ok func() bool) {
	t.Helper()
	for !ok() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestUIImportsNoBerthPackage keeps the UI a client of the API: it serves
// files, and its pages know the cluster only through the JSON the CLI reads.
func TestUIImportsNoBerthPackage(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, "github.com/berthops/berth/ui").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, imp := range strings.Fields(string(out)) {
		if strings.HasPrefix(imp, "github.com/berthops/berth/") {
			t.Errorf("package ui imports %s", imp)
		}
	}
}
