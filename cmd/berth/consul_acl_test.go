package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/berthops/berth/agent"
	"github.com/berthops/berth/templates"
	"github.com/berthops/berth/testenv"
)

// TestConsulWithACLsAndTLS checks finding 9 of issue 16 against a real
// Consul with ACLs on (default policy deny, a bootstrap token) serving only
// HTTPS with a certificate from a CA the test makes: the agent's service
// registry and the templates' Consul source work with --consul-token-file
// (a token with only the documented policy) and --consul-ca-cert, and are
// refused without the token or the CA.
func TestConsulWithACLsAndTLS(t *testing.T) {
	ca := testenv.NewCA(t, "consul")
	consul := testenv.StartConsulWith(t, testenv.ConsulOptions{ACL: true, TLS: ca})
	// Consul's own environment must not help: the flags alone configure it.
	for _, v := range []string{"CONSUL_HTTP_TOKEN", "CONSUL_HTTP_TOKEN_FILE", "CONSUL_CACERT", "CONSUL_HTTP_SSL", "CONSUL_CLIENT_CERT", "CONSUL_CLIENT_KEY"} {
		t.Setenv(v, "")
	}
	// The agent's token has the policy docs/security.md recommends, made
	// with the bootstrap token.
	mgmt, err := consulFlags{addr: consul.Addr, caCert: ca.File}.client()
	if err != nil {
		t.Fatal(err)
	}
	wopts := &api.WriteOptions{Token: consul.Token}
	pol, _, err := mgmt.ACL().PolicyCreate(&api.ACLPolicy{Name: "berth-agent",
		Rules: `service_prefix "" { policy = "write" }` + "\n" + `node_prefix "" { policy = "read" }`}, wopts)
	if err != nil {
		t.Fatalf("create the agent's policy: %v", err)
	}
	tok, _, err := mgmt.ACL().TokenCreate(&api.ACLToken{Description: "berth agent", Policies: []*api.ACLTokenPolicyLink{{ID: pol.ID}}}, wopts)
	if err != nil {
		t.Fatalf("create the agent's token: %v", err)
	}
	tokenFile := filepath.Join(t.TempDir(), "consul-token")
	if err := os.WriteFile(tokenFile, []byte(tok.SecretID+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	node := agent.Node{ID: "acl-agent", Hostname: "acl-host", Address: "127.0.0.2"}
	svc := agent.Service{ID: "acl-agent-web.1-0", Name: "acl-web", Address: "127.0.0.2", Port: 31999,
		Meta: map[string]string{"berth-agent": node.ID, "berth-task": "web.1"}, Check: agent.ServiceCheck{TTL: time.Minute}}
	logger := slog.New(slog.DiscardHandler)

	good := consulFlags{addr: consul.Addr, tokenFile: tokenFile, caCert: ca.File}
	registry, source, err := nodeServices(good, node, nil, logger)
	if err != nil {
		t.Fatal(err)
	}
	registry.SetHealthy("web.1", true)
	if err := registry.Register(ctx, "web.1", []agent.Service{svc}); err != nil {
		t.Fatalf("register with the token over HTTPS: %v", err)
	}
	if err := registry.Sync(ctx, func(string) bool { return true }); err != nil {
		t.Errorf("registry sync with the agent's token: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		data, _, err := source.Fetch(ctx, templates.Query{Kind: templates.QueryService, Name: "acl-web", Filters: []string{"passing"}}, 0)
		if err == nil {
			if hs, ok := data.([]*templates.HealthService); ok && len(hs) == 1 && hs[0].Port == 31999 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the templates' Consul source never saw the service: %v %#v", err, data)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// No token: Consul's default policy denies the registration and the
	// catalog read finds nothing.
	anon, anonSource, err := nodeServices(consulFlags{addr: consul.Addr, caCert: ca.File}, node, nil, logger)
	if err != nil {
		t.Fatal(err)
	}
	err = anon.Register(ctx, "web.2", []agent.Service{{ID: "acl-agent-web.2-0", Name: "acl-web", Address: "127.0.0.2", Port: 31998,
		Meta: map[string]string{"berth-agent": node.ID, "berth-task": "web.1"}, Check: agent.ServiceCheck{TTL: time.Minute}}})
	t.Logf("without a token: %v", err)
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "permission denied") {
		t.Errorf("register without a token: %v, want permission denied", err)
	}
	if data, _, err := anonSource.Fetch(ctx, templates.Query{Kind: templates.QueryService, Name: "acl-web", Filters: []string{"passing"}}, 0); err == nil {
		if hs, _ := data.([]*templates.HealthService); len(hs) != 0 {
			t.Errorf("read the service without a token: %v", hs)
		}
	}
	// No CA: the HTTPS certificate is not trusted.
	untrusting, _, err := nodeServices(consulFlags{addr: "https://" + consul.Addr, tokenFile: tokenFile}, node, nil, logger)
	if err != nil {
		t.Fatal(err)
	}
	err = untrusting.Register(ctx, "web.3", []agent.Service{svc})
	t.Logf("without the CA: %v", err)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("register without the CA: %v, want a certificate error", err)
	}
}

// TestConsulClientCertificate: a Consul whose HTTPS API demands a client
// certificate (tls.https.verify_incoming) accepts the agent's registry and
// the templates' source with --consul-client-cert and --consul-client-key,
// and refuses them without.
func TestConsulClientCertificate(t *testing.T) {
	ca := testenv.NewCA(t, "consul")
	consul := testenv.StartConsulWith(t, testenv.ConsulOptions{TLS: ca, VerifyIncoming: true})
	for _, v := range []string{"CONSUL_HTTP_TOKEN", "CONSUL_HTTP_TOKEN_FILE", "CONSUL_CACERT", "CONSUL_HTTP_SSL", "CONSUL_CLIENT_CERT", "CONSUL_CLIENT_KEY"} {
		t.Setenv(v, "")
	}
	cert, key := ca.Issue(t, "berth-agent")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	node := agent.Node{ID: "mtls-agent", Hostname: "mtls-host", Address: "127.0.0.2"}
	svc := agent.Service{ID: "mtls-agent-web.1-0", Name: "mtls-web", Address: "127.0.0.2", Port: 31997,
		Meta: map[string]string{"berth-agent": node.ID, "berth-task": "web.1"}, Check: agent.ServiceCheck{TTL: time.Minute}}
	logger := slog.New(slog.DiscardHandler)

	registry, source, err := nodeServices(consulFlags{addr: consul.Addr, caCert: ca.File, clientCert: cert, clKey: key}, node, nil, logger)
	if err != nil {
		t.Fatal(err)
	}
	registry.SetHealthy("web.1", true)
	if err := registry.Register(ctx, "web.1", []agent.Service{svc}); err != nil {
		t.Fatalf("register with a client certificate: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		data, _, err := source.Fetch(ctx, templates.Query{Kind: templates.QueryService, Name: "mtls-web", Filters: []string{"passing"}}, 0)
		if err == nil {
			if hs, ok := data.([]*templates.HealthService); ok && len(hs) == 1 && hs[0].Port == 31997 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the templates' Consul source never saw the service: %v %#v", err, data)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Without the client certificate the TLS handshake is refused.
	bare, _, err := nodeServices(consulFlags{addr: consul.Addr, caCert: ca.File}, node, nil, logger)
	if err != nil {
		t.Fatal(err)
	}
	err = bare.Register(ctx, "web.2", []agent.Service{{ID: "mtls-agent-web.2-0", Name: "mtls-web", Address: "127.0.0.2", Port: 31996,
		Meta: map[string]string{"berth-agent": node.ID, "berth-task": "web.2"}, Check: agent.ServiceCheck{TTL: time.Minute}}})
	t.Logf("without a client certificate: %v", err)
	// With TLS 1.3 the client learns of the refusal after its handshake:
	// it may read Consul's "certificate required" alert or find the
	// connection closed under its write. Either way nothing is registered.
	if err == nil {
		t.Fatalf("register without a client certificate succeeded")
	}
	if data, _, err := source.Fetch(ctx, templates.Query{Kind: templates.QueryService, Name: "mtls-web", Filters: []string{"any"}}, 0); err != nil {
		t.Fatal(err)
	} else if hs, _ := data.([]*templates.HealthService); len(hs) != 1 {
		t.Errorf("instances of mtls-web after a registration without a certificate: %d, want 1", len(hs))
	}
}
