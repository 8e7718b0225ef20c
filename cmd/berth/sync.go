package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthops/berth/client"
	"github.com/berthops/berth/reconciler"
	"github.com/berthops/berth/reconciler/rollout"
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
	w := newSyncWatch(before)
	w.gen = gen
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
			v, reason, lines := w.observe(st)
			for _, l := range lines {
				fmt.Fprintln(out, l)
			}
			switch v {
			case syncDone:
				fmt.Fprintln(out, reason)
				return last, nil
			case syncFailed:
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
				return last, &exitError{code: exitSyncTimeout, msg: fmt.Sprintf("berth sync: timed out after %s: %s", timeout, w.pending(last))}
			}
			return last, ctx.Err()
		case <-tick.C:
		}
	}
}

type syncVerdict int

const (
	syncWaiting syncVerdict = iota
	syncDone
	syncFailed
)

// syncWatch decides, from successive reconciler statuses, whether a sync
// requested after `before` was read is over. It is pure, so its rules are
// tested on sequences of statuses.
//
// The leader numbers sync requests: the fetch serving the request is done
// once the status's Fetched reaches the request's generation. With a server
// that does not number them (gen 0) the watch infers it: the leader fetches
// before the pass that follows a sync request, and at most two passes can
// run between the request and that one, so the fetch is known to have
// happened when the head moved or after three new passes.
type syncWatch struct {
	gen      uint64
	before   reconciler.Status
	lastSync time.Time
	passes   int
	fetched  bool
	shown    map[string]string
}

func newSyncWatch(before reconciler.Status) *syncWatch {
	return &syncWatch{before: before, lastSync: before.LastSync, shown: map[string]string{}}
}

// observe takes the next status and returns the verdict, the reason (for a
// verdict other than syncWaiting) and the progress lines to print.
func (w *syncWatch) observe(st reconciler.Status) (v syncVerdict, reason string, progress []string) {
	if st.LastSync.After(w.lastSync) {
		w.passes++
		w.lastSync = st.LastSync
	}
	seenFetch := st.Head != w.before.Head || w.passes >= 3
	if w.gen > 0 {
		seenFetch = st.Fetched >= w.gen
	}
	if !w.fetched && seenFetch {
		w.fetched = true
		switch {
		case st.Head == "":
			progress = append(progress, "no commit could be read from the branch yet")
		case st.Head != w.before.Head && w.before.Head != "":
			progress = append(progress, fmt.Sprintf("head is now %s (was %s)", short(st.Head), short(w.before.Head)))
		default:
			progress = append(progress, fmt.Sprintf("head is %s", short(st.Head)))
		}
	}
	if st.GitError != "" && w.fetched {
		return syncFailed, "the leader cannot read Git: " + st.GitError, progress
	}
	if gitFailure(st.LastError) && (w.fetched || st.LastError != w.before.LastError) {
		return syncFailed, "the leader cannot read Git: " + st.LastError, progress
	}
	if !w.fetched {
		return syncWaiting, "", progress
	}
	seen := map[string]bool{}
	for _, a := range st.Apps {
		seen[a.ID] = true
		line := strings.TrimRight(fmt.Sprintf("%-24s %-9s %-11s %s", a.ID, a.Sync, a.Health, appMessage(a)), " ")
		if w.shown[a.ID] != line {
			w.shown[a.ID] = line
			progress = append(progress, line)
		}
	}
	for id := range w.shown {
		if !seen[id] {
			delete(w.shown, id)
			progress = append(progress, fmt.Sprintf("%-24s removed", id))
		}
	}
	if r := st.Rejected; r != nil && r.Commit == st.Head {
		return syncFailed, fmt.Sprintf("commit %s is rejected; the cluster stays on %s:\n  %s",
			short(r.Commit), orNone(short(st.Desired)), strings.Join(r.Errors, "\n  ")), progress
	}
	for _, a := range st.Apps {
		if a.Health == rollout.Degraded {
			return syncFailed, fmt.Sprintf("app %s is Degraded: %s", a.ID, appMessage(a)), progress
		}
	}
	if st.Converged && st.Desired == st.Head && st.Head != "" {
		return syncDone, fmt.Sprintf("synced: the cluster runs commit %s (%s)", short(st.Desired), plural(len(st.Apps), "app")), progress
	}
	return syncWaiting, "", progress
}

// pending says what the sync was still waiting for, for the timeout message.
func (w *syncWatch) pending(st *reconciler.Status) string {
	if st == nil {
		return "the server's status could not be read"
	}
	if !w.fetched {
		msg := "no reconcile pass ran after the sync request (is a leader running? see `berth status`)"
		if st.LastError != "" {
			msg += "; last error: " + st.LastError
		}
		return msg
	}
	var waiting []string
	for _, a := range st.Apps {
		if a.Sync != rollout.Synced || (a.Health != rollout.Healthy && a.Health != rollout.Suspended) {
			waiting = append(waiting, fmt.Sprintf("%s %s %s (%s)", a.ID, a.Sync, a.Health, appMessage(a)))
		}
	}
	msg := "not converged"
	if len(waiting) > 0 {
		msg += ": " + strings.Join(waiting, "; ")
	}
	if st.LastError != "" {
		msg += "; last error: " + st.LastError
	}
	return msg
}

// gitFailure reports whether a reconciler error is about reading Git (the
// loop's "git fetch: ..." and "resolve BRANCH: ...").
func gitFailure(msg string) bool {
	return strings.HasPrefix(msg, "git fetch: ") || strings.HasPrefix(msg, "resolve ")
}

func appMessage(a reconciler.AppStatus) string {
	msg := a.Message
	if a.Unplaced != "" {
		msg = strings.TrimPrefix(msg+"; cannot place: "+a.Unplaced, "; ")
	}
	return msg
}

func orNone(s string) string {
	if s == "" {
		return "no commit"
	}
	return s
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
