package decide

import (
	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
)

func residentApp(instances int, size float64) manifests.App {
	return manifests.App{ID: "/db", Instances: instances, CPUs: 0.5, Mem: 64, Disk: 10, BackoffSeconds: 1, BackoffFactor: 1.15,
		MaxLaunchDelaySeconds: 300, KillSelection: "YOUNGEST_FIRST",
		UpgradeStrategy: manifests.UpgradeStrategy{MinimumHealthCapacity: 0.5, MaximumOverCapacity: 0},
		Residency:       &manifests.Residency{RelaunchEscalationTimeoutSeconds: 3600, TaskLostBehavior: manifests.WaitForever},
		Container: &manifests.Container{Type: "DOCKER", Docker: &manifests.Docker{Image: "berth/web:dev"},
			Volumes: []manifests.Volume{
				{ContainerPath: "data", Mode: "RW", Persistent: &manifests.PersistentVolume{Size: size}},
				{ContainerPath: "/var/data", HostPath: "data", Mode: "RW"},
			}},
		PortDefinitions: []manifests.PortDefinition{{Port: 0, Protocol: "tcp"}},
		Networks:        []manifests.Network{{Mode: manifests.ModeHost}}}
}

// converge decides, applies and plays the agents until nothing changes,
// checking after every step that no two live tasks share a slot and that
// the app never runs more tasks than its instances (maximumOverCapacity 0).
func (f *fakeCluster) settle(t *testing.T, set *manifests.Set, now *time.Time) Result {
	t.Helper()
	var out Result
	for range 30 {
		*now = now.Add(time.Second)
		out = Decide(f.snapshot(set, *now), f.opts())
		if out.Converged && len(out.Changes) == 0 {
			return out
		}
		f.apply(t, out)
		f.checkSlots(t, set)
		f.agentsAct(*now)
	}
	t.Fatalf("did not converge: %+v", out.Apps)
	return out
}

func (f *fakeCluster) checkSlots(t *testing.T, set *manifests.Set) {
	t.Helper()
	if len(set.Apps) > 0 && !set.Apps[0].Resident() {
		return
	}
	used := map[string]string{}
	live := 0
	for _, tk := range f.in.Tasks {
		if tk.Owner != cluster.OwnerApp || tk.Status.State.Terminal() {
			continue
		}
		if !tk.Kill {
			live++
		}
		if tk.Slot == "" {
			t.Fatalf("task %s of a resident app has no slot", tk.TaskID)
		}
		if other, ok := used[tk.Slot]; ok {
			t.Fatalf("tasks %s and %s share slot %s", other, tk.TaskID, tk.Slot)
		}
		used[tk.Slot] = tk.TaskID
		s, ok := f.in.Residences[tk.OwnerID].Slot(tk.Slot)
		if !ok || s.AgentID != tk.AgentID {
			t.Fatalf("task %s on %s runs in slot %s, which is on %q", tk.TaskID, tk.AgentID, tk.Slot, s.AgentID)
		}
	}
	if len(set.Apps) == 0 {
		return
	}
	if n := set.Apps[0].Instances; live > n {
		t.Fatalf("%d live tasks for %d instances: a resident app never runs over capacity", live, n)
	}
}

// slotsOf is each live task's agent and volumes, by slot.
func (f *fakeCluster) slotsOf() map[string]string {
	out := map[string]string{}
	for _, tk := range f.in.Tasks {
		if tk.Owner == cluster.OwnerApp && !tk.Status.State.Terminal() && !tk.Kill {
			var names []string
			for _, v := range tk.Spec.Volumes {
				names = append(names, v.ContainerPath+"="+v.Name)
			}
			out[tk.Slot] = tk.AgentID + " " + strings.Join(names, ",")
		}
	}
	return out
}

func TestResidentTaskKeepsItsAgentAndVolumesAcrossRestartAndUpgrade(t *testing.T) {
	f := newFakeCluster("a1", "a2", "a3")
	app := residentApp(2, 500)
	set := &manifests.Set{Apps: []manifests.App{app}}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.settle(t, set, &now)
	first := f.slotsOf()
	if len(first) != 2 || len(f.in.Residences["/db"].Slots) != 2 {
		t.Fatalf("want 2 slots with a task each, got tasks %v, residence %+v", first, f.in.Residences)
	}
	for slot, where := range first {
		want := cluster.PersistentVolumeName(slot, "data")
		if strings.Count(where, "="+want) != 2 {
			t.Fatalf("slot %s: both mounts (sandbox and /var/data) should be volume %s, got %s", slot, want, where)
		}
		if !strings.Contains(where, SandboxDir+"/data=") {
			t.Fatalf("slot %s: the persistent volume is mounted under the sandbox: %s", slot, where)
		}
	}

	// A task fails: its replacement runs in the same slot, on the same agent.
	for i := range f.in.Tasks {
		if f.in.Tasks[i].Owner == cluster.OwnerApp {
			f.in.Tasks[i].Status.State = cluster.TaskFailed
			break
		}
	}
	now = now.Add(time.Minute)
	f.settle(t, set, &now)
	if got := f.slotsOf(); !equalMaps(got, first) {
		t.Fatalf("after a restart: %v, want %v", got, first)
	}

	// An upgrade: in place, kill then relaunch in the same slots.
	set.Apps[0].Env = map[string]string{"V": "2"}
	f.settle(t, set, &now)
	if got := f.slotsOf(); !equalMaps(got, first) {
		t.Fatalf("after an upgrade: %v, want %v", got, first)
	}
	version := ""
	for _, tk := range f.in.Tasks {
		if tk.Owner == cluster.OwnerApp && !tk.Status.State.Terminal() {
			if version != "" && tk.Version != version {
				t.Fatalf("tasks of two versions after the upgrade")
			}
			version = tk.Version
		}
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestResidentScaleDownKeepsSlotsAndTheirDisk(t *testing.T) {
	f := newFakeCluster("a1", "a2")
	app := residentApp(2, 9000) // one slot per agent: 10000 MiB of disk each
	set := &manifests.Set{Apps: []manifests.App{app}}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.settle(t, set, &now)
	first := f.slotsOf()
	agents := map[string]bool{}
	for _, where := range first {
		agents[strings.Fields(where)[0]] = true
	}
	if len(agents) != 2 {
		t.Fatalf("two 9000 MiB slots need two agents: %v", first)
	}

	set.Apps[0].Instances = 0
	f.settle(t, set, &now)
	if n := len(f.in.Residences["/db"].Slots); n != 2 {
		t.Fatalf("scale-down keeps the slots (Marathon keeps reservations): %d left", n)
	}
	// The slots still hold their disk: another app needing 2000 MiB fits nowhere.
	other := manifests.App{ID: "/other", Instances: 1, CPUs: 0.1, Mem: 16, Disk: 2000, BackoffSeconds: 1, BackoffFactor: 1.15,
		MaxLaunchDelaySeconds: 300, KillSelection: "YOUNGEST_FIRST", Cmd: "sleep 1",
		UpgradeStrategy: manifests.UpgradeStrategy{MinimumHealthCapacity: 1, MaximumOverCapacity: 1},
		Networks:        []manifests.Network{{Mode: manifests.ModeHost}}}
	withOther := &manifests.Set{Apps: []manifests.App{set.Apps[0], other}}
	now = now.Add(time.Second)
	out := Decide(f.snapshot(withOther, now), f.opts())
	if o := out.Apps[1]; o.Unplaced == "" || !strings.Contains(o.Unplaced, "disk") {
		t.Fatalf("the idle slots' disk should be reserved: %+v", o)
	}

	// Scaling up again reuses the same slots on the same agents.
	set.Apps[0].Instances = 2
	f.settle(t, set, &now)
	if got := f.slotsOf(); !equalMaps(got, first) {
		t.Fatalf("scale-up: %v, want the old slots %v", got, first)
	}

	// Removing the app releases its slots: each agent is asked to remove
	// its volumes, then the release is forgotten.
	f.settle(t, &manifests.Set{}, &now)
	if len(f.in.Residences) != 0 {
		t.Fatalf("residence kept after the app was removed: %+v", f.in.Residences)
	}
	for _, tk := range f.in.Tasks {
		t.Fatalf("task left after removal: %+v", tk.Assignment)
	}
}

func TestResidentRemovalAsksAgentsToRemoveVolumes(t *testing.T) {
	f := newFakeCluster("a1")
	set := &manifests.Set{Apps: []manifests.App{residentApp(1, 100)}}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.settle(t, set, &now)
	slot := f.in.Residences["/db"].Slots[0]
	// Pass by pass: first the task is killed, then the slot released.
	var release *cluster.Assignment
	for range 5 {
		now = now.Add(time.Second)
		out := Decide(f.snapshot(&manifests.Set{}, now), f.opts())
		for _, c := range out.Changes {
			if st, ok := c.(StartTask); ok && st.Assignment.Release {
				release = &st.Assignment
			}
		}
		f.apply(t, out)
		f.agentsAct(now)
		if release != nil {
			break
		}
	}
	if release == nil {
		t.Fatal("no release assignment")
	}
	if release.AgentID != slot.AgentID || release.Owner != OwnerRelease || len(release.Spec.Volumes) != 1 ||
		release.Spec.Volumes[0].Name != cluster.PersistentVolumeName(slot.ID, "data") || !release.Kill {
		t.Fatalf("release %+v does not name slot %+v's volume", release, slot)
	}
}

func TestResidentTaskWaitsForItsLostAgent(t *testing.T) {
	f := newFakeCluster("a1", "a2")
	set := &manifests.Set{Apps: []manifests.App{residentApp(1, 100)}}
	set.Apps[0].UnreachableStrategy = manifests.UnreachableStrategy{InactiveAfterSeconds: 1, ExpungeAfterSeconds: 2}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.settle(t, set, &now)
	slot := f.in.Residences["/db"].Slots[0]
	for i := range f.in.Agents {
		if f.in.Agents[i].ID == slot.AgentID {
			f.in.Agents[i].Reachable = false
		}
	}
	var out Result
	for range 10 {
		now = now.Add(time.Second)
		out = Decide(f.snapshot(set, now), f.opts())
		f.apply(t, out)
		for _, c := range out.Changes {
			if st, ok := c.(StartTask); ok {
				t.Fatalf("started %s on %s while the slot's agent is lost", st.Assignment.TaskID, st.Assignment.AgentID)
			}
		}
	}
	if msg := out.Apps[0].Status.Message; !strings.Contains(msg, "waits for its agent "+slot.AgentID) {
		t.Fatalf("status should say the instance waits for its agent: %q", msg)
	}

	// RELAUNCH_AFTER_TIMEOUT gives the slot up after the timeout: its agent
	// is asked to remove the volume when it is back, and a new slot is made
	// elsewhere.
	set.Apps[0].Residency = &manifests.Residency{RelaunchEscalationTimeoutSeconds: 60, TaskLostBehavior: manifests.RelaunchAfterTimeout}
	now = now.Add(time.Minute)
	out = Decide(f.snapshot(set, now), f.opts())
	released := false
	for _, c := range out.Changes {
		if st, ok := c.(StartTask); ok && st.Assignment.Release && st.Assignment.AgentID == slot.AgentID && st.Assignment.Slot == slot.ID {
			released = true
		}
	}
	if !released {
		t.Fatal("the lost agent is not asked to remove the abandoned slot's volume")
	}
	f.settle(t, set, &now)
	res := f.in.Residences["/db"]
	if len(res.Slots) != 1 || res.Slots[0].AgentID == slot.AgentID {
		t.Fatalf("want one new slot off the lost agent, got %+v", res)
	}
}

func TestExternalVolumeNeedsItsDriver(t *testing.T) {
	f := newFakeCluster("a1", "a2")
	app := manifests.App{ID: "/ext", Instances: 1, CPUs: 0.1, Mem: 16, BackoffSeconds: 1, BackoffFactor: 1.15,
		MaxLaunchDelaySeconds: 300, KillSelection: "YOUNGEST_FIRST", Cmd: "sleep 1",
		UpgradeStrategy: manifests.UpgradeStrategy{MinimumHealthCapacity: 1, MaximumOverCapacity: 1},
		Container: &manifests.Container{Type: "DOCKER", Docker: &manifests.Docker{Image: "berth/shell:dev"},
			Volumes: []manifests.Volume{{ContainerPath: "/ext", Mode: "RW", External: &manifests.ExternalVolume{
				Name: "shared", Provider: "dvdi", Options: manifests.VolumeOptions{"dvdi/driver": "rexray", "iops": "10"}}}}},
		Networks: []manifests.Network{{Mode: manifests.ModeHost}}}
	set := &manifests.Set{Apps: []manifests.App{app}}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	out := Decide(f.snapshot(set, now), f.opts())
	o := out.Apps[0]
	if o.Status.Health != "Degraded" || !strings.Contains(o.Unplaced, `volume driver "rexray" is not installed`) {
		t.Fatalf("want Degraded with the driver named, got %+v", o)
	}
	f.in.Agents[1].VolumeDrivers = []string{"local", "rexray"}
	out = Decide(f.snapshot(set, now), f.opts())
	var placed []cluster.Assignment
	for _, c := range out.Changes {
		if st, ok := c.(StartTask); ok {
			placed = append(placed, st.Assignment)
		}
	}
	if len(placed) != 1 || placed[0].AgentID != "a2" {
		t.Fatalf("want the task on a2, the agent with rexray: %+v", placed)
	}
	v := placed[0].Spec.Volumes[0]
	if v.Name != "shared" || v.Driver != "rexray" || v.DriverOptions["iops"] != "10" || v.DriverOptions["dvdi/driver"] != "" || v.HostPath != "" {
		t.Fatalf("external volume spec: %+v", v)
	}
}

func TestResidentSingleInstanceUpgradesInPlace(t *testing.T) {
	f := newFakeCluster("a1", "a2")
	set := &manifests.Set{Apps: []manifests.App{residentApp(1, 100)}}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.settle(t, set, &now)
	first := f.slotsOf()
	set.Apps[0].Env = map[string]string{"V": "2"}
	out := f.settle(t, set, &now)
	if got := f.slotsOf(); !equalMaps(got, first) || !out.Converged {
		t.Fatalf("upgrade of one instance: %v (converged %v), want kill then relaunch in %v", got, out.Converged, first)
	}
}

func TestSlotsReleasedWhenTheAppIsNoLongerResident(t *testing.T) {
	f := newFakeCluster("a1")
	set := &manifests.Set{Apps: []manifests.App{residentApp(1, 100)}}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.settle(t, set, &now)
	plain := residentApp(1, 100)
	plain.Container.Volumes, plain.Residency = nil, nil
	set.Apps[0] = plain
	f.settle(t, set, &now)
	if len(f.in.Residences) != 0 {
		t.Fatalf("slots kept for an app without persistent volumes: %+v", f.in.Residences)
	}
	if f.running("") != 1 {
		t.Fatalf("the app should run its one instance, without a slot")
	}
}
