package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthops/berth/agentlogs"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/zkstore"
	"github.com/berthops/berth/server"
)

func newServerCmd() *cobra.Command {
	var (
		zkURL          string
		listen         string
		id             string
		sessionTimeout time.Duration
		logLevel       string
		control        controlFlags
		advertise      string
		agentSecret    string
		agentLogsToken string
	)
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run a Berth server replica (leader election and cluster state on ZooKeeper)",
		Long: `Run one berth server replica. Replicas elect a leader through ZooKeeper; only the
leader writes the cluster state, and every write it makes is fenced on its
leadership. The leader follows --branch of --repo: it loads and validates every
new commit, plans it against the live state, places tasks and rolls them out
(see docs/deployments.md). Every replica serves GET /healthz, GET /v1/status,
the read API and /metrics; the others forward what only the leader knows.

Git credentials for HTTP remotes come from $BERTH_GIT_TOKEN, or
$BERTH_GIT_USERNAME and $BERTH_GIT_PASSWORD.`,
		Example: `  berth server --zk zk://zk1:2181,zk2:2181,zk3:2181/berth --listen 0.0.0.0:8080 --advertise 10.0.0.11:8080 --id server-1 \
    --repo https://git.example.com/ops/cluster.git --branch main \
    --token-file /etc/berth/token --webhook-secret-file /etc/berth/webhook-secret`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if zkURL == "" {
				return fmt.Errorf("--zk is required (zk://host1:2181,host2:2181/berth)")
			}
			cfg, err := zkstore.ParseURL(zkURL)
			if err != nil {
				return err
			}
			if id == "" {
				if id, err = os.Hostname(); err != nil {
					return fmt.Errorf("--id not given and no hostname: %w", err)
				}
			}
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level %q: want debug, info, warn or error", logLevel)
			}
			logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			control.agentLogsTokenFile = agentLogsToken
			return runServer(cmd.Context(), logger, cfg, listen, advertise, id, sessionTimeout, agentSecret, control)
		},
	}
	f := cmd.Flags()
	f.StringVar(&zkURL, "zk", os.Getenv("BERTH_ZK"), "ZooKeeper connection string zk://[user:pass@]host:port[,host:port...]/path (env BERTH_ZK)")
	f.StringVar(&listen, "listen", "127.0.0.1:8080", "address of the HTTP API")
	f.StringVar(&advertise, "advertise", "", "host:port other replicas reach this one at (required when --listen is a wildcard such as 0.0.0.0)")
	f.StringVar(&id, "id", "", "this replica's id (default: the host name)")
	f.DurationVar(&sessionTimeout, "session-timeout", zkstore.DefaultSessionTimeout, "ZooKeeper session timeout: how long a silent leader keeps leadership")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&agentSecret, "zk-agent-secret-file", "", "file holding the secret agents' ZooKeeper identities derive from: one identity per agent, ACLs per path, no world-readable tree (see berth zk-identity)")
	f.StringVar(&agentLogsToken, "agent-logs-token-file", "", "without --zk-agent-secret-file: file holding the logs token agents are given (berth agent --logs-token-file), to fetch their tasks' logs")
	control.register(f, 30*time.Second)
	return cmd
}

func runServer(ctx context.Context, logger *slog.Logger, cfg zkstore.Config, listen, advertise, id string, sessionTimeout time.Duration, agentSecretFile string, control controlFlags) error {
	if err := control.checkLimits(); err != nil {
		return err
	}
	opts := zkstore.Options{SessionTimeout: sessionTimeout, Logger: logger}
	if agentSecretFile != "" {
		secret, err := readSecret(agentSecretFile, "--zk-agent-secret-file")
		if err != nil {
			return err
		}
		if cfg.User == "" {
			return fmt.Errorf("--zk-agent-secret-file needs the servers' own identity in --zk (zk://user:password@hosts/path)")
		}
		opts.Identities = zkstore.ServerIdentities(cfg.User, cfg.Password, []byte(secret))
	}
	var agentSecretBytes []byte
	if agentSecretFile != "" {
		s, _ := readSecret(agentSecretFile, "--zk-agent-secret-file")
		agentSecretBytes = []byte(s)
	}
	if opts.Identities == nil {
		logger.Warn("one ZooKeeper identity for servers and agents: any agent host can rewrite any assignment; see --zk-agent-secret-file (docs/security.md)")
	}
	octx, cancel := context.WithTimeout(ctx, 30*time.Second)
	store, err := zkstore.Open(octx, cfg, opts)
	cancel()
	if err != nil {
		return err
	}
	defer store.Close()
	if opts.Identities != nil {
		lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := cluster.NewState(store).EnsureLayout(lctx)
		cancel()
		if err != nil {
			return err
		}
	}
	serveTLS, peers, err := control.tls.Load()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", listen, err)
	}
	logger.Info("berth server starting", "id", id, "listen", ln.Addr().String(), "zk", cfg.String(), "sessionTimeout", sessionTimeout)
	scfg := server.Config{ID: id, Version: version, Store: store, Logger: logger, Advertise: advertise, TLS: serveTLS, Limits: control.limits}
	var cp *controlPlane
	if control.repo != "" {
		if cp, err = newControlPlane(ctx, logger, store, control); err != nil {
			return err
		}
		if cp.api.Logs, err = agentLogsClient(agentSecretBytes, control.agentLogsTokenFile); err != nil {
			return err
		}
		scfg.Lead = append(scfg.Lead, cp.rec.Run)
		scfg.Standby = append(scfg.Standby, cp.rec.Standby)
	} else {
		logger.Warn("no --repo: this replica elects and serves status but reconciles nothing")
	}
	srv := server.New(scfg)
	if cp != nil {
		cp.mount(srv, peers)
		logger.Info("web UI", "url", "http://"+ln.Addr().String()+"/ui/")
	}
	return srv.Serve(ctx, ln)
}

// agentLogsClient fetches tasks' logs from their agents with each agent's
// key: derived from the agent secret (the agent derives it from its own
// identity), or from a logs token servers and agents share.
func agentLogsClient(agentSecret []byte, tokenFile string) (*agentlogs.Client, error) {
	token, err := readSecret(tokenFile, "--agent-logs-token-file")
	if err != nil {
		return nil, err
	}
	return &agentlogs.Client{Key: func(agentID string) (string, error) {
		switch {
		case len(agentSecret) > 0:
			return agentlogs.Key(zkstore.AgentCredentials(agentSecret, agentID).Password, agentID), nil
		case token != "":
			return agentlogs.Key(token, agentID), nil
		}
		return "", errors.New("this server holds no key to agents' logs: start it with --zk-agent-secret-file or --agent-logs-token-file")
	}}, nil
}
