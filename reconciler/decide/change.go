package decide

import (
	"time"

	"github.com/berthops/berth/cluster"
)

// Change is one typed write a decision asks for. The set of changes is
// closed (the unexported method): the loop turns each kind into store
// operations in one place, and Apply plays each kind on a State.
type Change interface{ change() }

// StartTask assigns a new task to an agent, which launches it.
type StartTask struct{ Assignment cluster.Assignment }

// KillTask asks a task's agent to stop it (the assignment's Kill flag); the
// record stays until the task has ended, so it holds its resources until
// then.
type KillTask struct {
	Assignment cluster.Assignment
	Reason     string
}

// ForgetTask drops an ended (or expunged) task's assignment and status. An
// agent stops a task whose assignment is gone.
type ForgetTask struct{ AgentID, TaskID string }

// HoldServicePort records a cluster-wide service port for an app's port.
type HoldServicePort struct{ Port cluster.ServicePort }

// ReleaseServicePort frees a service port.
type ReleaseServicePort struct{ Port int }

// PublishTemplate publishes a template for agents to render.
type PublishTemplate struct{ Template cluster.PublishedTemplate }

// WithdrawTemplate withdraws a template no longer declared.
type WithdrawTemplate struct{ ID string }

// RecordJobRun records (or updates) a job run. Runs are written before the
// launches they describe, so a run is never launched unrecorded.
type RecordJobRun struct{ Run cluster.JobRun }

// DropJobRun forgets a run (history trimming).
type DropJobRun struct{ Job, RunID string }

// SaveJobState records the scheduler's memory of a job.
type SaveJobState struct{ State cluster.JobState }

// DropJobState forgets a job no longer declared.
type DropJobState struct{ Job string }

// RememberLaunches stores an app's launch-failure history (the backoff), so
// a new leader continues the delay instead of starting it over.
type RememberLaunches struct{ Launches cluster.LaunchHistory }

// ForgetLaunches drops the launch history of an app that is gone or has no
// failures left to remember.
type ForgetLaunches struct{ AppID string }

// MarkAgentLost records since when an agent has been unreachable: its tasks'
// unreachableStrategy clocks count from then, for every later leader.
type MarkAgentLost struct{ Lost cluster.AgentLost }

// ClearAgentLost forgets an agent's lost clock once it is back (or gone).
type ClearAgentLost struct{ AgentID string }

// SaveDeployment records an app's rollout in progress: when it started and
// where it stands, so a new leader reports the same deployment.
type SaveDeployment struct{ Deployment cluster.Deployment }

// EndDeployment removes a finished (or abandoned) deployment record.
type EndDeployment struct{ ID string }

// SetAppliedCommit records that the cluster runs commit.
type SetAppliedCommit struct {
	Commit    string
	AppliedAt time.Time
}

func (StartTask) change()          {}
func (KillTask) change()           {}
func (ForgetTask) change()         {}
func (HoldServicePort) change()    {}
func (ReleaseServicePort) change() {}
func (PublishTemplate) change()    {}
func (WithdrawTemplate) change()   {}
func (RecordJobRun) change()       {}
func (DropJobRun) change()         {}
func (SaveJobState) change()       {}
func (DropJobState) change()       {}
func (RememberLaunches) change()   {}
func (ForgetLaunches) change()     {}
func (MarkAgentLost) change()      {}
func (ClearAgentLost) change()     {}
func (SaveDeployment) change()     {}
func (EndDeployment) change()      {}
func (SetAppliedCommit) change()   {}
