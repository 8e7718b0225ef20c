package templates

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berthops/berth/manifests"
)

// RunnerOptions configure a Runner. Only Source is required.
type RunnerOptions struct {
	Source Source
	Logger *slog.Logger
	// Now is the clock for timestamps and wait windows (default time.Now).
	Now func() time.Time
	// Env answers `env` as given (tests). When nil, `env` reads the
	// process environment, but only the variables whose names start with
	// EnvPrefix: the process holds credentials (BERTH_GIT_TOKEN,
	// CONSUL_HTTP_TOKEN) that a template from Git must not copy into a file.
	// An empty EnvPrefix allows none; DefaultEnvPrefix is the CLI's default.
	Env       Env
	EnvPrefix string
	// Dry prints rendered templates to this writer ("> destination" then the
	// contents, as consul-template -dry does) instead of writing files and
	// running commands.
	Dry io.Writer
	// CommandTimeout bounds validate and command runs (default 30s).
	CommandTimeout time.Duration
	// RetryMin and RetryMax bound the back-off after a source error
	// (defaults 250ms and 10s).
	RetryMin, RetryMax time.Duration
	// RecoveryHold is how long, at most, an instance, node or service list
	// that shrank in the first answer after a source failure is held back
	// before it is believed (default 15s). Meanwhile it is fetched again
	// every RetryMin, and used as soon as it lists as many entries as the
	// last good answer.
	RecoveryHold time.Duration

	envCheck func(name string) error // set by NewRunner from EnvPrefix
}

// DefaultEnvPrefix is the prefix of the variables templates may read with
// `env` unless the operator sets another (--template-env-prefix).
const DefaultEnvPrefix = "BERTH_TEMPLATE_"

// envPrefixCheck refuses the variables outside prefix, naming the setting
// that would allow them.
func envPrefixCheck(prefix string) func(string) error {
	return func(name string) error {
		if prefix != "" && strings.HasPrefix(name, prefix) {
			return nil
		}
		if prefix == "" {
			return fmt.Errorf("env %q: templates may read no environment variables here (set --template-env-prefix)", name)
		}
		return fmt.Errorf("env %q: templates may only read variables whose names start with %q (--template-env-prefix)", name, prefix)
	}
}

// Status is what a template's runner knows about it, for `berth status` and
// for tests. Err and SourceErr say why the file on disk is not (or may not
// be) what the latest data would render.
type Status struct {
	ID          string
	Destination string
	// Rendered is true once the destination holds this template's output.
	Rendered   bool
	LastRender time.Time // last time the output was checked against the file
	LastWrite  time.Time // last time the file changed
	Writes     int
	// Waiting lists queries without an answer yet.
	Waiting []string
	// Err is the last render, write, validate or command failure, cleared
	// by the next success.
	Err string
	// SourceErr is a data source failure (or a held answer) affecting the
	// template; the last good file stays in place meanwhile.
	SourceErr string
}

// Runner keeps the destinations of a set of templates up to date. One
// goroutine (Run) owns all its state; watches report to it over a channel.
type Runner struct {
	opts      RunnerOptions
	log       *slog.Logger
	templates []*managed // owned by the loop

	reloadMu sync.Mutex
	reload   chan []*managed // template sets from Update, taken by the loop

	mu     sync.Mutex
	status map[string]Status
}

// managed is one template and what the runner remembers about it.
type managed struct {
	spec     manifests.Template
	tmpl     *Template
	perms    os.FileMode
	waitMin  time.Duration
	waitMax  time.Duration
	used     map[string]Query
	dirty    bool
	rendered bool
	// first and last unrendered change, for the wait window.
	firstChange, lastChange time.Time
	status                  Status
}

// NewRunner parses every template and checks its settings. Errors name the
// manifest file, line and field.
func NewRunner(specs []manifests.Template, opts RunnerOptions) (*Runner, error) {
	if opts.Source == nil {
		return nil, errors.New("templates: runner needs a data source")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Env == nil {
		opts.Env = os.LookupEnv
		opts.envCheck = envPrefixCheck(opts.EnvPrefix)
	}
	if opts.CommandTimeout <= 0 {
		opts.CommandTimeout = 30 * time.Second
	}
	if opts.RetryMin <= 0 {
		opts.RetryMin = 250 * time.Millisecond
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = 10 * time.Second
	}
	if opts.RecoveryHold <= 0 {
		opts.RecoveryHold = 15 * time.Second
	}
	ms, err := buildManaged(specs)
	if err != nil {
		return nil, err
	}
	r := &Runner{opts: opts, log: opts.Logger, status: map[string]Status{}, reload: make(chan []*managed, 1)}
	r.swap(ms)
	return r, nil
}

// buildManaged parses a template set, rejecting two templates that write the
// same file.
func buildManaged(specs []manifests.Template) ([]*managed, error) {
	var errs []error
	var out []*managed
	byDest := map[string]*managed{}
	for _, spec := range specs {
		m, err := newManaged(spec)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if other, dup := byDest[spec.Destination]; dup {
			errs = append(errs, fmt.Errorf("%s: template %s: field destination: %s is also the destination of template %s", where(spec), spec.ID, spec.Destination, other.spec.ID))
			continue
		}
		byDest[spec.Destination] = m
		out = append(out, m)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// Update replaces the template set of a running (or not yet started)
// runner, as an agent does when a commit changes the templates placed on its
// node. It parses and checks the new set first and leaves the running one
// alone if that fails. Templates whose manifest is unchanged keep their
// state (no re-render, no reload); new or changed ones render on the next
// pass from the data already watched; removed ones stop being watched (their
// files are left in place).
func (r *Runner) Update(specs []manifests.Template) error {
	ms, err := buildManaged(specs)
	if err != nil {
		return err
	}
	r.reloadMu.Lock()
	defer r.reloadMu.Unlock()
	select {
	case <-r.reload: // an update the loop has not taken yet is superseded
	default:
	}
	r.reload <- ms
	return nil
}

// swap installs a new template set, keeping the state of unchanged
// templates. Only the loop (or NewRunner, before it runs) calls it.
func (r *Runner) swap(next []*managed) {
	old := map[string]*managed{}
	for _, m := range r.templates {
		old[m.spec.ID] = m
	}
	status := make(map[string]Status, len(next))
	for i, m := range next {
		if o, ok := old[m.spec.ID]; ok && reflect.DeepEqual(o.spec, m.spec) {
			next[i] = o
		}
		status[next[i].spec.ID] = next[i].status
	}
	r.templates = next
	r.mu.Lock()
	r.status = status
	r.mu.Unlock()
}

func where(spec manifests.Template) string {
	if spec.Origin.File == "" {
		return "template " + spec.ID
	}
	return fmt.Sprintf("%s:%d", spec.Origin.File, spec.Origin.Line)
}

func newManaged(spec manifests.Template) (*managed, error) {
	at := where(spec)
	if spec.Destination == "" {
		return nil, fmt.Errorf("%s: template %s: field destination: required", at, spec.ID)
	}
	name := spec.Source
	if name == "" {
		name = at + " (template " + spec.ID + " contents)"
	}
	tmpl, err := Parse(name, spec.Contents, Options{LeftDelim: spec.LeftDelim, RightDelim: spec.RightDelim})
	if err != nil {
		return nil, fmt.Errorf("%s: template %s: field contents: %w", at, spec.ID, err)
	}
	m := &managed{spec: spec, tmpl: tmpl, used: map[string]Query{}, dirty: true,
		status: Status{ID: spec.ID, Destination: spec.Destination}}
	if spec.Perms != "" {
		p, err := strconv.ParseUint(spec.Perms, 8, 32)
		if err != nil || p > 0o7777 || p == 0 {
			return nil, fmt.Errorf("%s: template %s: field perms: %q is not an octal file mode such as \"0644\"", at, spec.ID, spec.Perms)
		}
		m.perms = os.FileMode(p)
	}
	if spec.Wait != nil {
		min, max, err := ParseWait(spec.Wait.Min, spec.Wait.Max)
		if err != nil {
			return nil, fmt.Errorf("%s: template %s: field wait: %w", at, spec.ID, err)
		}
		m.waitMin, m.waitMax = min, max
	}
	return m, nil
}

// ParseWait reads a wait window; max defaults to 4x min, as in consul-template.
func ParseWait(minS, maxS string) (time.Duration, time.Duration, error) {
	min, err := time.ParseDuration(minS)
	if err != nil || min < 0 {
		return 0, 0, fmt.Errorf("min %q is not a duration such as \"5s\"", minS)
	}
	max := 4 * min
	if maxS != "" {
		max, err = time.ParseDuration(maxS)
		if err != nil || max < min {
			return 0, 0, fmt.Errorf("max %q is not a duration of at least min (%s)", maxS, min)
		}
	}
	return min, max, nil
}

// Status returns every template's status, ordered by id.
func (r *Runner) Status() []Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Status, 0, len(r.status))
	for _, s := range r.status {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Run keeps every destination up to date until ctx ends.
func (r *Runner) Run(ctx context.Context) error {
	return r.loop(ctx, false)
}

// RunOnce renders every template once all its data is present, runs the
// commands of those that changed, and returns. A template that fails to
// render, validate or run its command makes it return an error.
func (r *Runner) RunOnce(ctx context.Context) error {
	return r.loop(ctx, true)
}

// watchState is the runner's view of one shared query.
type watchState struct {
	q      Query
	cancel context.CancelFunc
	value  any
	has    bool
	err    string
}

func (r *Runner) loop(ctx context.Context, once bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	updates := make(chan watchUpdate, 64)
	watches := map[string]*watchState{}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	cfg := watchConfig{retryMin: r.opts.RetryMin, retryMax: r.opts.RetryMax, recoveryHold: r.opts.RecoveryHold, now: r.opts.Now}

	data := Snapshot{}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()

	for {
		// Render what is due, then make the watches match what the
		// templates used.
		next, onceErr := r.pass(ctx, data, once)
		want := map[string]Query{}
		for _, m := range r.templates {
			for k, q := range m.used {
				want[k] = q
			}
		}
		for k, q := range want {
			if _, ok := watches[k]; !ok {
				wctx, wcancel := context.WithCancel(ctx)
				watches[k] = &watchState{q: q, cancel: wcancel}
				wg.Add(1)
				go func() {
					defer wg.Done()
					watch(wctx, r.opts.Source, q, cfg, updates, r.log)
				}()
			}
		}
		for k, w := range watches {
			if _, ok := want[k]; !ok {
				w.cancel()
				delete(watches, k)
				delete(data, k)
			}
		}
		if once {
			if onceErr != nil {
				return onceErr
			}
			if r.allRendered() {
				return nil
			}
		}
		if !next.IsZero() {
			timer.Reset(max(next.Sub(r.opts.Now()), 0))
		}
		select {
		case <-ctx.Done():
			return nil
		case ms := <-r.reload:
			r.swap(ms)
		case <-timer.C:
		case u := <-updates:
			r.apply(u, data, watches)
			// Drain what else has arrived, so a burst costs one pass.
			for drained := false; !drained; {
				select {
				case u := <-updates:
					r.apply(u, data, watches)
				default:
					drained = true
				}
			}
		}
	}
}

// apply records an update and marks the templates that use it dirty.
func (r *Runner) apply(u watchUpdate, data Snapshot, watches map[string]*watchState) {
	w, ok := watches[u.key]
	if !ok {
		return // a watch that was just stopped
	}
	changed := false
	switch {
	case u.err != nil:
		w.err = "data source error for " + u.key + ": " + u.err.Error() + "; keeping the last rendered file"
		changed = true
	case u.held != "":
		w.err = u.key + ": " + u.held
		changed = true
	default:
		if w.err != "" {
			w.err = ""
			changed = true
		}
		if !w.has || !reflect.DeepEqual(w.value, u.value) {
			w.value, w.has = u.value, true
			data[u.key] = u.value
			changed = true
		}
	}
	if !changed {
		return
	}
	now := r.opts.Now()
	for _, m := range r.templates {
		if _, ok := m.used[u.key]; !ok {
			continue
		}
		m.status.SourceErr = ""
		for k := range m.used {
			if ws, ok := watches[k]; ok && ws.err != "" {
				m.status.SourceErr = ws.err
			}
		}
		if u.err != nil || u.held != "" {
			r.publish(m)
			continue
		}
		m.dirty = true
		if m.firstChange.IsZero() {
			m.firstChange = now
		}
		m.lastChange = now
	}
}

func (r *Runner) allRendered() bool {
	for _, m := range r.templates {
		if !m.rendered {
			return false
		}
	}
	return true
}

func (r *Runner) publish(m *managed) {
	r.mu.Lock()
	r.status[m.spec.ID] = m.status
	r.mu.Unlock()
}

// pass renders every dirty template whose wait window has passed, then runs
// the commands of those that changed, each distinct command once. It returns
// when the next deferred template is due.
func (r *Runner) pass(ctx context.Context, data Snapshot, once bool) (time.Time, error) {
	now := r.opts.Now()
	var next time.Time
	var commands []string
	seen := map[string]bool{}
	var errs []error
	for _, m := range r.templates {
		if !m.dirty {
			continue
		}
		if m.rendered && m.waitMin > 0 {
			due := m.lastChange.Add(m.waitMin)
			if cap := m.firstChange.Add(m.waitMax); cap.Before(due) {
				due = cap
			}
			if now.Before(due) {
				if next.IsZero() || due.Before(next) {
					next = due
				}
				continue
			}
		}
		changed, err := r.render(ctx, m, data)
		if err != nil {
			errs = append(errs, fmt.Errorf("template %s (%s): %w", m.spec.ID, m.spec.Destination, err))
		}
		if changed && m.spec.Command != "" && !seen[m.spec.Command] {
			seen[m.spec.Command] = true
			commands = append(commands, m.spec.Command)
		}
	}
	for _, c := range commands {
		err := runShell(ctx, c, r.opts.CommandTimeout)
		for _, m := range r.templates {
			if m.spec.Command != c {
				continue
			}
			if err != nil {
				m.status.Err = "command failed: " + err.Error()
				errs = append(errs, fmt.Errorf("template %s: command: %w", m.spec.ID, err))
			}
			r.publish(m)
		}
		if err != nil {
			r.log.Error("template command failed", "command", c, "err", err)
		}
	}
	if !once {
		return next, nil
	}
	return next, errors.Join(errs...)
}

// render executes one template and, when complete and different from the
// file on disk, writes, validates and reports whether the file changed.
func (r *Runner) render(ctx context.Context, m *managed, data Snapshot) (bool, error) {
	res, err := m.tmpl.Execute(ExecInput{Data: data, Now: r.opts.Now(), Env: r.opts.Env, EnvCheck: r.opts.envCheck})
	m.status.LastRender = r.opts.Now()
	// The loop starts a watch for every query seen for the first time; its
	// answer marks the template dirty again.
	m.used = make(map[string]Query, len(res.Used))
	for _, q := range res.Used {
		m.used[q.String()] = q
	}
	if err != nil {
		m.dirty = false
		m.status.Err = err.Error()
		m.status.Waiting = nil
		for _, q := range res.Missing {
			m.status.Waiting = append(m.status.Waiting, q.String())
		}
		r.publish(m)
		if len(res.Missing) > 0 {
			// Failing on data not fetched yet is not a verdict: render
			// again once it arrives.
			return false, nil
		}
		r.log.Error("template failed to render; the file on disk is unchanged", "template", m.spec.ID, "dest", m.spec.Destination, "err", err)
		return false, err
	}
	// A fresh slice: the previous one may be held by a Status() caller.
	m.status.Waiting = nil
	for _, q := range res.Missing {
		m.status.Waiting = append(m.status.Waiting, q.String())
	}
	if !res.Complete() {
		m.dirty = false // the missing answers will mark it dirty again
		r.publish(m)
		return false, nil
	}
	m.dirty = false
	m.firstChange, m.lastChange = time.Time{}, time.Time{}
	if r.opts.Dry != nil {
		fmt.Fprintf(r.opts.Dry, "> %s\n%s", m.spec.Destination, res.Output)
		m.rendered = true
		m.status.Rendered = true
		m.status.Err = ""
		r.publish(m)
		return false, nil
	}
	prev, err := readPrevious(m.spec.Destination)
	if err != nil {
		m.status.Err = err.Error()
		r.publish(m)
		return false, err
	}
	if prev.existed && bytes.Equal(prev.data, res.Output) && (m.perms == 0 || prev.perm == m.perms) {
		m.rendered, m.status.Rendered, m.status.Err = true, true, ""
		r.publish(m)
		return false, nil
	}
	if m.spec.Backup && prev.existed {
		if err := writeAtomic(m.spec.Destination+".bak", prev.data, prev.perm, previous{}); err != nil {
			m.status.Err = "backup: " + err.Error()
			r.publish(m)
			return false, err
		}
	}
	if err := writeAtomic(m.spec.Destination, res.Output, m.perms, prev); err != nil {
		m.status.Err = err.Error()
		r.publish(m)
		return false, err
	}
	if m.spec.Validate != "" {
		if verr := runShell(ctx, m.spec.Validate, r.opts.CommandTimeout); verr != nil {
			msg := "validate failed, previous file restored, command not run: " + verr.Error()
			if rerr := restore(m.spec.Destination, prev); rerr != nil {
				msg = "validate failed and the previous file could not be restored: " + verr.Error() + "; " + rerr.Error()
			}
			r.log.Error("template failed validation", "template", m.spec.ID, "dest", m.spec.Destination, "err", verr)
			m.status.Err = msg
			r.publish(m)
			return false, errors.New(msg)
		}
	}
	r.log.Info("template rendered", "template", m.spec.ID, "dest", m.spec.Destination)
	m.rendered, m.status.Rendered, m.status.Err = true, true, ""
	m.status.LastWrite = r.opts.Now()
	m.status.Writes++
	r.publish(m)
	return true, nil
}
