package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/spf13/cobra"

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
	)
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run a Berth server replica (leader election and cluster state on ZooKeeper)",
		Long: `Run one berth server replica. Replicas elect a leader through ZooKeeper; only the
leader writes the cluster state, and every write it makes is fenced on its
leadership. Every replica serves GET /healthz and GET /v1/status.`,
		Example: `  berth server --zk zk://zk1:2181,zk2:2181,zk3:2181/berth --listen 0.0.0.0:8080 --id server-1`,
		Args:    cobra.NoArgs,
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
			return runServer(cmd.Context(), logger, cfg, listen, id, sessionTimeout)
		},
	}
	f := cmd.Flags()
	f.StringVar(&zkURL, "zk", os.Getenv("BERTH_ZK"), "ZooKeeper connection string zk://[user:pass@]host:port[,host:port...]/path (env BERTH_ZK)")
	f.StringVar(&listen, "listen", "127.0.0.1:8080", "address of the HTTP API")
	f.StringVar(&id, "id", "", "this replica's id (default: the host name)")
	f.DurationVar(&sessionTimeout, "session-timeout", zkstore.DefaultSessionTimeout, "ZooKeeper session timeout: how long a silent leader keeps leadership")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}

func runServer(ctx context.Context, logger *slog.Logger, cfg zkstore.Config, listen, id string, sessionTimeout time.Duration) error {
	octx, cancel := context.WithTimeout(ctx, 30*time.Second)
	store, err := zkstore.Open(octx, cfg, zkstore.Options{SessionTimeout: sessionTimeout, Logger: logger})
	cancel()
	if err != nil {
		return err
	}
	defer store.Close()
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", listen, err)
	}
	logger.Info("berth server starting", "id", id, "listen", ln.Addr().String(), "zk", cfg.String(), "sessionTimeout", sessionTimeout)
	srv := server.New(server.Config{ID: id, Version: version, Store: store, Logger: logger})
	return srv.Serve(ctx, ln)
}
