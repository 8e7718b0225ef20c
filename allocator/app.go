package allocator

import (
	"strings"

	"github.com/berthops/berth/manifests"
)

// GroupFromApp is the demand of a (normalised) app manifest: newInstances
// more tasks with the app's resources, constraints, queue and host ports.
//
// Host ports follow Marathon: under BRIDGE each port mapping needs its
// hostPort (0 = any); under USER networking only mappings that name a
// hostPort need one; under HOST each port definition needs a port, exactly
// that port only when requirePorts is set.
func GroupFromApp(app manifests.App, newInstances int) Group {
	g := Group{
		ID:          app.ID,
		Instances:   newInstances,
		Resources:   Resources{CPUs: app.CPUs, Mem: app.Mem, Disk: app.Disk},
		Constraints: app.Constraints,
		Queue:       app.Queue,
		Origin:      app.Origin,
	}
	switch appNetwork(app) {
	case manifests.NetworkBridge:
		for _, m := range appMappings(app) {
			g.HostPorts = append(g.HostPorts, m.HostPort)
		}
	case manifests.NetworkUser:
		for _, m := range appMappings(app) {
			if m.HostPort != 0 {
				g.HostPorts = append(g.HostPorts, m.HostPort)
			}
		}
	default:
		for _, p := range app.PortDefinitions {
			if app.RequirePorts {
				g.HostPorts = append(g.HostPorts, p.Port)
			} else {
				g.HostPorts = append(g.HostPorts, 0)
			}
		}
	}
	return g
}

func appNetwork(app manifests.App) string {
	if len(app.Networks) > 0 {
		switch strings.ToLower(app.Networks[0].Mode) {
		case "container/bridge":
			return manifests.NetworkBridge
		case "container":
			return manifests.NetworkUser
		}
		return manifests.NetworkHost
	}
	if app.Container != nil && app.Container.Docker != nil && app.Container.Docker.Network != "" {
		return strings.ToUpper(app.Container.Docker.Network)
	}
	return manifests.NetworkHost
}

func appMappings(app manifests.App) []manifests.PortMapping {
	if app.Container == nil {
		return nil
	}
	if len(app.Container.PortMappings) > 0 {
		return app.Container.PortMappings
	}
	if app.Container.Docker != nil {
		return app.Container.Docker.PortMappings
	}
	return nil
}
