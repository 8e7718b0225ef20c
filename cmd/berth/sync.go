package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthops/berth/client"
	"github.com/berthops/berth/reconciler"
)

// Exit statuses of `berth sync --wait`.
const (
	exitSyncFailed  = 1 // rejected commit, degraded app, fetch error
	exitSyncTimeout = 2
)

func newSyncCmd() *cobra.Command {
	var (
		f             apiFlags
		wait          bool
		timeout, poll time.Duration
	)
	cmd := &cobra.Command{
		Use:   "sync [--wait [--timeout D]]",
		Short: "Ask the leader to fetch Git and reconcile now; --wait follows the rollout",
		Long: `sync asks the leader to fetch its branch and reconcile at once (POST /v1/sync,
which needs the API token), instead of waiting for the next poll or webhook.

With --wait it then follows the reconciler's status, printing each app's sync,
health and progress as it changes, until the cluster has converged to the
head of the branch (exit 0), or the head commit is rejected, an app turns
Degraded or Git cannot be fetched (exit 1), or --timeout passes (exit 2). The
reason is printed on stderr. See docs/api.md.`,
		Example: `  berth sync --token-file /etc/berth/token
  berth sync --wait --timeout 10m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			if timeout <= 0 || poll <= 0 {
				return errors.New("--timeout and --poll-interval must be positive")
			}
			rctx, cancel := f.request(cmd.Context())
			defer cancel()
			var before reconciler.Status
			if wait {
				if before, err = c.SyncStatus(rctx); err != nil {
					return f.hint(err)
				}
			}
			gen, err := c.Sync(rctx)
			if err != nil {
				return f.hint(err)
			}
			out := cmd.OutOrStdout()
			if !wait {
				if f.output == "json" {
					return writeJSON(out, map[string]string{"sync": "started"})
				}
				fmt.Fprintln(out, "sync started")
				return nil
			}
			progress := out
			if f.output == "json" {
				progress = io.Discard // only the final status, for scripts
			}
			fmt.Fprintln(progress, "sync started; waiting for the leader to fetch and converge")
			last, err := waitSync(cmd.Context(), c, &f, before, gen, poll, timeout, progress, cmd.ErrOrStderr())
			if f.output == "json" && last != nil {
				if werr := writeJSON(out, last); werr != nil {
					return werr
				}
			}
			return err
		},
	}
	f.register(cmd)
	fl := cmd.Flags()
	fl.BoolVar(&wait, "wait", false, "follow the rollout until the cluster converged or the sync failed")
	fl.DurationVar(&timeout, "timeout", 5*time.Minute, "with --wait, give up after this long (exit 2)")
	fl.DurationVar(&poll, "poll-interval", 250*time.Millisecond, "with --wait, how often to read the status")
	_ = fl.MarkHidden("poll-interval")
	return cmd
}

// waitSync polls GET /v1/sync until w says the sync is over. It returns the
// last status read and an exitError when the sync did not succeed.
func waitSync(ctx context.Context, c *client.Client, f *apiFlags, before reconciler.Status, gen uint64, poll, timeout time.Duration, out, stderr io.Writer) (*reconciler.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	w := client.NewSyncWatch(before, gen)
	tick := time.NewTicker(poll)
	defer tick.Stop()
	var (
		last    *reconciler.Status
		lastErr string
	)
	for {
		rctx, rcancel := f.request(ctx)
		st, err := c.SyncStatus(rctx)
		rcancel()
		switch {
		case err == nil:
			last = &st
			v, reason, lines := w.Observe(st, time.Now())
			for _, l := range lines {
				fmt.Fprintln(out, l)
			}
			switch v {
			case client.SyncDone:
				fmt.Fprintln(out, reason)
				return last, nil
			case client.SyncFailed:
				return last, &exitError{code: exitSyncFailed, msg: "berth sync: " + reason}
			}
		case ctx.Err() != nil:
		default:
			var ae *client.APIError
			if errors.As(err, &ae) && ae.Code >= 400 && ae.Code < 500 {
				return last, f.hint(err)
			}
			// The leader may be changing hands: keep asking until the timeout.
			if err.Error() != lastErr {
				fmt.Fprintf(stderr, "berth sync: %v; retrying\n", err)
				lastErr = err.Error()
			}
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return last, &exitError{code: exitSyncTimeout, msg: fmt.Sprintf("berth sync: timed out after %s: %s", timeout, w.Pending(last))}
			}
			return last, ctx.Err()
		case <-tick.C:
		}
	}
}
