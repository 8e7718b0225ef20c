package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/berthops/berth/cluster/zkstore"
)

func newZKIdentityCmd() *cobra.Command {
	var zkURL, secretFile, out string
	cmd := &cobra.Command{
		Use:   "zk-identity AGENT-ID",
		Short: "Issue an agent's own ZooKeeper identity (for berth agent --zk-identity)",
		Long: `zk-identity writes the ZooKeeper identity of one agent: its own digest user
and password, derived from the servers' --zk-agent-secret-file, the agents'
shared group password, and the servers' digest (not their password). With it
the agent may write only its own registration and statuses and read only its
own assignments and the published templates. Run it where the servers'
secrets are, and copy the file to the agent (mode 0600). See
docs/security.md, "ZooKeeper identities".`,
		Example: `  BERTH_ZK=zk://berth-server:PASSWORD@zk1:2181/berth berth zk-identity node-2 \
    --zk-agent-secret-file /etc/berth/zk-agent-secret -o node-2.zkid`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := zkstore.ParseURL(zkURL)
			if err != nil {
				return err
			}
			if cfg.User == "" {
				return fmt.Errorf("--zk must carry the servers' identity (zk://user:password@hosts/path)")
			}
			secret, err := readSecret(secretFile, "--zk-agent-secret-file")
			if err != nil {
				return err
			}
			if secret == "" {
				return fmt.Errorf("--zk-agent-secret-file is required")
			}
			idn := zkstore.IssueAgentIdentity(cfg.User, cfg.Password, []byte(secret), args[0]).Format()
			if out == "" {
				_, err := cmd.OutOrStdout().Write(idn)
				return err
			}
			if err := os.WriteFile(out, idn, 0o600); err != nil {
				return fmt.Errorf("-o: %w", err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&zkURL, "zk", os.Getenv("BERTH_ZK"), "the servers' connection string, with their user:password (env BERTH_ZK)")
	f.StringVar(&secretFile, "zk-agent-secret-file", "", "the servers' agent secret file")
	f.StringVarP(&out, "output", "o", "", "write the identity to this file (mode 0600) instead of standard output")
	return cmd
}
