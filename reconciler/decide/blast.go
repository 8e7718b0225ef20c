package decide

import (
	"sort"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/reconciler/plan"
)

// blast follows a simulation to say what the change does to each app: the
// tasks it starts and stops, the fewest healthy instances along the way,
// the ports that move and the services whose instances change.
type blast struct {
	apps       map[string]*plan.AppBlast
	before     appPorts
	hostBefore appPorts
	svcBefore  map[string]map[string]bool
}

type appPorts map[string]map[int]int // app -> port index -> port

func newBlast(in Input) *blast {
	b := &blast{apps: map[string]*plan.AppBlast{}, before: servicePortsOf(in), hostBefore: fixedHostPorts(in), svcBefore: servicesOf(in)}
	return b
}

func (b *blast) app(id string) *plan.AppBlast {
	a, ok := b.apps[id]
	if !ok {
		a = &plan.AppBlast{ID: id, MinHealthy: -1}
		b.apps[id] = a
	}
	return a
}

// decided counts what a decision starts and stops.
func (b *blast) decided(changes []Change) {
	for _, c := range changes {
		switch c := c.(type) {
		case StartTask:
			if c.Assignment.Owner == cluster.OwnerApp {
				b.app(c.Assignment.OwnerID).Started++
			}
		case KillTask:
			if c.Assignment.Owner == cluster.OwnerApp {
				a := b.app(c.Assignment.OwnerID)
				a.Stopped++
				if c.Reason == "upgrade" {
					a.Restarted++
				}
			}
		}
	}
}

// observe records each touched app's healthy instances now (between a
// decision's writes and the agents acting on them: the low point).
func (b *blast) observe(in Input) {
	healthy := map[string]int{}
	for _, t := range in.Tasks {
		if t.Owner == cluster.OwnerApp && !t.Kill && t.Status.State == cluster.TaskRunning && t.Status.Health == cluster.HealthHealthy {
			healthy[t.OwnerID]++
		}
	}
	for id, a := range b.apps {
		if a.MinHealthy < 0 || healthy[id] < a.MinHealthy {
			a.MinHealthy = healthy[id]
		}
	}
}

// result compares the end of the simulation with its start.
func (b *blast) result(end Input, initialHealthy map[string]int) []plan.AppBlast {
	after, hostAfter, svcAfter := servicePortsOf(end), fixedHostPorts(end), servicesOf(end)
	for _, id := range changedApps(b.before, after) {
		b.app(id)
	}
	for _, id := range changedApps(b.hostBefore, hostAfter) {
		b.app(id)
	}
	instances := map[string]int{}
	if end.Desired != nil {
		for _, a := range end.Desired.Apps {
			instances[a.ID] = a.Instances
		}
	}
	out := make([]plan.AppBlast, 0, len(b.apps))
	for id, a := range b.apps {
		a.Instances = instances[id]
		if h, ok := initialHealthy[id]; ok && (a.MinHealthy < 0 || h < a.MinHealthy) {
			a.MinHealthy = h
		}
		if a.MinHealthy < 0 {
			a.MinHealthy = 0
		}
		a.ServicePorts = portChanges(b.before[id], after[id])
		a.HostPorts = portChanges(b.hostBefore[id], hostAfter[id])
		if a.Started+a.Stopped > 0 {
			names := map[string]bool{}
			for n := range b.svcBefore[id] {
				names[n] = true
			}
			for n := range svcAfter[id] {
				names[n] = true
			}
			for n := range names {
				a.Services = append(a.Services, n)
			}
			sort.Strings(a.Services)
		}
		if a.Started+a.Stopped == 0 && len(a.ServicePorts) == 0 && len(a.HostPorts) == 0 {
			continue
		}
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func healthyByApp(in Input) map[string]int {
	out := map[string]int{}
	for _, t := range in.Tasks {
		if t.Owner == cluster.OwnerApp && !t.Kill && t.Status.State == cluster.TaskRunning && t.Status.Health == cluster.HealthHealthy {
			out[t.OwnerID]++
		}
	}
	return out
}

func servicePortsOf(in Input) appPorts {
	out := appPorts{}
	for _, p := range in.ServicePorts {
		if out[p.AppID] == nil {
			out[p.AppID] = map[int]int{}
		}
		out[p.AppID][p.PortIndex] = p.Port
	}
	return out
}

// fixedHostPorts are the host ports apps' live tasks ask for by number
// (requirePorts, a portMapping's hostPort): those move only with a change.
func fixedHostPorts(in Input) appPorts {
	out := appPorts{}
	for _, t := range in.Tasks {
		if t.Owner != cluster.OwnerApp || t.Kill || t.Status.State.Terminal() {
			continue
		}
		for i, p := range t.Spec.Ports {
			if p.HostPort == 0 || !declaresHostPort(in, t.OwnerID, i) {
				continue
			}
			if out[t.OwnerID] == nil {
				out[t.OwnerID] = map[int]int{}
			}
			out[t.OwnerID][i] = p.HostPort
		}
	}
	return out
}

// declaresHostPort reports whether app declares port i's host port itself,
// rather than leaving it to the allocator (whose random choice is no change).
func declaresHostPort(in Input, appID string, i int) bool {
	if in.Desired == nil {
		return false
	}
	app := in.Desired.App(appID)
	if app == nil {
		return false
	}
	ports := AppTaskSpec(app, nil, SpecOptions{}).Ports
	return i < len(ports) && ports[i].HostPort != 0
}

// servicesOf names each app's services that have instances now.
func servicesOf(in Input) map[string]map[string]bool {
	address := map[string]string{}
	for _, a := range in.Agents {
		address[a.ID] = a.Address
	}
	out := map[string]map[string]bool{}
	for _, t := range in.Tasks {
		if t.Owner != cluster.OwnerApp || t.Kill || t.Status.State.Terminal() {
			continue
		}
		ports := t.Status.HostPorts
		if len(ports) == 0 {
			for _, p := range t.Spec.Ports {
				ports = append(ports, p.HostPort)
			}
		}
		for _, s := range cluster.TaskServices(t.AgentID, address[t.AgentID], t.Assignment, ports) {
			if out[t.OwnerID] == nil {
				out[t.OwnerID] = map[string]bool{}
			}
			out[t.OwnerID][s.Name] = true
		}
	}
	return out
}

func changedApps(a, b appPorts) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range []appPorts{a, b} {
		for id := range m {
			if !seen[id] && len(portChanges(a[id], b[id])) > 0 {
				out = append(out, id)
			}
			seen[id] = true
		}
	}
	return out
}

func portChanges(before, after map[int]int) []plan.PortChange {
	var out []plan.PortChange
	seen := map[int]bool{}
	for _, m := range []map[int]int{before, after} {
		for i := range m {
			if seen[i] {
				continue
			}
			seen[i] = true
			if before[i] != after[i] {
				out = append(out, plan.PortChange{Index: i, From: before[i], To: after[i]})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out
}
