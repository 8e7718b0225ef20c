package marathonapi

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berthops/berth/apiauth"
	"github.com/berthops/berth/manifests"
)

// APIVersion is the Marathon release whose API shapes this package
// follows (the RAML of Marathon's last releases), reported by /v2/info.
const APIVersion = "1.11.0"

// readTimeout bounds the store reads of one request.
const readTimeout = 10 * time.Second

// Routes returns the API's endpoints as pattern -> handler, for the server
// to mount beside Berth's own.
func Routes(c Cluster, o Options) map[string]http.Handler {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.KeepAlive <= 0 {
		o.KeepAlive = 15 * time.Second
	}
	if o.Poll <= 0 {
		o.Poll = 2 * time.Second
	}
	a := &api{c: c, o: o}
	routes := map[string]http.Handler{
		"GET /ping":                  http.HandlerFunc(ping), // Marathon's liveness check is never protected
		"GET /v2/ping":               http.HandlerFunc(ping),
		"GET /v2/apps":               a.read(a.apps),
		"GET /v2/apps/{path...}":     a.read(a.appPath),
		"GET /v2/tasks":              a.read(a.tasks),
		"GET /v2/deployments":        a.read(a.deployments),
		"GET /v2/groups":             a.read(a.groups),
		"GET /v2/groups/{path...}":   a.read(a.groups),
		"GET /v2/info":               a.read(a.info),
		"GET /v2/leader":             a.read(a.leader),
		"GET /v2/events":             a.read(a.events),
		"GET /v2/queue":              a.read(a.queue),
		"GET /v2/eventSubscriptions": a.read(a.subscriptions),
		"GET /v2/":                   a.read(a.notFound),
	}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		routes[m+" /v2/"] = a.guard(http.HandlerFunc(a.refuseWrite))
	}
	return routes
}

type api struct {
	c Cluster
	o Options
}

// guard checks the token when reads are protected.
func (a *api) guard(h http.Handler) http.Handler {
	if !a.o.ProtectReads {
		return h
	}
	return apiauth.Require(a.o.Token, h, func(w http.ResponseWriter) {
		writeMessage(w, http.StatusUnauthorized, "Invalid username or password: this API needs the server's token "+
			"(Authorization: Bearer TOKEN, or basic auth with the token as the password)")
	})
}

// read guards a read and forwards it to the leader, which alone knows the
// desired state and every app's verdict.
func (a *api) read(h func(http.ResponseWriter, *http.Request)) http.Handler {
	return a.guard(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if a.o.Forward != nil && a.o.Forward(w, req) {
			return
		}
		h(w, req)
	}))
}

func ping(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "must-revalidate,no-cache,no-store")
	_, _ = w.Write([]byte("pong"))
}

// refuseWrite answers every write: the cluster changes only through Git.
func (a *api) refuseWrite(w http.ResponseWriter, req *http.Request) {
	a.o.Logger.Info("refused a Marathon API write", "method", req.Method, "path", req.URL.Path, "remote", req.RemoteAddr)
	writeMessage(w, http.StatusForbidden, fmt.Sprintf(
		"%s %s refused: this cluster is run by Berth and follows Git; commit the change to branch %s of %s "+
			"(its manifests accept Marathon app JSON as it is) and Berth applies it",
		req.Method, req.URL.Path, a.branch(), redact(a.o.Repo)))
}

func (a *api) branch() string {
	if a.o.Branch == "" || a.o.Branch == "HEAD" {
		return "HEAD (the repository's default branch)"
	}
	return a.o.Branch
}

// redact drops credentials from a repository URL, so that an error naming
// the repository never leaks them.
func redact(repo string) string {
	u, err := url.Parse(repo)
	if err != nil || u.User == nil || u.Scheme == "" {
		return repo
	}
	u.User = nil
	return u.String()
}

func (a *api) notFound(w http.ResponseWriter, req *http.Request) {
	writeMessage(w, http.StatusNotFound, fmt.Sprintf("%s is not part of Berth's read-only Marathon API (docs/api.md lists what is)", req.URL.Path))
}

// view reads the state for a request, answering 503 when it cannot.
func (a *api) view(w http.ResponseWriter, req *http.Request) (*view, bool) {
	ctx, cancel := context.WithTimeout(req.Context(), readTimeout)
	defer cancel()
	v, err := read(ctx, a.c, a.o.Now())
	if err != nil {
		writeMessage(w, http.StatusServiceUnavailable, fmt.Sprintf("cannot read the cluster state: %v", err))
		return nil, false
	}
	return v, true
}

// apps is GET /v2/apps, filtered by id (substring), cmd (substring) and
// label (key, key==value or key!=value, comma-separated, all must hold).
func (a *api) apps(w http.ResponseWriter, req *http.Request) {
	v, ok := a.view(w, req)
	if !ok {
		return
	}
	q := req.URL.Query()
	e := parseEmbeds(q["embed"], "apps.")
	e.counts, e.deployments = true, true // Marathon always embeds these in lists
	out := []App{}
	for i := range v.set.Apps {
		app := &v.set.Apps[i]
		if id := q.Get("id"); id != "" && !strings.Contains(app.ID, id) {
			continue
		}
		if cmd := q.Get("cmd"); cmd != "" && !strings.Contains(app.Cmd, cmd) {
			continue
		}
		if sel := q.Get("label"); sel != "" && !labelsMatch(app.Labels, sel) {
			continue
		}
		out = append(out, v.app(app, e))
	}
	writeJSON(w, http.StatusOK, map[string]any{"apps": out})
}

func labelsMatch(labels map[string]string, selector string) bool {
	for _, term := range strings.Split(selector, ",") {
		term = strings.TrimSpace(term)
		switch {
		case strings.Contains(term, "!="):
			k, val, _ := strings.Cut(term, "!=")
			if got, ok := labels[strings.TrimSpace(k)]; ok && got == strings.TrimSpace(val) {
				return false
			}
		case strings.Contains(term, "=="):
			k, val, _ := strings.Cut(term, "==")
			if got, ok := labels[strings.TrimSpace(k)]; !ok || got != strings.TrimSpace(val) {
				return false
			}
		case term != "":
			if _, ok := labels[term]; !ok {
				return false
			}
		}
	}
	return true
}

// appPath is GET /v2/apps/{id}, GET /v2/apps/{id}/tasks and the app's
// versions (appVersions). App ids are
// paths, so /v2/apps/a/tasks is app /a's tasks unless an app /a/tasks
// exists (as in Marathon). /v2/apps/ (Prometheus's path) is the list.
func (a *api) appPath(w http.ResponseWriter, req *http.Request) {
	path := strings.Trim(req.PathValue("path"), "/")
	if path == "" {
		a.apps(w, req)
		return
	}
	v, ok := a.view(w, req)
	if !ok {
		return
	}
	id := "/" + path
	if app := v.set.App(id); app != nil {
		e := parseEmbeds(req.URL.Query()["embed"], "app.")
		if len(req.URL.Query()["embed"]) == 0 {
			e = embeds{tasks: true, counts: true, deployments: true, readiness: true, lastTaskFailure: true}
		}
		e.counts, e.deployments = true, true
		writeJSON(w, http.StatusOK, map[string]any{"app": v.app(app, e)})
		return
	}
	if base, ok := strings.CutSuffix(id, "/tasks"); ok {
		if app := v.set.App(base); app != nil {
			if wantsText(req) {
				writeText(w, v.endpointsOf(app))
				return
			}
			tasks := []Task{}
			for _, t := range v.tasks[app.ID] {
				tasks = append(tasks, v.task(t, app))
			}
			writeJSON(w, http.StatusOK, map[string]any{"tasks": tasks})
			return
		}
		id = base
	}
	if a.appVersions(w, v, id) {
		return
	}
	writeMessage(w, http.StatusNotFound, fmt.Sprintf("App '%s' does not exist", id))
}

// appVersions answers GET /v2/apps/{id}/versions and
// /v2/apps/{id}/versions/{version}, reporting whether path was one. Berth
// keeps an app's history in Git, not in its state: the version running now
// is listed and served (its timestamp, as in the app's "version" field);
// an older one is answered 404 with where its definition is.
func (a *api) appVersions(w http.ResponseWriter, v *view, path string) bool {
	i := strings.LastIndex(path, "/versions")
	if i <= 0 {
		return false
	}
	rest := path[i+len("/versions"):]
	if rest != "" && !strings.HasPrefix(rest, "/") {
		return false
	}
	app := v.set.App(path[:i])
	if app == nil {
		writeMessage(w, http.StatusNotFound, fmt.Sprintf("App '%s' does not exist", path[:i]))
		return true
	}
	current := timestamp(v.versionTime(app.ID, v.appVersion(app.ID)))
	switch want := strings.TrimPrefix(rest, "/"); {
	case want == "":
		writeJSON(w, http.StatusOK, map[string]any{"versions": []string{current}})
	case want == current:
		writeJSON(w, http.StatusOK, v.app(app, embeds{}))
	default:
		writeMessage(w, http.StatusNotFound, fmt.Sprintf("App version '%s' of '%s' is not kept: Berth serves the version running now (%s); earlier ones are in the Git history of %s", want, app.ID, current, app.Origin.File))
	}
	return true
}

// tasks is GET /v2/tasks, JSON or (Accept: text/plain) the endpoint list;
// ?status=running|staging filters.
func (a *api) tasks(w http.ResponseWriter, req *http.Request) {
	v, ok := a.view(w, req)
	if !ok {
		return
	}
	if wantsText(req) {
		writeText(w, v.endpoints())
		return
	}
	status := strings.ToLower(req.URL.Query().Get("status"))
	out := []Task{}
	for i := range v.set.Apps {
		app := &v.set.Apps[i]
		for _, t := range v.tasks[app.ID] {
			mt := v.task(t, app)
			if status == "running" && mt.State != "TASK_RUNNING" || status == "staging" && mt.State != "TASK_STAGING" && mt.State != "TASK_STARTING" {
				continue
			}
			out = append(out, mt)
		}
	}
	// Tasks of apps removed from Git still run until they are stopped.
	var gone []string
	for id := range v.tasks {
		if v.set.App(id) == nil {
			gone = append(gone, id)
		}
	}
	sort.Strings(gone)
	for _, id := range gone {
		for _, t := range v.tasks[id] {
			if mt := v.task(t, nil); status == "" || status == "running" && mt.State == "TASK_RUNNING" {
				out = append(out, mt)
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tasks": out})
}

// wantsText reports whether the client asked for text/plain over JSON.
func wantsText(req *http.Request) bool {
	accept := req.Header.Get("Accept")
	return strings.Contains(accept, "text/plain") && !strings.Contains(accept, "application/json")
}

// endpointsOf is the text/plain endpoint list of one app.
func (v *view) endpointsOf(app *manifests.App) string {
	one := *v
	one.set = &manifests.Set{Apps: []manifests.App{*app}}
	return one.endpoints()
}

// Deployment is Marathon's deployment (deployments.raml): Berth rolls each
// app out on its own, so each app on its way is one deployment of one step.
type Deployment struct {
	ID             string          `json:"id"`
	Version        string          `json:"version"`
	AffectedApps   []string        `json:"affectedApps"`
	AffectedPods   []string        `json:"affectedPods"`
	Steps          []Step          `json:"steps"`
	CurrentActions []CurrentAction `json:"currentActions"`
	CurrentStep    int             `json:"currentStep"`
	TotalSteps     int             `json:"totalSteps"`
}

type Step struct {
	Actions []Action `json:"actions"`
}

type Action struct {
	Action string `json:"action"`
	App    string `json:"app"`
}

type CurrentAction struct {
	Action                string `json:"action"`
	App                   string `json:"app"`
	ReadinessCheckResults []any  `json:"readinessCheckResults"`
}

// definitionKey identifies an app's definition, scale included (Berth's
// version hashes only what its tasks run, so a scale keeps it).
func definitionKey(app *manifests.App) string {
	b, _ := json.Marshal(app)
	h := sha256.Sum256(b)
	return fmt.Sprintf("%x", h[:16])
}

// deploymentID is a stable UUID-shaped id for the rollout of one app
// definition.
func deploymentID(app *manifests.App) string {
	h := sha256.Sum256([]byte(app.ID + "\x00" + definitionKey(app)))
	x := fmt.Sprintf("%x", h[:16])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// deploymentOf is the deployment of a deploying app.
func (v *view) deploymentOf(app *manifests.App) Deployment {
	st := v.status[app.ID]
	action := "ScaleApplication"
	old, current := 0, 0
	for _, t := range v.tasks[app.ID] {
		if t.Version == st.Version {
			current++
		} else {
			old++
		}
	}
	switch {
	case old > 0:
		action = "RestartApplication"
	case current == 0 && app.Instances > 0:
		action = "StartApplication"
	}
	return Deployment{ID: deploymentID(app), Version: timestamp(v.versionTime(app.ID, st.Version)),
		AffectedApps: []string{app.ID}, AffectedPods: []string{}, Steps: []Step{{Actions: []Action{{Action: action, App: app.ID}}}},
		CurrentActions: []CurrentAction{{Action: action, App: app.ID, ReadinessCheckResults: v.readinessResults(app)}}, CurrentStep: 1, TotalSteps: 1}
}

func (a *api) deployments(w http.ResponseWriter, req *http.Request) {
	v, ok := a.view(w, req)
	if !ok {
		return
	}
	out := []Deployment{}
	for i := range v.set.Apps {
		if app := &v.set.Apps[i]; v.status[app.ID].Deploying {
			out = append(out, v.deploymentOf(app))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// Group is Marathon's GroupInfo: Berth has no groups, so they are the
// directories of app ids (/web/nginx is in group /web). The optional pods
// and enforceRole (Marathon 1.9+) are left out: Berth has neither, and
// Group.json does not allow them.
type Group struct {
	ID           string   `json:"id"`
	Apps         []App    `json:"apps"`
	Groups       []*Group `json:"groups"`
	Dependencies []string `json:"dependencies"`
	Version      string   `json:"version"`
}

func (a *api) groups(w http.ResponseWriter, req *http.Request) {
	v, ok := a.view(w, req)
	if !ok {
		return
	}
	e := parseEmbeds(req.URL.Query()["embed"], "group.apps.")
	version := timestamp(v.now)
	root := &Group{ID: "/", Apps: []App{}, Groups: []*Group{}, Dependencies: []string{}, Version: version}
	byID := map[string]*Group{"/": root}
	var group func(id string) *Group
	group = func(id string) *Group {
		if g, ok := byID[id]; ok {
			return g
		}
		parent := id[:strings.LastIndex(id, "/")]
		if parent == "" {
			parent = "/"
		}
		g := &Group{ID: id, Apps: []App{}, Groups: []*Group{}, Dependencies: []string{}, Version: version}
		byID[id] = g
		p := group(parent)
		p.Groups = append(p.Groups, g)
		return g
	}
	for i := range v.set.Apps {
		app := &v.set.Apps[i]
		dir := app.ID[:strings.LastIndex(app.ID, "/")]
		if dir == "" {
			dir = "/"
		}
		g := group(dir)
		g.Apps = append(g.Apps, v.app(app, e))
	}
	id := "/" + strings.Trim(req.PathValue("path"), "/")
	g, ok := byID[id]
	if !ok {
		writeMessage(w, http.StatusNotFound, fmt.Sprintf("Group '%s' does not exist", id))
		return
	}
	writeJSON(w, http.StatusOK, g)
}

// queue is GET /v2/queue: Berth has no launch queue to show (an app it
// cannot place says so in `berth apps`), so it is always empty.
func (a *api) queue(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"queue": []any{}})
}

// subscriptions is GET /v2/eventSubscriptions: HTTP callbacks are not
// supported (registering one is a write, refused like the others); clients
// follow GET /v2/events instead.
func (a *api) subscriptions(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"callbackUrls": []string{}})
}

func (a *api) leaderAddress(req *http.Request) (string, bool) {
	ctx, cancel := context.WithTimeout(req.Context(), readTimeout)
	defer cancel()
	_, addr, err := a.c.Leader(ctx)
	return addr, err == nil && addr != ""
}

func (a *api) leader(w http.ResponseWriter, req *http.Request) {
	addr, ok := a.leaderAddress(req)
	if !ok {
		writeMessage(w, http.StatusNotFound, "There is no leader")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"leader": addr})
}

// info is GET /v2/info. Berth is not a Mesos framework: frameworkId is
// "berth", and the Mesos and ZooKeeper settings Marathon reports are left
// out or set to what Berth does.
func (a *api) info(w http.ResponseWriter, req *http.Request) {
	addr, elected := a.leaderAddress(req)
	host, port := addr, 0
	if h, p, err := net.SplitHostPort(addr); err == nil {
		host = h
		port, _ = strconv.Atoi(p)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"name":        "berth",
		"version":     APIVersion,
		"buildref":    a.o.Version,
		"elected":     elected,
		"leader":      addr,
		"frameworkId": "berth",
		"marathon_config": map[string]any{
			"framework_name": "berth", "hostname": host, "ha": true, "checkpoint": true, "executor": "//cmd",
			"mesos_role": defaultRole, "master": "", "failover_timeout": 0, "local_port_min": 0, "local_port_max": 0,
		},
		"http_config":      map[string]any{"http_port": port, "https_port": 0},
		"event_subscriber": map[string]any{"type": "sse"},
		"git":              map[string]string{"repository": redact(a.o.Repo), "branch": a.o.Branch},
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}

func writeText(w http.ResponseWriter, s string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte(s))
}

// writeMessage is Marathon's error shape.
func writeMessage(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"message": msg})
}
