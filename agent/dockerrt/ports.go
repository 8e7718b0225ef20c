package dockerrt

import (
	"strconv"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"

	"github.com/berthops/berth/cluster"
)

// hostPorts returns the host port of each of the task's ports as Docker
// actually bound it, so a port left at 0 (any free port) is still reported,
// probed and registered correctly. Under HOST networking the spec's ports are
// the host ports.
func hostPorts(spec cluster.TaskSpec, info container.InspectResponse) []int {
	out := make([]int, len(spec.Ports))
	var bound nat.PortMap
	if info.NetworkSettings != nil {
		bound = info.NetworkSettings.Ports
	}
	for i, p := range spec.Ports {
		out[i] = p.HostPort
		if spec.Network == networkHost {
			continue
		}
		cport := p.ContainerPort
		if cport == 0 {
			cport = p.HostPort
		}
		protos, err := protocols(p.Protocol)
		if err != nil {
			continue
		}
		for _, b := range bound[nat.Port(strconv.Itoa(cport)+"/"+protos[0])] {
			if n, err := strconv.Atoi(b.HostPort); err == nil && n != 0 {
				out[i] = n
				break
			}
		}
	}
	return out
}
