package cluster

import (
	"context"
	"strings"
	"time"
)

// Residence is the durable memory of a resident app (an app with local
// persistent volumes, Marathon's residency): each slot is one instance's set
// of persistent volumes, on the agent that holds them. A task of the app runs
// in a slot, and so on that agent, across restarts and upgrades; a slot
// outlives its tasks (scale-down keeps it, as Marathon keeps reservations)
// until the app is removed.
type Residence struct {
	AppID string         `json:"appId"`
	Slots []ResidentSlot `json:"slots"`
}

// ResidentSlot is one instance's persistent volumes on one agent.
type ResidentSlot struct {
	// ID names the slot's Docker volumes: unique, never reused, so a
	// removed app's volumes are never those of a new app of the same id.
	ID      string `json:"id"`
	AgentID string `json:"agentId"`
	// Disk is what the slot's volumes reserve on the agent, in MiB,
	// whether a task runs in it or not.
	Disk    float64   `json:"disk"`
	Created time.Time `json:"created"`
	// Volumes are the slot's Docker volumes, removed when it is released.
	Volumes []string `json:"volumes,omitempty"`
}

// Slot returns the slot with id, if the residence has it.
func (r Residence) Slot(id string) (ResidentSlot, bool) {
	for _, s := range r.Slots {
		if s.ID == id {
			return s, true
		}
	}
	return ResidentSlot{}, false
}

const dirResidences = "/memory/residences" // <app> = Residence

func residencePath(app string) string { return join(dirResidences, nodeName(app)) }

// Residences reads every resident app's slots, by app id.
func (st *State) Residences(ctx context.Context) (map[string]Residence, error) {
	list, err := listJSON[Residence](ctx, st.store, dirResidences)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Residence, len(list))
	for _, v := range list {
		out[v.Value.AppID] = v.Value
	}
	return out, nil
}

// PutResidence records a resident app's slots.
func (b *Batch) PutResidence(r Residence) { b.putJSON(residencePath(r.AppID), r) }

// DeleteResidence forgets a resident app's slots.
func (b *Batch) DeleteResidence(appID string) { b.delete(residencePath(appID), AnyVersion) }

// PersistentVolumeName is the Docker volume that holds the persistent
// volume at containerPath (relative to the sandbox) of slot.
func PersistentVolumeName(slot, containerPath string) string {
	var b strings.Builder
	b.WriteString("berth-")
	for _, r := range slot + "-" + strings.Trim(containerPath, "/") {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}
