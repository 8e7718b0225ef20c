package manifests

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// finish normalises and validates everything decoded, checks what spans
// objects (duplicates, references, cycles, queue capacities) and builds the
// sorted Set.
func (l *loader) finish() (*Set, error) {
	set := &Set{}
	l.reporters = map[Origin]reporter{}
	for _, e := range l.apps {
		r := reporter{errs: &l.errs, file: e.file, root: e.node}
		l.reporters[e.v.Origin] = r
		normalizeApp(e.v, r)
		e.v.Fetch = normalizeArtifacts(e.v.Fetch, e.v.URIs, r)
		e.v.URIs = nil
		if e.v.Queue != "" {
			e.v.Queue = resolveID(e.v.Queue, "/")
		}
		validateApp(e.v, r)
		set.Apps = append(set.Apps, *e.v)
	}
	for _, e := range l.jobs {
		r := reporter{errs: &l.errs, file: e.file, root: e.node}
		l.reporters[e.v.Origin] = r
		normalizeJob(e.v)
		e.v.Fetch = jobArtifacts(normalizeArtifacts(appArtifacts(e.v.Fetch), e.v.URIs, r))
		e.v.URIs = nil
		if e.v.Queue != "" {
			e.v.Queue = resolveID(e.v.Queue, "/")
		}
		validateJob(e.v, r)
		set.Jobs = append(set.Jobs, *e.v)
	}
	for _, e := range l.templates {
		r := reporter{errs: &l.errs, file: e.file, root: e.node}
		l.reporters[e.v.Origin] = r
		normalizeTemplate(e.v)
		validateTemplate(e.v, r)
		l.readSource(e.v, r)
		set.Templates = append(set.Templates, *e.v)
	}
	for _, e := range l.queues {
		r := reporter{errs: &l.errs, file: e.file, root: e.node}
		l.reporters[e.v.Origin] = r
		normalizeQueue(e.v)
		validateQueue(e.v, r)
		set.Queues = append(set.Queues, *e.v)
	}
	for _, e := range l.secrets {
		r := reporter{errs: &l.errs, file: e.file, root: e.node}
		l.reporters[e.v.Origin] = r
		normalizeSecret(e.v)
		validateSecret(e.v, r)
		set.Secrets = append(set.Secrets, *e.v)
	}
	set.sort()
	l.checkDuplicates(set)
	if !l.skipReferences {
		l.checkReferences(set)
		l.checkSecrets(set)
		l.checkConflicts(set)
	}
	if len(l.errs) > 0 {
		errs := l.errs.sort()
		if l.budget.dropped > 0 {
			errs = append(errs, &Error{File: errs[len(errs)-1].File, Message: fmt.Sprintf("and %d more errors not shown (at most %d are kept)", l.budget.dropped, MaxErrors)})
		}
		return nil, errs
	}
	return set, nil
}

// readSource reads a template's source file. A source is relative to the
// manifest's directory, or to the repository root when it starts with "/";
// it may never leave the repository.
func (l *loader) readSource(t *Template, r reporter) {
	if t.Source == "" {
		return
	}
	name := strings.TrimPrefix(t.Source, "/")
	if !strings.HasPrefix(t.Source, "/") {
		name = path.Join(path.Dir(t.Origin.File), t.Source)
	}
	name = path.Clean(name)
	if !fs.ValidPath(name) || strings.Contains(t.Source, "\\") {
		r.at(p("source"), "%q is outside the repository: a template source must be a file in it", t.Source)
		return
	}
	data, err := fs.ReadFile(l.fsys, name)
	if err != nil {
		r.at(p("source"), "cannot read %q: %v", name, err)
		return
	}
	t.Contents = string(data)
}

func (s *Set) sort() {
	slices.SortStableFunc(s.Apps, func(a, b App) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortStableFunc(s.Jobs, func(a, b Job) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortStableFunc(s.Templates, func(a, b Template) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortStableFunc(s.Queues, func(a, b Queue) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortStableFunc(s.Secrets, func(a, b Secret) int { return cmp.Compare(a.ID, b.ID) })
}

func (l *loader) errAt(o Origin, field, format string, args ...any) {
	l.errs = append(l.errs, &Error{File: o.File, Line: o.Line, Col: o.Col, Field: field, Message: fmt.Sprintf(format, args...)})
}

// refAt reports a problem with a field of the object declared at o, at the
// field's own line when the object's source node is known.
func (l *loader) refAt(o Origin, path []any, format string, args ...any) {
	if r, ok := l.reporters[o]; ok {
		r.at(path, format, args...)
		return
	}
	l.errAt(o, fieldPath(path...), format, args...)
}

func where(o Origin) string { return fmt.Sprintf("%s:%d:%d", o.File, o.Line, o.Col) }

// checkDuplicates reports every object whose id another one already uses,
// naming the other's place. The slices are sorted, so duplicates are adjacent.
func (l *loader) checkDuplicates(s *Set) {
	dup := func(kind, id string, prev, cur Origin) {
		l.refAt(cur, p("id"), "%s %q is also declared at %s", kind, id, where(prev))
	}
	for i := 1; i < len(s.Apps); i++ {
		if s.Apps[i].ID != "" && s.Apps[i].ID == s.Apps[i-1].ID {
			dup("app", s.Apps[i].ID, s.Apps[i-1].Origin, s.Apps[i].Origin)
		}
	}
	for i := 1; i < len(s.Jobs); i++ {
		if s.Jobs[i].Name != "" && s.Jobs[i].Name == s.Jobs[i-1].Name {
			l.refAt(s.Jobs[i].Origin, p("name"), "job %q is also declared at %s", s.Jobs[i].Name, where(s.Jobs[i-1].Origin))
		}
	}
	for i := 1; i < len(s.Templates); i++ {
		if s.Templates[i].ID != "" && s.Templates[i].ID == s.Templates[i-1].ID {
			dup("template", s.Templates[i].ID, s.Templates[i-1].Origin, s.Templates[i].Origin)
		}
	}
	for i := 1; i < len(s.Queues); i++ {
		if s.Queues[i].ID != "" && s.Queues[i].ID == s.Queues[i-1].ID {
			dup("queue", s.Queues[i].ID, s.Queues[i-1].Origin, s.Queues[i].Origin)
		}
	}
	for i := 1; i < len(s.Secrets); i++ {
		if s.Secrets[i].ID != "" && s.Secrets[i].ID == s.Secrets[i-1].ID {
			dup("Secret", s.Secrets[i].ID, s.Secrets[i-1].Origin, s.Secrets[i].Origin)
		}
	}
}

// checkReferences checks app dependencies, job parents and queues: each must
// exist, and dependencies and parents must not form a cycle.
func (l *loader) checkReferences(s *Set) {
	queues := map[string]*Queue{}
	for i := range s.Queues {
		queues[s.Queues[i].ID] = &s.Queues[i]
	}
	checkQueue := func(o Origin, q string) {
		if q != "" && queues[q] == nil {
			l.refAt(o, p("queue"), "no queue %q is declared", q)
		}
	}
	children := map[string]float64{}
	for _, q := range s.Queues {
		parent := path.Dir(q.ID)
		if parent != "/" && queues[parent] == nil {
			l.refAt(q.Origin, p("id"), "parent queue %q is not declared", parent)
		}
		children[parent] += q.Capacity
	}
	for parent, sum := range children {
		if sum > 100+1e-9 {
			for _, q := range s.Queues {
				if path.Dir(q.ID) == parent {
					l.refAt(q.Origin, p("capacity"), "the capacities of the children of %q add up to %v%%, more than 100", parent, sum)
				}
			}
		}
	}

	// An app may depend on an app or on a group: every app under that path.
	appIDs := make([]string, len(s.Apps))
	for i, a := range s.Apps {
		appIDs[i] = a.ID
	}
	deps := map[string][]string{}
	for _, a := range s.Apps {
		checkQueue(a.Origin, a.Queue)
		for _, d := range a.Dependencies {
			targets := appsUnder(appIDs, d)
			if len(targets) == 0 {
				// Dependencies are sorted by normalisation; point at the
				// list, not at an index that may not be the written one.
				l.refAt(a.Origin, p("dependencies"), "no app or group %q is declared", d)
			}
			for _, t := range targets {
				if t != a.ID {
					deps[a.ID] = append(deps[a.ID], t)
				}
			}
		}
	}
	cyclicApps := inCycles(deps)
	for _, a := range s.Apps {
		if !cyclicApps[a.ID] {
			continue
		}
		if cyc := findCycle(a.ID, deps); cyc != nil {
			l.refAt(a.Origin, p("dependencies"), "dependency cycle: %s", strings.Join(cyc, " -> "))
		}
	}

	jobs := map[string]bool{}
	for _, j := range s.Jobs {
		jobs[j.Name] = true
	}
	parents := map[string][]string{}
	for _, j := range s.Jobs {
		checkQueue(j.Origin, j.Queue)
		for _, pa := range j.Parents {
			if !jobs[pa] {
				l.refAt(j.Origin, p("parents"), "no job %q is declared", pa)
				continue
			}
			parents[j.Name] = append(parents[j.Name], pa)
		}
	}
	cyclicJobs := inCycles(parents)
	for _, j := range s.Jobs {
		if !cyclicJobs[j.Name] {
			continue
		}
		if cyc := findCycle(j.Name, parents); cyc != nil {
			l.refAt(j.Origin, p("parents"), "parent cycle: %s", strings.Join(cyc, " -> "))
		}
	}
}

// appsUnder returns the app ids equal to id or below it (ids are sorted).
func appsUnder(ids []string, id string) []string {
	var out []string
	prefix := strings.TrimSuffix(id, "/") + "/"
	for _, a := range ids {
		if a == id || strings.HasPrefix(a, prefix) {
			out = append(out, a)
		}
	}
	return out
}

// inCycles returns the nodes that lie on some cycle (Tarjan's strongly
// connected components), so that the search for a cycle's path, which is
// quadratic, only runs where there is one.
func inCycles(edges map[string][]string) map[string]bool {
	index := map[string]int{}
	low := map[string]int{}
	onStack := map[string]bool{}
	var stack []string
	out := map[string]bool{}
	var strong func(v string)
	strong = func(v string) {
		index[v] = len(index)
		low[v] = index[v]
		stack = append(stack, v)
		onStack[v] = true
		for _, w := range edges[v] {
			if _, seen := index[w]; !seen {
				strong(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] != index[v] {
			return
		}
		var members []string
		for {
			w := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			onStack[w] = false
			members = append(members, w)
			if w == v {
				break
			}
		}
		if len(members) > 1 || slices.Contains(edges[v], v) {
			for _, m := range members {
				out[m] = true
			}
		}
	}
	nodes := make([]string, 0, len(edges))
	for v := range edges {
		nodes = append(nodes, v)
	}
	slices.Sort(nodes)
	for _, v := range nodes {
		if _, seen := index[v]; !seen {
			strong(v)
		}
	}
	return out
}

// findCycle returns a cycle through start in the graph, or nil. Only cycles
// through start are reported, so each member of a cycle reports it once.
func findCycle(start string, edges map[string][]string) []string {
	visited := map[string]bool{}
	var walk func(n string, trail []string) []string
	walk = func(n string, trail []string) []string {
		for _, next := range edges[n] {
			if next == start {
				return append(append([]string{}, trail...), next)
			}
			if visited[next] {
				continue
			}
			visited[next] = true
			if c := walk(next, append(trail, next)); c != nil {
				return c
			}
		}
		return nil
	}
	return walk(start, []string{start})
}

// Canonical is the set's stable JSON form: equal content gives equal bytes,
// whichever files, order or spelling (older Marathon forms, strings for
// numbers) it was written in. Origins are not part of it.
func (s *Set) Canonical() ([]byte, error) {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode manifest set: %w", err)
	}
	return append(b, '\n'), nil
}

// App returns the app with the given absolute id, or nil.
func (s *Set) App(id string) *App {
	i, ok := slices.BinarySearchFunc(s.Apps, id, func(a App, id string) int { return cmp.Compare(a.ID, id) })
	if !ok {
		return nil
	}
	return &s.Apps[i]
}

// Job returns the job with the given name, or nil.
func (s *Set) Job(name string) *Job {
	i, ok := slices.BinarySearchFunc(s.Jobs, name, func(j Job, n string) int { return cmp.Compare(j.Name, n) })
	if !ok {
		return nil
	}
	return &s.Jobs[i]
}

// Template returns the template with the given id, or nil.
func (s *Set) Template(id string) *Template {
	i, ok := slices.BinarySearchFunc(s.Templates, id, func(t Template, id string) int { return cmp.Compare(t.ID, id) })
	if !ok {
		return nil
	}
	return &s.Templates[i]
}

// Queue returns the queue with the given id, or nil.
func (s *Set) Queue(id string) *Queue {
	i, ok := slices.BinarySearchFunc(s.Queues, id, func(q Queue, id string) int { return cmp.Compare(q.ID, id) })
	if !ok {
		return nil
	}
	return &s.Queues[i]
}
