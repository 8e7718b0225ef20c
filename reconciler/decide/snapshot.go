package decide

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/reconciler/plan"
)

// Snapshot is the live cluster as GET /v1/observed returns it and `berth
// diff --observed FILE` reads it: the planner's view (the applied manifests
// and runtime counts, plan.Observed) and everything Decide reads about the
// cluster, so an offline diff with a snapshot gives the same fit verdict as
// the server. Files with only the planner's fields still load; they give no
// fit verdict (no agents).
type Snapshot struct {
	plan.Observed
	// Commit is the commit the cluster is converged to (or converging to).
	Commit       string                           `json:"commit,omitempty"`
	Agents       []cluster.Agent                  `json:"agents,omitempty"`
	Tasks        []cluster.Task                   `json:"tasks,omitempty"`
	ServicePorts []cluster.ServicePort            `json:"servicePorts,omitempty"`
	Templates    []cluster.PublishedTemplate      `json:"templates,omitempty"`
	Launches     map[string]cluster.LaunchHistory `json:"launches,omitempty"`
	Lost         map[string]cluster.AgentLost     `json:"lost,omitempty"`
	Deployments  map[string]cluster.Deployment    `json:"deployments,omitempty"`
	Residences   map[string]cluster.Residence     `json:"residences,omitempty"`
	JobStates    map[string]cluster.JobState      `json:"jobStates,omitempty"`
	// JobRuns holds only the runs that have not ended: what a decision
	// needs to follow running jobs, without every job's whole history.
	JobRuns map[string][]cluster.JobRun `json:"jobRuns,omitempty"`
	// Taken is when the snapshot was read; decisions on it are made then.
	Taken time.Time `json:"taken,omitzero"`
}

// HasCluster reports whether the snapshot carries the cluster (agents), as
// a fit verdict needs.
func (s *Snapshot) HasCluster() bool { return len(s.Agents) > 0 }

// SnapshotOf builds the snapshot of in (the cluster a decision reads), with
// the planner's view of it.
func SnapshotOf(in Input, applied *manifests.Set) Snapshot {
	in.flatten()
	s := Snapshot{Observed: ObservedOf(applied, in.Tasks), Commit: in.Commit, Agents: in.Agents, Tasks: in.Tasks,
		ServicePorts: in.ServicePorts, Templates: in.Templates, Launches: in.Launches, Lost: in.Lost,
		Deployments: in.Deployments, Residences: in.Residences, JobStates: in.JobStates, Taken: in.Now}
	for name, runs := range in.JobRuns {
		for _, r := range runs {
			if !r.State.Ended() {
				if s.JobRuns == nil {
					s.JobRuns = map[string][]cluster.JobRun{}
				}
				s.JobRuns[name] = append(s.JobRuns[name], r)
			}
		}
	}
	return s
}

// Input is the decision input for desired on the snapshot's cluster, at the
// time the snapshot was taken.
func (s *Snapshot) Input(desired *manifests.Set) Input {
	return Input{Desired: desired, Commit: s.Commit, Applied: s.Commit, Agents: s.Agents, Tasks: s.Tasks,
		ServicePorts: s.ServicePorts, Templates: s.Templates, Launches: s.Launches, Lost: s.Lost,
		Deployments: s.Deployments, Residences: s.Residences, JobStates: s.JobStates, JobRuns: s.JobRuns, Now: s.Taken}
}

// ReadSnapshot decodes a snapshot file; errors name the file, line and
// column. Unknown fields are ignored, as plan.ReadObserved ignores them.
func ReadSnapshot(name string, data []byte) (Snapshot, error) {
	var s Snapshot
	dec := json.NewDecoder(bytes.NewReader(data))
	err := dec.Decode(&s)
	if err == nil && dec.More() {
		err = errors.New("unexpected data after the state object")
	}
	if err != nil {
		// Decoded once more by the planner's reader, for the error's line
		// and column (a snapshot can be tens of MB: only on failure).
		if _, perr := plan.ReadObserved(name, data); perr != nil {
			return Snapshot{}, perr
		}
		return Snapshot{}, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

// ObservedOf is the planner's view of the live cluster: the applied
// manifest set with each app's running and healthy task counts.
func ObservedOf(applied *manifests.Set, tasks []cluster.Task) plan.Observed {
	o := plan.Observed{Applied: applied, Apps: map[string]plan.AppStatus{}}
	for _, t := range tasks {
		if t.Owner != cluster.OwnerApp || t.Kill || t.Status.State != cluster.TaskRunning {
			continue
		}
		s := o.Apps[t.OwnerID]
		s.TasksRunning++
		if t.Status.Health == cluster.HealthHealthy {
			s.TasksHealthy++
		}
		s.Version = t.Version
		o.Apps[t.OwnerID] = s
	}
	return o
}
