package decide

import (
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berthops/berth/allocator"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
)

// Resident apps (apps with local persistent volumes) follow Marathon's
// residency: every instance runs in a slot, the set of its persistent
// volumes on one agent; a new task of that instance is placed on that agent
// and nowhere else, so its data is there across restarts and upgrades. A slot
// is made the first time an instance is placed (its disk charged to the
// agent from then on, task or not), kept when the app scales down (as
// Marathon keeps its reservations, so scaling up again finds the data), and
// released (its Docker volumes removed) when the app is removed from the
// commit, or when its agent has been lost longer than
// relaunchEscalationTimeoutSeconds under RELAUNCH_AFTER_TIMEOUT.

// RememberResidence records a resident app's slots (durable memory).
type RememberResidence struct{ Residence cluster.Residence }

// ForgetResidence drops the slots of an app that is gone.
type ForgetResidence struct{ AppID string }

func (RememberResidence) change() {}
func (ForgetResidence) change()   {}

// OwnerRelease owns the assignments that ask an agent to remove a released
// slot's volumes: neither an app's task nor a job's, forgotten once the
// agent reports them done.
const OwnerRelease cluster.OwnerKind = "release"

// residency is one decision's working copy of the resident apps' slots.
type residency struct {
	now   time.Time
	have  map[string]cluster.Residence // as read
	slots map[string]cluster.Residence // as decided
}

func newResidency(in Input) *residency {
	r := &residency{now: in.Now, have: in.Residences, slots: map[string]cluster.Residence{}}
	for id, res := range in.Residences {
		res.Slots = slices.Clone(res.Slots)
		r.slots[id] = res
	}
	return r
}

// changes are the writes that make the stored slots the decided ones.
func (r *residency) changes() []Change {
	var out []Change
	for _, id := range sortedKeys(r.slots) {
		res := r.slots[id]
		old, known := r.have[id]
		switch {
		case len(res.Slots) == 0 && known:
			out = append(out, ForgetResidence{AppID: id})
		case len(res.Slots) == 0:
		case !known || !slices.EqualFunc(old.Slots, res.Slots, sameSlot):
			out = append(out, RememberResidence{Residence: res})
		}
	}
	return out
}

func sameSlot(a, b cluster.ResidentSlot) bool {
	return a.ID == b.ID && a.AgentID == b.AgentID && a.Disk == b.Disk && a.Created.Equal(b.Created) && slices.Equal(a.Volumes, b.Volumes)
}

// release gives a slot up: its agent is asked to remove its volumes (when
// it is back, if it is lost), and it is no longer the app's.
func (r *residency) release(w *writes, app string, s cluster.ResidentSlot, why string) {
	res := r.slots[app]
	res.Slots = slices.DeleteFunc(res.Slots, func(x cluster.ResidentSlot) bool { return x.ID == s.ID })
	r.slots[app] = res
	spec := cluster.TaskSpec{Labels: map[string]string{"berth.release": why}}
	for _, v := range s.Volumes {
		spec.Volumes = append(spec.Volumes, cluster.VolumeSpec{Name: v, Persistent: true, ContainerPath: "/"})
	}
	w.add(StartTask{Assignment: cluster.Assignment{TaskID: s.ID + ".release", Owner: OwnerRelease, OwnerID: app,
		AgentID: s.AgentID, Slot: s.ID, Kill: true, Release: true, Spec: spec, CreatedAt: r.now}})
}

// add records a new slot of app.
func (r *residency) add(app string, s cluster.ResidentSlot) {
	res := r.slots[app]
	res.AppID = app
	res.Slots = append(res.Slots, s)
	r.slots[app] = res
}

// releases forgets the release assignments whose agent has done them.
func releases(w *writes, tasks iter.Seq[*cluster.Task]) {
	for t := range tasks {
		if t.Owner == OwnerRelease && t.Status.State.Terminal() {
			w.add(ForgetTask{AgentID: t.AgentID, TaskID: t.TaskID})
		}
	}
}

// removed releases the slots of apps no longer declared, or no longer
// resident (their persistent volumes taken out of the manifest), once none
// of their tasks holds a volume any more.
func (r *residency) removed(w *writes, keep map[string]bool, byApp *appTasks) {
	for _, id := range sortedKeys(r.slots) {
		if keep[id] {
			continue
		}
		if slices.ContainsFunc(byApp.of(id), func(t cluster.Task) bool { return t.Slot != "" && !t.Status.State.Terminal() }) {
			continue
		}
		for _, s := range slices.Clone(r.slots[id].Slots) {
			r.release(w, id, s, "app removed or no longer resident")
		}
	}
}

// residentStarts turns rollout's n new instances of a resident app into
// starts: one pinned to each free slot's agent, then new slots while the app
// has fewer slots than instances. The rest wait (for a slot's task to stop,
// or its agent to come back), and the returned message says which.
func (r *residency) residentStarts(w *writes, app *manifests.App, spec cluster.TaskSpec, n, out int,
	tasks []cluster.Task, agents map[string]cluster.Agent, lostAt map[string]time.Time) ([]start, string) {
	res := r.slots[app.ID]
	if rs := app.Residency; rs != nil && rs.TaskLostBehavior == manifests.RelaunchAfterTimeout {
		for _, s := range slices.Clone(res.Slots) {
			since, lost := lostAt[s.AgentID]
			if _, known := agents[s.AgentID]; !known {
				lost, since = true, r.now
			}
			if lost && !r.now.Before(since.Add(seconds(rs.RelaunchEscalationTimeoutSeconds))) {
				r.release(w, app.ID, s, "agent lost past relaunchEscalationTimeoutSeconds")
			}
		}
		res = r.slots[app.ID]
	}
	busy := map[string]bool{}
	for _, t := range tasks {
		if t.Slot != "" && !t.Status.State.Terminal() {
			busy[t.Slot] = true
		}
	}
	var starts []start
	var waits []string
	for _, s := range res.Slots {
		a, known := agents[s.AgentID]
		switch {
		case busy[s.ID]:
			continue
		case !known || !a.Reachable:
			waits = append(waits, fmt.Sprintf("slot %s waits for its agent %s", s.ID, s.AgentID))
			continue
		case len(starts) == n:
			continue
		}
		starts = append(starts, start{app: app, spec: spec, n: 1, out: out, slot: s.ID, pin: s.AgentID})
	}
	if fresh := min(n-len(starts), max(0, app.Instances-len(res.Slots))); fresh > 0 {
		starts = append(starts, start{app: app, spec: spec, n: fresh, out: out, newSlots: true})
	}
	placed := 0
	for _, st := range starts {
		placed += st.n
	}
	if placed == n {
		return starts, ""
	}
	msg := fmt.Sprintf("%d of %d new instances wait for the volumes of their slots", n-placed, n)
	if len(waits) > 0 {
		msg += ": " + strings.Join(waits, ", ")
	} else {
		msg += " to be released by the tasks stopping"
	}
	return starts, msg
}

// pinAttribute marks, for one allocation, the agent demand group i is pinned to.
func pinAttribute(i int) string { return "berth.slot." + strconv.Itoa(i) }

// pinSlots keeps each pinned group on its slot's agent, and charges every
// slot's disk to its agent: a slot holds its volumes whether a task runs in
// it or not. New slots need their volumes' disk on top of the task's.
func pinSlots(c *allocator.Cluster, demand []allocator.Group, starts []start, res map[string]cluster.Residence) {
	pos := make(map[string]int, len(c.Agents))
	for k, a := range c.Agents {
		pos[a.ID] = k
	}
	for i, st := range starts {
		switch {
		case st.newSlots:
			demand[i].Resources.Disk += st.app.PersistentDisk()
		case st.pin != "":
			k, ok := pos[st.pin]
			if !ok {
				continue // not placeable: reported by the allocator as it finds no agent
			}
			attrs := make(map[string]string, len(c.Agents[k].Attributes)+1)
			for a, v := range c.Agents[k].Attributes {
				attrs[a] = v
			}
			key := pinAttribute(i)
			attrs[key] = "true"
			c.Agents[k].Attributes = attrs
			demand[i].Constraints = append(slices.Clone(demand[i].Constraints), manifests.Constraint{Field: key, Operator: manifests.OpIs, Value: "true"})
		}
	}
	for _, id := range sortedKeys(res) {
		for _, s := range res[id].Slots {
			if _, ok := pos[s.AgentID]; ok && s.Disk > 0 {
				c.Running = append(c.Running, allocator.Running{AgentID: s.AgentID, Resources: allocator.Resources{Disk: s.Disk}})
			}
		}
	}
}

// slotVolumes are the Docker volumes of a task placed in a slot.
func slotVolumes(spec cluster.TaskSpec) []string {
	var out []string
	for _, v := range spec.Volumes {
		if v.Persistent && v.Name != "" && !slices.Contains(out, v.Name) {
			out = append(out, v.Name)
		}
	}
	return out
}
