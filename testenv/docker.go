package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
)

// TestLabel is the label every Docker object a test creates carries, with a
// value unique to the test, so cleanup removes exactly that test's objects and
// never anything else on the shared daemon.
const TestLabel = "berth.test"

// Docker connects to the local Docker Engine, failing the test with how to get
// one when it is not there. The client is closed when the test ends.
func Docker(t testing.TB) *client.Client {
	t.Helper()
	cli, err := NewDockerClient()
	if err != nil {
		t.Fatalf("docker: %v\nBerth's integration tests need a running Docker Engine (apt-get install docker.io, or run under `go test -short` to skip them)", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// NewDockerClient connects to the Docker Engine named by the environment
// (DOCKER_HOST, default the local socket) and checks it answers. The API
// version is negotiated because the daemon here (20.10) is older than the
// client library.
func NewDockerClient() (*client.Client, error) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx); err != nil {
		cli.Close()
		return nil, err
	}
	return cli, nil
}

// UniqueID returns a short random id for naming a test's objects (agent ids,
// label values, container names).
func UniqueID(t testing.TB) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("random id: %v", err)
	}
	return hex.EncodeToString(b[:])
}

// DockerTestLabel returns a fresh value for TestLabel and registers a cleanup
// that force-removes every container carrying it when the test ends, whatever
// the test left behind.
func DockerTestLabel(t testing.TB, cli *client.Client) string {
	t.Helper()
	id := strings.ToLower(t.Name())
	id = strings.NewReplacer("/", "-", " ", "-").Replace(id)
	if len(id) > 40 {
		id = id[:40]
	}
	id += "-" + UniqueID(t)
	t.Cleanup(func() { RemoveLabeled(t, cli, id) })
	return id
}

// RemoveLabeled force-removes every container, then every volume, labelled
// TestLabel=value.
func RemoveLabeled(t testing.TB, cli *client.Client, value string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	list, err := cli.ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", TestLabel+"="+value)),
	})
	if err != nil {
		t.Errorf("list test containers %s: %v", value, err)
		return
	}
	for _, c := range list {
		err := cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
		// Something else (the agent under test) may be removing it right now.
		if err != nil && !cerrdefs.IsNotFound(err) && !strings.Contains(err.Error(), "already in progress") {
			t.Errorf("remove test container %s: %v", c.ID[:12], err)
		}
	}
	// Then the volumes (persistent volumes of resident apps, a test's
	// external volumes), now that no container holds them.
	vols, err := cli.VolumeList(ctx, volume.ListOptions{Filters: filters.NewArgs(filters.Arg("label", TestLabel+"="+value))})
	if err != nil {
		t.Errorf("list test volumes %s: %v", value, err)
		return
	}
	for _, v := range vols.Volumes {
		if err := cli.VolumeRemove(ctx, v.Name, true); err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("remove test volume %s: %v", v.Name, err)
		}
	}
}
