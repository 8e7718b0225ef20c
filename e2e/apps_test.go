package e2e

import (
	"context"
	"fmt"
	"slices"

	"github.com/berthops/berth/cluster"
)

// webApp is WebApp as /web.
func webApp(image string, n int, extra ...string) string {
	return WebApp("/web", image, n, extra...)
}

// wantInstances checks that Consul lists exactly tasks' published ports of
// service as passing.
func wantInstances(ctx context.Context, c *Cluster, service string, tasks []cluster.Task) error {
	have, err := c.ConsulInstances(ctx, service)
	if err != nil {
		return err
	}
	want := c.TaskAddrs(tasks)
	slices.Sort(have)
	slices.Sort(want)
	if !slices.Equal(have, want) {
		return fmt.Errorf("consul lists %v for %s, want %v", have, service, want)
	}
	return nil
}

// wantInstancesInclude checks that Consul lists tasks' published ports of
// service as passing, and maybe others.
func wantInstancesInclude(ctx context.Context, c *Cluster, service string, tasks []cluster.Task) error {
	have, err := c.ConsulInstances(ctx, service)
	if err != nil {
		return err
	}
	for _, want := range c.TaskAddrs(tasks) {
		if !slices.Contains(have, want) {
			return fmt.Errorf("consul lists %v for %s, without %s", have, service, want)
		}
	}
	return nil
}
