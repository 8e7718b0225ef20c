package history

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/berthops/berth/schedule"
)

// Rules the checker judges a history by; a Violation names one.
const (
	RuleCapacity   = "rollout-below-minimum-health-capacity"
	RuleJobTwice   = "job-occurrence-ran-twice"
	RuleJobMissing = "job-occurrence-missing"
	RuleJobSkipped = "job-occurrence-skipped-without-cause"
	RuleJobForeign = "job-run-of-no-occurrence"
	RuleJobManual  = "job-manual-runs-exceed-requests"
	RuleRouted     = "nginx-routed-to-non-passing-instance"
	RuleEmpty      = "nginx-empty-while-instances-passed"
	RuleLeftover   = "unwanted-container-survived"
	RuleConverge   = "no-convergence-within-bound"
	RuleNoLeader   = "no-leader-beyond-bound"
	RuleDown       = "process-down-without-fault"
)

// Options are the checker's bounds. Zero values take the defaults.
type Options struct {
	// Propagation is how long a change in Consul's passing instances may
	// take to reach nginx's upstream (default 10 s: the template's wait.max
	// of 2 s, the blocking query's return, nginx -t and reload, and the
	// recorder's 0.5 s sampling, with room for a loaded 2-core machine).
	Propagation time.Duration
	// FaultGrace is how long after a fault ends its effects on tasks stay
	// excused (default 45 s: a replaced task's health grace period of 10 s,
	// its checks, and the agent's re-registration).
	FaultGrace time.Duration
	// JobSlack is how long after an occurrence (plus its epsilon) a record
	// of it must exist (default 20 s).
	JobSlack time.Duration
	// ConvergeBound is how long after the faults stop the cluster has to
	// reach the head commit (default 3 min).
	ConvergeBound time.Duration
	// LeaderBound is the longest time no server may say it leads, not
	// counting a loss of ZooKeeper's quorum and LeaderBound after it
	// (default 30 s: a 4 s session timeout, the election, the new
	// leader's settle, and a paused leader's status calls timing out, on a
	// loaded machine).
	LeaderBound time.Duration
	// ReportSlack is how long after a run's container ended its end may
	// take to reach Berth's records with no fault in the way (default 2 s:
	// the agent batches its status reports for 100 ms, then the ZooKeeper
	// write, the leader's watch and its next pass). A non-concurrent job's
	// occurrence skipped before then was skipped for a run Berth had every
	// reason to think still ran.
	ReportSlack time.Duration
	// SampleGap is the longest time between two Consul samples that still
	// counts as seeing everything Consul said (default 400 ms: the recorder
	// asks every 250 ms, so longer means a read failed). It keeps no sample
	// of a failed read, so a Consul restart leaves a gap in which an
	// instance may have passed unseen (0.51 s in the 12:09 soak).
	SampleGap time.Duration
	// SourceHold is how long after a Consul restart the rendered upstream
	// may still hold instances Consul listed before it (default 20 s: the
	// templates' RecoveryHold of 15 s keeps a list that came back shorter,
	// docs/templates.md, plus the retry, the wait and the reload). A real
	// scale-down or replacement that coincides with the restart is
	// rendered that late, by design.
	SourceHold time.Duration
	// RestartGrace is how long after a fault that took a process ends the
	// process may still be down (default 10 s: the nemesis retries a start
	// for 5 s while the killed process is reaped).
	RestartGrace time.Duration
}

func (o *Options) defaults() {
	if o.Propagation == 0 {
		o.Propagation = 10 * time.Second
	}
	if o.FaultGrace == 0 {
		o.FaultGrace = 45 * time.Second
	}
	if o.JobSlack == 0 {
		o.JobSlack = 20 * time.Second
	}
	if o.ConvergeBound == 0 {
		o.ConvergeBound = 3 * time.Minute
	}
	if o.LeaderBound == 0 {
		o.LeaderBound = 30 * time.Second
	}
	if o.ReportSlack == 0 {
		o.ReportSlack = 2 * time.Second
	}
	if o.SampleGap == 0 {
		o.SampleGap = 400 * time.Millisecond
	}
	if o.SourceHold == 0 {
		o.SourceHold = 20 * time.Second
	}
	if o.RestartGrace == 0 {
		o.RestartGrace = 10 * time.Second
	}
}

// Violation is one broken promise and the time window it covers.
type Violation struct {
	Rule   string    `json:"rule"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Detail string    `json:"detail"`
}

func (v Violation) String() string {
	return fmt.Sprintf("%s [%s .. %s]: %s", v.Rule, v.From.UTC().Format("15:04:05.000"), v.To.UTC().Format("15:04:05.000"), v.Detail)
}

// Result is the checker's verdict.
type Result struct {
	Violations []Violation `json:"violations"`
	// Faults counts the injected faults by name.
	Faults map[string]int `json:"faults"`
	// Converge is how long after the faults stopped the cluster first
	// matched the head commit; negative when it never did.
	Converge time.Duration `json:"converge"`
	// Judged counts what each rule looked at (samples, occurrences, ...).
	Judged map[string]int `json:"judged"`
}

// FaultCount is the number of faults injected.
func (r Result) FaultCount() int {
	n := 0
	for _, c := range r.Faults {
		n += c
	}
	return n
}

// Check judges h. It is pure: the same history gives the same result.
func Check(h History, o Options) Result {
	o.defaults()
	// A history read from a file may hold events without their part: they
	// say nothing and are left out.
	kept := make([]Event, 0, len(h.Events))
	for _, e := range h.Events {
		if complete(e) {
			kept = append(kept, e)
		}
	}
	h.Events = kept
	h.Sort()
	c := &checker{h: h, o: o, res: Result{Faults: map[string]int{}, Judged: map[string]int{}, Converge: -1}}
	for _, e := range h.Events {
		switch e.Kind {
		case KindCommit:
			c.commits = append(c.commits, e)
		case KindFault:
			c.faults = append(c.faults, *e.Fault)
			c.res.Faults[e.Fault.Name]++
		case KindConsul:
			c.consul = append(c.consul, e)
		}
	}
	c.capacity()
	c.jobs()
	c.routing()
	c.settle()
	c.leaders()
	c.processes()
	sort.SliceStable(c.res.Violations, func(i, j int) bool { return c.res.Violations[i].From.Before(c.res.Violations[j].From) })
	return c.res
}

// complete reports whether e holds the part its kind needs.
func complete(e Event) bool {
	switch e.Kind {
	case KindCommit:
		return e.Commit != nil
	case KindFault:
		return e.Fault != nil
	case KindConsul:
		return e.Consul != nil
	case KindUpstream:
		return e.Upstream != nil
	case KindAnswer:
		return e.Answer != nil
	case KindManualRun:
		return e.Manual != nil
	case KindDocker:
		return e.Docker != nil
	case KindSettle:
		return e.Settle != nil
	case KindMembers:
		return e.Members != nil
	}
	return true
}

// maxOccurrences bounds the occurrences judged per job: a schedule far
// shorter than the history (a hostile file) must not make the check run
// for ever.
const maxOccurrences = 10_000

type checker struct {
	h       History
	o       Options
	res     Result
	commits []Event
	faults  []Fault
	consul  []Event
}

func (c *checker) violate(rule string, from, to time.Time, format string, args ...any) {
	c.res.Violations = append(c.res.Violations, Violation{Rule: rule, From: from, To: to, Detail: fmt.Sprintf(format, args...)})
}

// commitAt is the last commit pushed at or before t.
func (c *checker) commitAt(t time.Time) *Commit {
	var out *Commit
	for _, e := range c.commits {
		if e.At.After(t) {
			break
		}
		out = e.Commit
	}
	return out
}

// window is an open run of violating samples of one rule and subject.
type window struct {
	from, to time.Time
	detail   string
}

// windows merges consecutive violating samples per subject into one
// violation each.
type windows struct {
	rule string
	open map[string]*window
	c    *checker
}

func (c *checker) windows(rule string) *windows {
	return &windows{rule: rule, open: map[string]*window{}, c: c}
}

func (w *windows) bad(subject string, at time.Time, detail string) {
	if cur := w.open[subject]; cur != nil {
		cur.to = at
		return
	}
	w.open[subject] = &window{from: at, to: at, detail: detail}
}

func (w *windows) good(subject string) {
	if cur := w.open[subject]; cur != nil {
		w.c.violate(w.rule, cur.from, cur.to, "%s", cur.detail)
		delete(w.open, subject)
	}
}

func (w *windows) close() {
	keys := make([]string, 0, len(w.open))
	for k := range w.open {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		w.good(k)
	}
}

// excused reports whether a fault explains app missing capacity at t: a
// global fault, a fault on one of its tasks, or the loss of an agent that
// held one of them when the fault began or since (held: when each agent
// was last seen holding one), from the fault's start to FaultGrace after
// its end. The lost task itself may be gone from the samples by then:
// replaced and killed, as in the 12:47 soak's 13:03:09 dip.
func (c *checker) excused(app string, held map[string]time.Time, t time.Time) bool {
	for _, f := range c.faults {
		if t.Before(f.Start) || t.After(f.End.Add(c.o.FaultGrace)) {
			continue
		}
		if f.Global || (f.App != "" && f.App == app) {
			return true
		}
		// A second of slack: the sample before the fault may be that old.
		if last, ok := held[f.Agent]; f.Agent != "" && ok && !last.Before(f.Start.Add(-time.Second)) {
			return true
		}
	}
	return false
}

// capacity: while an app's live tasks run more than one image (a rolling
// upgrade), at least ceil(minimumHealthCapacity x instances) of them are
// serving, instances being the fewest the app was asked for since the
// rollout began.
func (c *checker) capacity() {
	w := c.windows(RuleCapacity)
	type roll struct{ minN int }
	rolling := map[string]*roll{}
	// held is when each agent was last seen holding a task of each app: a
	// task lost with its agent leaves the samples once replaced, while the
	// rollout it weakened goes on.
	held := map[string]map[string]time.Time{}
	for _, e := range c.h.Events {
		if e.Kind != KindTasks {
			continue
		}
		byApp := map[string][]Task{}
		for _, t := range e.Tasks {
			byApp[t.App] = append(byApp[t.App], t)
			if held[t.App] == nil {
				held[t.App] = map[string]time.Time{}
			}
			held[t.App][t.Agent] = e.At
		}
		commit := c.commitAt(e.At)
		if commit == nil {
			continue
		}
		for _, app := range sortedKeys(commit.Apps) {
			spec := commit.Apps[app]
			images := map[string]bool{}
			serving := 0
			for _, t := range byApp[app] {
				if t.Live {
					images[t.Image] = true
				}
				if t.Serving() {
					serving++
				}
			}
			if len(images) < 2 {
				delete(rolling, app)
				w.good(app)
				continue
			}
			r := rolling[app]
			if r == nil {
				r = &roll{minN: spec.Instances}
				if prev := c.commitAt(e.At.Add(-time.Nanosecond)); prev != nil {
					if p, ok := prev.Apps[app]; ok {
						r.minN = min(r.minN, p.Instances)
					}
				}
				rolling[app] = r
			}
			r.minN = min(r.minN, spec.Instances)
			need := int(math.Ceil(spec.MinimumHealthCapacity*float64(r.minN) - 1e-9))
			c.res.Judged[RuleCapacity]++
			if serving >= need || c.excused(app, held[app], e.At) {
				w.good(app)
				continue
			}
			w.bad(app, e.At, fmt.Sprintf("%s had %d serving tasks during a rolling upgrade, minimumHealthCapacity %.2g of %d needs %d: %s",
				app, serving, spec.MinimumHealthCapacity, r.minN, need, describe(byApp[app])))
		}
	}
	w.close()
}

func describe(tasks []Task) string {
	parts := make([]string, 0, len(tasks))
	for _, t := range tasks {
		s := fmt.Sprintf("%s@%s:%s:%s", t.ID, t.Agent, t.Image, t.State)
		if t.Healthy {
			s += "/healthy"
		}
		if t.Kill {
			s += "(kill)"
		}
		if !t.Live {
			s += "(ended)"
		}
		parts = append(parts, s)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// jobs: every occurrence of a job's schedule from its start to the last
// read of its runs (less epsilon and JobSlack) has exactly one record; a
// SKIPPED record needs a cause the schedule's catch-up rule accepts (the
// leader could not decide within epsilon of the occurrence because a
// control-plane fault overlapped it, or the previous run still ran and the
// job is not concurrent); no run is of an occurrence the schedule does not
// have; manual runs never outnumber the accepted requests.
func (c *checker) jobs() {
	specs := map[string]Job{}
	added := map[string]time.Time{}
	for _, e := range c.commits {
		for name, j := range e.Commit.Jobs {
			if _, ok := added[name]; !ok {
				added[name] = e.At
			}
			specs[name] = j
		}
	}
	runs := map[string]map[string]JobRun{}
	// recordedEnd is the first read that showed a run ended: when its end
	// had reached Berth's records, as opposed to when its container ended.
	recordedEnd := map[string]time.Time{}
	lastRead := map[string]time.Time{}
	requests := map[string]int{}
	maybe := map[string]int{}
	for _, e := range c.h.Events {
		switch e.Kind {
		case KindJobRuns:
			if runs[e.Job] == nil {
				runs[e.Job] = map[string]JobRun{}
			}
			for _, r := range e.Runs {
				runs[e.Job][r.RunID] = r
				if _, ok := recordedEnd[e.Job+" "+r.RunID]; !ok && !r.FinishedAt.IsZero() {
					recordedEnd[e.Job+" "+r.RunID] = e.At
				}
			}
			lastRead[e.Job] = e.At
		case KindManualRun:
			switch {
			case e.Manual.Accepted:
				requests[e.Manual.Job]++
			case e.Manual.Maybe:
				maybe[e.Manual.Job]++
			}
		}
	}
	for _, name := range sortedKeys(specs) {
		spec := specs[name]
		sched, err := schedule.ParseISO(spec.Schedule, "UTC")
		if err != nil {
			c.violate(RuleJobForeign, added[name], added[name], "job %s: its schedule %q does not parse: %v", name, spec.Schedule, err)
			continue
		}
		byOcc := map[time.Time][]JobRun{}
		manual := 0
		var scheduled, all []JobRun
		for _, id := range sortedKeys(runs[name]) {
			r := runs[name][id]
			all = append(all, r)
			switch r.Trigger {
			case "manual":
				manual++
			case "schedule":
				byOcc[r.ScheduledAt.UTC()] = append(byOcc[r.ScheduledAt.UTC()], r)
				scheduled = append(scheduled, r)
			}
		}
		// A request whose answer was lost may or may not have been
		// recorded: it may account for a run, it does not demand one.
		if manual > requests[name]+maybe[name] {
			c.violate(RuleJobManual, added[name], lastRead[name], "job %s: %d manual runs for %d accepted requests and %d whose answer was lost", name, manual, requests[name], maybe[name])
		}
		judgeUntil := lastRead[name].Add(-spec.Epsilon - c.o.JobSlack)
		// Occurrences before the job was pushed are not the soak's: the
		// generator writes starts in the future.
		first, ok := sched.Next(added[name])
		occs := map[time.Time]bool{}
		n := 0
		for o := first; ok && !o.After(lastRead[name]); o, ok = sched.Next(o.Add(time.Nanosecond)) {
			if n++; n > maxOccurrences {
				c.violate(RuleJobMissing, o, lastRead[name], "job %s: more than %d occurrences to judge; the rest are not", name, maxOccurrences)
				break
			}
			occs[o.UTC()] = true
			if o.After(judgeUntil) {
				continue
			}
			c.res.Judged[RuleJobMissing]++
			recs := byOcc[o.UTC()]
			switch {
			case len(recs) == 0:
				c.violate(RuleJobMissing, o, judgeUntil, "job %s: occurrence %s has no run and no SKIPPED record", name, o.UTC().Format(time.RFC3339))
			case len(recs) > 1:
				c.violate(RuleJobTwice, o, o, "job %s: occurrence %s recorded %d times: %s", name, o.UTC().Format(time.RFC3339), len(recs), describeRuns(recs))
			case recs[0].State == "SKIPPED" && !c.skipCaused(spec, recs[0], all, func(r JobRun) time.Time { return recordedEnd[name+" "+r.RunID] }):
				c.violate(RuleJobSkipped, o, o.Add(spec.Epsilon), "job %s: occurrence %s SKIPPED (%q, recorded %s after it) though control-plane faults do not cover the delay past its epsilon %s and no other run of it was unfinished",
					name, o.UTC().Format(time.RFC3339), recs[0].Message, lateness(o, recs[0].FinishedAt), spec.Epsilon)
			}
		}
		for _, r := range scheduled {
			if !occs[r.ScheduledAt.UTC()] && !r.ScheduledAt.After(lastRead[name]) {
				c.violate(RuleJobForeign, r.ScheduledAt, r.ScheduledAt, "job %s: run %s is of %s, not an occurrence of %s", name, r.RunID, r.ScheduledAt.UTC().Format(time.RFC3339), spec.Schedule)
			}
		}
	}
}

// lateness is how long after the occurrence o its record was made.
func lateness(o, recorded time.Time) string {
	if recorded.IsZero() {
		return "an unknown time"
	}
	return recorded.Sub(o).Round(100 * time.Millisecond).String()
}

func describeRuns(runs []JobRun) string {
	parts := make([]string, 0, len(runs))
	for _, r := range runs {
		parts = append(parts, fmt.Sprintf("%s:%s", r.RunID, r.State))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// skipCaused is the catch-up rule seen from outside. Berth records an
// occurrence SKIPPED in the pass that handles it (the record's FinishedAt is
// that pass's time) for one of two reasons:
//   - the pass came more than epsilon after the occurrence, which a healthy
//     control plane never lets happen: a control-plane fault (leader killed
//     or paused, quorum lost, Git stalled) must overlap [occurrence,
//     occurrence + epsilon];
//   - the job is not concurrent and another run of it had not ended when
//     the pass looked: a run recorded before that pass (a scheduled or
//     manual run is recorded when it is asked for, and holds the job from
//     then on, while it waits for a place or a slow container start too) and
//     still unfinished at the occurrence, or whose end had not reached
//     Berth's records by the pass (the first read showing it ended came
//     after the pass), provided the end took no longer to reach them than
//     ReportSlack, or a fault between the end and that read delayed it (a
//     lost quorum holds every status report until it returns).
//
// A run's StartedAt is when its container started, which on a loaded
// machine can be tens of seconds after Berth recorded the run: judging the
// overlap by it, as the checker first did, called legitimate skips
// uncaused.
//
// A late pass is excused only for as long as faults last: the control-plane
// faults (with their grace) must cover every moment from occurrence +
// epsilon to the pass that recorded the skip. A fault overlapping the
// occurrence does not excuse a pass that came 20 minutes later (the 06:00
// soak, whose servers had all stopped for good).
func (c *checker) skipCaused(spec Job, skip JobRun, runs []JobRun, recordedEnd func(JobRun) time.Time) bool {
	o := skip.ScheduledAt
	pass := skip.FinishedAt
	if pass.IsZero() {
		// A record without its pass's time: any control-plane fault
		// overlapping [occurrence, occurrence + epsilon] excuses it.
		pass = o.Add(spec.Epsilon)
		for _, f := range c.faults {
			if f.ControlPlane && !f.Start.After(pass) && !f.End.Add(c.o.FaultGrace).Before(o) {
				return true
			}
		}
	} else if pass.After(o.Add(spec.Epsilon)) && c.controlPlaneDown(o.Add(spec.Epsilon), pass) {
		return true
	}
	// Berth says which reason it skipped for; a record without one may
	// have either.
	if spec.Concurrent || strings.HasPrefix(skip.Message, "missed by more than epsilon") {
		return false
	}
	for _, r := range runs {
		if r.RunID == skip.RunID || r.State == "SKIPPED" || r.ScheduledAt.After(pass) {
			continue
		}
		if r.FinishedAt.IsZero() || r.FinishedAt.After(o) {
			return true
		}
		// Ended before the occurrence, but the leader had not heard yet.
		if known := recordedEnd(r); known.After(pass) && c.reportDelayExcused(r.FinishedAt, known) {
			return true
		}
	}
	return false
}

// reportDelayExcused reports whether a run's end, at ended, may
// legitimately have reached Berth's records only at known: within
// ReportSlack (and the recorder's one-second reads), or with a fault in
// between to hold the report back.
func (c *checker) reportDelayExcused(ended, known time.Time) bool {
	if known.Sub(ended) <= c.o.ReportSlack+time.Second {
		return true
	}
	for _, f := range c.faults {
		if f.Start.Before(known) && f.End.After(ended) {
			return true
		}
	}
	return false
}

// controlPlaneDown reports whether control-plane faults, each with its
// grace, cover all of [from, to] without a gap.
func (c *checker) controlPlaneDown(from, to time.Time) bool {
	t := from
	for {
		reach := t
		for _, f := range c.faults {
			if f.ControlPlane && !f.Start.After(t) && f.End.Add(c.o.FaultGrace).After(reach) {
				reach = f.End.Add(c.o.FaultGrace)
			}
		}
		if !reach.Before(to) {
			return true
		}
		if !reach.After(t) {
			return false
		}
		t = reach
	}
}

// consulIn returns the Consul answers that describe [from, to]: the last
// one before from, and every one within.
func (c *checker) consulIn(from, to time.Time) []*Consul {
	// The first answer after from; the one before it still held at from.
	i := sort.Search(len(c.consul), func(i int) bool { return c.consul[i].At.After(from) })
	var out []*Consul
	if i > 0 {
		out = append(out, c.consul[i-1].Consul)
	}
	for ; i < len(c.consul) && !c.consul[i].At.After(to); i++ {
		out = append(out, c.consul[i].Consul)
	}
	return out
}

// consulSince reports whether some Consul sample was taken at or before t.
func (c *checker) consulSince(t time.Time) bool {
	return len(c.consul) > 0 && !c.consul[0].At.After(t)
}

// routing: every server in nginx's upstream, and every task that answered
// through nginx, was passing in Consul at some time within Propagation
// before; the upstream is never empty while Consul listed a passing
// instance throughout the Propagation before.
func (c *checker) routing() {
	routed := c.windows(RuleRouted)
	empty := c.windows(RuleEmpty)
	addrs := map[string][]string{}
	for _, e := range c.h.Events {
		switch e.Kind {
		case KindTasks:
			for _, t := range e.Tasks {
				if len(t.Addrs) > 0 {
					addrs[t.ID] = t.Addrs
				}
			}
		case KindUpstream:
			u := e.Upstream
			if c.lbDown(e.At) {
				continue
			}
			states := c.consulIn(c.routedSince(e.At), e.At)
			if len(states) == 0 {
				continue
			}
			c.res.Judged[RuleRouted]++
			for _, s := range u.Servers {
				subject := u.Service + " " + s
				if passedIn(states, u.Service, s) || c.unsampledPassing(u.Service, s, e.At) {
					routed.good(subject)
				} else {
					routed.bad(subject, e.At, fmt.Sprintf("the %s upstream sent traffic to %s, which Consul did not list as passing in the %s before", u.Service, s, c.o.Propagation))
				}
			}
			for _, subject := range sortedKeys(routed.open) {
				if strings.HasPrefix(subject, u.Service+" ") && !slices.Contains(u.Servers, strings.TrimPrefix(subject, u.Service+" ")) {
					routed.good(subject)
				}
			}
			// Only a window the Consul samples cover from its start can
			// show instances passing "throughout": right after the
			// recorder started, one sample is not 10 s of them.
			always := c.consulSince(e.At.Add(-c.o.Propagation))
			for _, st := range c.consulIn(e.At.Add(-c.o.Propagation), e.At) {
				if len(st.Passing[u.Service]) == 0 {
					always = false
				}
			}
			if len(u.Servers) == 0 && always {
				empty.bad(u.Service, e.At, fmt.Sprintf("the %s upstream was empty while Consul listed passing instances for all of the %s before", u.Service, c.o.Propagation))
			} else {
				empty.good(u.Service)
			}
		case KindAnswer:
			a := e.Answer
			if c.lbDown(e.At) {
				continue
			}
			if a.Task == "" || len(addrs[a.Task]) == 0 {
				continue
			}
			states := c.consulIn(c.routedSince(e.At), e.At)
			if len(states) == 0 {
				continue
			}
			c.res.Judged[RuleRouted]++
			ok := false
			for _, ad := range addrs[a.Task] {
				ok = ok || passedIn(states, a.Service, ad) || c.unsampledPassing(a.Service, ad, e.At)
			}
			subject := a.Service + " answer " + a.Task
			if ok {
				routed.good(subject)
			} else {
				routed.bad(subject, e.At, fmt.Sprintf("nginx answered from task %s (%v), which Consul did not list as passing for %s in the %s before", a.Task, addrs[a.Task], a.Service, c.o.Propagation))
			}
		}
	}
	routed.close()
	empty.close()
}

// routedSince is how far back an instance nginx routes to at t must have
// been passing: Propagation, or, within SourceHold after a Consul restart,
// Propagation before the restart (the templates hold the list they had).
// Emptiness is still judged against Propagation alone.
func (c *checker) routedSince(t time.Time) time.Time {
	from := t.Add(-c.o.Propagation)
	for _, f := range c.faults {
		if f.Name == FaultConsulRestart && !t.Before(f.Start) && !t.After(f.End.Add(c.o.SourceHold)) {
			from = minTime(from, f.Start.Add(-c.o.Propagation))
		}
	}
	return from
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// unsampledPassing reports whether Consul went unsampled for longer than
// SampleGap in the Propagation before t, and listed addr passing within
// Propagation after t. What Consul said in the gap is unknown (the
// recorder keeps no sample of a failed read, as while Consul restarts),
// and the instance's listing right after says it may have passed in it:
// the 12:20 finding of the 12:09 soak was a new task whose check passed
// 150 ms before Consul was killed, in the one sample that failed.
func (c *checker) unsampledPassing(service, addr string, t time.Time) bool {
	from := t.Add(-c.o.Propagation)
	// The last sample at or before from, then every one up to the first
	// after t: the spans between them cover the window.
	// (Before the first sample is the recorder's start, not a gap.)
	i := sort.Search(len(c.consul), func(i int) bool { return c.consul[i].At.After(from) })
	gap := false
	for j := max(i-1, 0); j+1 < len(c.consul) && !c.consul[j].At.After(t); j++ {
		if c.consul[j+1].At.Sub(c.consul[j].At) > c.o.SampleGap {
			gap = true
			break
		}
	}
	return gap && passedIn(c.consulIn(t, t.Add(c.o.Propagation)), service, addr)
}

// lbDown reports whether what renders the upstream was taken away at t
// (or came back less than FaultGrace before).
func (c *checker) lbDown(t time.Time) bool {
	for _, f := range c.faults {
		if f.LoadBalancer && !t.Before(f.Start) && !t.After(f.End.Add(c.o.FaultGrace)) {
			return true
		}
	}
	return false
}

func passedIn(states []*Consul, service, addr string) bool {
	for _, st := range states {
		if slices.Contains(st.Passing[service], addr) {
			return true
		}
	}
	return false
}

// settle: after the faults stopped, some observation matches the head
// commit exactly (Converged) within ConvergeBound; and the last observation
// shows no running container Berth does not want.
func (c *checker) settle() {
	var stopped time.Time
	var obs []Event
	for _, e := range c.h.Events {
		switch e.Kind {
		case KindFaultsStopped:
			stopped = e.At
		case KindSettle:
			obs = append(obs, e)
		}
	}
	if stopped.IsZero() {
		return
	}
	var lastErr error = errors.New("no observation after the faults stopped")
	last := stopped
	for _, e := range obs {
		commit := c.commitAt(e.At)
		if commit == nil {
			continue
		}
		last = e.At
		if lastErr = Converged(*commit, *e.Settle); lastErr == nil {
			c.res.Converge = e.At.Sub(stopped)
			break
		}
	}
	if lastErr != nil {
		c.violate(RuleConverge, stopped, last, "not converged to the head commit: %v", lastErr)
	} else if c.res.Converge > c.o.ConvergeBound {
		c.violate(RuleConverge, stopped, stopped.Add(c.res.Converge), "converged after %s, more than the bound %s", c.res.Converge, c.o.ConvergeBound)
	}
	if len(obs) == 0 {
		return
	}
	end := obs[len(obs)-1]
	commit := c.commitAt(end.At)
	if commit == nil {
		return
	}
	wanted := map[string]bool{}
	for _, t := range end.Settle.Tasks {
		if _, ok := commit.Apps[t.App]; ok && t.Live {
			wanted[t.ID] = true
		}
	}
	for _, id := range end.Settle.JobTasks {
		wanted[id] = true
	}
	for _, ct := range end.Settle.Containers {
		c.res.Judged[RuleLeftover]++
		if ct.Running && !wanted[ct.Task] {
			c.violate(RuleLeftover, end.At, end.At, "container %s (app %s, task %s) still runs, and Berth wants no such task", ct.ID, ct.App, ct.Task)
		}
	}
}

// Converged reports why obs does not match commit exactly, or nil when it
// does: the leader applied the head; every app of the commit has exactly
// its instances live, serving and of its image; Docker runs exactly their
// containers (and those of job runs still running); Consul lists exactly
// their published ports as passing.
func Converged(commit Commit, obs Observation) error {
	if obs.Error != "" {
		return errors.New(obs.Error)
	}
	if obs.Head != commit.Hash || obs.Applied != obs.Head {
		return fmt.Errorf("applied %.8s, head %.8s", obs.Applied, commit.Hash)
	}
	live := map[string]bool{}
	byApp := map[string][]Task{}
	for _, t := range obs.Tasks {
		if t.Live {
			byApp[t.App] = append(byApp[t.App], t)
			live[t.ID] = true
		}
	}
	for app := range byApp {
		if _, ok := commit.Apps[app]; !ok {
			return fmt.Errorf("app %s is not in the commit but has live tasks %s", app, describe(byApp[app]))
		}
	}
	for _, app := range sortedKeys(commit.Apps) {
		spec := commit.Apps[app]
		tasks := byApp[app]
		serving := 0
		for _, t := range tasks {
			if t.Serving() && t.Image == spec.Image {
				serving++
			}
		}
		if len(tasks) != spec.Instances || serving != spec.Instances {
			return fmt.Errorf("app %s: %d live, %d serving with %s, want %d: %s", app, len(tasks), serving, spec.Image, spec.Instances, describe(tasks))
		}
		if spec.Service == "" {
			continue
		}
		var want []string
		for _, t := range tasks {
			want = append(want, t.Addrs...)
		}
		have := slices.Clone(obs.Consul.Passing[spec.Service])
		slices.Sort(want)
		slices.Sort(have)
		if !slices.Equal(have, want) {
			return fmt.Errorf("consul lists %v passing for %s, want %v", have, spec.Service, want)
		}
	}
	jobTasks := map[string]bool{}
	for _, id := range obs.JobTasks {
		jobTasks[id] = true
	}
	running := map[string]bool{}
	for _, ct := range obs.Containers {
		if !ct.Running {
			continue
		}
		running[ct.Task] = true
		if !live[ct.Task] && !jobTasks[ct.Task] {
			return fmt.Errorf("container %s of %s runs task %s, which is not a live task", ct.ID, ct.App, ct.Task)
		}
	}
	for id := range live {
		if !running[id] {
			return fmt.Errorf("live task %s has no running container", id)
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// leaders: some server says it leads, except for runs of samples without a
// leader no longer than LeaderBound. Time while ZooKeeper's quorum is lost
// (a Global fault), and LeaderBound after it, does not count: no election
// can end then. A server that stays down, or a leader that never settles,
// shows here even when the rest of the history looks quiet (nothing is
// decided, so nothing breaks).
func (c *checker) leaders() {
	var from, last time.Time
	open := false
	for _, e := range c.h.Events {
		if e.Kind != KindMembers {
			continue
		}
		c.res.Judged[RuleNoLeader]++
		if e.Members.Leader == "" {
			if !open {
				open, from = true, e.At
			}
			last = e.At
			continue
		}
		if open {
			c.leaderGap(from, e.At)
			open = false
		}
	}
	if open {
		c.leaderGap(from, last)
	}
}

// leaderGap judges [from, to] without a leader: its longest stretch not
// covered by a quorum loss (and LeaderBound after it) must not exceed
// LeaderBound.
func (c *checker) leaderGap(from, to time.Time) {
	type span struct{ from, to time.Time }
	var excused []span
	for _, f := range c.faults {
		end := f.End.Add(c.o.LeaderBound)
		if f.Global && f.Start.Before(to) && end.After(from) {
			excused = append(excused, span{f.Start, end})
		}
	}
	sort.Slice(excused, func(i, j int) bool { return excused[i].from.Before(excused[j].from) })
	longest, t := time.Duration(0), from
	for _, x := range excused {
		if x.from.After(t) {
			longest = max(longest, x.from.Sub(t))
		}
		if x.to.After(t) {
			t = x.to
		}
	}
	if to.After(t) {
		longest = max(longest, to.Sub(t))
	}
	if longest > c.o.LeaderBound {
		c.violate(RuleNoLeader, from, to, "no server said it leads for %s (%s of it not explained by a loss of ZooKeeper's quorum; bound %s)",
			to.Sub(from).Round(100*time.Millisecond), longest.Round(100*time.Millisecond), c.o.LeaderBound)
	}
}

// processes: every server and agent process runs, except from the start
// of a fault that took it to RestartGrace after the fault ended. A process
// that exits on its own, or does not stay up after its restart, is a
// finding even when the cluster carries on without it.
func (c *checker) processes() {
	w := c.windows(RuleDown)
	for _, e := range c.h.Events {
		if e.Kind != KindMembers {
			continue
		}
		c.res.Judged[RuleDown]++
		down := map[string]bool{}
		for _, p := range e.Members.Down {
			down[p] = true
			if c.tookDown(p, e.At) {
				w.good(p)
				continue
			}
			w.bad(p, e.At, fmt.Sprintf("%s is not running, and no fault took it", p))
		}
		for _, p := range sortedKeys(w.open) {
			if !down[p] {
				w.good(p)
			}
		}
	}
	w.close()
}

// tookDown reports whether a fault on process p explains it being down
// at t.
func (c *checker) tookDown(p string, t time.Time) bool {
	for _, f := range c.faults {
		if (f.Target == p || f.Agent == p) && !t.Before(f.Start) && !t.After(f.End.Add(c.o.RestartGrace)) {
			return true
		}
	}
	return false
}
