package manifests

import "fmt"

// Conflicts between objects that no cluster can resolve, found at load so
// that `berth validate` and `berth diff` refuse them with both places named,
// instead of a server finding them later (where they would make one app
// Degraded).

// servicePortFields are an app's declared service ports with the field each
// is written in: portDefinitions under host networking, the port mappings'
// servicePort otherwise, as the server derives task specs.
func servicePortFields(a *App) (ports []int, paths [][]any) {
	host := true
	var mappings []PortMapping
	if c := a.Container; c != nil {
		mappings = c.PortMappings
		if d := c.Docker; d != nil && d.Network != "" {
			host = d.Network == NetworkHost
		}
	}
	for _, n := range a.Networks {
		host = n.Mode == "host"
	}
	if host {
		for i, d := range a.PortDefinitions {
			ports, paths = append(ports, d.Port), append(paths, p("portDefinitions", i, "port"))
		}
		return ports, paths
	}
	for i, m := range mappings {
		ports, paths = append(ports, m.ServicePort), append(paths, p("container", "portMappings", i, "servicePort"))
	}
	return ports, paths
}

// checkConflicts reports fixed service ports declared twice (by two apps,
// or twice in one) and two templates that write one destination on the same
// nodes. (A host port one app asks for twice is validateApp's.)
func (l *loader) checkConflicts(s *Set) {
	type place struct {
		o    Origin
		app  string
		path []any
	}
	owner := map[int]place{}
	for i := range s.Apps {
		a := &s.Apps[i]
		ports, paths := servicePortFields(a)
		for k, port := range ports {
			if port <= 0 {
				continue
			}
			if prev, taken := owner[port]; taken {
				l.refAt(a.Origin, paths[k], "service port %d is also declared by app %s at %s (%s); service ports are cluster-wide, give one of them another or 0",
					port, prev.app, l.whereField(prev.o, prev.path), fieldPath(prev.path...))
				continue
			}
			owner[port] = place{o: a.Origin, app: a.ID, path: paths[k]}
		}
	}
	dest := map[string]*Template{}
	for i := range s.Templates {
		t := &s.Templates[i]
		if t.Destination == "" {
			continue
		}
		key := t.Destination + "\x00" + constraintsKey(t.Constraints)
		if prev, dup := dest[key]; dup {
			l.refAt(t.Origin, p("destination"), "%s is also the destination of template %s at %s on the same nodes; two templates would overwrite each other",
				t.Destination, prev.ID, l.whereField(prev.Origin, p("destination")))
			continue
		}
		dest[key] = t
	}
}

// constraintsKey identifies the nodes a constraint list selects, as far as
// text can: equal lists select the same nodes.
func constraintsKey(cs []Constraint) string {
	k := ""
	for _, c := range cs {
		k += c.Field + "\x01" + string(c.Operator) + "\x01" + c.Value + "\x02"
	}
	return k
}

// whereField is file:line:col of a field of the object declared at o, or of
// the object when its source is not at hand.
func (l *loader) whereField(o Origin, path []any) string {
	if r, ok := l.reporters[o]; ok && r.root != nil {
		n := locate(r.root, path...)
		return fmt.Sprintf("%s:%d:%d", o.File, n.Line, n.Column)
	}
	return where(o)
}
