package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/berthops/berth/agent/dockerrt"
	"github.com/berthops/berth/agent/launch"
)

func newLogsCmd() *cobra.Command {
	var opts launch.LogOptions
	cmd := &cobra.Command{
		Use:   "logs TASK",
		Short: "Show a task's stdout and stderr (run on the task's node)",
		Long: `Show the output of a task, found by its id on this node's Docker Engine: the
sandbox view Mesos offered. The container of a finished, failed or killed task
is kept until the server withdraws its assignment, so its output stays readable.`,
		Example: `  berth logs web_nginx.5f1c -f
  berth logs nightly-report.20261125T0300 --tail 50`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cli, err := dockerrt.Dial(cmd.Context())
			if err != nil {
				return err
			}
			defer cli.Close()
			err = dockerrt.Logs(cmd.Context(), cli, args[0], opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
			if errors.Is(err, launch.ErrNoTask) {
				return &exitError{code: 1, msg: "berth logs: task " + args[0] + " has no container on this node (run berth logs on the node the task ran on)"}
			}
			return err
		},
	}
	cmd.Flags().BoolVarP(&opts.Follow, "follow", "f", false, "keep streaming new output until the task ends")
	cmd.Flags().StringVar(&opts.Tail, "tail", "all", "number of lines to show from the end")
	return cmd
}
