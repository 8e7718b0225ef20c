package templates

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// QueryKind says which catalog or KV endpoint a query reads.
type QueryKind int

// The query kinds template functions produce.
const (
	QueryService  QueryKind = iota + 1 // service: healthy instances of one service
	QueryServices                      // services: every service name and its tags
	QueryKey                           // key, keyExists, keyOrDefault: one KV entry
	QueryKeyList                       // ls, tree and their safe forms: a KV prefix
	QueryNode                          // node: one node and its services
	QueryNodes                         // nodes: every node
)

// Query is one dependency of a template: what to read, parsed from the
// function's arguments. Two templates asking the same thing produce equal
// queries with equal String(), which is how watches are shared.
type Query struct {
	Kind QueryKind
	// Name is the service or node name (empty node name: the local agent's).
	Name string
	Tag  string
	DC   string
	Near string
	// Filters are the accepted health states, sorted; default [passing].
	Filters []string
	// Key is the KV key (QueryKey) or prefix (QueryKeyList).
	Key string
}

// The pieces of consul-template's query syntax, so that every string it
// accepts is accepted here and every one it rejects is rejected.
const (
	reDC       = `(@(?P<dc>[[:word:]\.\-\_]+))?`
	reKey      = `/?(?P<key>[^@]+)`
	reFilter   = `(\|(?P<filter>[[:word:]\,]+))?`
	reService  = `(?P<name>[[:word:]\-\_]+)`
	reNodeName = `(?P<name>[[:word:]\.\-\_]+)`
	reNear     = `(~(?P<near>[[:word:]\.\-\_]+))?`
	reTag      = `((?P<tag>[[:word:]=:\.\-\_]+)\.)?`
)

// Compiled once per parse call would be wasteful; these are immutable, so
// package-level values are safe (they hold no state).
var (
	serviceQueryRe  = regexp.MustCompile(`\A` + reTag + reService + reDC + reNear + reFilter + `\z`)
	servicesQueryRe = regexp.MustCompile(`\A` + reDC + `\z`)
	keyQueryRe      = regexp.MustCompile(`\A` + reKey + reDC + `\z`)
	nodeQueryRe     = regexp.MustCompile(`\A` + reNodeName + `?` + reDC + `\z`)
	nodesQueryRe    = regexp.MustCompile(`\A` + reDC + reNear + `\z`)
)

func submatches(re *regexp.Regexp, s string) (map[string]string, bool) {
	m := re.FindStringSubmatch(s)
	if m == nil {
		return nil, false
	}
	out := make(map[string]string, len(m))
	for i, name := range re.SubexpNames() {
		if name != "" {
			out[name] = m[i]
		}
	}
	return out, true
}

// ParseServiceQuery parses `[tag.]name[@dc][~near][|filter,...]`. The
// two-argument form of `service` arrives here joined with "|".
func ParseServiceQuery(s string) (Query, error) {
	m, ok := submatches(serviceQueryRe, s)
	if !ok {
		return Query{}, fmt.Errorf("service: invalid query %q (want [tag.]name[@dc][~near][|passing,warning,...])", s)
	}
	var filters []string
	if f := m["filter"]; f != "" {
		for _, part := range strings.Split(f, ",") {
			part = strings.TrimSpace(part)
			switch part {
			case HealthAny, HealthPassing, HealthWarning, HealthCritical, HealthMaintenance:
				filters = append(filters, part)
			case "":
			default:
				return Query{}, fmt.Errorf("service: invalid health filter %q in %q (want any, passing, warning, critical or maintenance)", part, s)
			}
		}
		sort.Strings(filters)
	} else {
		filters = []string{HealthPassing}
	}
	return Query{Kind: QueryService, Name: m["name"], Tag: m["tag"], DC: m["dc"], Near: m["near"], Filters: filters}, nil
}

// ParseServicesQuery parses `services`' optional `@dc`.
func ParseServicesQuery(s string) (Query, error) {
	m, ok := submatches(servicesQueryRe, s)
	if !ok {
		return Query{}, fmt.Errorf("services: invalid query %q (want @dc or nothing)", s)
	}
	return Query{Kind: QueryServices, DC: m["dc"]}, nil
}

// ParseKeyQuery parses `key[@dc]` for key, keyExists and keyOrDefault.
func ParseKeyQuery(s string) (Query, error) {
	m, ok := submatches(keyQueryRe, s)
	if !ok {
		return Query{}, fmt.Errorf("key: invalid query %q (want path[@dc])", s)
	}
	return Query{Kind: QueryKey, Key: m["key"], DC: m["dc"]}, nil
}

// ParseKeyListQuery parses `prefix[@dc]` for ls, safeLs, tree and safeTree.
func ParseKeyListQuery(s string) (Query, error) {
	m, ok := submatches(keyQueryRe, s)
	if !ok {
		return Query{}, fmt.Errorf("ls/tree: invalid query %q (want prefix[@dc])", s)
	}
	return Query{Kind: QueryKeyList, Key: m["key"], DC: m["dc"]}, nil
}

// ParseNodeQuery parses `[name][@dc]`; no name means the local agent's node.
func ParseNodeQuery(s string) (Query, error) {
	m, ok := submatches(nodeQueryRe, s)
	if !ok {
		return Query{}, fmt.Errorf("node: invalid query %q (want [name][@dc])", s)
	}
	return Query{Kind: QueryNode, Name: m["name"], DC: m["dc"]}, nil
}

// ParseNodesQuery parses `nodes`' optional `[@dc][~near]`.
func ParseNodesQuery(s string) (Query, error) {
	m, ok := submatches(nodesQueryRe, s)
	if !ok {
		return Query{}, fmt.Errorf("nodes: invalid query %q (want [@dc][~near])", s)
	}
	return Query{Kind: QueryNodes, DC: m["dc"], Near: m["near"]}, nil
}

// String is the query's canonical form, in consul-template's notation; equal
// queries have equal strings.
func (q Query) String() string {
	dc := ""
	if q.DC != "" {
		dc = "@" + q.DC
	}
	switch q.Kind {
	case QueryService:
		s := q.Name
		if q.Tag != "" {
			s = q.Tag + "." + s
		}
		s += dc
		if q.Near != "" {
			s += "~" + q.Near
		}
		return "health.service(" + s + "|" + strings.Join(q.Filters, ",") + ")"
	case QueryServices:
		if dc == "" {
			return "catalog.services"
		}
		return "catalog.services(" + dc + ")"
	case QueryKey:
		return "kv.get(" + q.Key + dc + ")"
	case QueryKeyList:
		return "kv.list(" + q.Key + dc + ")"
	case QueryNode:
		return "catalog.node(" + q.Name + dc + ")"
	case QueryNodes:
		s := dc
		if q.Near != "" {
			s += "~" + q.Near
		}
		return "catalog.nodes(" + s + ")"
	}
	return fmt.Sprintf("query(%d)", int(q.Kind))
}

// AcceptsStatus reports whether an instance with the aggregated status passes
// the query's health filter.
func (q Query) AcceptsStatus(status string) bool {
	for _, f := range q.Filters {
		if f == status || f == HealthAny {
			return true
		}
	}
	return false
}

// PassingOnly reports whether the filter is the default "passing" alone, in
// which case the server can filter (Consul's ?passing).
func (q Query) PassingOnly() bool {
	return len(q.Filters) == 1 && q.Filters[0] == HealthPassing
}
