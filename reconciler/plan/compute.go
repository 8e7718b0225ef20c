package plan

import (
	"maps"
	"path"
	"reflect"
	"slices"
	"sort"

	"github.com/berthops/berth/manifests"
)

// object is one manifest object reduced to what planning needs: its identity,
// its intent (the manifest value with Origin cleared, so that moving an object
// between files is not a change) and the objects it must come after.
type object struct {
	kind      manifests.Kind
	id        string
	origin    manifests.Origin
	value     any
	deps      []key
	instances int
}

type key struct {
	kind manifests.Kind
	id   string
}

// kindRank orders kinds inside one step: queues before the apps and jobs
// charged to them, templates last because they render what apps register.
func kindRank(k manifests.Kind) int {
	switch k {
	case manifests.KindQueue, manifests.KindSecret:
		return 0
	case manifests.KindApp:
		return 1
	case manifests.KindJob:
		return 2
	case manifests.KindTemplate:
		return 3
	}
	return 4
}

// Compute returns the plan that turns observed into desired. It is
// deterministic: the same inputs give the same plan, byte for byte once
// rendered. A nil desired set means "nothing declared", so everything observed
// is deleted.
func Compute(desired *manifests.Set, observed Observed) *Plan {
	want := objects(desired)
	have := objects(observed.Applied)

	p := &Plan{Changes: []Change{}}
	for k, w := range want {
		h, ok := have[k]
		if !ok {
			p.Changes = append(p.Changes, created(w))
			continue
		}
		if reflect.DeepEqual(w.value, h.value) {
			p.Unchanged++
			continue
		}
		c, changed := updated(h, w)
		if !changed {
			p.Unchanged++
			continue
		}
		p.Changes = append(p.Changes, c)
	}
	for k, h := range have {
		if _, ok := want[k]; !ok {
			p.Changes = append(p.Changes, deleted(h))
		}
	}
	for i := range p.Changes {
		c := &p.Changes[i]
		if c.Kind != manifests.KindApp {
			continue
		}
		if st, ok := observed.Apps[c.ID]; ok {
			n := st.TasksRunning
			c.Running = &n
		}
	}
	order(p.Changes, want)
	return p
}

func created(w *object) Change {
	c := Change{Action: ActionCreate, Kind: w.kind, ID: w.id, Origin: w.origin}
	c.Fields = withoutIdentity(fieldChanges(reflect.Zero(reflect.TypeOf(w.value)).Interface(), w.value))
	for i := range c.Fields {
		c.Fields[i].From = nil
	}
	if w.kind == manifests.KindApp {
		c.Instances = &Count{From: 0, To: w.instances}
	}
	return c
}

func deleted(h *object) Change {
	c := Change{Action: ActionDelete, Kind: h.kind, ID: h.id, Origin: h.origin}
	c.Fields = withoutIdentity(fieldChanges(h.value, reflect.Zero(reflect.TypeOf(h.value)).Interface()))
	for i := range c.Fields {
		c.Fields[i].To = nil
	}
	if h.kind == manifests.KindApp {
		c.Instances = &Count{From: h.instances, To: 0}
	}
	return c
}

// withoutIdentity drops the id (a job's name) from the fields of a create or
// delete: the change already names the object.
func withoutIdentity(fields []FieldChange) []FieldChange {
	out := fields[:0]
	for _, f := range fields {
		if f.Path != "id" && f.Path != "name" {
			out = append(out, f)
		}
	}
	return out
}

// updated compares two versions of one object. changed is false when they
// differ only in ways that are not intent (nil against empty, say).
func updated(h, w *object) (c Change, changed bool) {
	fields := fieldChanges(h.value, w.value)
	if len(fields) == 0 {
		return Change{}, false
	}
	c = Change{Action: ActionUpdate, Kind: w.kind, ID: w.id, Origin: w.origin, Fields: fields}
	c.Update = classify(w.kind, fields)
	if w.kind == manifests.KindApp && h.instances != w.instances {
		c.Instances = &Count{From: h.instances, To: w.instances}
	}
	return c, true
}

// objects flattens a set into a map by identity.
func objects(s *manifests.Set) map[key]*object {
	out := map[key]*object{}
	if s == nil {
		return out
	}
	ids := manifests.SortedAppIDs(s.Apps)
	for _, a := range s.Apps {
		o := &object{kind: manifests.KindApp, id: a.ID, origin: a.Origin, instances: a.Instances}
		// A dependency on a group orders the app after every app under it.
		resolved := a
		resolved.Dependencies = make([]string, len(a.Dependencies))
		for i, d := range a.Dependencies {
			resolved.Dependencies[i] = resolveAppID(a.ID, d)
		}
		for _, d := range manifests.DependencyApps(&resolved, ids) {
			o.deps = append(o.deps, key{manifests.KindApp, d})
		}
		if a.Queue != "" {
			o.deps = append(o.deps, key{manifests.KindQueue, a.Queue})
		}
		a.Origin = manifests.Origin{}
		o.value = a
		out[key{o.kind, o.id}] = o
	}
	for _, j := range s.Jobs {
		o := &object{kind: manifests.KindJob, id: j.Name, origin: j.Origin}
		for _, p := range j.Parents {
			o.deps = append(o.deps, key{manifests.KindJob, p})
		}
		if j.Queue != "" {
			o.deps = append(o.deps, key{manifests.KindQueue, j.Queue})
		}
		j.Origin = manifests.Origin{}
		o.value = j
		out[key{o.kind, o.id}] = o
	}
	for _, t := range s.Templates {
		o := &object{kind: manifests.KindTemplate, id: t.ID, origin: t.Origin}
		t.Origin = manifests.Origin{}
		o.value = t
		out[key{o.kind, o.id}] = o
	}
	for _, q := range s.Queues {
		o := &object{kind: manifests.KindQueue, id: q.ID, origin: q.Origin}
		q.Origin = manifests.Origin{}
		o.value = q
		out[key{o.kind, o.id}] = o
	}
	for _, sec := range s.Secrets {
		o := &object{kind: manifests.KindSecret, id: sec.ID, origin: sec.Origin, value: secretIntentOf(sec)}
		out[key{o.kind, o.id}] = o
	}
	for _, a := range s.Apps {
		for _, name := range slices.Sorted(maps.Keys(a.Secrets)) {
			id, _ := manifests.ParseSecretSource(a.Secrets[name].Source)
			out[key{manifests.KindApp, a.ID}].deps = append(out[key{manifests.KindApp, a.ID}].deps, key{manifests.KindSecret, id})
		}
	}
	return out
}

// secretIntent is what a plan shows of a Secret: never its ciphertext, which
// would only be noise, and of course never a value. Version (a hash of the
// ciphertext) says that the values changed without saying anything of them.
type secretIntent struct {
	Recipients []string `json:"recipients"`
	Keys       []string `json:"keys"`
	Version    string   `json:"version"`
}

func secretIntentOf(s manifests.Secret) secretIntent {
	return secretIntent{Recipients: s.Recipients, Keys: s.Keys, Version: s.Version()}
}

// resolveAppID resolves a Marathon dependency, which may be relative to the
// app's group ("../db", "db"), to an absolute app id.
func resolveAppID(appID, dep string) string {
	if path.IsAbs(dep) {
		return path.Clean(dep)
	}
	return path.Join("/", path.Dir(appID), dep)
}

// order sorts changes into Marathon's deployment steps: every delete (stop)
// in the first step, then creates and updates by dependency depth, so that an
// object starts only after the changed objects it depends on. Dependencies on
// unchanged objects impose nothing; a cycle (which validation rejects) is cut
// at the back edge rather than looping.
func order(changes []Change, want map[key]*object) {
	changing := map[key]bool{}
	hasDeletes := false
	for _, c := range changes {
		if c.Action == ActionDelete {
			hasDeletes = true
			continue
		}
		changing[key{c.Kind, c.ID}] = true
	}
	depth := map[key]int{}
	visiting := map[key]bool{}
	var level func(k key) int
	level = func(k key) int {
		if d, ok := depth[k]; ok {
			return d
		}
		if visiting[k] {
			return 0
		}
		visiting[k] = true
		d := 0
		if o := want[k]; o != nil {
			deps := append([]key(nil), o.deps...)
			sort.Slice(deps, func(i, j int) bool { return lessKey(deps[i], deps[j]) })
			for _, dep := range deps {
				if changing[dep] && dep != k {
					d = max(d, level(dep)+1)
				}
			}
		}
		visiting[k] = false
		depth[k] = d
		return d
	}
	first := 1
	if hasDeletes {
		first = 2
	}
	keys := make([]key, 0, len(changing))
	for k := range changing {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return lessKey(keys[i], keys[j]) })
	for _, k := range keys {
		level(k)
	}
	for i := range changes {
		c := &changes[i]
		if c.Action == ActionDelete {
			c.Step = 1
			continue
		}
		c.Step = first + depth[key{c.Kind, c.ID}]
	}
	sort.Slice(changes, func(i, j int) bool {
		a, b := changes[i], changes[j]
		if a.Step != b.Step {
			return a.Step < b.Step
		}
		return lessKey(key{a.Kind, a.ID}, key{b.Kind, b.ID})
	})
}

func lessKey(a, b key) bool {
	if ra, rb := kindRank(a.kind), kindRank(b.kind); ra != rb {
		return ra < rb
	}
	return a.id < b.id
}
