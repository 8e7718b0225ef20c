package soak

import (
	"context"
	"fmt"
	"math/rand"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/berthops/berth/agent/launch"
	"github.com/berthops/berth/e2e"
	"github.com/berthops/berth/e2e/history"
)

// fault is one kind of fault: inject takes it effect and returns how to
// heal it (nil when there is nothing to heal) and the fault's description
// for the history (Start and End are set by the nemesis).
type fault struct {
	name string
	// resource is what the fault takes: two faults on one resource never
	// overlap (so at most one server is down, the ensemble loses at most
	// two members, ...).
	resource string
	weight   int
	inject   func(ctx context.Context, rnd *rand.Rand) (history.Fault, func(), error)
}

// nemesis injects faults at random, at most two at a time.
type nemesis struct {
	s      *soak
	rnd    *rand.Rand
	rndMu  sync.Mutex
	mu     sync.Mutex
	busy   map[string]bool
	paused map[*e2e.Server]bool
	faults []fault
}

func newNemesis(s *soak, seed int64) *nemesis {
	n := &nemesis{s: s, rnd: rand.New(rand.NewSource(seed)), busy: map[string]bool{}, paused: map[*e2e.Server]bool{}}
	c := s.c
	serverFault := func(name string, leader, pause bool) fault {
		return fault{name: name, resource: "servers", weight: 3, inject: func(ctx context.Context, rnd *rand.Rand) (history.Fault, func(), error) {
			target, err := s.pickServer(ctx, rnd, leader)
			if err != nil {
				return history.Fault{}, nil, err
			}
			f := history.Fault{Name: name, Target: target.ID, ControlPlane: leader}
			if pause {
				if err := target.Proc.Pause(); err != nil {
					return f, nil, err
				}
				n.setPaused(target, true)
				return f, func() { _ = target.Proc.Resume(); n.setPaused(target, false) }, nil
			}
			target.Proc.Kill()
			return f, func() { startAgain(target.Proc.Start) }, nil
		}}
	}
	n.faults = []fault{
		serverFault("kill-leader", true, false),
		serverFault("pause-leader", true, true),
		serverFault("kill-follower", false, false),
		serverFault("pause-follower", false, true),
		{name: "kill-agent", resource: "agents", weight: 3, inject: func(ctx context.Context, rnd *rand.Rand) (history.Fault, func(), error) {
			a := c.Agents[rnd.Intn(len(c.Agents))]
			a.Proc.Kill()
			// The first agent renders nginx's upstream: while it is down
			// nothing follows Consul.
			return history.Fault{Name: "kill-agent", Target: a.ID, Agent: a.ID, LoadBalancer: a == c.Agents[0]}, func() { startAgain(a.Proc.Start) }, nil
		}},
		{name: "zk-member", resource: "zk", weight: 2, inject: func(ctx context.Context, rnd *rand.Rand) (history.Fault, func(), error) {
			i := rnd.Intn(len(c.ZK.Servers))
			z := c.ZK.Servers[i]
			z.Kill()
			return history.Fault{Name: "zk-member", Target: fmt.Sprintf("zookeeper-%d", i+1)}, func() { startAgain(z.Restart) }, nil
		}},
		{name: "zk-quorum", resource: "zk", weight: 1, inject: func(ctx context.Context, rnd *rand.Rand) (history.Fault, func(), error) {
			i := rnd.Intn(len(c.ZK.Servers))
			j := (i + 1) % len(c.ZK.Servers)
			c.ZK.Servers[i].Kill()
			c.ZK.Servers[j].Kill()
			return history.Fault{Name: "zk-quorum", Target: fmt.Sprintf("zookeeper-%d,zookeeper-%d", i+1, j+1), Global: true, ControlPlane: true},
				func() { startAgain(c.ZK.Servers[i].Restart); startAgain(c.ZK.Servers[j].Restart) }, nil
		}},
		{name: history.FaultConsulRestart, resource: "consul", weight: 1, inject: func(ctx context.Context, rnd *rand.Rand) (history.Fault, func(), error) {
			return history.Fault{Name: history.FaultConsulRestart, Target: "consul"}, nil, c.Consul.TryRestart()
		}},
		{name: "kill-container", resource: "", weight: 3, inject: func(ctx context.Context, rnd *rand.Rand) (history.Fault, func(), error) {
			return s.hitContainer(ctx, rnd, false)
		}},
		{name: "remove-container", resource: "", weight: 2, inject: func(ctx context.Context, rnd *rand.Rand) (history.Fault, func(), error) {
			return s.hitContainer(ctx, rnd, true)
		}},
		{name: "git-stall", resource: "git", weight: 1, inject: func(ctx context.Context, rnd *rand.Rand) (history.Fault, func(), error) {
			c.Git.Stall()
			return history.Fault{Name: "git-stall", Target: "git", ControlPlane: true}, c.Git.Unstall, nil
		}},
	}
	return n
}

// startAgain starts a killed process, retrying while the old one is still
// being reaped.
func startAgain(start func() error) {
	for i := 0; i < 50; i++ {
		if start() == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (n *nemesis) setPaused(s *e2e.Server, p bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if p {
		n.paused[s] = true
	} else {
		delete(n.paused, s)
	}
}

func (n *nemesis) isPaused(s *e2e.Server) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.paused[s]
}

// pick chooses a fault whose resource is free and takes the resource.
func (n *nemesis) pick() (fault, time.Duration, bool) {
	n.rndMu.Lock()
	total := 0
	for _, f := range n.faults {
		total += f.weight
	}
	r := n.rnd.Intn(total)
	hold := time.Duration(3000+n.rnd.Intn(9000)) * time.Millisecond
	n.rndMu.Unlock()
	var f fault
	for _, cand := range n.faults {
		if r < cand.weight {
			f = cand
			break
		}
		r -= cand.weight
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if f.resource != "" && n.busy[f.resource] {
		return f, 0, false
	}
	if f.resource != "" {
		n.busy[f.resource] = true
	}
	return f, hold, true
}

func (n *nemesis) release(f fault) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.busy, f.resource)
}

// worker injects one fault after another until ctx ends; two workers make
// faults overlap. A fault in effect when ctx ends is healed at once.
func (n *nemesis) worker(ctx context.Context, id int) {
	for {
		n.rndMu.Lock()
		gap := time.Duration(2000+n.rnd.Intn(6000)) * time.Millisecond
		rnd := rand.New(rand.NewSource(n.rnd.Int63()))
		n.rndMu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-time.After(gap):
		}
		f, hold, ok := n.pick()
		if !ok {
			continue
		}
		start := time.Now()
		desc, heal, err := f.inject(ctx, rnd)
		if err != nil {
			n.release(f)
			n.s.rec.note("nemesis %d: %s: %v", id, f.name, err)
			continue
		}
		if heal != nil {
			select {
			case <-ctx.Done():
			case <-time.After(hold):
			}
			heal()
		}
		desc.Start, desc.End = start, time.Now()
		n.release(f)
		n.s.rec.add(history.Event{At: start, Kind: history.KindFault, Fault: &desc})
		n.s.t.Logf("soak: nemesis %d: %s %s for %s", id, desc.Name, desc.Target, desc.End.Sub(start).Round(100*time.Millisecond))
	}
}

// healAll makes sure every process runs and nothing is stalled, whatever
// a fault left behind.
func (n *nemesis) healAll() {
	c := n.s.c
	c.Git.Unstall()
	for _, z := range c.ZK.Servers {
		if !z.Running() {
			startAgain(z.Restart)
		}
	}
	for _, s := range c.Servers {
		_ = s.Proc.Resume()
		n.setPaused(s, false)
		if !s.Proc.Running() {
			startAgain(s.Proc.Start)
		}
	}
	for _, a := range c.Agents {
		if !a.Proc.Running() {
			startAgain(a.Proc.Start)
		}
	}
	if !c.Consul.Running() {
		if err := c.Consul.TryRestart(); err != nil {
			n.s.rec.note("heal: %v", err)
		}
	}
}

// hitContainer kills (or force-removes) a random running container of an
// app under Docker, behind Berth's back.
func (s *soak) hitContainer(ctx context.Context, rnd *rand.Rand, remove bool) (history.Fault, func(), error) {
	name := "kill-container"
	if remove {
		name = "remove-container"
	}
	list, err := s.c.Containers(ctx, "")
	if err != nil {
		return history.Fault{}, nil, err
	}
	var apps []container.Summary
	for _, ct := range list {
		if ct.State == container.StateRunning && s.isApp(ct.Labels[launch.LabelApp]) {
			apps = append(apps, ct)
		}
	}
	if len(apps) == 0 {
		return history.Fault{}, nil, fmt.Errorf("%s: no running app container", name)
	}
	ct := apps[rnd.Intn(len(apps))]
	f := history.Fault{Name: name, Target: ct.Labels[launch.LabelTask], App: ct.Labels[launch.LabelApp], Agent: ""}
	if remove {
		err = s.c.Docker.ContainerRemove(ctx, ct.ID, container.RemoveOptions{Force: true})
	} else {
		err = s.c.Docker.ContainerKill(ctx, ct.ID, "KILL")
	}
	return f, nil, err
}
