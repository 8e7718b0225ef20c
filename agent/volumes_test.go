package agent

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/volume"

	"github.com/berthops/berth/agent/dockerrt"
	"github.com/berthops/berth/agent/launch"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/testenv"
)

// TestAgentAdvertisesDriversAndReleasesSlots: the agent advertises its
// Engine's volume drivers, and a release removes the slot's persistent
// volume; a volume that is not this agent's persistent volume is left alone.
func TestAgentAdvertisesDriversAndReleasesSlots(t *testing.T) {
	h := newHarness(t)
	node := h.node("127.0.0.2")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	mine := "berth-test-slot-" + testenv.UniqueID(t) + "-data"
	other := "berth-test-other-" + testenv.UniqueID(t)
	for name, labels := range map[string]map[string]string{
		mine:  {launch.LabelPersistent: "true", launch.LabelAgent: node.ID, testenv.TestLabel: h.label},
		other: {testenv.TestLabel: h.label},
	} {
		if _, err := h.cli.VolumeCreate(ctx, volume.CreateOptions{Name: name, Labels: labels}); err != nil {
			t.Fatal(err)
		}
	}
	h.start(node, nil)
	for {
		h.fc.mu.Lock()
		a, ok := h.fc.agents[node.ID]
		h.fc.mu.Unlock()
		if ok {
			if !slices.Contains(a.VolumeDrivers, "local") {
				t.Fatalf("volume drivers advertised: %v, want local among them", a.VolumeDrivers)
			}
			break
		}
		time.Sleep(20 * time.Millisecond)
	}

	h.fc.put(cluster.Assignment{TaskID: "slot-1.release", Owner: "release", OwnerID: "/db", AgentID: node.ID, Slot: "slot-1",
		Kill: true, Release: true, Spec: cluster.TaskSpec{Volumes: []cluster.VolumeSpec{{Name: mine, Persistent: true, ContainerPath: "/"}}}})
	st := h.fc.waitState(t, "slot-1.release", cluster.TaskKilled)
	if !strings.Contains(st.Message, "volumes removed") {
		t.Fatalf("release reported %q", st.Message)
	}
	if _, err := h.cli.VolumeInspect(ctx, mine); !cerrdefs.IsNotFound(err) {
		t.Fatalf("the slot's volume is still there: %v", err)
	}

	rt := dockerrt.New(h.cli, dockerrt.Options{})
	if err := rt.RemoveVolumes(ctx, node.ID, []string{other}); err == nil || !strings.Contains(err.Error(), "left alone") {
		t.Fatalf("removing a volume that is not a persistent volume of the agent: %v", err)
	}
	if _, err := h.cli.VolumeInspect(ctx, other); err != nil {
		t.Fatalf("a volume that is not the agent's was removed: %v", err)
	}
}
