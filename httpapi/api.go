// Package httpapi is Berth's HTTP API: the reconciler's status, apps,
// tasks, agents, jobs, queues, deployments, diffs, the observed snapshot,
// the event stream (SSE), sync requests and push webhooks, with the token,
// read protection, stream caps, replay cache and diff gate that guard them.
// It reads the reconciler and the cluster state and writes nothing but
// requests to the reconciler (sync, run a job); the server mounts it.
package httpapi

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/reconciler"
	"github.com/berthops/berth/reconciler/decide"
	"github.com/berthops/berth/reconciler/plan"
	"github.com/berthops/berth/reconciler/rollout"
	"github.com/berthops/berth/taskindex"
)

// Reconciler is what the API reads from and asks of the reconcile loop
// (*reconciler.Reconciler).
type Reconciler interface {
	Status() reconciler.Status
	Desired() (*manifests.Set, string)
	// Sync asks for a fetch and a pass now and returns the request's
	// generation.
	Sync() uint64
	RunJob(job string) error
	Diff(ctx context.Context, ref string) (*plan.Plan, plan.Header, error)
	Snapshot(ctx context.Context) (decide.Snapshot, error)
	Subscribe(ch chan<- reconciler.Status) (cancel func())
	ReadFile(commit, file string) ([]byte, error)
}

// Options secure the HTTP API.
type Options struct {
	// Token is the bearer token write endpoints require (`--token-file`).
	// With no token every write is refused: an orchestrator whose API anyone
	// can drive is not safe to expose.
	Token string
	// ProtectReads makes reads need the token too.
	ProtectReads bool
	// WebhookSecret verifies push webhooks; empty refuses every webhook.
	WebhookSecret string
	// Forward, when set, is called first for endpoints only the leader can
	// answer (sync, webhooks, object status); it returns true if it proxied
	// the request to the leader.
	Forward func(w http.ResponseWriter, r *http.Request) bool
	// MaxStreams caps concurrent GET /v1/events clients (default 100);
	// past it a client gets 503.
	MaxStreams int
	Logger     *slog.Logger
	// Index, when set, is the leader's task index (fed by its passes): one
	// app's tasks, totals and counts are read through it instead of
	// walking every task. A replica whose index is not built yet forwards
	// such reads to the leader (Forward), or reads every task.
	Index *taskindex.Index
	// Logs reaches the agents' task logs; nil: GET /v1/tasks/{id}/logs
	// answers 501.
	Logs TaskLogs
}

// DefaultMaxStreams is Options.MaxStreams when unset.
const DefaultMaxStreams = 100

// streamWriteTimeout bounds one write to an event stream.
const streamWriteTimeout = 30 * time.Second

// replayMemory is how many webhook delivery ids are remembered.
const replayMemory = 4096

// Routes returns the reconciler's endpoints as pattern -> handler, for the
// server to mount. Reads of agents and tasks come from the store, so every
// replica answers them; sync, webhooks and object status are the leader's.
// A diff fetches and loads a whole commit and the observed state holds every
// app's env, so both need the token even when reads are open.
func Routes(r Reconciler, state *cluster.State, o Options) map[string]http.Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxStreams <= 0 {
		o.MaxStreams = DefaultMaxStreams
	}
	a := &api{r: r, state: state, o: o, streams: make(chan struct{}, o.MaxStreams), deliveries: newDeliveries(replayMemory), diffs: newDiffGate()}
	return map[string]http.Handler{
		"POST /v1/hooks/git":      a.leaderOnly(http.HandlerFunc(a.hook)),
		"POST /v1/sync":           a.write(a.leaderOnly(http.HandlerFunc(a.sync))),
		"GET /v1/sync":            a.read(a.leaderOnly(http.HandlerFunc(a.syncStatus))),
		"GET /v1/apps":            a.read(a.leaderOnly(http.HandlerFunc(a.apps))),
		"GET /v1/apps/{id...}":    a.read(a.leaderOnly(http.HandlerFunc(a.app))),
		"GET /v1/tasks":           a.read(http.HandlerFunc(a.tasks)),
		"GET /v1/tasks/{id}/logs": a.read(http.HandlerFunc(a.taskLogs)),
		"GET /v1/agents":          a.read(http.HandlerFunc(a.agents)),
		"GET /v1/events":          a.read(a.leaderOnly(http.HandlerFunc(a.events))),
		// Jobs' outcomes and manual runs are the leader's; their history is
		// read from the store, so any replica answers it.
		"GET /v1/jobs":             a.read(a.leaderOnly(http.HandlerFunc(a.jobs))),
		"GET /v1/diff":             a.write(a.leaderOnly(http.HandlerFunc(a.diff))),
		"GET /v1/observed":         a.write(a.leaderOnly(http.HandlerFunc(a.observed))),
		"GET /v1/queues":           a.read(a.leaderOnly(http.HandlerFunc(a.queues))),
		"GET /v1/deployments":      a.read(a.leaderOnly(http.HandlerFunc(a.deployments))),
		"GET /v1/jobs/{name}/runs": a.read(http.HandlerFunc(a.jobRuns)),
		"POST /v1/jobs/{name}/run": a.write(a.leaderOnly(http.HandlerFunc(a.runJob))),
		// For the web UI (browse.go).
		"GET /v1/templates": a.read(http.HandlerFunc(a.templates)),
		"GET /v1/manifest":  a.read(a.leaderOnly(http.HandlerFunc(a.manifest))),
		"GET /v1/renders":   a.read(http.HandlerFunc(a.renders)),
	}
}

type api struct {
	r          Reconciler
	state      *cluster.State
	o          Options
	streams    chan struct{} // one token per open event stream
	deliveries *deliveries
	diffs      *diffGate
	encoded    sharedEncoding // the event streams' last status
}

// authorized checks the bearer token. The scheme name is case-insensitive
// (RFC 7235), so "bearer" from some clients is the same as "Bearer".
func (a *api) authorized(req *http.Request) bool {
	scheme, tok, ok := strings.Cut(req.Header.Get("Authorization"), " ")
	tok = strings.TrimLeft(tok, " ")
	return ok && strings.EqualFold(scheme, "Bearer") && a.o.Token != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(a.o.Token)) == 1
}

func (a *api) write(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !a.authorized(req) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="berth"`)
			writeError(w, http.StatusUnauthorized, "this endpoint needs a bearer token (the server's --token-file)")
			return
		}
		h.ServeHTTP(w, req)
	})
}

func (a *api) read(h http.Handler) http.Handler {
	if !a.o.ProtectReads {
		return h
	}
	return a.write(h)
}

func (a *api) leaderOnly(h http.Handler) http.Handler {
	if a.o.Forward == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if a.o.Forward(w, req) {
			return
		}
		h.ServeHTTP(w, req)
	})
}

func (a *api) hook(w http.ResponseWriter, req *http.Request) {
	if a.o.WebhookSecret == "" || !HasWebhookCredentials(req.Header) {
		a.o.Logger.Warn("webhook rejected: no signature or token", "remote", req.RemoteAddr)
		w.Header().Set("Connection", "close") // the unread body is not worth waiting for
		writeError(w, http.StatusUnauthorized, "webhook signature or token missing or wrong")
		return
	}
	body, err := readHookBody(req)
	if err != nil {
		code := http.StatusBadRequest // a body that stalled past the read timeout, or broke off
		if _, tooBig := errors.AsType[*http.MaxBytesError](err); tooBig {
			code = http.StatusRequestEntityTooLarge
		}
		writeError(w, code, fmt.Sprintf("read webhook: %v", err))
		return
	}
	provider, ok := VerifyWebhook(req.Header, body, a.o.WebhookSecret)
	if !ok {
		a.o.Logger.Warn("webhook rejected", "provider", provider, "remote", req.RemoteAddr)
		writeError(w, http.StatusUnauthorized, "webhook signature or token missing or wrong")
		return
	}
	if id := deliveryID(req.Header); id != "" && !a.deliveries.first(id) {
		a.o.Logger.Warn("webhook rejected: delivery already seen (replayed)", "provider", provider, "delivery", id, "remote", req.RemoteAddr)
		writeError(w, http.StatusConflict, "webhook delivery already received")
		return
	}
	gen := a.r.Sync()
	writeJSON(w, http.StatusAccepted, map[string]any{"sync": "started", "provider": provider, "generation": gen})
}

func (a *api) sync(w http.ResponseWriter, _ *http.Request) {
	gen := a.r.Sync()
	writeJSON(w, http.StatusAccepted, map[string]any{"sync": "started", "generation": gen})
}

func (a *api) syncStatus(w http.ResponseWriter, req *http.Request) {
	writeJSON(w, http.StatusOK, summarize(req, a.r.Status()))
}

func (a *api) apps(w http.ResponseWriter, req *http.Request) {
	rows, ok := a.appRows(w, req, a.r.Status().Apps)
	if !ok {
		return
	}
	if rows, ok = page(w, req, rows); ok {
		writeJSON(w, http.StatusOK, rows)
	}
}

func (a *api) app(w http.ResponseWriter, req *http.Request) {
	id := "/" + strings.TrimPrefix(req.PathValue("id"), "/")
	for _, s := range a.r.Status().Apps {
		if s.ID == id {
			writeJSON(w, http.StatusOK, s)
			return
		}
	}
	writeError(w, http.StatusNotFound, fmt.Sprintf("no app %s in the desired state", id))
}

func (a *api) agents(w http.ResponseWriter, req *http.Request) {
	snap, ok := a.snapshot()
	agents := snap.Agents
	if !ok {
		if agents, ok = readStore(w, req, "agents", a.state.Agents); !ok {
			return
		}
	}
	rows, ok := a.agentRows(w, req, agents)
	if !ok {
		return
	}
	if rows, ok = page(w, req, rows); ok {
		writeJSON(w, http.StatusOK, rows)
	}
}

func (a *api) jobs(w http.ResponseWriter, req *http.Request) {
	if rows, ok := a.jobRows(w, req, a.r.Status().Jobs); ok {
		writeJSON(w, http.StatusOK, rows)
	}
}

// jobRuns is a job's history, newest first, read from the store so any
// replica answers it.
func (a *api) jobRuns(w http.ResponseWriter, req *http.Request) {
	runs, ok := readStore(w, req, "runs", func(ctx context.Context) ([]cluster.JobRun, error) {
		return a.state.JobRuns(ctx, req.PathValue("name"))
	})
	if !ok {
		return
	}
	out := make([]cluster.JobRun, 0, len(runs))
	for i := len(runs) - 1; i >= 0; i-- {
		out = append(out, runs[i])
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *api) runJob(w http.ResponseWriter, req *http.Request) {
	if err := a.r.RunJob(req.PathValue("name")); err != nil {
		code := http.StatusNotFound
		if errors.Is(err, reconciler.ErrJobDisabled) {
			code = http.StatusConflict
		}
		writeError(w, code, err.Error())
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"run": "requested"})
}

// diff is the live diff of `berth diff --server`: ?ref= against the cluster,
// in the JSON schema of `berth diff --format json` (docs/diff-json.md). An
// invalid ref answers 422 with every error, as `berth validate` prints them.
func (a *api) diff(w http.ResponseWriter, req *http.Request) {
	p, h, wait, err := a.diffs.do(req.Context(), req.URL.Query().Get("ref"), a.r.Diff)
	if wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds()+0.999)))
		writeError(w, http.StatusTooManyRequests, "too many diffs: try again later")
		return
	}
	if err != nil {
		var list manifests.ErrorList
		if errors.As(err, &list) {
			lines := make([]string, len(list))
			for i, e := range list {
				lines[i] = e.Error()
			}
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": "invalid manifests", "errors": lines})
			return
		}
		code := http.StatusBadGateway
		if errors.Is(err, reconciler.ErrUnknownRef) {
			code = http.StatusNotFound
		}
		writeError(w, code, fmt.Sprintf("diff: %v", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = plan.WriteJSON(w, p, h)
}

// observed is the live state in the form `berth diff --observed FILE`
// reads (docs/diff-json.md): `berth diff --server` plans a local commit
// against it, so a branch that was never pushed can be checked too.
func (a *api) observed(w http.ResponseWriter, req *http.Request) {
	ctx, cancel := context.WithTimeout(req.Context(), storeReadTimeout)
	defer cancel()
	snap, err := a.r.Snapshot(ctx)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("read the cluster state: %v", err))
		return
	}
	w.Header().Set("X-Berth-Commit", snap.Commit)
	snap.Tasks = cluster.WithoutSealed(snap.Tasks)
	writeJSON(w, http.StatusOK, snap)
}

// queues is every declared queue with its shares and current use.
func (a *api) queues(w http.ResponseWriter, req *http.Request) {
	snap, ok := a.snapshot()
	agents, tasks := snap.Agents, snap.AllTasks()
	if !ok {
		if agents, ok = readStore(w, req, "agents", a.state.Agents); !ok {
			return
		}
		if tasks, ok = readStore(w, req, "tasks", a.state.Tasks); !ok {
			return
		}
	}
	set, _ := a.r.Desired()
	writeJSON(w, http.StatusOK, decide.Queues(set, agents, tasks))
}

// Deployment is an app whose rollout is in progress, in Marathon's terms.
type Deployment struct {
	App     string `json:"app"`
	Version string `json:"version"`
	Commit  string `json:"commit"`
	// Message says where the rollout is ("2/3 healthy, waiting for /db").
	Message string `json:"message,omitempty"`
	Healthy int    `json:"healthy"`
	Running int    `json:"running"`
}

// deployments lists the apps not yet synced and healthy: Berth's rollouts
// are level-triggered, so a deployment is simply an app on its way.
func (a *api) deployments(w http.ResponseWriter, _ *http.Request) {
	st := a.r.Status()
	out := []Deployment{}
	for _, app := range st.Apps {
		if app.Sync == rollout.Synced && app.Health != rollout.Progressing {
			continue
		}
		out = append(out, Deployment{App: app.ID, Version: app.Version, Commit: st.Desired, Message: app.Message, Healthy: app.Healthy, Running: app.Instances})
	}
	writeJSON(w, http.StatusOK, out)
}

// storeReadTimeout bounds an API read of the cluster state.
const storeReadTimeout = 10 * time.Second

// readStore reads what from the cluster state for a request, answering 503
// (and returning false) when the store cannot be read in time.
func readStore[T any](w http.ResponseWriter, req *http.Request, what string, read func(context.Context) (T, error)) (T, bool) {
	ctx, cancel := context.WithTimeout(req.Context(), storeReadTimeout)
	defer cancel()
	v, err := read(ctx)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("read %s: %v", what, err))
		return v, false
	}
	return v, true
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// Diffs are bounded because each fetches and loads a whole commit, holding
// the Git source the reconcile loop needs: concurrent requests for one ref
// share one computation, and new computations start at most diffBurst at
// once and one per diffInterval after that.
const (
	diffBurst    = 4
	diffInterval = 5 * time.Second
	diffTimeout  = time.Minute
)

// diffGate is the single flight and token bucket in front of Reconciler.Diff.
type diffGate struct {
	mu       sync.Mutex
	inflight map[string]*diffCall
	tokens   float64
	last     time.Time
	now      func() time.Time
}

type diffCall struct {
	done   chan struct{}
	shared int // requests that joined the one that started it
	p      *plan.Plan
	h      plan.Header
	err    error
}

func newDiffGate() *diffGate {
	return &diffGate{inflight: map[string]*diffCall{}, tokens: diffBurst, now: time.Now}
}

// do returns the diff of ref, computed by f or shared with a computation
// already in flight. wait > 0 means refused: retry after wait.
func (g *diffGate) do(ctx context.Context, ref string, f func(context.Context, string) (*plan.Plan, plan.Header, error)) (*plan.Plan, plan.Header, time.Duration, error) {
	g.mu.Lock()
	c, ok := g.inflight[ref]
	if !ok {
		now := g.now()
		g.tokens = min(diffBurst, g.tokens+now.Sub(g.last).Seconds()/diffInterval.Seconds())
		g.last = now
		if g.tokens < 1 {
			wait := time.Duration((1 - g.tokens) * float64(diffInterval))
			g.mu.Unlock()
			return nil, plan.Header{}, wait, nil
		}
		g.tokens--
		c = &diffCall{done: make(chan struct{})}
		g.inflight[ref] = c
		// The computation outlives the client that started it, since
		// others may be waiting for it; it is bounded by its own timeout.
		go func() {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), diffTimeout)
			defer cancel()
			c.p, c.h, c.err = f(cctx, ref)
			g.mu.Lock()
			delete(g.inflight, ref)
			g.mu.Unlock()
			close(c.done)
		}()
	} else {
		c.shared++
	}
	g.mu.Unlock()
	select {
	case <-c.done:
		return c.p, c.h, 0, c.err
	case <-ctx.Done():
		return nil, plan.Header{}, 0, fmt.Errorf("diff %s: %w", ref, ctx.Err())
	}
}
