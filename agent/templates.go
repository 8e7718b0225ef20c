package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/policy"
	"github.com/berthops/berth/templates"
)

// Templates on agents. The leader publishes every declared Template; each
// agent renders those whose constraints select its own node. Placement is
// decided here, per node, rather than by the allocator, because a template is
// not a scarce instance to spread: it is a file next to a local process (an
// nginx on an edge node), and every node that matches needs its own copy.
//
// Constraint semantics for one node follow Marathon's matching of a single
// offer (field hostname, or an agent attribute; a missing attribute matches
// only UNLIKE):
//
//	IS v        the field equals v
//	LIKE re     the field fully matches re (anchored)
//	UNLIKE re   the field is missing or does not fully match re
//	CLUSTER v   the field equals v
//	CLUSTER     the field is present (no value: there is no first instance
//	            to cluster around; every node with the field renders)
//	UNIQUE, GROUP_BY [n], MAX_PER n
//	            the field is present. These rules spread instances across
//	            values; a template has exactly one copy per matching node, so
//	            they never limit how many nodes render it.

// TemplateWatcher delivers the leader's published templates: the full set
// now and after every change, until ctx ends.
type TemplateWatcher interface {
	WatchTemplates(ctx context.Context) (<-chan []cluster.PublishedTemplate, error)
}

// WatchTemplates implements TemplateWatcher over the cluster state; read
// errors are logged and retried by cluster.State itself.
func (s *StateCluster) WatchTemplates(ctx context.Context) (<-chan []cluster.PublishedTemplate, error) {
	log := s.Log
	if log == nil {
		log = slog.Default()
	}
	return s.State.WatchTemplates(ctx, func(err error) { log.Warn("watch templates", "err", err) }), nil
}

// TemplateConfig configures an agent's template rendering.
type TemplateConfig struct {
	Node      Node
	Published TemplateWatcher
	// Runner configures the renderer; Runner.Source (Consul, or Berth's
	// catalog) is required.
	Runner templates.RunnerOptions
	// Root, when set, moves every destination under it, so that several
	// agents on one machine do not write the same files.
	Root string
	// TrustCommands runs every template's validate and command as written,
	// without the policy's allow-list: berth up's --template-commands, an
	// operator's explicit choice on their own machine. Agents never set it.
	TrustCommands bool
	// Placed, when set, is told the templates placed on the node each time
	// that selection changes (berth up prints where they render).
	Placed func([]manifests.Template)
	// Report, when set, is given how the node renders its templates (each
	// one's last render, error and policy refusal) whenever that changes,
	// at most every ReportEvery (default 2 s): agents write it to the
	// cluster state for the API and the UI.
	Report      func(ctx context.Context, renders []cluster.TemplateRender) error
	ReportEvery time.Duration
	Logger      *slog.Logger
}

// TemplateRenderer renders the published templates placed on its node.
type TemplateRenderer struct {
	cfg    TemplateConfig
	log    *slog.Logger
	runner *templates.Runner

	mu       sync.Mutex
	selected []string
	// refused are the placed templates the node's policy keeps from
	// rendering (or from running their commands), with the refusal.
	refused map[string]refusedTemplate
}

type refusedTemplate struct {
	destination string
	reason      string
}

// NewTemplateRenderer checks cfg and prepares a renderer with no templates;
// Run fills it from the published set.
func NewTemplateRenderer(cfg TemplateConfig) (*TemplateRenderer, error) {
	if cfg.Published == nil {
		return nil, errors.New("agent templates: no published-template watch configured")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Runner.Logger == nil {
		cfg.Runner.Logger = cfg.Logger
	}
	runner, err := templates.NewRunner(nil, cfg.Runner)
	if err != nil {
		return nil, fmt.Errorf("agent templates: %w", err)
	}
	return &TemplateRenderer{cfg: cfg, log: cfg.Logger, runner: runner}, nil
}

// Status is the runner's status of every template rendered here.
func (r *TemplateRenderer) Status() []templates.Status { return r.runner.Status() }

// Selected lists the ids of the templates placed on this node now.
func (r *TemplateRenderer) Selected() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.selected...)
}

// Run renders until ctx ends: it follows the published set and hands the
// runner the templates placed on this node whenever that selection changes.
func (r *TemplateRenderer) Run(ctx context.Context) error {
	watch, err := r.cfg.Published.WatchTemplates(ctx)
	if err != nil {
		return fmt.Errorf("agent templates: watch published templates: %w", err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return r.runner.Run(gctx) })
	if r.cfg.Report != nil {
		g.Go(func() error { r.report(gctx); return nil })
	}
	g.Go(func() error {
		var last []manifests.Template
		first := true
		for {
			select {
			case <-gctx.Done():
				return nil
			case set, ok := <-watch:
				if !ok {
					return nil
				}
				specs, problems := SelectTemplates(r.cfg.Node, set)
				for _, p := range problems {
					r.log.Warn("template not placed", "node", r.cfg.Node.ID, "err", p)
				}
				specs = rebase(specs, r.cfg.Root)
				specs = r.allowed(specs)
				if !first && reflect.DeepEqual(specs, last) {
					continue
				}
				if err := r.runner.Update(specs); err != nil {
					// The running set stays; the next publication may fix it.
					r.log.Warn("published templates not applied", "node", r.cfg.Node.ID, "err", err)
					continue
				}
				first, last = false, specs
				ids := make([]string, len(specs))
				for i, s := range specs {
					ids[i] = s.ID
				}
				r.mu.Lock()
				r.selected = ids
				r.mu.Unlock()
				if r.cfg.Placed != nil {
					r.cfg.Placed(specs)
				}
				r.log.Info("templates placed on this node", "node", r.cfg.Node.ID, "templates", ids)
			}
		}
	})
	err = g.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// allowed applies the node's policy to the templates placed on it: one
// whose destination is outside the template roots is not rendered; one whose
// validate or command is not an allowed program is rendered without running
// either (a validate skipped alone would let an unchecked file be reloaded).
func (r *TemplateRenderer) allowed(in []manifests.Template) []manifests.Template {
	p := r.cfg.Node.policy()
	var out []manifests.Template
	refused := map[string]refusedTemplate{}
	for _, t := range in {
		if ref, ok := checkTemplateDestination(p, t.Destination); !ok {
			r.log.Warn("template refused", "node", r.cfg.Node.ID, "template", t.ID, "rule", ref.Rule, "err", ref)
			refused[t.ID] = refusedTemplate{destination: t.Destination, reason: ref.Error()}
			continue
		}
		for _, line := range []string{t.Validate, t.Command} {
			if r.cfg.TrustCommands {
				break
			}
			if ref, ok := policy.CheckTemplateCommand(p, line); !ok {
				r.log.Warn("template commands not run", "node", r.cfg.Node.ID, "template", t.ID, "rule", ref.Rule, "err", ref)
				refused[t.ID] = refusedTemplate{destination: t.Destination, reason: "validate and command not run: " + ref.Error()}
				t.Validate, t.Command = "", ""
				break
			}
		}
		out = append(out, t)
	}
	r.mu.Lock()
	r.refused = refused
	r.mu.Unlock()
	return out
}

// Renders is how the node renders its templates now: the runner's status
// of each rendered template, and the templates its policy refused.
func (r *TemplateRenderer) Renders() []cluster.TemplateRender {
	r.mu.Lock()
	refused := r.refused
	r.mu.Unlock()
	var out []cluster.TemplateRender
	seen := map[string]bool{}
	for _, s := range r.runner.Status() {
		seen[s.ID] = true
		out = append(out, cluster.TemplateRender{Template: s.ID, Agent: r.cfg.Node.ID, Destination: s.Destination, Rendered: s.Rendered,
			LastRender: s.LastRender, LastWrite: s.LastWrite, Writes: s.Writes, Waiting: s.Waiting, Error: s.Err, SourceError: s.SourceErr,
			Refused: refused[s.ID].reason})
	}
	for id, f := range refused {
		if !seen[id] {
			out = append(out, cluster.TemplateRender{Template: id, Agent: r.cfg.Node.ID, Destination: f.destination, Refused: f.reason})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Template < out[j].Template })
	return out
}

// report hands Report the node's renders whenever they change, until ctx
// ends; a failed report is tried again at the next tick.
func (r *TemplateRenderer) report(ctx context.Context) {
	every := r.cfg.ReportEvery
	if every <= 0 {
		every = 2 * time.Second
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	var last []cluster.TemplateRender
	reported := false
	for {
		now := r.Renders()
		if !reported || !reflect.DeepEqual(now, last) {
			if err := r.cfg.Report(ctx, now); err != nil {
				if ctx.Err() == nil {
					r.log.Warn("report template renders", "node", r.cfg.Node.ID, "err", err)
				}
			} else {
				last, reported = now, true
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// checkTemplateDestination checks dest as written and with the symlinks of
// its existing ancestors resolved, since the file is written through them.
func checkTemplateDestination(p cluster.AgentPolicy, dest string) (policy.Refusal, bool) {
	if ref, ok := policy.CheckTemplateDestination(p, dest); !ok {
		return ref, false
	}
	if resolved := resolveExisting(dest); resolved != filepath.Clean(dest) {
		if ref, ok := policy.CheckTemplateDestination(p, resolved); !ok {
			ref.Reason = fmt.Sprintf("destination %q resolves to %q: %s", dest, resolved, ref.Reason)
			return ref, false
		}
	}
	return policy.Refusal{}, true
}

func rebase(in []manifests.Template, root string) []manifests.Template {
	if root == "" {
		return in
	}
	out := make([]manifests.Template, len(in))
	for i, t := range in {
		t.Destination = filepath.Join(root, strings.TrimPrefix(filepath.Clean(t.Destination), "/"))
		out[i] = t
	}
	return out
}

// SelectTemplates returns the published templates whose constraints select
// node, in the published order. A template with a constraint that cannot be
// evaluated is left out and reported, naming its file, line and field.
func SelectTemplates(node Node, published []cluster.PublishedTemplate) ([]manifests.Template, []error) {
	var out []manifests.Template
	var problems []error
	for _, p := range published {
		t := p.Manifest()
		ok, err := MatchNode(node, t.Constraints)
		if err != nil {
			problems = append(problems, fmt.Errorf("%s: template %s: %w", where(t.Origin, t.ID), t.ID, err))
			continue
		}
		if ok {
			out = append(out, t)
		}
	}
	return out, problems
}

func where(o manifests.Origin, id string) string {
	if o.File == "" {
		return "template " + id
	}
	return fmt.Sprintf("%s:%d", o.File, o.Line)
}

// MatchNode reports whether constraints place a template on node (see the
// semantics at the top of this file). An error names the offending
// constraint as field constraints[i] and says what would be valid.
func MatchNode(node Node, constraints []manifests.Constraint) (bool, error) {
	match := true
	for i, c := range constraints {
		ok, err := matchOne(node, c)
		if err != nil {
			return false, fmt.Errorf("field constraints[%d]: %w", i, err)
		}
		// Keep checking the rest, so an invalid constraint is reported
		// whichever node looks at it.
		match = match && ok
	}
	return match, nil
}

func matchOne(node Node, c manifests.Constraint) (bool, error) {
	if c.Field == "" {
		return false, errors.New("field is empty (want hostname or an agent attribute)")
	}
	value, present := node.Attributes[c.Field]
	if c.Field == "hostname" || c.Field == "@hostname" {
		value, present = node.Hostname, true
	}
	switch c.Operator {
	case manifests.OpIs:
		return present && value == c.Value, nil
	case manifests.OpLike, manifests.OpUnlike:
		re, err := regexp.Compile(`^(?:` + c.Value + `)$`)
		if err != nil {
			return false, fmt.Errorf("%s value %q is not a valid regular expression: %w", c.Operator, c.Value, err)
		}
		if c.Operator == manifests.OpLike {
			return present && re.MatchString(value), nil
		}
		return !present || !re.MatchString(value), nil
	case manifests.OpCluster:
		if c.Value == "" {
			return present, nil
		}
		return present && value == c.Value, nil
	case manifests.OpUnique:
		return present, nil
	case manifests.OpGroupBy:
		if c.Value != "" {
			if n, err := strconv.Atoi(c.Value); err != nil || n < 0 {
				return false, fmt.Errorf("GROUP_BY value %q is not a count (want a whole number such as 3, or no value)", c.Value)
			}
		}
		return present, nil
	case manifests.OpMaxPer:
		if n, err := strconv.Atoi(c.Value); err != nil || n < 1 {
			return false, fmt.Errorf("MAX_PER value %q is not a limit (want a whole number of at least 1)", c.Value)
		}
		return present, nil
	}
	return false, fmt.Errorf("unknown operator %q (want UNIQUE, CLUSTER, GROUP_BY, LIKE, UNLIKE, MAX_PER or IS)", c.Operator)
}
