package soak

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/berthops/berth/client"
	"github.com/berthops/berth/e2e"
	"github.com/berthops/berth/e2e/history"
	"github.com/berthops/berth/testenv"
)

// appState is what the generator asks of one app.
type appState struct {
	instances int
	image     int // index into desired.images
	mhc       float64
}

// jobState is what the generator asks of one job.
type jobState struct {
	start time.Time
	every time.Duration
	sleep time.Duration
}

// desired is the repository's content as the generator keeps changing it.
type desired struct {
	mu       sync.Mutex
	images   []string
	apps     map[string]*appState
	jobs     map[string]*jobState
	template int
	extras   int
	nginx    *testenv.Nginx
}

const (
	epsilon      = 10 * time.Second
	upstreamFile = "soak-upstream.conf"
)

// appPath is where app id's manifest lives.
func appPath(id string) string { return "apps/" + strings.TrimPrefix(id, "/") + ".yaml" }

func (d *desired) appManifest(id string, a *appState) string {
	m := e2e.WebApp(id, d.images[a.image], a.instances, fmt.Sprintf(`upgradeStrategy:
  minimumHealthCapacity: %g
  maximumOverCapacity: 1
unreachableStrategy:
  inactiveAfterSeconds: 5
  expungeAfterSeconds: 10
`, a.mhc))
	// A loaded 2-core machine answers a health check late now and then: a
	// flapping check is noise, not a finding.
	return strings.Replace(m, "timeoutSeconds: 1\n    maxConsecutiveFailures: 2", "timeoutSeconds: 2\n    maxConsecutiveFailures: 3", 1)
}

func jobManifest(name string, j *jobState) string {
	return fmt.Sprintf(`kind: Job
name: %s
schedule: R/%s/PT%dS
epsilon: PT%dS
command: %s
shell: false
cpus: 0.05
mem: 16
container:
  type: DOCKER
  image: %s
environmentVariables:
  - name: SLEEP
    value: %s
`, name, j.start.UTC().Format(time.RFC3339), int(j.every.Seconds()), int(epsilon.Seconds()), name, testenv.JobImage, j.sleep)
}

func (d *desired) templateFiles() map[string]string {
	n := d.nginx
	manifest := fmt.Sprintf(`kind: Template
id: /soak-upstream
source: soak-upstream.ctmpl
destination: %s
command: %s
validate: %s
wait:
  min: 500ms
  max: 2s
perms: "0644"
constraints:
  - [hostname, IS, agent-1]
`, filepath.Join(n.ConfDir, upstreamFile), n.ReloadCommand(), n.TestCommand())
	tmpl := fmt.Sprintf(`# template version %d
upstream soak_web {
{{- range service "web" }}
  server {{ .Address }}:{{ .Port }} max_fails=%d fail_timeout=10;
{{- else }}
  server 127.0.0.1:9 down;
{{- end }}
}
`, d.template, 1+d.template%3)
	return map[string]string{"templates/soak.berth.yaml": manifest, "templates/soak-upstream.ctmpl": tmpl}
}

// files is the whole repository content; call with mu held.
func (d *desired) files() map[string]string {
	out := d.templateFiles()
	for id, a := range d.apps {
		out[appPath(id)] = d.appManifest(id, a)
	}
	for name, j := range d.jobs {
		out["jobs/"+name+".yaml"] = jobManifest(name, j)
	}
	return out
}

// commit is what the content asks for, for the checker; call with mu held.
func (d *desired) commit(hash, msg string) *history.Commit {
	c := &history.Commit{Hash: hash, Message: msg, Apps: map[string]history.App{}, Jobs: map[string]history.Job{}}
	for id, a := range d.apps {
		c.Apps[id] = history.App{Instances: a.instances, Image: d.images[a.image], MinimumHealthCapacity: a.mhc, Service: serviceOf(id)}
	}
	for name, j := range d.jobs {
		c.Jobs[name] = history.Job{Schedule: fmt.Sprintf("R/%s/PT%dS", j.start.UTC().Format(time.RFC3339), int(j.every.Seconds())), Epsilon: epsilon}
	}
	return c
}

// serviceOf is the Consul service of an app id (/web is web).
func serviceOf(id string) string { return strings.ReplaceAll(strings.TrimPrefix(id, "/"), "/", "-") }

func (d *desired) jobNames() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]string, 0, len(d.jobs))
	for name := range d.jobs {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

func (d *desired) appIDs() []string {
	out := make([]string, 0, len(d.apps))
	for id := range d.apps {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// generator changes the repository at random and asks for manual runs.
type generator struct {
	s   *soak
	rnd *rand.Rand
}

// step makes one change. It returns what it did.
func (g *generator) step(ctx context.Context) string {
	d := g.s.want
	d.mu.Lock()
	var remove []string
	msg := ""
	ids := d.appIDs()
	switch pick := g.rnd.Intn(100); {
	case pick < 22:
		id := ids[g.rnd.Intn(len(ids))]
		a := d.apps[id]
		a.instances = 1 + (a.instances+g.rnd.Intn(2))%3
		msg = fmt.Sprintf("scale %s to %d", id, a.instances)
	case pick < 44:
		id := ids[g.rnd.Intn(len(ids))]
		a := d.apps[id]
		a.image = (a.image + 1) % len(d.images)
		msg = fmt.Sprintf("%s runs %s", id, d.images[a.image])
	case pick < 54 && len(d.apps) < 4:
		d.extras++
		id := fmt.Sprintf("/extra-%d", d.extras)
		d.apps[id] = &appState{instances: 1, mhc: 0.5}
		msg = "new app " + id
	case pick < 62:
		var extras []string
		for _, id := range ids {
			if strings.HasPrefix(id, "/extra-") {
				extras = append(extras, id)
			}
		}
		if len(extras) == 0 {
			d.mu.Unlock()
			return g.manual(ctx)
		}
		id := extras[g.rnd.Intn(len(extras))]
		delete(d.apps, id)
		remove = append(remove, appPath(id))
		msg = "remove app " + id
	case pick < 67 && d.jobs["tock"] == nil:
		d.jobs["tock"] = &jobState{start: time.Now().Add(20 * time.Second).Truncate(time.Second), every: 20 * time.Second, sleep: time.Second}
		msg = "new job tock"
	case pick < 75:
		names := make([]string, 0, len(d.jobs))
		for name := range d.jobs {
			names = append(names, name)
		}
		sort.Strings(names)
		name := names[g.rnd.Intn(len(names))]
		d.jobs[name].sleep = time.Duration(1+g.rnd.Intn(4)) * time.Second
		msg = fmt.Sprintf("job %s sleeps %s", name, d.jobs[name].sleep)
	case pick < 83:
		d.template++
		msg = fmt.Sprintf("template version %d", d.template)
	default:
		d.mu.Unlock()
		return g.manual(ctx)
	}
	files := d.files()
	spec := d.commit("", msg)
	// Pushed without the lock: a stalled Git server must not stall the
	// recorder, which reads the job names. Only the generator writes, so
	// spec stays what the commit holds.
	d.mu.Unlock()
	hash, err := g.s.c.Repo.Commit(msg, files, remove...)
	if err != nil {
		g.s.rec.note("generator: push %q: %v", msg, err)
		return "push failed: " + msg
	}
	spec.Hash = hash
	g.s.rec.add(history.Event{At: time.Now(), Kind: history.KindCommit, Commit: spec})
	g.s.webhook(ctx, hash)
	return msg
}

// manual asks a running server for a manual run of a random job.
func (g *generator) manual(ctx context.Context) string {
	names := g.s.want.jobNames()
	name := names[g.rnd.Intn(len(names))]
	srv := g.s.anyServer(g.rnd)
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	err := g.s.c.Client(srv).RunJob(ctx, name)
	m := &history.ManualRun{Job: name, Accepted: err == nil}
	if err != nil {
		m.Error = err.Error()
		// Only a 4xx answer says the run was not recorded: a timeout or a
		// server error may come after the leader recorded it.
		var apiErr *client.APIError
		m.Maybe = !errors.As(err, &apiErr) || apiErr.Code >= 500
	}
	g.s.rec.add(history.Event{At: time.Now(), Kind: history.KindManualRun, Manual: m})
	return "manual run of " + name
}

func (g *generator) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Duration(3000+g.rnd.Intn(5000)) * time.Millisecond):
		}
		what := g.step(ctx)
		g.s.t.Logf("soak: generator: %s", what)
	}
}
