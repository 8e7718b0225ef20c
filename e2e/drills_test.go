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

// TestDrillAgentKilled: kill -9 an agent and its tasks move to the other
// one, once its session expired and the app's unreachableStrategy said so.
func TestDrillAgentKilled(t *testing.T) {
	c := Start(t, Options{Agents: 2})
	app := webApp(testenv.WebImage, 2, `unreachableStrategy:
  inactiveAfterSeconds: 1
  expungeAfterSeconds: 2
`)
	c.Repo.Push(t, "add web", map[string]string{"apps/web.yaml": app})
	c.Webhook(nil)
	before := c.WaitHealthy("/web", 2, 90*time.Second)

	// The victim is the agent with the most tasks, so at least one moves.
	count := map[string]int{}
	for _, tk := range before {
		count[tk.AgentID]++
	}
	victim, survivor := c.Agents[0], c.Agents[1]
	if count[survivor.ID] > count[victim.ID] {
		victim, survivor = survivor, victim
	}
	victim.Proc.Kill()
	c.Wait("the killed agent unreachable", 30*time.Second, func(ctx context.Context) error {
		agents, err := c.Client(nil).Agents(ctx)
		if err != nil {
			return err
		}
		for _, a := range agents {
			if a.ID == victim.ID && !a.Reachable {
				return nil
			}
		}
		return fmt.Errorf("agent %s still reachable: %+v", victim.ID, agents)
	})
	var moved string
	c.Wait("every task on the surviving agent", time.Minute, func(ctx context.Context) error {
		all, err := c.Tasks(ctx, "/web")
		if err != nil {
			return err
		}
		running := Running(all)
		onSurvivor := 0
		for _, tk := range running {
			if tk.AgentID == survivor.ID {
				onSurvivor++
			}
		}
		if onSurvivor != 2 {
			return fmt.Errorf("%d healthy on %s: %s", onSurvivor, survivor.ID, Describe(all))
		}
		moved = Describe(running)
		// The killed agent's own registrations stay in the Consul agent it
		// shared until their TTL check fails (on a real node its Consul
		// agent dies with it); the moved tasks must be there and passing.
		return wantInstancesInclude(ctx, c, "web", running)
	})
	t.Logf("after kill -9 of %s: %s", victim.ID, moved)
}
