package allocator_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/berthops/berth/allocator"
)

func TestAssignServicePorts(t *testing.T) {
	tests := []struct {
		name     string
		reqs     []allocator.ServicePortRequest
		previous map[string][]int
		want     map[string][]int
		err      string
	}{
		{
			name: "zeros get the lowest free ports, in app order",
			reqs: []allocator.ServicePortRequest{{App: "/b", Ports: []int{0}}, {App: "/a", Ports: []int{0, 0}}},
			want: map[string][]int{"/a": {10000, 10001}, "/b": {10002}},
		},
		{
			name: "explicit ports are kept and skipped",
			reqs: []allocator.ServicePortRequest{{App: "/a", Ports: []int{0}}, {App: "/b", Ports: []int{10000, 0}}},
			want: map[string][]int{"/a": {10001}, "/b": {10000, 10002}},
		},
		{
			name:     "previous assignments are stable",
			reqs:     []allocator.ServicePortRequest{{App: "/a", Ports: []int{0}}, {App: "/new", Ports: []int{0}}, {App: "/z", Ports: []int{0, 0}}},
			previous: map[string][]int{"/z": {10000, 15000}, "/a": {10007}},
			want:     map[string][]int{"/a": {10007}, "/new": {10001}, "/z": {10000, 15000}},
		},
		{
			name:     "an explicit port wins over someone's previous one",
			reqs:     []allocator.ServicePortRequest{{App: "/a", Ports: []int{0}}, {App: "/b", Ports: []int{10005}}},
			previous: map[string][]int{"/a": {10005}},
			want:     map[string][]int{"/a": {10000}, "/b": {10005}},
		},
		{
			name:     "a previous port out of range is replaced",
			reqs:     []allocator.ServicePortRequest{{App: "/a", Ports: []int{0}}},
			previous: map[string][]int{"/a": {31000}},
			want:     map[string][]int{"/a": {10000}},
		},
		{
			name: "two apps declaring one port",
			reqs: []allocator.ServicePortRequest{{App: "/a", Ports: []int{10000}}, {App: "/b", Ports: []int{10000}}},
			err:  "app /b: servicePort[0]: 10000 is already the service port of /a",
		},
		{
			name: "not a port",
			reqs: []allocator.ServicePortRequest{{App: "/a", Ports: []int{70000}}},
			err:  "app /a: servicePort[0]: 70000 is not a port",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := allocator.AssignServicePorts(tt.reqs, tt.previous, 0, 0)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if _, err := allocator.AssignServicePorts([]allocator.ServicePortRequest{{App: "/a", Ports: []int{0, 0, 0}}}, nil, 100, 101); err == nil || !strings.Contains(err.Error(), "every service port from 100 to 101 is taken") {
		t.Errorf("exhausted range: err = %v", err)
	}
}

// TestServicePortsProperties: assignments are unique, in range, keep every
// explicit port, and re-running with the result as previous changes nothing.
func TestServicePortsProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 500 {
		var reqs []allocator.ServicePortRequest
		used := map[int]bool{}
		for a := range rng.IntN(8) {
			r := allocator.ServicePortRequest{App: string(rune('a' + a))}
			for range rng.IntN(4) {
				p := 0
				if q := 10000 + rng.IntN(30); rng.IntN(3) == 0 && !used[q] {
					p, used[q] = q, true
				}
				r.Ports = append(r.Ports, p)
			}
			reqs = append(reqs, r)
		}
		got, err := allocator.AssignServicePorts(reqs, nil, 10000, 10040)
		if err != nil {
			continue // the small range may run out; that is reported, fine
		}
		seen := map[int]bool{}
		for _, r := range reqs {
			for k, p := range got[r.App] {
				if seen[p] || p < 10000 || p > 10040 || (r.Ports[k] != 0 && r.Ports[k] != p) {
					t.Fatalf("case %d: bad port %d for %s[%d] in %v", i, p, r.App, k, got)
				}
				seen[p] = true
			}
		}
		// Scaling the set: one app gone, the others keep their ports.
		if len(reqs) > 1 {
			again, err := allocator.AssignServicePorts(reqs[1:], got, 10000, 10040)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range reqs[1:] {
				if !cmp.Equal(again[r.App], got[r.App]) {
					t.Fatalf("case %d: %s moved from %v to %v", i, r.App, got[r.App], again[r.App])
				}
			}
		}
	}
}
