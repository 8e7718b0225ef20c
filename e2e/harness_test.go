package e2e

import (
	"context"
	"testing"
	"time"
)

// TestHarnessSmoke checks the harness itself on the smallest cluster: an app
// pushed over HTTP and announced by webhook runs on the agent and is
// registered in Consul.
func TestHarnessSmoke(t *testing.T) {
	c := Start(t, Options{ZooKeepers: 1})
	c.Repo.Push(t, "add web", map[string]string{"apps/web.yaml": webApp("berth/web:dev", 1)})
	c.Webhook(nil)
	tasks := c.WaitHealthy("/web", 1, time.Minute)
	c.Wait("web registered in Consul", 30*time.Second, func(ctx context.Context) error {
		return wantInstances(ctx, c, "web", tasks)
	})
}
