package templates

import "sort"

// The value types below are what template functions return. Their field names
// are consul-template's, so `.Address`, `.Port`, `.ServiceMeta` and the rest
// read the same in a template written for either.

// ServiceTags is a service's sorted tag list.
type ServiceTags []string

// Contains reports whether the tag list holds s; templates call it as
// `.Tags.Contains "primary"`.
func (t ServiceTags) Contains(s string) bool {
	for _, v := range t {
		if v == s {
			return true
		}
	}
	return false
}

// HealthCheck is one health check of a service instance or its node.
type HealthCheck struct {
	Node        string
	CheckID     string
	Name        string
	Status      string
	Notes       string
	Output      string
	ServiceID   string
	ServiceName string
	ServiceTags []string
	Type        string
}

// HealthChecks is the list of checks attached to an instance.
type HealthChecks []*HealthCheck

// Check states and the maintenance check ids, as Consul names them.
const (
	HealthAny         = "any"
	HealthPassing     = "passing"
	HealthWarning     = "warning"
	HealthCritical    = "critical"
	HealthMaintenance = "maintenance"

	nodeMaintCheck     = "_node_maintenance"
	serviceMaintPrefix = "_service_maintenance:"
)

// AggregatedStatus folds checks into one status the way Consul's API does:
// maintenance wins, then critical, then warning; no checks means passing; an
// unknown check state makes the whole status unknown ("").
func (c HealthChecks) AggregatedStatus() string {
	var warning, critical, maintenance bool
	for _, check := range c {
		if check.CheckID == nodeMaintCheck || len(check.CheckID) >= len(serviceMaintPrefix) && check.CheckID[:len(serviceMaintPrefix)] == serviceMaintPrefix {
			maintenance = true
			continue
		}
		switch check.Status {
		case HealthPassing:
		case HealthWarning:
			warning = true
		case HealthCritical:
			critical = true
		default:
			return ""
		}
	}
	switch {
	case maintenance:
		return HealthMaintenance
	case critical:
		return HealthCritical
	case warning:
		return HealthWarning
	}
	return HealthPassing
}

// Weights are a service's DNS SRV weights.
type Weights struct {
	Passing int
	Warning int
}

// ServiceAddress is one of a service's tagged addresses.
type ServiceAddress struct {
	Address string
	Port    int
}

// HealthService is one instance returned by `service`.
type HealthService struct {
	Node                   string
	NodeID                 string
	NodeAddress            string
	NodeDatacenter         string
	NodeTaggedAddresses    map[string]string
	NodeMeta               map[string]string
	ServiceMeta            map[string]string
	Address                string
	ServiceTaggedAddresses map[string]ServiceAddress
	ID                     string
	Name                   string
	Kind                   string
	Tags                   ServiceTags
	Checks                 HealthChecks
	Status                 string
	Port                   int
	Weights                Weights
}

// CatalogSnippet is one entry returned by `services`.
type CatalogSnippet struct {
	Name string
	Tags ServiceTags
}

// KeyPair is one entry returned by `ls` and `tree`. Key is relative to the
// queried prefix; Path is the full key.
type KeyPair struct {
	Path        string
	Key         string
	Value       string
	CreateIndex uint64
	ModifyIndex uint64
	LockIndex   uint64
	Flags       uint64
	Session     string
}

// Node is one entry returned by `nodes`.
type Node struct {
	ID              string
	Node            string
	Address         string
	Datacenter      string
	TaggedAddresses map[string]string
	Meta            map[string]string
}

// CatalogNodeService is one service registered on a node, as `node` lists it.
type CatalogNodeService struct {
	ID      string
	Service string
	Tags    ServiceTags
	Meta    map[string]string
	Port    int
	Address string
	// EnableTagOverride is Consul's anti-entropy tag override flag.
	EnableTagOverride bool
}

// CatalogNode is what `node` returns: the node and its services.
type CatalogNode struct {
	Node     *Node
	Services []*CatalogNodeService
}

// sortedTags copies and sorts tags, as consul-template does for every tag list
// it hands to a template.
func sortedTags(tags []string) ServiceTags {
	out := make(ServiceTags, len(tags))
	copy(out, tags)
	sort.Strings(out)
	return out
}

// SortHealthServices orders instances by node name, then instance id: the
// order consul-template guarantees unless the query asked for `~near`.
func SortHealthServices(list []*HealthService) {
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].Node != list[j].Node {
			return list[i].Node < list[j].Node
		}
		return list[i].ID < list[j].ID
	})
}

// SortNodes orders nodes by name, then address.
func SortNodes(list []*Node) {
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].Node != list[j].Node {
			return list[i].Node < list[j].Node
		}
		return list[i].Address < list[j].Address
	})
}

// SortNodeServices orders a node's services by service name, then id.
func SortNodeServices(list []*CatalogNodeService) {
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].Service != list[j].Service {
			return list[i].Service < list[j].Service
		}
		return list[i].ID < list[j].ID
	})
}

// SortCatalogSnippets orders `services` entries by name.
func SortCatalogSnippets(list []*CatalogSnippet) {
	sort.SliceStable(list, func(i, j int) bool { return list[i].Name < list[j].Name })
}
