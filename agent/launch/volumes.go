package launch

import "context"

// LabelPersistent marks a Docker volume as a resident slot's persistent
// volume, created by the agent named by LabelAgent: the only volumes a
// release may remove.
const LabelPersistent = "berth.persistent"

// LabelSlot names the slot a persistent volume belongs to.
const LabelSlot = "berth.slot"

// Volumes is what a runtime with named volumes also does (agent/dockerrt
// does): it says which volume drivers it has, so the agent advertises them
// for external volumes, and removes a released slot's persistent volumes.
type Volumes interface {
	// VolumeDrivers lists the runtime's volume drivers (the built-in
	// local one and every plugin).
	VolumeDrivers(ctx context.Context) ([]string, error)
	// RemoveVolumes removes the named persistent volumes of node's slots;
	// a volume that is gone is not an error, and a volume that is not a
	// persistent volume of node is left alone and reported.
	RemoveVolumes(ctx context.Context, node string, names []string) error
}
