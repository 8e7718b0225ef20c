package decide

import (
	"sort"

	"github.com/berthops/berth/allocator"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
)

// servicePorts resolves every declared app's service ports with the
// allocator (cluster-unique, 10000-20000 when a manifest says 0, stable for
// an app's port index across updates) and records changes in w: new
// assignments, moved ones, and those of apps no longer declared (when
// pruning; otherwise they stay reserved for the apps still running). An app
// whose ports cannot be assigned is returned in errs and keeps whatever it
// holds; the others proceed.
func servicePorts(apps []manifests.App, held []cluster.ServicePort, prune bool, w *writes) (map[string][]int, map[string]error) {
	previous := map[string][]int{}
	heldAt := map[string]map[int]int{}
	for _, p := range held {
		ports := previous[p.AppID]
		for len(ports) <= p.PortIndex {
			ports = append(ports, 0)
		}
		ports[p.PortIndex] = p.Port
		previous[p.AppID] = ports
		if heldAt[p.AppID] == nil {
			heldAt[p.AppID] = map[int]int{}
		}
		heldAt[p.AppID][p.PortIndex] = p.Port
	}
	reqs := make([]allocator.ServicePortRequest, 0, len(apps))
	declared := map[string]bool{}
	for i := range apps {
		app := &apps[i]
		declared[app.ID] = true
		req := allocator.ServicePortRequest{App: app.ID}
		for _, p := range AppTaskSpec(app, nil, SpecOptions{}).Ports {
			req.Ports = append(req.Ports, p.ServicePort)
		}
		reqs = append(reqs, req)
	}
	// Ports still held by undeclared apps that keep running are not free.
	var reserved []allocator.ServicePortRequest
	if !prune {
		for app, ports := range previous {
			if !declared[app] {
				reserved = append(reserved, allocator.ServicePortRequest{App: app, Ports: ports})
			}
		}
		sort.Slice(reserved, func(i, j int) bool { return reserved[i].App < reserved[j].App })
	}
	got, errs, err := allocator.AssignServicePortsEach(append(reserved, reqs...), previous, 0, 0)
	if err != nil {
		// Only a bad range fails the whole, and the range is Berth's own.
		errs = map[string]error{}
		for _, r := range reqs {
			errs[r.App] = err
		}
		return nil, errs
	}
	for _, req := range reqs {
		if _, bad := errs[req.App]; bad {
			continue
		}
		for i, port := range got[req.App] {
			if old, ok := heldAt[req.App][i]; ok && old == port {
				continue
			} else if ok {
				w.add(ReleaseServicePort{Port: old})
			}
			w.add(HoldServicePort{Port: cluster.ServicePort{Port: port, AppID: req.App, PortIndex: i}})
		}
		for _, i := range sortedInts(heldAt[req.App]) {
			if i >= len(got[req.App]) {
				w.add(ReleaseServicePort{Port: heldAt[req.App][i]}) // the app has fewer ports now
			}
		}
	}
	if prune {
		for _, app := range sortedKeys(heldAt) {
			if declared[app] {
				continue
			}
			for _, i := range sortedInts(heldAt[app]) {
				w.add(ReleaseServicePort{Port: heldAt[app][i]})
			}
		}
	}
	return got, errs
}

// sortedInts are m's keys in order.
func sortedInts(m map[int]int) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	return keys
}
