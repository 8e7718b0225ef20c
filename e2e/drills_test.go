package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/berthops/berth/testenv"
)

// TestDrillContainerStoppedByHand: containers an operator stops or removes
// with the Docker CLI's calls come back, and Consul follows.
func TestDrillContainerStoppedByHand(t *testing.T) {
	c := Start(t, Options{ZooKeepers: 1})
	c.Repo.Push(t, "add web", map[string]string{"apps/web.yaml": webApp(testenv.WebImage, 2)})
	c.Webhook(nil)
	before := c.WaitHealthy("/web", 2, 90*time.Second)

	ctx := context.Background()
	timeout := 0
	if err := c.Docker.ContainerStop(ctx, before[0].Status.ContainerID, container.StopOptions{Timeout: &timeout}); err != nil {
		t.Fatalf("docker stop: %v", err)
	}
	if err := c.Docker.ContainerRemove(ctx, before[1].Status.ContainerID, container.RemoveOptions{Force: true}); err != nil {
		t.Fatalf("docker rm -f: %v", err)
	}
	c.Wait("both tasks replaced", time.Minute, func(ctx context.Context) error {
		all, err := c.Tasks(ctx, "/web")
		if err != nil {
			return err
		}
		running := Running(all)
		if len(running) != 2 {
			return fmt.Errorf("%d healthy: %s", len(running), Describe(all))
		}
		for _, tk := range running {
			for _, old := range before {
				if tk.Status.ContainerID == old.Status.ContainerID {
					return fmt.Errorf("container %s of %s still counted healthy", old.Status.ContainerID[:12], old.TaskID)
				}
			}
		}
		if err := wantContainers(ctx, c, "/web", running); err != nil {
			return err
		}
		return wantInstances(ctx, c, "web", running)
	})
}
