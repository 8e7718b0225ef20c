package dockerrt

import (
	"context"
	"fmt"

	"github.com/docker/docker/client"
)

// Dial connects to the Docker Engine named by the environment
// (DOCKER_HOST, default the local socket) and checks that it answers. The API
// version is negotiated, so daemons older than the client library (Docker
// 20.10 here) work.
func Dial(ctx context.Context) (*client.Client, error) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	if _, err := cli.Ping(ctx); err != nil {
		cli.Close()
		return nil, fmt.Errorf("docker engine at %s: %w", cli.DaemonHost(), err)
	}
	return cli, nil
}
