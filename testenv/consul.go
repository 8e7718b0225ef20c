package testenv

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Consul is a real Consul agent in dev mode (server + client in one, state in
// memory) on loopback ports, built from tools/consul.
type Consul struct {
	// Addr is the HTTP API address, host:port, for consul/api's Config.Address.
	Addr string
	proc *Process
	t    testing.TB
}

// StartConsul starts a dev-mode Consul agent on 127.0.0.1 with every port
// chosen free, waits until it has elected itself leader, and stops it when
// the test ends.
func StartConsul(t testing.TB) *Consul {
	t.Helper()
	Integration(t)
	bin := ToolPath(t, "consul")
	dir := t.TempDir()
	ports := map[string]int{}
	for _, n := range []string{"http", "serf_lan", "serf_wan", "server"} {
		ports[n] = FreePort(t, "127.0.0.1")
	}
	cfg := fmt.Sprintf(`
ports {
  http = %d
  https = -1
  grpc = -1
  grpc_tls = -1
  dns = -1
  serf_lan = %d
  serf_wan = %d
  server = %d
}
`, ports["http"], ports["serf_lan"], ports["serf_wan"], ports["server"])
	cfgFile := filepath.Join(dir, "ports.hcl")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatalf("testenv: write consul config: %v", err)
	}
	c := &Consul{Addr: fmt.Sprintf("127.0.0.1:%d", ports["http"]), t: t}
	c.proc = StartProcess(t, dir, bin, "agent", "-dev",
		"-bind", "127.0.0.1", "-client", "127.0.0.1", "-advertise", "127.0.0.1",
		"-node", "berth-test", "-log-level", "warn", "-config-file", cfgFile)
	if err := c.waitReady(30 * time.Second); err != nil {
		t.Fatalf("testenv: consul did not start: %v\n%s", err, c.proc.Output())
	}
	return c
}

func (c *Consul) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	url := "http://" + c.Addr + "/v1/status/leader"
	for time.Now().Before(deadline) {
		if !c.proc.Running() {
			return fmt.Errorf("consul exited")
		}
		resp, err := http.Get(url)
		if err == nil {
			var b [64]byte
			n, _ := resp.Body.Read(b[:])
			resp.Body.Close()
			// The leader is `""` until the dev server elected itself.
			if resp.StatusCode == http.StatusOK && n > 2 && string(b[:n]) != `""` {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("no leader at %s after %s", url, timeout)
}

// Stop kills the agent (dev mode loses every registration, as a real Consul
// agent restart without persisted state would).
func (c *Consul) Stop() { c.proc.Kill() }

// Restart starts the agent again on the same ports and waits until it serves.
func (c *Consul) Restart() {
	c.t.Helper()
	c.proc.Kill()
	if err := c.proc.Start(); err != nil {
		c.t.Fatalf("testenv: restart consul: %v", err)
	}
	if err := c.waitReady(30 * time.Second); err != nil {
		c.t.Fatalf("testenv: consul did not restart: %v\n%s", err, c.proc.Output())
	}
}

// Pause freezes the agent (SIGSTOP): its port stays open but nothing answers.
func (c *Consul) Pause() error { return c.proc.Pause() }

// Resume continues a paused agent.
func (c *Consul) Resume() error { return c.proc.Resume() }

// Output is what the agent logged.
func (c *Consul) Output() string { return c.proc.Output() }

// ctxDone reports whether ctx ended; a small helper for polling loops.
func ctxDone(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return true
	default:
		return false
	}
}
