package testenv

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
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
	// Scheme is http, or https when started with a CA.
	Scheme string
	// Token is the bootstrap (initial management) token when ACLs are on.
	Token string
	// CAFile is the CA that signed the agent's certificate, with TLS.
	CAFile string
	// ClientCert and ClientKey are a client certificate from the CA, which
	// a Consul started with VerifyIncoming demands (testenv's own requests
	// present it).
	ClientCert, ClientKey string
	proc                  *Process
	t                     testing.TB
	client                *http.Client
}

// ConsulOptions make a Consul agent that demands what production ones do.
type ConsulOptions struct {
	// ACL turns ACLs on with default policy deny and a bootstrap token
	// (Consul.Token).
	ACL bool
	// TLS, when set, serves the HTTP API over HTTPS only, with a
	// certificate from this CA.
	TLS *CA
	// VerifyIncoming, with TLS, makes the HTTPS API demand a client
	// certificate from the CA (Consul's tls.https.verify_incoming).
	VerifyIncoming bool
}

// StartConsul starts a dev-mode Consul agent on 127.0.0.1 with every port
// chosen free, waits until it has elected itself leader, and stops it when
// the test ends.
func StartConsul(t testing.TB) *Consul {
	t.Helper()
	return StartConsulWith(t, ConsulOptions{})
}

// StartConsulWith is StartConsul with ACLs and TLS as opts say.
func StartConsulWith(t testing.TB, opts ConsulOptions) *Consul {
	t.Helper()
	Integration(t)
	bin := ToolPath(t, "consul")
	dir := t.TempDir()
	ports := map[string]int{}
	for _, n := range []string{"http", "serf_lan", "serf_wan", "server"} {
		ports[n] = FreePort(t, "127.0.0.1")
	}
	httpPort, httpsPort := ports["http"], -1
	c := &Consul{Addr: fmt.Sprintf("127.0.0.1:%d", ports["http"]), Scheme: "http", t: t, client: http.DefaultClient}
	extra := ""
	if opts.TLS != nil {
		httpPort, httpsPort = -1, ports["http"]
		cert, key := opts.TLS.Issue(t, "consul")
		extra += fmt.Sprintf(`
tls {
  defaults {
    ca_file = %q
    cert_file = %q
    key_file = %q
    verify_incoming = false
  }
  https {
    verify_incoming = %t
  }
}
`, opts.TLS.File, cert, key, opts.VerifyIncoming)
		c.Scheme, c.CAFile = "https", opts.TLS.File
		pool, err := loadPool(opts.TLS.File)
		if err != nil {
			t.Fatalf("testenv: %v", err)
		}
		tc := &tls.Config{RootCAs: pool}
		if opts.VerifyIncoming {
			c.ClientCert, c.ClientKey = opts.TLS.Issue(t, "testenv")
			pair, err := tls.LoadX509KeyPair(c.ClientCert, c.ClientKey)
			if err != nil {
				t.Fatalf("testenv: consul client certificate: %v", err)
			}
			tc.Certificates = []tls.Certificate{pair}
		}
		c.client = &http.Client{Transport: &http.Transport{TLSClientConfig: tc}}
	}
	if opts.ACL {
		c.Token = uuidLike(UniqueID(t))
		extra += fmt.Sprintf(`
acl {
  enabled = true
  default_policy = "deny"
  down_policy = "deny"
  tokens {
    initial_management = %q
  }
}
`, c.Token)
	}
	cfg := fmt.Sprintf(`
ports {
  http = %d
  https = %d
  grpc = -1
  grpc_tls = -1
  dns = -1
  serf_lan = %d
  serf_wan = %d
  server = %d
}
`, httpPort, httpsPort, ports["serf_lan"], ports["serf_wan"], ports["server"]) + extra
	cfgFile := filepath.Join(dir, "ports.hcl")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatalf("testenv: write consul config: %v", err)
	}
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
	url := c.Scheme + "://" + c.Addr + "/v1/status/leader"
	for time.Now().Before(deadline) {
		if !c.proc.Running() {
			return fmt.Errorf("consul exited")
		}
		resp, err := c.client.Get(url)
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
	if err := c.TryRestart(); err != nil {
		c.t.Fatalf("testenv: %v", err)
	}
}

// TryRestart is Restart for callers that are not the test's goroutine (a
// soak's nemesis): it returns the error instead of failing the test.
func (c *Consul) TryRestart() error {
	c.proc.Kill()
	if err := c.proc.Start(); err != nil {
		return fmt.Errorf("restart consul: %w", err)
	}
	if err := c.waitReady(30 * time.Second); err != nil {
		return fmt.Errorf("consul did not restart: %w\n%s", err, c.proc.Output())
	}
	return nil
}

// Running reports whether the agent's process is alive.
func (c *Consul) Running() bool { return c.proc.Running() }

// Pause freezes the agent (SIGSTOP): its port stays open but nothing answers.
func (c *Consul) Pause() error { return c.proc.Pause() }

// Resume continues a paused agent.
func (c *Consul) Resume() error { return c.proc.Resume() }

// Output is what the agent logged.
func (c *Consul) Output() string { return c.proc.Output() }

// uuidLike shapes s (hex) as the UUID Consul wants for a token.
func uuidLike(s string) string {
	h := fmt.Sprintf("%x", sha256.Sum256([]byte(s)))
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-8" + h[17:20] + "-" + h[20:32]
}

func loadPool(file string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s holds no certificate", file)
	}
	return pool, nil
}

// ctxDone reports whether ctx ended; a small helper for polling loops.
func ctxDone(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return true
	default:
		return false
	}
}
