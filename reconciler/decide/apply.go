package decide

import (
	"slices"
	"strings"
	"time"

	"github.com/berthops/berth/cluster"
)

// Apply plays changes on the input's cluster state, as committing them to
// the store would: the next Decide on in sees them. It is what a simulation
// (Simulate, `berth diff`'s fit verdict) and tests use in place of a store.
// Task statuses are the agents' to change: see PlayAgents.
func (in *Input) Apply(changes []Change) {
	in.flatten()
	for _, c := range changes {
		switch c := c.(type) {
		case StartTask:
			in.putTask(c.Assignment)
		case KillTask:
			in.putTask(c.Assignment)
		case ForgetTask:
			in.Tasks = slices.DeleteFunc(in.Tasks, func(t cluster.Task) bool { return t.AgentID == c.AgentID && t.TaskID == c.TaskID })
		case HoldServicePort:
			in.ServicePorts = slices.DeleteFunc(in.ServicePorts, func(p cluster.ServicePort) bool { return p.Port == c.Port.Port })
			in.ServicePorts = append(in.ServicePorts, c.Port)
		case ReleaseServicePort:
			in.ServicePorts = slices.DeleteFunc(in.ServicePorts, func(p cluster.ServicePort) bool { return p.Port == c.Port })
		case PublishTemplate:
			in.Templates = slices.DeleteFunc(in.Templates, func(p cluster.PublishedTemplate) bool { return p.Template.ID == c.Template.Template.ID })
			in.Templates = append(in.Templates, c.Template)
		case WithdrawTemplate:
			in.Templates = slices.DeleteFunc(in.Templates, func(p cluster.PublishedTemplate) bool { return p.Template.ID == c.ID })
		case RecordJobRun:
			if in.JobRuns == nil {
				in.JobRuns = map[string][]cluster.JobRun{}
			}
			runs := slices.DeleteFunc(slices.Clone(in.JobRuns[c.Run.Job]), func(r cluster.JobRun) bool { return r.RunID == c.Run.RunID })
			runs = append(runs, c.Run)
			slices.SortFunc(runs, func(a, b cluster.JobRun) int { return strings.Compare(a.RunID, b.RunID) })
			in.JobRuns[c.Run.Job] = runs
		case DropJobRun:
			in.JobRuns[c.Job] = slices.DeleteFunc(slices.Clone(in.JobRuns[c.Job]), func(r cluster.JobRun) bool { return r.RunID == c.RunID })
		case SaveJobState:
			if in.JobStates == nil {
				in.JobStates = map[string]cluster.JobState{}
			}
			in.JobStates[c.State.Job] = c.State
		case DropJobState:
			delete(in.JobStates, c.Job)
		case RememberLaunches:
			if in.Launches == nil {
				in.Launches = map[string]cluster.LaunchHistory{}
			}
			in.Launches[c.Launches.AppID] = c.Launches
		case ForgetLaunches:
			delete(in.Launches, c.AppID)
		case MarkAgentLost:
			if in.Lost == nil {
				in.Lost = map[string]cluster.AgentLost{}
			}
			in.Lost[c.Lost.AgentID] = c.Lost
		case ClearAgentLost:
			delete(in.Lost, c.AgentID)
		case SaveDeployment:
			if in.Deployments == nil {
				in.Deployments = map[string]cluster.Deployment{}
			}
			in.Deployments[c.Deployment.ID] = c.Deployment
		case EndDeployment:
			delete(in.Deployments, c.ID)
		case SetAppliedCommit:
			in.Applied = c.Commit
		case RememberResidence:
			if in.Residences == nil {
				in.Residences = map[string]cluster.Residence{}
			}
			in.Residences[c.Residence.AppID] = c.Residence
		case ForgetResidence:
			delete(in.Residences, c.AppID)
		}
	}
}

// putTask creates or replaces a task's assignment, keeping its status.
func (in *Input) putTask(a cluster.Assignment) {
	for i := range in.Tasks {
		if in.Tasks[i].TaskID == a.TaskID && in.Tasks[i].AgentID == a.AgentID {
			in.Tasks[i].Assignment = a
			return
		}
	}
	in.Tasks = append(in.Tasks, cluster.Task{Assignment: a})
}

// PlayAgents plays well-behaved agents at now: a task nobody reported on
// yet runs and is healthy, a task asked to stop is KILLED. A simulation
// assumes this; the real agents say what really happened.
func (in *Input) PlayAgents(now time.Time) {
	in.flatten()
	for i := range in.Tasks {
		t := &in.Tasks[i]
		switch {
		case t.Kill && !t.Status.State.Terminal():
			t.Status = cluster.TaskStatus{TaskID: t.TaskID, AgentID: t.AgentID, State: cluster.TaskKilled, UpdatedAt: now}
		case t.Status.State == "":
			t.Status = cluster.TaskStatus{TaskID: t.TaskID, AgentID: t.AgentID, State: cluster.TaskRunning, Health: cluster.HealthHealthy, StartedAt: now, UpdatedAt: now,
				Readiness: cluster.AllReady(t.Spec.ReadinessChecks)}
		case t.Status.State == cluster.TaskRunning && !t.Ready():
			// A well-behaved task passes its readiness checks.
			t.Status.Readiness = cluster.AllReady(t.Spec.ReadinessChecks)
		}
	}
}

// Clone copies the parts of in that Apply and PlayAgents change, so a
// simulation never writes into its caller's slices and maps.
func (in Input) Clone() Input {
	in.flatten()
	in.Tasks = slices.Clone(in.Tasks)
	in.ServicePorts = slices.Clone(in.ServicePorts)
	in.Templates = slices.Clone(in.Templates)
	in.JobRuns = cloneMap(in.JobRuns)
	in.JobStates = cloneMap(in.JobStates)
	in.Launches = cloneMap(in.Launches)
	in.Lost = cloneMap(in.Lost)
	in.Deployments = cloneMap(in.Deployments)
	in.Residences = cloneMap(in.Residences)
	return in
}

func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	if m == nil {
		return nil
	}
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
