package soak

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"

	"github.com/berthops/berth/agent/launch"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/e2e"
	"github.com/berthops/berth/e2e/history"
	"github.com/berthops/berth/testenv"
)

// recorder keeps the history. Every loop samples one source.
type recorder struct {
	mu     sync.Mutex
	events []history.Event
}

func (r *recorder) add(e history.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) note(format string, args ...any) {
	r.add(history.Event{At: time.Now(), Kind: history.KindNote, Note: fmt.Sprintf(format, args...)})
}

func (r *recorder) history(seed int64) history.History {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := history.History{Seed: seed, Events: append([]history.Event(nil), r.events...)}
	h.Sort()
	return h
}

// every runs fn every interval until ctx ends, each call with 2 s.
func every(ctx context.Context, wg *sync.WaitGroup, interval time.Duration, fn func(ctx context.Context)) {
	everyWithin(ctx, wg, interval, 2*time.Second, fn)
}

// everyWithin is every with each call given limit.
func everyWithin(ctx context.Context, wg *sync.WaitGroup, interval, limit time.Duration, fn func(ctx context.Context)) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			qctx, cancel := context.WithTimeout(ctx, limit)
			fn(qctx)
			cancel()
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
}

// record starts every sampling loop; they stop when ctx ends and wg is
// waited for.
func (s *soak) record(ctx context.Context, wg *sync.WaitGroup) {
	rnd := rand.New(rand.NewSource(1)) // which server answers is no choice worth replaying
	var rndMu sync.Mutex
	server := func() *e2e.Server {
		rndMu.Lock()
		defer rndMu.Unlock()
		return s.anyServer(rnd)
	}
	every(ctx, wg, 300*time.Millisecond, func(ctx context.Context) {
		tasks, err := s.c.Client(server()).Tasks(ctx, "")
		if err != nil {
			return // a server down or paused: no sample, not an event
		}
		s.rec.add(history.Event{At: time.Now(), Kind: history.KindTasks, Tasks: s.appTasks(tasks)})
	})
	every(ctx, wg, time.Second, func(ctx context.Context) {
		for _, job := range s.want.jobNames() {
			runs, err := s.c.Client(server()).JobRuns(ctx, job)
			if err != nil {
				continue
			}
			ev := history.Event{At: time.Now(), Kind: history.KindJobRuns, Job: job}
			for _, r := range runs {
				ev.Runs = append(ev.Runs, history.JobRun{RunID: r.RunID, State: string(r.State), Trigger: r.Trigger,
					ScheduledAt: r.ScheduledAt, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, TaskID: r.TaskID, Message: r.Message})
			}
			s.rec.add(ev)
		}
	})
	every(ctx, wg, 250*time.Millisecond, func(ctx context.Context) {
		if passing, err := s.consulPassing(ctx); err == nil {
			s.rec.add(history.Event{At: time.Now(), Kind: history.KindConsul, Consul: &history.Consul{Passing: passing}})
		}
	})
	every(ctx, wg, 250*time.Millisecond, func(ctx context.Context) {
		servers, err := readUpstream(filepath.Join(s.nginx.ConfDir, upstreamFile))
		if err != nil {
			s.rec.note("upstream: %v", err)
			return
		}
		s.rec.add(history.Event{At: time.Now(), Kind: history.KindUpstream, Upstream: &history.Upstream{Service: "web", Servers: servers}})
	})
	every(ctx, wg, 300*time.Millisecond, func(ctx context.Context) {
		code, body, err := e2e.Get(ctx, "http://"+s.nginx.Addr+"/")
		a := &history.Answer{Service: "web", Code: code}
		if err != nil {
			a.Error = err.Error()
		} else if code == 200 {
			a.Task = taskOf(body)
		}
		s.rec.add(history.Event{At: time.Now(), Kind: history.KindAnswer, Answer: a})
	})
	// Which processes run and who leads: a server that exits, or a
	// cluster that stops electing, would otherwise pass unnoticed (nothing
	// is decided, so no other rule is broken). The leader is asked with a
	// longer limit than the other samples: a paused server costs one
	// second of it.
	everyWithin(ctx, wg, time.Second, 4*time.Second, func(qctx context.Context) {
		at := time.Now()
		m := &history.Members{}
		for _, sv := range s.c.Servers {
			if !sv.Proc.Running() {
				m.Down = append(m.Down, sv.ID)
			}
		}
		for _, a := range s.c.Agents {
			if !a.Proc.Running() {
				m.Down = append(m.Down, a.ID)
			}
		}
		if l, err := s.c.Leader(qctx); err == nil {
			m.Leader = l.ID
		}
		if ctx.Err() != nil {
			return // the recording stopped: "no leader" would be ours, not the cluster's
		}
		s.rec.add(history.Event{At: at, Kind: history.KindMembers, Members: m})
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		f := filters.NewArgs(filters.Arg("type", "container"), filters.Arg("label", testenv.TestLabel+"="+s.c.Label))
		for ctx.Err() == nil {
			msgs, errs := s.c.Docker.Events(ctx, events.ListOptions{Filters: f})
		read:
			for {
				select {
				case m := <-msgs:
					switch m.Action {
					case "create", "start", "die", "kill", "oom", "destroy":
						s.rec.add(history.Event{At: time.Unix(0, m.TimeNano), Kind: history.KindDocker, Docker: &history.DockerEvent{
							Action: string(m.Action), Container: m.Actor.ID, App: m.Actor.Attributes[launch.LabelApp], Task: m.Actor.Attributes[launch.LabelTask]}})
					}
				case <-errs:
					break read
				case <-ctx.Done():
					return
				}
			}
			time.Sleep(time.Second)
		}
	}()
}

// appTasks is the apps' tasks as the history keeps them (job tasks are
// judged through their runs).
func (s *soak) appTasks(tasks []cluster.Task) []history.Task {
	out := make([]history.Task, 0, len(tasks))
	for _, tk := range tasks {
		if tk.Owner != cluster.OwnerApp {
			continue
		}
		out = append(out, historyTask(s.c, tk))
	}
	return out
}

func historyTask(c *e2e.Cluster, tk cluster.Task) history.Task {
	return history.Task{ID: tk.TaskID, App: tk.OwnerID, Agent: tk.AgentID, Image: tk.Spec.Image,
		State: string(tk.Status.State), Running: tk.Status.State == cluster.TaskRunning,
		Healthy: tk.Status.Health == cluster.HealthHealthy, Live: !tk.Status.State.Terminal(), Kill: tk.Kill,
		Addrs: c.TaskAddrs([]cluster.Task{tk})}
}

// consulPassing asks Consul for the passing instances of every app the
// generator may create.
func (s *soak) consulPassing(ctx context.Context) (map[string][]string, error) {
	s.want.mu.Lock()
	services := []string{"web"}
	for id := range s.want.apps {
		if sv := serviceOf(id); sv != "web" {
			services = append(services, sv)
		}
	}
	s.want.mu.Unlock()
	out := map[string][]string{}
	for _, sv := range services {
		addrs, err := s.c.ConsulInstances(ctx, sv)
		if err != nil {
			return nil, err
		}
		out[sv] = addrs
	}
	return out, nil
}

// readUpstream lists the servers of the rendered upstream file.
func readUpstream(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read upstream: %w", err)
	}
	defer f.Close()
	servers, err := parseUpstream(f)
	if err != nil {
		return nil, fmt.Errorf("read upstream %s: %w", path, err)
	}
	return servers, nil
}

// parseUpstream lists the address of each `server` line of an nginx
// upstream, leaving out servers marked down (the placeholder the template
// renders when no instance passes).
func parseUpstream(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fields := strings.Fields(strings.TrimSpace(sc.Text()))
		if len(fields) < 2 || fields[0] != "server" {
			continue
		}
		down := false
		for _, f := range fields[2:] {
			down = down || strings.TrimSuffix(f, ";") == "down"
		}
		if addr := strings.TrimSuffix(fields[1], ";"); !down && addr != "" {
			out = append(out, addr)
		}
	}
	return out, sc.Err()
}

// taskOf reads the task id from the test web server's answer
// ("task=ID host=...").
func taskOf(body string) string {
	for _, f := range strings.Fields(body) {
		if id, ok := strings.CutPrefix(f, "task="); ok {
			return id
		}
	}
	return ""
}
