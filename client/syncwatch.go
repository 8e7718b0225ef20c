package client

import (
	"fmt"
	"strings"
	"time"

	"github.com/berthops/berth/reconciler/rollout"
	"github.com/berthops/berth/reconciler/wire"
)

// SyncVerdict is what a SyncWatch concludes from the statuses so far.
type SyncVerdict int

const (
	// SyncWaiting: the sync is not over.
	SyncWaiting SyncVerdict = iota
	// SyncDone: the cluster runs the head the sync asked for.
	SyncDone
	// SyncFailed: the head is rejected, one of its objects is Degraded, its
	// passes keep failing, or Git cannot be read.
	SyncFailed
)

// DefaultPassFailureGrace is how long a pass error about the head may last
// before a SyncWatch calls the sync failed: a ZooKeeper hiccup heals within
// a few passes, a pass that keeps failing does not.
const DefaultPassFailureGrace = 10 * time.Second

// SyncWatch decides, from successive reconciler statuses, whether a sync
// requested after `before` was read is over: `berth sync --wait`'s rules,
// which `berth up` and scripts share. It is pure (the time comes in with
// each status), so its rules are tested on sequences of statuses.
//
// It judges only the head the sync asked for: a status whose Decided is
// another commit (the leader has not decided against the head yet) is no
// answer, neither success nor failure.
//
// The leader numbers sync requests: the fetch serving the request is done
// once the status's Fetched reaches the request's generation. With a server
// that does not number them (gen 0) the watch infers it: the leader fetches
// before the pass that follows a sync request, and at most two passes can
// run between the request and that one, so the fetch is known to have
// happened when the head moved or after three new passes.
type SyncWatch struct {
	// PassFailureGrace replaces DefaultPassFailureGrace.
	PassFailureGrace time.Duration

	gen        uint64
	before     wire.Status
	lastSync   time.Time
	passes     int
	fetched    bool
	shown      map[string]string
	errorSince time.Time
}

// NewSyncWatch watches a sync requested after before was read; gen is the
// generation POST /v1/sync returned (0 if the server does not number them).
func NewSyncWatch(before wire.Status, gen uint64) *SyncWatch {
	return &SyncWatch{gen: gen, before: before, lastSync: before.LastSync, shown: map[string]string{}}
}

// Observe takes the next status, read at now, and returns the verdict, the
// reason (for a verdict other than SyncWaiting) and the progress lines to
// print.
func (w *SyncWatch) Observe(st wire.Status, now time.Time) (v SyncVerdict, reason string, progress []string) {
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
		return SyncFailed, "the leader cannot read Git: " + st.GitError, progress
	}
	if gitFailure(st.LastError) && (w.fetched || st.LastError != w.before.LastError) {
		return SyncFailed, "the leader cannot read Git: " + st.LastError, progress
	}
	if !w.fetched {
		return SyncWaiting, "", progress
	}
	seen := map[string]bool{}
	for _, a := range st.Apps {
		seen[a.ID] = true
		line := strings.TrimRight(fmt.Sprintf("%-24s %-9s %-11s %s", a.ID, a.Sync, a.Health, AppMessage(a)), " ")
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
		return SyncFailed, fmt.Sprintf("commit %s is rejected; the cluster stays on %s:\n  %s",
			short(r.Commit), orNone(short(st.Desired)), strings.Join(r.Errors, "\n  ")), progress
	}
	decided := st.Decided
	if decided == "" {
		decided = st.Desired // a server from before statuses named their commit
	}
	if st.Head == "" || decided != st.Head {
		return SyncWaiting, "", progress // the statuses are about another commit
	}
	if st.LastError != "" && st.LastErrorCommit == st.Head {
		if w.errorSince.IsZero() {
			w.errorSince = now
		}
		grace := w.PassFailureGrace
		if grace <= 0 {
			grace = DefaultPassFailureGrace
		}
		if now.Sub(w.errorSince) >= grace {
			return SyncFailed, fmt.Sprintf("the leader keeps failing to apply commit %s: %s", short(st.Head), st.LastError), progress
		}
		return SyncWaiting, "", progress
	}
	w.errorSince = time.Time{}
	for _, a := range st.Apps {
		if a.Health == rollout.Degraded {
			return SyncFailed, fmt.Sprintf("app %s is Degraded: %s", a.ID, AppMessage(a)), progress
		}
	}
	if st.Converged {
		return SyncDone, fmt.Sprintf("synced: the cluster runs commit %s (%s)", short(st.Head), plural(len(st.Apps), "app")), progress
	}
	return SyncWaiting, "", progress
}

// Pending says what the sync was still waiting for, for a timeout message.
func (w *SyncWatch) Pending(st *wire.Status) string {
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
			waiting = append(waiting, fmt.Sprintf("%s %s %s (%s)", a.ID, a.Sync, a.Health, AppMessage(a)))
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

// AppMessage is an app's status line with why it cannot be placed or
// decided, when it says so.
func AppMessage(a wire.AppStatus) string {
	msg := a.Message
	if a.Error != "" && !strings.Contains(msg, a.Error) {
		msg = strings.TrimPrefix(msg+"; "+a.Error, "; ")
	}
	if a.Unplaced != "" && !strings.Contains(msg, a.Unplaced) {
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

func short(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}
