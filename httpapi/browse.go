package httpapi

// What the web UI (package ui) needs beyond the CLI's reads: paging and
// server-side filters, so that no answer grows with the cluster (150,000
// tasks), and a few joins the browser cannot make cheaply itself. Every
// parameter is optional; without any, each endpoint answers as before.

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/reconciler"
	"github.com/berthops/berth/reconciler/decide"
	"github.com/berthops/berth/schedule"
	"github.com/berthops/berth/taskindex"
)

// maxPageLimit bounds ?limit=: 500 tasks make about 360 kB of JSON, well
// under the 1 MB a page may weigh.
const maxPageLimit = 500

// page cuts a page out of an in-memory list: ?limit= (default
// defaultPageLimit) items from ?cursor= (a cursor X-Next-Cursor gave) or
// ?offset=. The full count goes in X-Total-Count, and the next page's
// cursor and link when there is one. A bad value answers 400.
func page[T any](w http.ResponseWriter, req *http.Request, list []T) ([]T, bool) {
	q := req.URL.Query()
	limit, offset, err := limitOffset(q)
	if err == nil && q.Get("cursor") != "" {
		offset, err = decodeOffsetCursor(q.Get("cursor"))
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return nil, false
	}
	w.Header().Set("X-Total-Count", strconv.Itoa(len(list)))
	offset = min(offset, len(list))
	end := min(len(list), offset+limit)
	if end < len(list) {
		setNext(w, req, encodeOffsetCursor(end))
	}
	return list[offset:end], true
}

// An in-memory list's cursor is its next offset, opaque to clients.
const offsetCursorPrefix = "o1:"

func encodeOffsetCursor(n int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(offsetCursorPrefix + strconv.Itoa(n)))
}

func decodeOffsetCursor(c string) (int, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	rest, ok := strings.CutPrefix(string(b), offsetCursorPrefix)
	n, err2 := strconv.Atoi(rest)
	if err != nil || !ok || err2 != nil || n < 0 {
		return 0, fmt.Errorf("?cursor=%q: not a cursor of this list (pass back X-Next-Cursor as given)", c)
	}
	return n, nil
}

// matches is the ?q= filter: a case-insensitive substring.
func matches(s, q string) bool {
	return q == "" || strings.Contains(strings.ToLower(s), strings.ToLower(q))
}

// AppRow is an app in GET /v1/apps: its status, the queue its manifest
// names and, with ?counts=1, its tasks of any version by state.
type AppRow struct {
	reconciler.AppStatus
	Queue string `json:"queue,omitempty"`
	// Running counts tasks reported RUNNING; Staged those assigned but not
	// yet running (STAGING, STARTING). Only with ?counts=1.
	Running *int `json:"running,omitempty"`
	Staged  *int `json:"staged,omitempty"`
}

// appRows filters the apps by ?q= (id), ?sync=, ?health= and ?queue=, and
// joins their queue and, with ?counts=1, their task counts.
func (a *api) appRows(w http.ResponseWriter, req *http.Request, apps []reconciler.AppStatus) ([]AppRow, bool) {
	q := req.URL.Query()
	set, _ := a.r.Desired()
	rows := make([]AppRow, 0, len(apps))
	for _, s := range apps {
		row := AppRow{AppStatus: s}
		if set != nil {
			if m := set.App(s.ID); m != nil {
				row.Queue = m.Queue
			}
		}
		if !matches(s.ID, q.Get("q")) || (q.Get("sync") != "" && string(s.Sync) != q.Get("sync")) ||
			(q.Get("health") != "" && string(s.Health) != q.Get("health")) || (q.Has("queue") && row.Queue != q.Get("queue")) {
			continue
		}
		rows = append(rows, row)
	}
	if q.Get("counts") != "1" {
		return rows, true
	}
	var by map[string]taskindex.Counts
	if a.o.Index.Ready() {
		by = a.o.Index.OwnerCounts() // as of the latest pass: no task read
	} else {
		tasks, ok := readStore(w, req, "tasks", a.state.Tasks)
		if !ok {
			return nil, false
		}
		by = map[string]taskindex.Counts{}
		for _, t := range tasks {
			if t.Owner != cluster.OwnerApp || t.Kill {
				continue
			}
			c := by[t.OwnerID]
			switch t.Status.State {
			case cluster.TaskRunning:
				c.Running++
			case "", cluster.TaskStaging, cluster.TaskStarting:
				c.Staged++
			}
			by[t.OwnerID] = c
		}
	}
	for i := range rows {
		c := by[rows[i].ID]
		rows[i].Running, rows[i].Staged = &c.Running, &c.Staged
	}
	return rows, true
}

// AgentRow is an agent in GET /v1/agents?usage=1: what its live tasks
// reserve of its resources.
type AgentRow struct {
	cluster.Agent
	// Used and Tasks are only set with ?usage=1.
	Used  *cluster.Resources `json:"used,omitempty"`
	Tasks *int               `json:"tasks,omitempty"`
}

// agentRows filters agents by ?q= (id, hostname or address) and, with
// ?usage=1, joins what their live tasks use.
func (a *api) agentRows(w http.ResponseWriter, req *http.Request, agents []cluster.Agent) ([]AgentRow, bool) {
	q := req.URL.Query()
	rows := make([]AgentRow, 0, len(agents))
	for _, ag := range agents {
		if matches(ag.ID+" "+ag.Hostname+" "+ag.Address, q.Get("q")) {
			rows = append(rows, AgentRow{Agent: ag})
		}
	}
	if q.Get("usage") != "1" {
		return rows, true
	}
	var usage map[string]taskindex.Usage
	switch {
	case a.o.Index.Ready():
		usage = a.o.Index.AgentUsage() // as of the latest pass: no task read
	case a.o.Forward != nil && a.o.Forward(w, req):
		return nil, false // the leader, which has the index, answered
	default:
		snap, ok := a.snapshot()
		parts := snap.TaskParts // the cache's, read in place
		if !ok {
			tasks, ok := readStore(w, req, "tasks", a.state.Tasks)
			if !ok {
				return nil, false
			}
			parts = [][]cluster.Task{tasks}
		}
		usage = map[string]taskindex.Usage{}
		for _, part := range parts {
			for i := range part {
				t := &part[i]
				if t.Kill || t.Status.State.Terminal() {
					continue
				}
				u, r := usage[t.AgentID], t.Spec.Resources
				u.Used = cluster.Resources{CPUs: u.Used.CPUs + r.CPUs, Mem: u.Used.Mem + r.Mem, Disk: u.Used.Disk + r.Disk}
				u.Tasks++
				usage[t.AgentID] = u
			}
		}
	}
	for i := range rows {
		u := usage[rows[i].ID]
		rows[i].Used, rows[i].Tasks = &u.Used, &u.Tasks
	}
	return rows, true
}

// JobRow is a job in GET /v1/jobs?next=N: its outcome and its next N
// occurrences.
type JobRow struct {
	decide.JobOutcome
	NextRuns []time.Time `json:"nextRuns,omitempty"`
}

// jobRows filters the jobs by ?q= (name contains) and ?family=NAME (the
// job, and every job linked to it through parents, either way), and adds
// ?next=N (at most 20) upcoming occurrences to each.
func (a *api) jobRows(w http.ResponseWriter, req *http.Request, jobs []decide.JobOutcome) ([]JobRow, bool) {
	q := req.URL.Query()
	if name := q.Get("family"); name != "" {
		jobs = family(jobs, name)
	}
	if s := q.Get("q"); s != "" {
		kept := make([]decide.JobOutcome, 0, len(jobs))
		for _, j := range jobs {
			if matches(j.Name, s) {
				kept = append(kept, j)
			}
		}
		jobs = kept
	}
	n := 0
	if s := req.URL.Query().Get("next"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 0 || n > 20 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("?next=%q: want a whole number from 0 to 20", s))
			return nil, false
		}
	}
	set, _ := a.r.Desired()
	var schedules map[string]schedule.Schedule
	if n > 0 && set != nil {
		schedules = decide.JobSchedules(set)
	}
	rows := make([]JobRow, len(jobs))
	for i, j := range jobs {
		rows[i] = JobRow{JobOutcome: j}
	}
	rows, ok := page(w, req, rows)
	if !ok {
		return nil, false
	}
	for i, j := range rows { // only the page's: NextN walks the schedule
		if s, ok := schedules[j.Name]; ok && !j.Next.IsZero() && !j.Disabled {
			rows[i].NextRuns = s.NextN(j.Next, n)
		}
	}
	return rows, true
}

// family is the jobs connected to name through parents, either way: the
// part of the dependency graph a job's page draws.
func family(jobs []decide.JobOutcome, name string) []decide.JobOutcome {
	children := map[string][]string{}
	byName := map[string]decide.JobOutcome{}
	for _, j := range jobs {
		byName[j.Name] = j
		for _, p := range j.Parents {
			children[p] = append(children[p], j.Name)
		}
	}
	if _, ok := byName[name]; !ok {
		return []decide.JobOutcome{}
	}
	seen := map[string]bool{name: true}
	for todo := []string{name}; len(todo) > 0; {
		n := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		for _, m := range append(append([]string(nil), byName[n].Parents...), children[n]...) {
			if _, declared := byName[m]; declared && !seen[m] {
				seen[m] = true
				todo = append(todo, m)
			}
		}
	}
	out := make([]decide.JobOutcome, 0, len(seen))
	for _, j := range jobs {
		if seen[j.Name] {
			out = append(out, j)
		}
	}
	return out
}

// StatusSummary is GET /v1/sync?summary=1 and the events of
// GET /v1/events?summary=1: the status without the per-app and per-job
// lists, which grow with the cluster, but with their counts.
type StatusSummary struct {
	reconciler.Status
	AppCount     int            `json:"appCount"`
	AppsBySync   map[string]int `json:"appsBySync"`
	AppsByHealth map[string]int `json:"appsByHealth"`
	JobCount     int            `json:"jobCount"`
	// JobsFailing are the jobs whose last run failed.
	JobsFailing []string `json:"jobsFailing"`
}

// summarize returns st as JSON-ready: unchanged, or its summary when the
// request asks for one.
func summarize(req *http.Request, st reconciler.Status) any {
	if req.URL.Query().Get("summary") != "1" {
		return st
	}
	s := StatusSummary{AppCount: len(st.Apps), AppsBySync: map[string]int{}, AppsByHealth: map[string]int{},
		JobCount: len(st.Jobs), JobsFailing: []string{}}
	for _, a := range st.Apps {
		s.AppsBySync[string(a.Sync)]++
		s.AppsByHealth[string(a.Health)]++
	}
	for _, j := range st.Jobs {
		if j.LastState == "FAILED" {
			s.JobsFailing = append(s.JobsFailing, j.Name)
		}
	}
	st.Apps, st.Jobs = nil, nil
	s.Status = st
	return s
}

// templates is GET /v1/templates: the templates the leader published for
// agents, with the file and line that declare them. Agents do not report
// their renders to the cluster state, so there is no render outcome here.
func (a *api) templates(w http.ResponseWriter, req *http.Request) {
	list, ok := readStore(w, req, "templates", a.state.Templates)
	if !ok {
		return
	}
	type tmpl struct {
		manifests.Template
		Origin manifests.Origin `json:"origin"`
	}
	out := make([]tmpl, 0, len(list))
	for _, p := range list {
		out = append(out, tmpl{Template: p.Template, Origin: p.Origin})
	}
	writeJSON(w, http.StatusOK, out)
}

// maxManifestFile bounds what GET /v1/manifest returns of a file.
const maxManifestFile = 256 << 10

// manifest is GET /v1/manifest?app=ID (or ?job=NAME, ?template=ID): the
// file that declares the object, as committed in the commit the cluster
// follows, with the line the object starts at.
func (a *api) manifest(w http.ResponseWriter, req *http.Request) {
	set, commit := a.r.Desired()
	if set == nil {
		writeError(w, http.StatusNotFound, "no commit loaded yet")
		return
	}
	q := req.URL.Query()
	var origin manifests.Origin
	var what string
	switch {
	case q.Get("app") != "":
		what = "app " + q.Get("app")
		if m := set.App(q.Get("app")); m != nil {
			origin = m.Origin
		}
	case q.Get("job") != "":
		what = "job " + q.Get("job")
		if m := set.Job(q.Get("job")); m != nil {
			origin = m.Origin
		}
	case q.Get("template") != "":
		what = "template " + q.Get("template")
		if m := set.Template(q.Get("template")); m != nil {
			origin = m.Origin
		}
	default:
		writeError(w, http.StatusBadRequest, "give ?app=ID, ?job=NAME or ?template=ID")
		return
	}
	if origin.File == "" {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no %s in the desired state (commit %s)", what, shortCommit(commit)))
		return
	}
	// Origins are named from the repository's root (reconciler.LoadCommit).
	b, err := a.r.ReadFile(commit, origin.File)
	if err != nil {
		writeError(w, http.StatusBadGateway, err.Error())
		return
	}
	truncated := len(b) > maxManifestFile
	if truncated {
		b = b[:maxManifestFile]
	}
	writeJSON(w, http.StatusOK, map[string]any{"commit": commit, "file": origin.File,
		"line": origin.Line, "source": string(b), "truncated": truncated})
}

// TemplateRender is a template as the agent (or berth up) that renders it
// last handled it.
type TemplateRender = cluster.TemplateRender

// renders is GET /v1/renders: what this process's own template runner
// reports (berth up). Agents of a cluster do not report their renders to
// the cluster state yet, so a server answers 404 saying so.
func (a *api) renders(w http.ResponseWriter, req *http.Request) {
	// What every agent with --templates (and berth up) reports.
	out, ok := readStore(w, req, "template renders", a.state.Renders)
	if !ok {
		return
	}
	if out == nil {
		out = []TemplateRender{}
	}
	writeJSON(w, http.StatusOK, out)
}

func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}
