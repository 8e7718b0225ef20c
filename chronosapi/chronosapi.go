// Package chronosapi serves a read-only Chronos API (GET /scheduler/jobs,
// /scheduler/job/{name}, /scheduler/jobs/search, /scheduler/graph/csv, also
// under Chronos 3's /v1 prefix) over Berth's Job manifests and the job
// records in the cluster state, so Chronos users' scripts keep reading.
// Every write is refused with a message saying the cluster follows Git. It
// reads through the small Cluster interface, never the reconciler.
package chronosapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berthops/berth/apiauth"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
)

// Cluster is what the API reads: the desired jobs (the leader's) and their
// records (the cluster state's).
type Cluster interface {
	Desired() (*manifests.Set, string)
	JobStates(ctx context.Context) (map[string]cluster.JobState, error)
	// JobRuns is a job's history, oldest first.
	JobRuns(ctx context.Context, job string) ([]cluster.JobRun, error)
}

// Options configure the API; see marathonapi.Options for their meaning.
type Options struct {
	Repo, Branch string
	Token        string
	ProtectReads bool
	Forward      func(w http.ResponseWriter, r *http.Request) bool
	Logger       *slog.Logger
}

const readTimeout = 10 * time.Second

// Routes returns the endpoints as pattern -> handler.
func Routes(c Cluster, o Options) map[string]http.Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	a := &api{c: c, o: o}
	routes := map[string]http.Handler{}
	for _, prefix := range []string{"", "/v1"} {
		routes["GET "+prefix+"/scheduler/jobs"] = a.read(a.jobs)
		routes["GET "+prefix+"/scheduler/jobs/search"] = a.read(a.search)
		routes["GET "+prefix+"/scheduler/job/{name}"] = a.read(a.job)
		routes["GET "+prefix+"/scheduler/graph/csv"] = a.read(a.graph)
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
			routes[m+" "+prefix+"/scheduler/"] = a.guard(http.HandlerFunc(a.refuseWrite))
		}
	}
	return routes
}

type api struct {
	c Cluster
	o Options
}

func (a *api) guard(h http.Handler) http.Handler {
	if !a.o.ProtectReads {
		return h
	}
	return apiauth.Require(a.o.Token, h, func(w http.ResponseWriter) {
		http.Error(w, "this API needs the server's token (Authorization: Bearer TOKEN, or basic auth with the token as the password)", http.StatusUnauthorized)
	})
}

func (a *api) read(h func(http.ResponseWriter, *http.Request)) http.Handler {
	return a.guard(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if a.o.Forward != nil && a.o.Forward(w, req) {
			return
		}
		h(w, req)
	}))
}

func (a *api) refuseWrite(w http.ResponseWriter, req *http.Request) {
	a.o.Logger.Info("refused a Chronos API write", "method", req.Method, "path", req.URL.Path, "remote", req.RemoteAddr)
	branch := a.o.Branch
	if branch == "" || branch == "HEAD" {
		branch = "HEAD (the repository's default branch)"
	}
	msg := fmt.Sprintf("%s %s refused: this cluster is run by Berth and follows Git; commit the job to branch %s of %s "+
		"(its manifests accept Chronos job JSON as it is) and Berth applies it. A manual run is `berth jobs run NAME` "+
		"(POST /v1/jobs/NAME/run with the API token).", req.Method, req.URL.Path, branch, redact(a.o.Repo))
	http.Error(w, msg, http.StatusForbidden)
}

// redact drops credentials from a repository URL.
func redact(repo string) string {
	u, err := url.Parse(repo)
	if err != nil || u.User == nil || u.Scheme == "" {
		return repo
	}
	u.User = nil
	return u.String()
}

// Job is a Chronos job as GET /scheduler/jobs lists it: the definition with
// Chronos's defaults, and the status fields.
type Job struct {
	Name                   string     `json:"name"`
	Command                string     `json:"command"`
	Shell                  bool       `json:"shell"`
	Arguments              []string   `json:"arguments"`
	Schedule               string     `json:"schedule,omitempty"`
	ScheduleTimeZone       string     `json:"scheduleTimeZone,omitempty"`
	Parents                []string   `json:"parents,omitempty"`
	Epsilon                string     `json:"epsilon"`
	Executor               string     `json:"executor"`
	ExecutorFlags          string     `json:"executorFlags"`
	Retries                int        `json:"retries"`
	Owner                  string     `json:"owner"`
	OwnerName              string     `json:"ownerName"`
	Description            string     `json:"description"`
	Async                  bool       `json:"async"`
	SuccessCount           int        `json:"successCount"`
	ErrorCount             int        `json:"errorCount"`
	LastSuccess            string     `json:"lastSuccess"`
	LastError              string     `json:"lastError"`
	CPUs                   float64    `json:"cpus"`
	Disk                   float64    `json:"disk"`
	Mem                    float64    `json:"mem"`
	Disabled               bool       `json:"disabled"`
	SoftError              bool       `json:"softError"`
	DataProcessingJobType  bool       `json:"dataProcessingJobType"`
	ErrorsSinceLastSuccess int        `json:"errorsSinceLastSuccess"`
	Fetch                  []any      `json:"fetch"`
	URIs                   []string   `json:"uris"`
	EnvironmentVariables   []EnvVar   `json:"environmentVariables"`
	HighPriority           bool       `json:"highPriority"`
	RunAsUser              string     `json:"runAsUser"`
	Concurrent             bool       `json:"concurrent"`
	Constraints            [][]string `json:"constraints"`
	Container              *Container `json:"container,omitempty"`
}

type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type Container struct {
	Type           string      `json:"type"`
	Image          string      `json:"image"`
	Network        string      `json:"network"`
	NetworkName    string      `json:"networkName,omitempty"`
	Volumes        []Volume    `json:"volumes"`
	Parameters     []Parameter `json:"parameters"`
	ForcePullImage bool        `json:"forcePullImage"`
}

type Volume struct {
	ContainerPath string `json:"containerPath"`
	HostPath      string `json:"hostPath"`
	Mode          string `json:"mode"`
}

type Parameter struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// chronosTime is Chronos's timestamp form; "" for never.
func chronosTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// record is what the cluster state says about one job.
type record struct {
	state cluster.JobState
	runs  []cluster.JobRun
}

func (a *api) records(ctx context.Context, jobs []manifests.Job) (map[string]record, error) {
	states, err := a.c.JobStates(ctx)
	if err != nil {
		return nil, fmt.Errorf("read job states: %w", err)
	}
	out := make(map[string]record, len(jobs))
	for _, j := range jobs {
		runs, err := a.c.JobRuns(ctx, j.Name)
		if err != nil {
			return nil, fmt.Errorf("read runs of %s: %w", j.Name, err)
		}
		out[j.Name] = record{state: states[j.Name], runs: runs}
	}
	return out, nil
}

func job(j *manifests.Job, r record) Job {
	out := Job{Name: j.Name, Command: j.Command, Shell: j.Shell, Arguments: orEmpty(j.Arguments), Schedule: j.Schedule,
		ScheduleTimeZone: j.ScheduleTimeZone, Parents: j.Parents, Epsilon: j.Epsilon, Retries: j.Retries, Owner: j.Owner,
		SuccessCount: r.state.SuccessCount, ErrorCount: r.state.ErrorCount, LastSuccess: chronosTime(r.state.LastSuccess),
		LastError: chronosTime(r.state.LastError), CPUs: j.CPUs, Disk: j.Disk, Mem: j.Mem, Disabled: j.Disabled,
		Fetch: []any{}, URIs: []string{}, EnvironmentVariables: []EnvVar{}, RunAsUser: "root", Concurrent: j.Concurrent,
		Constraints: [][]string{}}
	if out.Epsilon == "" {
		out.Epsilon = "PT60S" // Chronos's default
	}
	if j.Schedule == "" && len(j.Parents) == 0 && j.Cron != "" {
		// Chronos has no cron schedules; the job shows no schedule rather
		// than one Chronos clients cannot parse (docs/api.md).
		out.Description = "cron: " + j.Cron
	}
	for _, e := range j.EnvironmentVariables {
		out.EnvironmentVariables = append(out.EnvironmentVariables, EnvVar(e))
	}
	for _, c := range j.Constraints {
		tr := []string{c.Field, c.Operator}
		if c.Value != "" {
			tr = append(tr, c.Value)
		}
		out.Constraints = append(out.Constraints, tr)
	}
	if c := j.Container; c != nil {
		out.Container = &Container{Type: c.Type, Image: c.Image, Network: c.Network, NetworkName: c.NetworkName,
			Volumes: []Volume{}, Parameters: []Parameter{}, ForcePullImage: c.ForcePullImage}
		if out.Container.Network == "" {
			out.Container.Network = "HOST"
		}
		for _, v := range c.Volumes {
			out.Container.Volumes = append(out.Container.Volumes, Volume{ContainerPath: v.ContainerPath, HostPath: v.HostPath, Mode: v.Mode})
		}
		for _, p := range c.Parameters {
			out.Container.Parameters = append(out.Container.Parameters, Parameter(p))
		}
	}
	// Failed runs since the last success, newest first.
	for i := len(r.runs) - 1; i >= 0; i-- {
		if s := r.runs[i].State; s == cluster.JobRunSucceeded {
			break
		} else if s == cluster.JobRunFailed {
			out.ErrorsSinceLastSuccess++
		}
	}
	return out
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// desired reads the desired jobs and their records; on a failure it has
// answered 503 and ok is false.
func (a *api) desired(w http.ResponseWriter, req *http.Request) (set *manifests.Set, recs map[string]record, ok bool) {
	set, _ = a.c.Desired()
	if set == nil {
		set = &manifests.Set{}
	}
	ctx, cancel := context.WithTimeout(req.Context(), readTimeout)
	defer cancel()
	recs, err := a.records(ctx, set.Jobs)
	if err != nil {
		http.Error(w, fmt.Sprintf("cannot read the cluster state: %v", err), http.StatusServiceUnavailable)
		return nil, nil, false
	}
	return set, recs, true
}

// list reads every desired job with its status, sorted by name.
func (a *api) list(w http.ResponseWriter, req *http.Request) ([]Job, bool) {
	set, recs, ok := a.desired(w, req)
	if !ok {
		return nil, false
	}
	out := make([]Job, 0, len(set.Jobs))
	for i := range set.Jobs {
		out = append(out, job(&set.Jobs[i], recs[set.Jobs[i].Name]))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, true
}

func (a *api) jobs(w http.ResponseWriter, req *http.Request) {
	if jobs, ok := a.list(w, req); ok {
		writeJSON(w, jobs)
	}
}

func (a *api) job(w http.ResponseWriter, req *http.Request) {
	jobs, ok := a.list(w, req)
	if !ok {
		return
	}
	for _, j := range jobs {
		if j.Name == req.PathValue("name") {
			writeJSON(w, j)
			return
		}
	}
	http.Error(w, fmt.Sprintf("job %q is not in the desired state", req.PathValue("name")), http.StatusNotFound)
}

// search is Chronos's /scheduler/jobs/search: name, command or any
// (either) as case-insensitive substrings; offset and limit page.
func (a *api) search(w http.ResponseWriter, req *http.Request) {
	jobs, ok := a.list(w, req)
	if !ok {
		return
	}
	q := req.URL.Query()
	name, command, anyField := strings.ToLower(q.Get("name")), strings.ToLower(q.Get("command")), strings.ToLower(q.Get("any"))
	out := []Job{}
	for _, j := range jobs {
		n, c := strings.ToLower(j.Name), strings.ToLower(j.Command)
		if name != "" && !strings.Contains(n, name) || command != "" && !strings.Contains(c, command) ||
			anyField != "" && !strings.Contains(n, anyField) && !strings.Contains(c, anyField) {
			continue
		}
		out = append(out, j)
	}
	if off, err := strconv.Atoi(q.Get("offset")); err == nil && off > 0 {
		out = out[min(off, len(out)):]
	}
	if lim, err := strconv.Atoi(q.Get("limit")); err == nil && lim >= 0 && lim < len(out) {
		out = out[:lim]
	}
	writeJSON(w, out)
}

// graph is Chronos's dependency graph export: `node,NAME,LAST,STATE` per
// job (LAST: success, failure or fresh; STATE: idle, queued or running)
// and `link,PARENT,CHILD` per dependency.
func (a *api) graph(w http.ResponseWriter, req *http.Request) {
	set, recs, ok := a.desired(w, req)
	if !ok {
		return
	}
	var b strings.Builder
	for _, j := range set.Jobs {
		r := recs[j.Name]
		last := "fresh"
		switch {
		case r.state.LastSuccess.IsZero() && r.state.LastError.IsZero():
		case r.state.LastSuccess.After(r.state.LastError):
			last = "success"
		default:
			last = "failure"
		}
		state := "idle"
		for _, run := range r.runs {
			switch run.State {
			case cluster.JobRunRunning:
				state = "running"
			case cluster.JobRunPending:
				if state == "idle" {
					state = "queued"
				}
			}
		}
		fmt.Fprintf(&b, "node,%s,%s,%s\n", j.Name, last, state)
	}
	for _, j := range set.Jobs {
		for _, p := range j.Parents {
			fmt.Fprintf(&b, "link,%s,%s\n", p, j.Name)
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte(b.String()))
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
