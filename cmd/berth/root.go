package main

import (
	"io"

	"github.com/spf13/cobra"
)

// newRootCmd builds the whole command tree. Each subcommand lives in its own
// file and is added here, so the tree is explicit and there is no init-time
// registration.
func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "berth",
		Short: "Berth: a GitOps container orchestrator",
		Long: `Berth keeps a cluster of Docker hosts equal to the manifests in a Git repository:
long-running apps (Marathon-style), scheduled and dependent jobs (Chronos-style),
consul-template-style files and capacity queues.`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(
		// subcommands: one line each, keep sorted
		newAgentCmd(),
		newAgentsCmd(),
		newAppsCmd(),
		newBenchCmd(),
		newDiffCmd(),
		newFmtCmd(),
		newImportCmd(),
		newJobsCmd(),
		newLogsCmd(),
		newRenderCmd(),
		newSecretCmd(),
		newServerCmd(),
		newStatusCmd(),
		newSyncCmd(),
		newTasksCmd(),
		newUpCmd(),
		newValidateCmd(),
		newZKIdentityCmd(),
	)
	return root
}
