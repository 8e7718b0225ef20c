package decide

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/berthops/berth/allocator"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/schedule"
)

// HistoryLimit is how many runs of a job the cluster state keeps.
const HistoryLimit = 100

// JobOutcome is the scheduler's view of one job after a pass.
type JobOutcome struct {
	Name         string    `json:"name"`
	Schedule     string    `json:"schedule,omitempty"`
	Parents      []string  `json:"parents,omitempty"`
	Disabled     bool      `json:"disabled,omitempty"`
	Next         time.Time `json:"next,omitzero"`
	LastRun      string    `json:"lastRun,omitempty"`
	LastState    string    `json:"lastState,omitempty"`
	SuccessCount int       `json:"successCount"`
	ErrorCount   int       `json:"errorCount"`
	LastSuccess  time.Time `json:"lastSuccess,omitzero"`
	LastError    time.Time `json:"lastError,omitzero"`
	Message      string    `json:"message,omitempty"`
	// Unplaced is why a run due now could not be placed.
	Unplaced string `json:"unplaced,omitempty"`
}

// JobSchedules parses the schedule (or cron) of every job in set that has
// one, by job name. The loop calls it once per loaded commit: parsing, and
// above all loading time zones from disk, would otherwise be most of the cost
// of an idle pass. Jobs whose schedule does not parse are left out; the pass
// reports their error.
func JobSchedules(set *manifests.Set) map[string]schedule.Schedule {
	out := map[string]schedule.Schedule{}
	if set == nil {
		return out
	}
	for i := range set.Jobs {
		j := &set.Jobs[i]
		if j.Schedule == "" && j.Cron == "" {
			continue
		}
		if s, err := schedule.Parse(j.Schedule, j.Cron, j.ScheduleTimeZone); err == nil {
			out[j.Name] = s
		}
	}
	return out
}

// jobStart is a run attempt to place and launch.
type jobStart struct {
	job  *manifests.Job
	run  string // key into jobPass.runs
	spec cluster.TaskSpec
}

// jobPass is one pass of the job scheduler. Runs are recorded in the same
// fenced transaction that launches them (records first), and task ids are
// derived from the run, so a new leader that re-reads the state neither
// loses nor repeats a run.
type jobPass struct {
	s    Input
	opts Options
	w    *writes

	runs      map[string]cluster.JobRun // changed runs by job/runID
	states    map[string]cluster.JobState
	dirty     map[string]bool
	starts    []jobStart
	launch    []cluster.Assignment
	requeue   time.Time
	outcomes  []JobOutcome
	agentLive map[string]bool
	// written are the jobs whose runs or state this pass writes.
	written map[string]bool
	nextDue NextDue
}

// NextDue remembers each scheduled job's next occurrence and what it was
// computed from. Until that occurrence comes, and as long as the job's
// schedule and its last handled occurrence stay the same, nothing about
// the job's schedule can change, so a pass reuses it instead of doing the
// time-zone arithmetic again: most of an idle pass over many jobs.
type NextDue map[string]nextDue

type nextDue struct {
	schedule, cron, zone, epsilon string
	last, anchor                  time.Time
	next                          time.Time
}

// matches reports whether e was computed for job from last and anchor.
func (e nextDue) matches(job *manifests.Job, last, anchor time.Time) bool {
	return e.schedule == job.Schedule && e.cron == job.Cron && e.zone == job.ScheduleTimeZone && e.epsilon == job.Epsilon &&
		e.last.Equal(last) && e.anchor.Equal(anchor)
}

func runKey(job, runID string) string { return job + "\x00" + runID }

// jobTaskID is deterministic: the same run attempt always has the same task.
func jobTaskID(job, runID string, attempt int) string {
	return fmt.Sprintf("%s.%s.%d", job, strings.NewReplacer(":", "", "-", "").Replace(runID), attempt)
}

// RunID is the id of a job run: when it was due, and what triggered it.
// Task ids derive from it, so a run recorded once is never launched twice.
func RunID(at time.Time, trigger string) string {
	return at.UTC().Format("20060102T150405.000Z") + "-" + trigger
}

func (p *jobPass) run() {
	p.runs, p.states, p.dirty = map[string]cluster.JobRun{}, map[string]cluster.JobState{}, map[string]bool{}
	p.agentLive, p.written, p.nextDue = map[string]bool{}, map[string]bool{}, NextDue{}
	p.outcomes = make([]JobOutcome, 0, len(p.s.Desired.Jobs))
	for _, a := range p.s.Agents {
		p.agentLive[a.ID] = a.Reachable
	}
	tasks := map[string]cluster.Task{}
	byJob := map[string][]cluster.Task{}
	for t := range p.s.allTasks() {
		if t.Owner == cluster.OwnerJob {
			tasks[t.TaskID] = *t
			byJob[t.OwnerID] = append(byJob[t.OwnerID], *t)
		}
	}
	declared := map[string]bool{}
	manual := map[string]int{}
	for _, n := range p.s.ManualRuns {
		manual[n]++
	}
	for i := range p.s.Desired.Jobs {
		job := &p.s.Desired.Jobs[i]
		declared[job.Name] = true
		p.job(job, tasks, byJob[job.Name], manual[job.Name])
	}
	// Tasks and unfinished runs of jobs no longer declared are stopped.
	for _, name := range sortedKeys(byJob) {
		if declared[name] {
			continue
		}
		for _, t := range byJob[name] {
			p.stopOrForget(t)
		}
	}
	for _, name := range sortedKeys(p.s.JobRuns) {
		if declared[name] {
			continue
		}
		for _, r := range p.s.JobRuns[name] {
			if !r.State.Ended() {
				r.State, r.FinishedAt, r.Message = cluster.JobRunFailed, p.s.Now, "job removed from the repository"
				p.runs[runKey(name, r.RunID)] = r
			}
		}
		if _, ok := p.s.JobStates[name]; ok {
			p.w.add(DropJobState{Job: name})
			p.written[name] = true
		}
	}
}

func (p *jobPass) stopOrForget(t cluster.Task) { stopOrForget(p.w, t) }

func (p *jobPass) job(job *manifests.Job, tasks map[string]cluster.Task, own []cluster.Task, manual int) {
	now := p.s.Now
	st, known := p.s.JobStates[job.Name]
	if !known {
		// Only what happens after a job is first seen counts: its parents'
		// earlier successes do not trigger it, nor do cron times before it.
		st = cluster.JobState{Job: job.Name, Anchor: now, ParentsSeen: now}
		p.dirty[job.Name] = true
	}
	// runs is the snapshot's own slice until this pass changes it: most
	// passes change nothing, and copying every job's history (up to
	// HistoryLimit runs) each pass would be most of an idle pass's work.
	runs := p.s.JobRuns[job.Name]
	copied := false
	mine := func() {
		if !copied {
			runs = append(make([]cluster.JobRun, 0, len(runs)+1), runs...)
			copied = true
		}
	}
	if !slices.IsSortedFunc(runs, func(a, b cluster.JobRun) int { return strings.Compare(a.RunID, b.RunID) }) {
		mine()
		sort.Slice(runs, func(i, j int) bool { return runs[i].RunID < runs[j].RunID })
	}
	var inRun map[string]bool
	if len(own) > 0 {
		inRun = map[string]bool{}
	}
	active := false
	for i := range runs {
		if inRun != nil && runs[i].TaskID != "" {
			inRun[runs[i].TaskID] = true
		}
		if runs[i].State.Ended() {
			continue
		}
		mine()
		r := &runs[i]
		p.advance(job, &st, r, tasks)
		if !r.State.Ended() {
			active = true
		}
	}
	// A task that no run claims (its run ended or was trimmed) is stopped.
	for _, t := range own {
		if !inRun[t.TaskID] {
			p.stopOrForget(t)
		}
	}
	out := JobOutcome{Name: job.Name, Schedule: firstNonEmpty(job.Schedule, job.Cron), Parents: job.Parents, Disabled: job.Disabled}
	newRun := func(at time.Time, trigger string) {
		id := RunID(at, trigger)
		for _, r := range runs {
			if r.RunID == id {
				return // recorded already: never run one occurrence twice
			}
		}
		r := cluster.JobRun{Job: job.Name, RunID: id, State: cluster.JobRunPending, Attempt: 1, ScheduledAt: at, Trigger: trigger}
		if active && !job.Concurrent {
			r.State, r.FinishedAt, r.Message = cluster.JobRunSkipped, now, "the previous run was still running (concurrent: false)"
		} else {
			active = true
			p.starts = append(p.starts, jobStart{job: job, run: runKey(job.Name, id), spec: JobTaskSpec(job, p.opts.Spec)})
		}
		mine() // never append into the snapshot's slice
		runs = append(runs, r)
		p.runs[runKey(job.Name, id)] = r
	}
	if !job.Disabled {
		if job.Schedule != "" || job.Cron != "" {
			p.scheduled(job, &st, &out, newRun)
		}
		if len(job.Parents) > 0 {
			p.dependent(job, &st, newRun)
		}
		for ; manual > 0; manual-- {
			newRun(now, cluster.TriggerManual)
			now = now.Add(time.Millisecond) // distinct ids for several requests in one pass
		}
	}
	if copied { // new runs are appended: the last one by id is reported below
		sort.Slice(runs, func(i, j int) bool { return runs[i].RunID < runs[j].RunID })
	}
	if len(runs) > HistoryLimit {
		mine()
		p.trim(job.Name, runs)
	}
	if p.dirty[job.Name] || st != p.s.JobStates[job.Name] {
		p.w.add(SaveJobState{State: st})
		p.written[job.Name] = true
	}
	if n := len(runs); n > 0 {
		out.LastRun, out.LastState = runs[n-1].RunID, string(runs[n-1].State)
	}
	out.SuccessCount, out.ErrorCount, out.LastSuccess, out.LastError = st.SuccessCount, st.ErrorCount, st.LastSuccess, st.LastError
	p.outcomes = append(p.outcomes, out)
}

// advance moves an unfinished run along with its task: running, succeeded,
// or failed and retried up to the job's retries.
func (p *jobPass) advance(job *manifests.Job, st *cluster.JobState, r *cluster.JobRun, tasks map[string]cluster.Task) {
	key := runKey(job.Name, r.RunID)
	if r.TaskID == "" {
		// Recorded but not placed yet (no room last time): place it now.
		p.starts = append(p.starts, jobStart{job: job, run: key, spec: JobTaskSpec(job, p.opts.Spec)})
		return
	}
	t, ok := tasks[r.TaskID]
	state := t.Status.State
	switch {
	case !ok:
		state, t.Status.Message = cluster.TaskLost, "the task's assignment disappeared"
	case !p.agentLive[t.AgentID] && !state.Terminal():
		// A batch task on a lost agent is retried elsewhere; the agent
		// stops it if it comes back, since its assignment is gone.
		state, t.Status.Message = cluster.TaskLost, "agent "+t.AgentID+" was lost"
	}
	switch state {
	case cluster.TaskRunning, cluster.TaskStarting:
		if r.State != cluster.JobRunRunning {
			r.State, r.StartedAt, r.AgentID = cluster.JobRunRunning, orTime(t.Status.StartedAt, p.s.Now), t.AgentID
			p.runs[key] = *r
		}
	case cluster.TaskFinished:
		r.State, r.FinishedAt, r.ExitCode, r.OutputTail, r.Message = cluster.JobRunSucceeded, orTime(t.Status.UpdatedAt, p.s.Now), t.Status.ExitCode, t.Status.OutputTail, ""
		if r.StartedAt.IsZero() {
			r.StartedAt = orTime(t.Status.StartedAt, r.FinishedAt)
		}
		st.SuccessCount++
		st.LastSuccess = r.FinishedAt
		p.forget(t, ok)
		p.runs[key] = *r
	case cluster.TaskFailed, cluster.TaskKilled, cluster.TaskLost:
		r.ExitCode, r.OutputTail, r.Message, r.AgentID = t.Status.ExitCode, t.Status.OutputTail, t.Status.Message, t.AgentID
		p.forget(t, ok)
		if r.Attempt <= job.Retries {
			r.Attempt++
			r.TaskID, r.State = "", cluster.JobRunPending
			p.runs[key] = *r
			p.starts = append(p.starts, jobStart{job: job, run: key, spec: JobTaskSpec(job, p.opts.Spec)})
			return
		}
		r.State, r.FinishedAt = cluster.JobRunFailed, p.s.Now
		st.ErrorCount++
		st.LastError = r.FinishedAt
		p.runs[key] = *r
	}
}

func (p *jobPass) forget(t cluster.Task, exists bool) {
	if exists {
		p.w.add(ForgetTask{AgentID: t.AgentID, TaskID: t.TaskID})
	}
}

func (p *jobPass) scheduled(job *manifests.Job, st *cluster.JobState, out *JobOutcome, newRun func(time.Time, string)) {
	last := st.LastHandled
	if last.IsZero() && job.Cron != "" {
		last = st.Anchor
	}
	if e, ok := p.s.NextDue[job.Name]; ok && e.matches(job, last, st.Anchor) && e.next.After(p.s.Now) {
		// Nothing is due before e.next, which Due would compute again.
		p.nextDue[job.Name] = e
		out.Next = e.next
		p.requeue = earliest(p.requeue, e.next)
		return
	}
	sched, ok := p.s.Schedules[job.Name]
	if !ok {
		var err error
		sched, err = schedule.Parse(job.Schedule, job.Cron, job.ScheduleTimeZone)
		if err != nil {
			out.Message = err.Error() // validated at load; only a new zone database could get here
			return
		}
	}
	if !sched.HasStart() {
		sched = sched.Anchor(st.Anchor)
	}
	var eps time.Duration
	if job.Epsilon != "" {
		eps, _ = schedule.ParseDuration(job.Epsilon)
	}
	d := sched.Due(last, p.s.Now, eps)
	if eps > 0 {
		for _, at := range d.Skipped {
			id := RunID(at, cluster.TriggerSchedule)
			p.runs[runKey(job.Name, id)] = cluster.JobRun{Job: job.Name, RunID: id, State: cluster.JobRunSkipped, ScheduledAt: at,
				FinishedAt: p.s.Now, Trigger: cluster.TriggerSchedule, Message: fmt.Sprintf("missed by more than epsilon %s", job.Epsilon)}
		}
	}
	if !d.Run.IsZero() {
		newRun(d.Run, cluster.TriggerSchedule)
	}
	if !d.Handled.IsZero() {
		st.LastHandled = d.Handled
	}
	if !d.Ended() {
		out.Next = d.Next
		p.requeue = earliest(p.requeue, d.Next)
		if d.Run.IsZero() && d.SkippedCount == 0 && d.Handled.Equal(last) {
			// Nothing happened: the next pass starts from the same point.
			p.nextDue[job.Name] = nextDue{schedule: job.Schedule, cron: job.Cron, zone: job.ScheduleTimeZone, epsilon: job.Epsilon,
				last: last, anchor: st.Anchor, next: d.Next}
		}
	}
}

// dependent triggers a child once every parent has succeeded since the child
// last started (Chronos' rule; with one parent, after each success).
func (p *jobPass) dependent(job *manifests.Job, st *cluster.JobState, newRun func(time.Time, string)) {
	var latest time.Time
	for _, parent := range job.Parents {
		var done time.Time
		for _, r := range p.s.JobRuns[parent] {
			// The run as this pass leaves it, so a child sees a parent's
			// success in the pass that records it.
			if len(p.runs) > 0 {
				if u, ok := p.runs[runKey(parent, r.RunID)]; ok {
					r = u
				}
			}
			if r.State == cluster.JobRunSucceeded && r.FinishedAt.After(done) {
				done = r.FinishedAt
			}
		}
		if !done.After(st.ParentsSeen) {
			return
		}
		if done.After(latest) {
			latest = done
		}
	}
	st.ParentsSeen = latest
	newRun(latest, cluster.TriggerParents)
}

// trim keeps the last HistoryLimit runs of a job.
func (p *jobPass) trim(job string, runs []cluster.JobRun) {
	sort.Slice(runs, func(i, j int) bool { return runs[i].RunID < runs[j].RunID })
	extra := len(runs) - HistoryLimit
	for _, r := range runs {
		if extra <= 0 {
			break
		}
		if !r.State.Ended() {
			continue
		}
		key := runKey(job, r.RunID)
		if _, fresh := p.runs[key]; fresh {
			delete(p.runs, key)
		} else {
			p.w.add(DropJobRun{Job: job, RunID: r.RunID})
			p.written[job] = true
		}
		extra--
	}
}

// writtenJobs lists, sorted, the jobs whose runs or state the pass writes,
// after flush.
func (p *jobPass) writtenJobs() []string {
	names := make([]string, 0, len(p.written))
	for n := range p.written {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// refused records why a run attempt cannot be placed at all (the allocator
// refused the job's demand); the run waits, and the job reports the reason.
func (p *jobPass) refused(js jobStart, err error) {
	p.placed(js, allocator.GroupResult{Reason: "the allocator refused the job: " + err.Error()})
}

// placed records where a run attempt goes and assigns its task.
func (p *jobPass) placed(js jobStart, g allocator.GroupResult) {
	r := p.runs[js.run]
	if r.RunID == "" {
		for _, old := range p.s.JobRuns[js.job.Name] {
			if runKey(old.Job, old.RunID) == js.run {
				r = old
			}
		}
	}
	if len(g.Placements) == 0 {
		r.Message = "waiting for resources: " + g.Reason
		p.runs[js.run] = r
		for i := range p.outcomes {
			if p.outcomes[i].Name == js.job.Name {
				p.outcomes[i].Unplaced = g.Reason
			}
		}
		return
	}
	pl := g.Placements[0]
	r.TaskID, r.AgentID, r.Message = jobTaskID(r.Job, r.RunID, r.Attempt), pl.AgentID, ""
	p.runs[js.run] = r
	p.launch = append(p.launch, cluster.Assignment{
		TaskID: r.TaskID, Owner: cluster.OwnerJob, OwnerID: r.Job, Version: SpecVersion(js.spec),
		AgentID: pl.AgentID, Spec: js.spec, CreatedAt: p.s.Now,
	})
}

// flush writes the changed runs, then the launches.
func (p *jobPass) flush() {
	keys := make([]string, 0, len(p.runs))
	for k := range p.runs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		r := p.runs[k]
		p.w.add(RecordJobRun{Run: r})
		p.written[r.Job] = true
	}
	for _, a := range p.launch {
		p.w.add(StartTask{Assignment: a})
	}
}

func orTime(t, def time.Time) time.Time {
	if t.IsZero() {
		return def
	}
	return t
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
