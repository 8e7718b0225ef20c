package allocator

import (
	"cmp"
	"fmt"
	"slices"
)

// ServicePortRequest is one app's service ports as its manifest declares
// them: 0 asks the allocator for one.
type ServicePortRequest struct {
	App   string `json:"app"`
	Ports []int  `json:"ports"`
}

// AssignServicePorts gives every requested 0 a cluster-unique service port
// from [begin, end] (Marathon's 10000-20000 when both are 0) and keeps
// assignments stable across updates: an app gets back the port it had at
// the same index in previous (app id -> ports) unless someone now declares
// that port explicitly. Ports declared explicitly are kept as they are; two
// apps declaring the same one is an error naming both.
//
// The result maps app id to its resolved ports, in the request's order.
func AssignServicePorts(reqs []ServicePortRequest, previous map[string][]int, begin, end int) (map[string][]int, error) {
	if begin == 0 && end == 0 {
		begin, end = DefaultServicePortBegin, DefaultServicePortEnd
	}
	if begin < 1 || end > 65535 || end < begin {
		return nil, fmt.Errorf("service ports: range %d-%d is not valid (want 1 <= begin <= end <= 65535)", begin, end)
	}
	sorted := slices.Clone(reqs)
	slices.SortStableFunc(sorted, func(a, b ServicePortRequest) int { return cmp.Compare(a.App, b.App) })
	owner := map[int]string{}
	out := make(map[string][]int, len(reqs))
	// Explicit ports first: they are what people wrote, they win.
	for _, r := range sorted {
		if _, dup := out[r.App]; dup {
			return nil, fmt.Errorf("service ports: app %s is listed twice", r.App)
		}
		out[r.App] = make([]int, len(r.Ports))
		for i, p := range r.Ports {
			if p == 0 {
				continue
			}
			if p < 0 || p > 65535 {
				return nil, fmt.Errorf("app %s: servicePort[%d]: %d is not a port (want 0 to be assigned one, or 1-65535)", r.App, i, p)
			}
			if o, taken := owner[p]; taken {
				return nil, fmt.Errorf("app %s: servicePort[%d]: %d is already the service port of %s", r.App, i, p, o)
			}
			owner[p] = r.App
			out[r.App][i] = p
		}
	}
	// Then the previous assignment of each 0, while it is still free and
	// in range, so updates do not move service ports under load balancers.
	for _, r := range sorted {
		prev := previous[r.App]
		for i, p := range r.Ports {
			if p != 0 || i >= len(prev) {
				continue
			}
			pp := prev[i]
			if _, taken := owner[pp]; taken || pp < begin || pp > end {
				continue
			}
			owner[pp] = r.App
			out[r.App][i] = pp
		}
	}
	// Finally the lowest free port for what is left.
	next := begin
	for _, r := range sorted {
		for i := range r.Ports {
			if out[r.App][i] != 0 {
				continue
			}
			for next <= end {
				if _, taken := owner[next]; !taken {
					break
				}
				next++
			}
			if next > end {
				return nil, fmt.Errorf("app %s: servicePort[%d]: every service port from %d to %d is taken", r.App, i, begin, end)
			}
			owner[next] = r.App
			out[r.App][i] = next
		}
	}
	return out, nil
}
