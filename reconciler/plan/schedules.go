package plan

import (
	"errors"
	"fmt"
	"html"
	"strings"
	"time"

	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/schedule"
)

// DefaultNextRuns is how many runs a schedule preview lists per side.
const DefaultNextRuns = 5

// maxNextRuns bounds --next-runs: the preview is for reading.
const maxNextRuns = 100

// maxCatchUpListed bounds the catch-up occurrences listed in a preview.
const maxCatchUpListed = 10

// SchedulePreview is when a created or rescheduled job runs before and after
// the change, seen from one moment, with what a reviewer would likely miss.
type SchedulePreview struct {
	// From is the moment the runs are listed from (RFC 3339, UTC).
	From string `json:"from"`
	// Before is the schedule in the base; absent for a created job.
	Before *ScheduleRuns `json:"before,omitempty"`
	After  *ScheduleRuns `json:"after"`
	// Warnings are about the head's schedule.
	Warnings []ScheduleWarning `json:"warnings,omitempty"`
	// CatchUp is what the scheduler would start at once if the head were
	// deployed at From; absent for a job that runs after its parents.
	CatchUp *CatchUp `json:"catchUp,omitempty"`
}

// ScheduleRuns is one side's schedule and its next runs.
type ScheduleRuns struct {
	Schedule string `json:"schedule,omitempty"`
	Cron     string `json:"cron,omitempty"`
	// TimeZone is the zone the runs are computed in: the IANA name
	// scheduleTimeZone resolves to, or the value as written for an offset.
	TimeZone string `json:"timeZone,omitempty"`
	// Parents is set for a dependent job, which has no times of its own.
	Parents []string `json:"parents,omitempty"`
	Next    []Run    `json:"next,omitempty"`
	// Ended is true when fewer runs are left than were asked for.
	Ended bool `json:"ended,omitempty"`
	// Error is set when the schedule does not parse (only possible for a
	// base read without validation).
	Error string `json:"error,omitempty"`
}

// Run is one occurrence in the job's zone and in UTC.
type Run struct {
	Local string `json:"local"` // RFC 3339 with the zone's offset
	Zone  string `json:"zone"`  // the zone's abbreviation then: PST, CEST, UTC
	UTC   string `json:"utc"`
}

// ScheduleWarning is one surprise in a schedule (schedule.WarningKind).
type ScheduleWarning struct {
	Kind    string `json:"kind"`
	At      *Run   `json:"at,omitempty"`
	Message string `json:"message"`
}

// CatchUp counts the runs a deploy would start at once.
type CatchUp struct {
	// Runs is how many runs start at deploy: at most one without epsilon.
	Runs int `json:"runs"`
	// For are the occurrences those runs stand for (the first ten).
	For []Run `json:"for,omitempty"`
	// Skipped counts occurrences passed over: collapsed into the catch-up
	// run, or missed by more than epsilon.
	Skipped int64 `json:"skipped"`
	// Assumes says what the count assumes about the job's history.
	Assumes string `json:"assumes"`
}

// PreviewOptions says where schedule previews are seen from.
type PreviewOptions struct {
	// Now is the moment runs are listed from and the deploy is assumed
	// at. The caller chooses it (berth diff: the clock, or --now), so the
	// planner stays a function of its inputs.
	Now time.Time
	// NextRuns is how many runs to list per side; DefaultNextRuns when 0.
	NextRuns int
}

// scheduleFields are the fields whose change earns a job a preview.
var scheduleFields = map[string]bool{"schedule": true, "scheduleTimeZone": true, "cron": true, "parents": true, "epsilon": true, "disabled": true}

// AddSchedulePreviews attaches a SchedulePreview to every change that
// creates a job or changes its schedule, time zone, cron, parents, epsilon
// or disabled. desired is the head's set and applied the base's, as given to
// Compute. Missing parents and dependency cycles are not looked for here:
// validation refuses such a set before it is planned.
func AddSchedulePreviews(p *Plan, desired, applied *manifests.Set, opts PreviewOptions) {
	if p == nil || desired == nil {
		return
	}
	n := opts.NextRuns
	if n <= 0 {
		n = DefaultNextRuns
	}
	n = min(n, maxNextRuns)
	jobs := func(s *manifests.Set) map[string]*manifests.Job {
		out := map[string]*manifests.Job{}
		if s != nil {
			for i := range s.Jobs {
				out[s.Jobs[i].Name] = &s.Jobs[i]
			}
		}
		return out
	}
	want, have := jobs(desired), jobs(applied)
	for i := range p.Changes {
		c := &p.Changes[i]
		if c.Kind != manifests.KindJob || (c.Action != ActionCreate && c.Action != ActionUpdate) {
			continue
		}
		if c.Action == ActionUpdate && !touchesSchedule(c.Fields) {
			continue
		}
		w := want[c.ID]
		if w == nil {
			continue
		}
		var h *manifests.Job
		if c.Action == ActionUpdate {
			h = have[c.ID]
		}
		if !scheduled(w) && (h == nil || !scheduled(h)) {
			continue // runs after its parents on both sides: no times to show
		}
		c.SchedulePreview = previewJob(h, w, opts.Now, n)
	}
}

func scheduled(j *manifests.Job) bool { return j.Schedule != "" || j.Cron != "" }

func touchesSchedule(fields []FieldChange) bool {
	for _, f := range fields {
		if scheduleFields[topField(f.Path)] {
			return true
		}
	}
	return false
}

func previewJob(before, after *manifests.Job, now time.Time, n int) *SchedulePreview {
	pv := &SchedulePreview{From: now.UTC().Format(time.RFC3339)}
	var old schedule.Schedule
	oldOK := false
	if before != nil {
		pv.Before, old, oldOK = runsOf(before, now, n)
	}
	var cur schedule.Schedule
	var ok bool
	pv.After, cur, ok = runsOf(after, now, n)
	if !ok {
		return pv
	}
	for _, w := range cur.Preview(now, 1).Warnings {
		sw := ScheduleWarning{Kind: string(w.Kind), Message: w.Message}
		if !w.At.IsZero() {
			r := runOf(w.At.In(cur.Location()))
			sw.At = &r
		}
		pv.Warnings = append(pv.Warnings, sw)
	}
	var eps time.Duration
	if after.Epsilon != "" {
		// Validated at load; an unreadable one counts as none, as the
		// scheduler would treat it.
		eps, _ = schedule.ParseDuration(after.Epsilon)
	}
	// The scheduler keeps a job's last handled occurrence across schedule
	// changes, so pending runs are counted from where the old schedule left
	// off; a new job has handled nothing, and a cron job starts owing
	// nothing.
	var last time.Time
	cu := &CatchUp{}
	if after.Disabled {
		cu.Assumes = "the job is disabled: the scheduler starts nothing until it is enabled"
		pv.CatchUp = cu
		return pv
	}
	switch l, found := old.Last(now); {
	case before != nil && before.Disabled && after.Cron == "":
		// While disabled the job handled nothing; when it stopped is not
		// in the commits, so it is counted as never having run.
		cu.Assumes = "the job was disabled and its last run is unknown: counted as if it had never run, an upper bound"
	case oldOK && found:
		last = l
		cu.Assumes = "the job ran on its old schedule until now (last at " + l.UTC().Format(time.RFC3339) + ")"
	case after.Cron != "":
		last = now
		cu.Assumes = "a cron job owes nothing for times before it is deployed"
	case before != nil:
		cu.Assumes = "the job has no earlier scheduled run: every occurrence since the start counts as missed"
	default:
		cu.Assumes = "a new job: every occurrence since its start counts as missed"
	}
	if eps > 0 {
		cu.Assumes += "; epsilon " + after.Epsilon
	}
	d := cur.CatchUp(last, now, eps)
	cu.Runs, cu.Skipped = d.RunCount, d.Skipped
	for _, r := range d.Runs[:min(len(d.Runs), maxCatchUpListed)] {
		cu.For = append(cu.For, runOf(r.In(cur.Location())))
	}
	pv.CatchUp = cu
	return pv
}

// runsOf lists a job's next runs; ok is false for a dependent job or a
// schedule that does not parse.
func runsOf(j *manifests.Job, now time.Time, n int) (*ScheduleRuns, schedule.Schedule, bool) {
	r := &ScheduleRuns{Schedule: j.Schedule, Cron: j.Cron}
	s, err := schedule.Parse(j.Schedule, j.Cron, j.ScheduleTimeZone)
	switch {
	case errors.Is(err, schedule.ErrNoSchedule):
		r.Parents = j.Parents
		return r, s, false
	case err != nil:
		r.Error = err.Error()
		return r, s, false
	}
	r.TimeZone = s.Location().String()
	if r.TimeZone == "" {
		// A start's own offset, with no zone named.
		r.TimeZone = now.In(s.Location()).Format("-07:00")
	}
	p := s.Preview(now, n)
	for _, t := range p.Next {
		r.Next = append(r.Next, runOf(t.In(s.Location())))
	}
	r.Ended = p.Ended
	return r, s, true
}

func runOf(t time.Time) Run {
	zone, _ := t.Zone()
	if zone == "" {
		zone = t.Format("-07:00")
	}
	return Run{Local: t.Format(time.RFC3339Nano), Zone: zone, UTC: t.UTC().Format(time.RFC3339Nano)}
}

// warningTitle names a warning kind for people.
func warningTitle(kind string) string {
	switch schedule.WarningKind(kind) {
	case schedule.WarnDSTGap:
		return "DST gap"
	case schedule.WarnDSTOverlap:
		return "DST overlap"
	case schedule.WarnDSTShift:
		return "DST shift"
	case schedule.WarnShortMonth:
		return "short month"
	case schedule.WarnExhausted:
		return "never runs"
	}
	return kind
}

// catchUpLine says what a deploy would start at once.
func catchUpLine(c *CatchUp) string {
	var b strings.Builder
	switch c.Runs {
	case 0:
		b.WriteString("nothing is due at deploy")
	case 1:
		fmt.Fprintf(&b, "1 run starts at deploy (for %s)", runString(c.For[0]))
	default:
		fmt.Fprintf(&b, "%d runs start at deploy (for %s ... %s)", c.Runs, runString(c.For[0]), runString(c.For[len(c.For)-1]))
	}
	switch {
	case c.Skipped == 1:
		b.WriteString("; 1 earlier occurrence is passed over")
	case c.Skipped > 1:
		fmt.Fprintf(&b, "; %d earlier occurrences are passed over", c.Skipped)
	}
	return b.String() + " — assuming " + c.Assumes
}

// runString prints a run as "2026-03-08 03:30 PDT (10:30 UTC)".
func runString(r Run) string {
	local, err := time.Parse(time.RFC3339Nano, r.Local)
	if err != nil {
		return r.Local
	}
	s := local.Format("2006-01-02 15:04") + " " + r.Zone
	if r.Zone == "UTC" {
		return s
	}
	u := local.UTC()
	if u.Format("2006-01-02") == local.Format("2006-01-02") {
		return s + " (" + u.Format("15:04") + " UTC)"
	}
	return s + " (" + u.Format("2006-01-02 15:04") + " UTC)"
}

// runsTitle names one side's schedule: its expression and zone.
func runsTitle(r *ScheduleRuns) string {
	switch {
	case r.Error != "":
		return "invalid: " + r.Error
	case r.Schedule == "" && r.Cron == "":
		return "runs after its parents " + strings.Join(r.Parents, ", ")
	}
	expr := r.Schedule
	if expr == "" {
		expr = "cron " + r.Cron
	}
	return expr + " in " + r.TimeZone
}

// writeScheduleText adds a change's schedule preview to the text form.
func writeScheduleText(b *strings.Builder, pv *SchedulePreview, paint func(code, s string) string) {
	if pv == nil {
		return
	}
	fmt.Fprintf(b, "    schedule preview from %s:\n", pv.From)
	side := func(name string, r *ScheduleRuns) {
		if r == nil {
			return
		}
		fmt.Fprintf(b, "      %s: %s\n", name, runsTitle(r))
		for _, run := range r.Next {
			fmt.Fprintf(b, "        %s\n", runString(run))
		}
		switch {
		case !r.Ended || r.Error != "" || len(r.Parents) > 0:
		case len(r.Next) == 0:
			b.WriteString("        (no runs left)\n")
		default:
			b.WriteString("        (no more runs)\n")
		}
	}
	side("before", pv.Before)
	side("after", pv.After)
	for _, w := range pv.Warnings {
		fmt.Fprintf(b, "      %s\n", paint(ansiRed, "warning: "+warningTitle(w.Kind)+": "+w.Message))
	}
	if pv.CatchUp != nil {
		fmt.Fprintf(b, "      catch-up: %s\n", catchUpLine(pv.CatchUp))
	}
}

// writeScheduleMarkdown adds a change's schedule preview to its section: the
// runs side by side, in the job's zone and in UTC, then the warnings.
func writeScheduleMarkdown(b *strings.Builder, pv *SchedulePreview) {
	if pv == nil {
		return
	}
	fmt.Fprintf(b, "\n**Schedule preview** (next runs from %s)\n\n", html.EscapeString(pv.From))
	sides := []*ScheduleRuns{}
	names := []string{}
	if pv.Before != nil {
		sides, names = append(sides, pv.Before), append(names, "before")
	}
	sides, names = append(sides, pv.After), append(names, "after")
	for i, r := range sides {
		left := ""
		if r.Ended && len(r.Next) == 0 && r.Error == "" {
			left = ": no runs left"
		}
		fmt.Fprintf(b, "- %s: %s%s\n", names[i], code(clip(runsTitle(r))), left)
	}
	rows := 0
	for _, r := range sides {
		rows = max(rows, len(r.Next))
	}
	if rows > 0 {
		b.WriteString("\n| # |")
		sep := "|---:|"
		for i, r := range sides {
			fmt.Fprintf(b, " %s (%s) |", names[i], html.EscapeString(r.TimeZone))
			sep += "---|"
			if r.TimeZone != "UTC" {
				fmt.Fprintf(b, " %s (UTC) |", names[i])
				sep += "---|"
			}
		}
		b.WriteString("\n" + sep + "\n")
		for k := range rows {
			fmt.Fprintf(b, "| %d |", k+1)
			for _, r := range sides {
				cell, utc := "", ""
				switch {
				case k < len(r.Next):
					cell, utc = localCell(r.Next[k]), utcCell(r.Next[k])
				case k == len(r.Next) && r.Ended && len(r.Next) > 0:
					cell = "_no more runs_"
				}
				fmt.Fprintf(b, " %s |", cell)
				if r.TimeZone != "UTC" {
					fmt.Fprintf(b, " %s |", utc)
				}
			}
			b.WriteString("\n")
		}
	}
	b.WriteString("\n")
	for _, w := range pv.Warnings {
		fmt.Fprintf(b, "- :warning: **%s**: %s\n", warningTitle(w.Kind), html.EscapeString(w.Message))
	}
	if pv.CatchUp != nil {
		fmt.Fprintf(b, "- **catch-up at deploy**: %s\n", html.EscapeString(catchUpLine(pv.CatchUp)))
	}
}

func localCell(r Run) string {
	t, err := time.Parse(time.RFC3339Nano, r.Local)
	if err != nil {
		return html.EscapeString(r.Local)
	}
	return t.Format("Mon 2006-01-02 15:04") + " " + html.EscapeString(r.Zone)
}

func utcCell(r Run) string {
	t, err := time.Parse(time.RFC3339Nano, r.UTC)
	if err != nil {
		return html.EscapeString(r.UTC)
	}
	return t.Format("2006-01-02 15:04")
}

// scheduleWarningsMarkdown lists every schedule warning of the plan under the
// summary, where a reviewer sees them without opening a section.
func scheduleWarningsMarkdown(p *Plan) string {
	var b strings.Builder
	n := 0
	for _, c := range p.Changes {
		if c.SchedulePreview == nil {
			continue
		}
		for _, w := range c.SchedulePreview.Warnings {
			if n == 20 {
				b.WriteString("- and more: see each job below\n")
				return b.String()
			}
			if n == 0 {
				b.WriteString("\n**Schedule warnings**\n\n")
			}
			fmt.Fprintf(&b, "- :warning: job %s: **%s**: %s\n", code(clip(c.ID)), warningTitle(w.Kind), html.EscapeString(clip(w.Message)))
			n++
		}
	}
	return b.String()
}
