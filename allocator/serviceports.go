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
	out, errs, err := AssignServicePortsEach(reqs, previous, begin, end)
	if err != nil {
		return nil, err
	}
	for _, r := range sortedRequests(reqs) {
		if e, bad := errs[r.App]; bad {
			return nil, e
		}
	}
	return out, nil
}

func sortedRequests(reqs []ServicePortRequest) []ServicePortRequest {
	sorted := slices.Clone(reqs)
	slices.SortStableFunc(sorted, func(a, b ServicePortRequest) int { return cmp.Compare(a.App, b.App) })
	return sorted
}

// AssignServicePortsEach is AssignServicePorts with failures kept to the
// apps they concern: an app whose ports cannot be assigned (a clash with an
// app earlier in id order, a port out of range, a full range) gets its error
// in errs and no entry in the result, and holds no port, while every other
// app is assigned as usual. err is only for a bad range.
func AssignServicePortsEach(reqs []ServicePortRequest, previous map[string][]int, begin, end int) (out map[string][]int, errs map[string]error, err error) {
	if begin == 0 && end == 0 {
		begin, end = DefaultServicePortBegin, DefaultServicePortEnd
	}
	if begin < 1 || end > 65535 || end < begin {
		return nil, nil, fmt.Errorf("service ports: range %d-%d is not valid (want 1 <= begin <= end <= 65535)", begin, end)
	}
	sorted := sortedRequests(reqs)
	owner := map[int]string{}
	out = make(map[string][]int, len(reqs))
	errs = map[string]error{}
	fail := func(app string, e error) {
		errs[app] = e
		for i, p := range out[app] {
			if p != 0 && owner[p] == app {
				delete(owner, p)
			}
			out[app][i] = 0
		}
	}
	// Explicit ports first: they are what people wrote, they win.
	for _, r := range sorted {
		if _, dup := out[r.App]; dup {
			errs[r.App] = fmt.Errorf("service ports: app %s is listed twice", r.App)
			continue
		}
		out[r.App] = make([]int, len(r.Ports))
		for i, p := range r.Ports {
			if p == 0 {
				continue
			}
			if p < 0 || p > 65535 {
				fail(r.App, fmt.Errorf("app %s: servicePort[%d]: %d is not a port (want 0 to be assigned one, or 1-65535)", r.App, i, p))
				break
			}
			if o, taken := owner[p]; taken {
				fail(r.App, fmt.Errorf("app %s: servicePort[%d]: %d is already the service port of %s", r.App, i, p, o))
				break
			}
			owner[p] = r.App
			out[r.App][i] = p
		}
	}
	// Then the previous assignment of each 0, while it is still free and
	// in range, so updates do not move service ports under load balancers.
	for _, r := range sorted {
		if _, bad := errs[r.App]; bad {
			continue
		}
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
		if _, bad := errs[r.App]; bad {
			continue
		}
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
				fail(r.App, fmt.Errorf("app %s: servicePort[%d]: every service port from %d to %d is taken", r.App, i, begin, end))
				break
			}
			owner[next] = r.App
			out[r.App][i] = next
		}
	}
	for app := range errs {
		delete(out, app)
	}
	return out, errs, nil
}
