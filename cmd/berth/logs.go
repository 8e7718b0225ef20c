package main

import (
	"context"
	"errors"

	"github.com/spf13/cobra"

	"github.com/berthops/berth/agent/dockerrt"
	"github.com/berthops/berth/agent/launch"
	"github.com/berthops/berth/client"
)

func newLogsCmd() *cobra.Command {
	var (
		opts  launch.LogOptions
		local bool
		api   apiFlags
	)
	cmd := &cobra.Command{
		Use:   "logs TASK",
		Short: "Show a task's stdout and stderr, from any machine",
		Long: `Show the output of a task, stdout and stderr merged: the sandbox view Mesos
offered. The server finds the agent that runs the task and streams the output
from that agent's Docker Engine (the agent must serve logs: berth agent
--logs-listen). The container of a finished, failed or killed task is kept
until the server withdraws its assignment, so its output stays readable.

With --local the task is looked up on this machine's Docker Engine instead,
without a server (stdout and stderr then stay apart).`,
		Example: `  berth logs web_nginx.5f1c -f
  berth logs nightly-report.20261125T0300 --tail 50 --server http://berth.example.com:8080
  berth logs web_nginx.5f1c --local`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if local {
				return logsOnThisNode(cmd, args[0], opts)
			}
			c, err := api.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if !opts.Follow {
				var cancel context.CancelFunc
				ctx, cancel = api.request(ctx)
				defer cancel()
			}
			err = c.TaskLogs(ctx, args[0], opts.Tail, opts.Follow, cmd.OutOrStdout())
			if client.NotFound(err) {
				return &exitError{code: 1, msg: "berth logs: " + err.Error()}
			}
			return err
		},
	}
	cmd.Flags().BoolVarP(&opts.Follow, "follow", "f", false, "keep streaming new output until the task ends")
	cmd.Flags().StringVar(&opts.Tail, "tail", "all", "number of lines to show from the end")
	cmd.Flags().BoolVar(&local, "local", false, "read the task's container on this machine's Docker Engine, without a server")
	api.register(cmd)
	return cmd
}

func logsOnThisNode(cmd *cobra.Command, taskID string, opts launch.LogOptions) error {
	cli, err := dockerrt.Dial(cmd.Context())
	if err != nil {
		return err
	}
	defer cli.Close()
	err = dockerrt.Logs(cmd.Context(), cli, taskID, opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
	if errors.Is(err, launch.ErrNoTask) {
		return &exitError{code: 1, msg: "berth logs: task " + taskID + " has no container on this node (run berth logs --local on the node the task ran on, or without --local through the server)"}
	}
	return err
}
