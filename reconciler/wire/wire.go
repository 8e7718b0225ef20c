// Package wire holds the JSON documents of Berth's HTTP API that the server
// writes and clients read: the reconciler's status and its parts. It is
// small on purpose: a client (the CLI, a script, the UI's tests) imports it
// without pulling in the server's Git, ZooKeeper or Prometheus code.
package wire

import (
	"time"

	"github.com/berthops/berth/reconciler/decide"
	"github.com/berthops/berth/reconciler/rollout"
)

// CommitError is a commit that was rejected as a whole.
type CommitError struct {
	Commit string    `json:"commit"`
	Errors []string  `json:"errors"`
	Since  time.Time `json:"since"`
}

// Status is what the loop reports about itself and every object.
type Status struct {
	// Head is the newest commit seen on the branch; Desired the newest valid
	// one, the commit the cluster is being converged to.
	Head    string `json:"head,omitempty"`
	Desired string `json:"desired,omitempty"`
	// Rejected is set while Head is invalid: the cluster stays on Desired.
	Rejected  *CommitError `json:"rejected,omitempty"`
	LastSync  time.Time    `json:"lastSync,omitzero"`
	LastError string       `json:"lastError,omitempty"`
	// GitError is the last fetch or resolve failure, kept until a fetch
	// succeeds; the cluster meanwhile stays on Desired.
	GitError string `json:"gitError,omitempty"`
	// Generation counts sync requests; Fetched is the generation the last
	// completed fetch served, so `berth sync --wait` knows its request was
	// seen once Fetched reaches the generation POST /v1/sync returned.
	Generation uint64    `json:"generation"`
	Fetched    uint64    `json:"fetched"`
	FetchedAt  time.Time `json:"fetchedAt,omitzero"`
	// Decided is the commit the last completed pass decided against: the
	// commit Apps, Jobs and Converged describe. A status whose Decided is
	// not the head a client asked for says nothing about that head yet.
	Decided string `json:"decided,omitempty"`
	// LastErrorCommit is the commit the pass that failed with LastError was
	// applying.
	LastErrorCommit string `json:"lastErrorCommit,omitempty"`
	// Converged is true only when the cluster runs Decided exactly and the
	// last pass succeeded, and Decided is the head of the branch (or the head
	// is rejected, which Rejected then says).
	Converged bool                `json:"converged"`
	Apps      []AppStatus         `json:"apps,omitempty"`
	Jobs      []decide.JobOutcome `json:"jobs,omitempty"`
	Orphans   []string            `json:"orphans,omitempty"`
}

// AppStatus is one app as operators see it in Argo CD terms.
type AppStatus struct {
	ID        string         `json:"id"`
	Version   string         `json:"version"`
	Sync      rollout.Sync   `json:"sync"`
	Health    rollout.Health `json:"health"`
	Message   string         `json:"message,omitempty"`
	Instances int            `json:"instances"`
	Healthy   int            `json:"healthy"`
	Unplaced  string         `json:"unplaced,omitempty"`
	// Error is why the app could not be decided at all (it is Degraded and
	// its tasks are left as they are); every other app still proceeds.
	Error string `json:"error,omitempty"`
}
