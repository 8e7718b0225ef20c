package marathonapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
)

// Cluster is what the API reads. Desired and Apps are the leader's
// in-memory view; the rest comes from the cluster state.
type Cluster interface {
	// Desired is the manifest set the cluster is converged to and its
	// commit; a nil set before the first valid commit was loaded.
	Desired() (*manifests.Set, string)
	// Apps is the leader's latest verdict on every desired app.
	Apps() []AppStatus
	Tasks(ctx context.Context) ([]cluster.Task, error)
	Agents(ctx context.Context) ([]cluster.Agent, error)
	ServicePorts(ctx context.Context) ([]cluster.ServicePort, error)
	// Leader is the current leader's id and API address ("" when none is
	// known).
	Leader(ctx context.Context) (id, address string, err error)
	// Subscribe signals ch (without blocking) after every reconcile pass
	// until cancel is called; the event stream re-reads the state then.
	Subscribe(ch chan<- struct{}) (cancel func())
}

// AppStatus is the leader's verdict on one app.
type AppStatus struct {
	ID string
	// Version is the content hash of the app's desired task spec; tasks
	// running an older one are being replaced.
	Version string
	// Deploying is true until the app runs its desired version with every
	// instance healthy: what Marathon calls a deployment in progress.
	Deploying bool
	Message   string
}

// Options configure the API.
type Options struct {
	// Repo and Branch are what the cluster follows, named in the error a
	// write gets. Credentials in Repo are never shown.
	Repo, Branch string
	// Token is the API token; ProtectReads makes every request need it
	// (bearer, basic auth with the token as password, or DC/OS's token=).
	Token        string
	ProtectReads bool
	// Forward, when set, proxies a request to the leader and returns true;
	// false means answer here (this replica leads, or no leader is known).
	Forward func(w http.ResponseWriter, r *http.Request) bool
	// Version is Berth's version, reported in /v2/info's buildref.
	Version string
	// ID is this replica's id, for /v2/info.
	ID string
	// Now is the clock (time.Now if nil).
	Now    func() time.Time
	Logger *slog.Logger
	// KeepAlive is how often an idle event stream gets a comment line
	// (15 s if zero); Poll how often it re-reads the state when no pass
	// signals (2 s if zero), so followers and a stalled leader still stream.
	KeepAlive, Poll time.Duration
}
