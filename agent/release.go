package agent

import (
	"context"
	"time"

	"github.com/berthops/berth/agent/launch"
	"github.com/berthops/berth/cluster"
)

// releaseAttempts bounds the tries to remove a released slot's volumes: the
// container of its last task may still be being removed, and Docker refuses
// to remove a volume in use.
const releaseAttempts = 8

// release removes the persistent volumes of a slot the leader gave up
// (Assignment.Release), then reports the release done as KILLED, or FAILED
// with the reason; either way the leader forgets it.
func (t *task) release(ctx context.Context) {
	var names []string
	for _, v := range t.as.Spec.Volumes {
		if v.Persistent && v.Name != "" {
			names = append(names, v.Name)
		}
	}
	vr, ok := t.ag.cfg.Runtime.(launch.Volumes)
	if !ok || len(names) == 0 {
		t.report(ctx, cluster.TaskKilled, func(s *cluster.TaskStatus) { s.Message = "released: no volumes to remove" })
		return
	}
	var err error
	delay := 500 * time.Millisecond
	for range releaseAttempts {
		if err = vr.RemoveVolumes(ctx, t.ag.cfg.Node.ID, names); err == nil {
			t.ag.log.Info("released slot: volumes removed", "slot", t.as.Slot, "volumes", names)
			t.report(ctx, cluster.TaskKilled, func(s *cluster.TaskStatus) { s.Message = "released: volumes removed" })
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
	t.ag.log.Warn("release slot: volumes not removed", "slot", t.as.Slot, "err", err)
	t.fail(ctx, "release: "+err.Error())
}
