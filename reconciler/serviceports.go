package reconciler

import (
	"fmt"

	"github.com/berthops/berth/allocator"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
)

// servicePorts hands out Marathon-style service ports: cluster-unique, from
// 10000-20000, assigned when a manifest says 0 and kept for the app's port
// index across updates, so load balancers and clients never see them move.
type servicePorts struct {
	byPort map[int]cluster.ServicePort
	byApp  map[string]map[int]int // app id -> port index -> port
	next   int
}

func newServicePorts(held []cluster.ServicePort) *servicePorts {
	sp := &servicePorts{byPort: map[int]cluster.ServicePort{}, byApp: map[string]map[int]int{}, next: allocator.DefaultServicePortBegin}
	for _, p := range held {
		sp.hold(p)
	}
	return sp
}

func (sp *servicePorts) hold(p cluster.ServicePort) {
	sp.byPort[p.Port] = p
	if sp.byApp[p.AppID] == nil {
		sp.byApp[p.AppID] = map[int]int{}
	}
	sp.byApp[p.AppID][p.PortIndex] = p.Port
}

// forApp returns the service port of each of app's ports, recording new
// assignments in b.
func (sp *servicePorts) forApp(app *manifests.App, b *cluster.Batch) ([]int, error) {
	declared := AppTaskSpec(app, nil, SpecOptions{}).Ports
	out := make([]int, len(declared))
	for i, p := range declared {
		held, ok := sp.byApp[app.ID][i]
		switch {
		case p.ServicePort != 0 && held == p.ServicePort:
			out[i] = held
		case p.ServicePort != 0:
			if other, taken := sp.byPort[p.ServicePort]; taken && other.AppID != app.ID {
				return nil, fmt.Errorf("%s:%d: app %s: servicePort %d is already held by %s (port index %d)",
					app.Origin.File, app.Origin.Line, app.ID, p.ServicePort, other.AppID, other.PortIndex)
			}
			if ok {
				b.DeleteServicePort(held)
				delete(sp.byPort, held)
			}
			rec := cluster.ServicePort{Port: p.ServicePort, AppID: app.ID, PortIndex: i}
			sp.hold(rec)
			b.PutServicePort(rec)
			out[i] = p.ServicePort
		case ok:
			out[i] = held
		default:
			port, err := sp.free()
			if err != nil {
				return nil, fmt.Errorf("app %s port %d: %w", app.ID, i, err)
			}
			rec := cluster.ServicePort{Port: port, AppID: app.ID, PortIndex: i}
			sp.hold(rec)
			b.PutServicePort(rec)
			out[i] = port
		}
	}
	return out, nil
}

func (sp *servicePorts) free() (int, error) {
	for p := sp.next; p <= allocator.DefaultServicePortEnd; p++ {
		if _, taken := sp.byPort[p]; !taken {
			sp.next = p + 1
			return p, nil
		}
	}
	return 0, fmt.Errorf("no free service port in %d-%d", allocator.DefaultServicePortBegin, allocator.DefaultServicePortEnd)
}
