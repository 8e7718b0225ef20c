package rollout

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// simTask is a task of the simulated cluster with its scripted future.
type simTask struct {
	Task
	runAt     int // tick it leaves STAGING
	healthyAt int // tick it turns healthy, -1 never
	failAt    int // tick it fails, -1 never
	endAt     int // tick a killed task ends, -1 not killed
	// lostUntil is the tick the task's agent comes back after being lost
	// at lostFrom; the task keeps its state and health for when it does.
	lostFrom, lostUntil int
	before              Task
}

// sim is a tiny cluster driven by Step: tasks start, turn healthy or fail
// after a few ticks, and killed tasks end a tick or two later. Every tick it
// records the state an operator would see, so tests assert on the history.
type sim struct {
	t        *testing.T
	spec     Spec
	tasks    []*simTask
	launches Launches
	rng      *rand.Rand
	failRate float64
	fixed    bool // fixed delays, for golden traces
	groups   []string
	nextID   int
	trace    strings.Builder
	done     bool
	// gate, when set, may change a decision before it is applied, as the
	// loop does for dependency order.
	gate func(Input, Decision) Decision
}

// snapshot is the state of the simulated cluster at one tick.
type snapshot struct {
	healthy, total int
	lingering      int               // replaced tasks on lost agents
	byVersion      map[string][2]int // version -> {tasks, healthy}, not being killed
}

func newSim(t *testing.T, s Spec, seed uint64, failRate float64) *sim {
	return &sim{t: t, spec: s, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b9)), failRate: failRate,
		groups: []string{"a", "b", "c"}}
}

// seed adds n tasks of version already running and healthy.
func (s *sim) seed(version string, n int) {
	for range n {
		st := s.add(version, -10)
		st.State, st.Health, st.StartedAt = cluster.TaskRunning, cluster.HealthHealthy, at(-10)
		st.healthyAt = -1
	}
}

func (s *sim) add(version string, tick int) *simTask {
	id := fmt.Sprintf("t%03d", s.nextID)
	g := s.groups[s.nextID%len(s.groups)]
	s.nextID++
	st := &simTask{
		Task:  Task{ID: id, Version: version, State: cluster.TaskStaging, Agent: "agent-" + g, Group: g},
		runAt: tick + 1, healthyAt: -1, failAt: -1, endAt: -1,
	}
	switch {
	case s.fixed:
		st.healthyAt = tick + 3
	case s.rng.Float64() < s.failRate:
		st.failAt = tick + 2 + s.rng.IntN(3)
	default:
		st.healthyAt = tick + 2 + s.rng.IntN(4)
	}
	s.tasks = append(s.tasks, st)
	return st
}

// advance moves every task along its script to the given tick.
func (s *sim) advance(tick int) {
	now := at(tick)
	for _, st := range s.tasks {
		if st.lostUntil > tick && st.lostFrom <= tick && !st.State.Terminal() {
			if st.State != cluster.TaskUnreachable {
				st.before = st.Task
				st.State, st.Since = cluster.TaskUnreachable, at(st.lostFrom)
			}
			continue
		}
		if st.State == cluster.TaskUnreachable {
			// The agent is back: the task is as it was, and a kill
			// requested meanwhile reaches it now.
			st.State, st.Health, st.Since = st.before.State, st.before.Health, st.before.Since
			if st.Killing && st.endAt <= tick {
				st.endAt = tick + 1
			}
			continue
		}
		switch {
		case st.State.Terminal():
		case st.endAt >= 0 && tick >= st.endAt:
			st.State, st.Health, st.Since = cluster.TaskKilled, cluster.HealthUnknown, now
		case st.State == cluster.TaskStaging && tick >= st.runAt:
			st.State, st.StartedAt, st.Since = cluster.TaskRunning, now, now
		case st.State == cluster.TaskRunning && st.failAt >= 0 && tick >= st.failAt:
			st.State, st.Health, st.Since = cluster.TaskFailed, cluster.HealthUnknown, now
		case st.State == cluster.TaskRunning && st.healthyAt >= 0 && tick >= st.healthyAt:
			st.Health = cluster.HealthHealthy
		}
	}
}

func (s *sim) observe() snapshot {
	snap := snapshot{byVersion: map[string][2]int{}}
	for _, st := range s.tasks {
		if st.State.Terminal() {
			continue
		}
		if st.State == cluster.TaskUnreachable && st.Killing {
			// Replaced; it stops if its agent returns, or is expunged.
			snap.lingering++
			continue
		}
		snap.total++
		if st.Killing {
			continue
		}
		c := snap.byVersion[st.Version]
		c[0]++
		if healthy(&st.Task) {
			snap.healthy++
			c[1]++
		}
		snap.byVersion[st.Version] = c
	}
	return snap
}

// step runs one tick: the cluster moves, Step decides, the decision is
// applied. It returns the state after the decision.
func (s *sim) step(tick int) (snapshot, Decision) {
	s.advance(tick)
	in := Input{Spec: s.spec, Launches: s.launches, Now: at(tick)}
	for _, st := range s.tasks {
		in.Tasks = append(in.Tasks, st.Task)
	}
	d := Step(in)
	if s.gate != nil {
		d = s.gate(in, d)
	}
	s.launches = d.Launches
	for _, k := range d.Kill {
		for _, st := range s.tasks {
			if st.ID == k.TaskID {
				if st.Killing {
					s.t.Fatalf("tick %d: %s killed twice", tick, k.TaskID)
				}
				st.Killing = true
				st.endAt = tick + 1
				if !s.fixed {
					st.endAt += s.rng.IntN(2)
				}
			}
		}
	}
	s.tasks = slices.DeleteFunc(s.tasks, func(st *simTask) bool { return slices.Contains(d.Forget, st.ID) })
	for range d.Start {
		s.add(s.spec.Version, tick)
	}
	snap := s.observe()
	s.record(tick, snap, d)
	s.done = d.Done
	return snap, d
}

func (s *sim) record(tick int, snap snapshot, d Decision) {
	versions := make([]string, 0, len(snap.byVersion))
	for v := range snap.byVersion {
		versions = append(versions, v)
	}
	slices.Sort(versions)
	fmt.Fprintf(&s.trace, "t=%02d total=%d healthy=%d", tick, snap.total, snap.healthy)
	for _, v := range versions {
		c := snap.byVersion[v]
		fmt.Fprintf(&s.trace, " %s=%d(%dh)", v, c[0], c[1])
	}
	var acts []string
	for _, k := range d.Kill {
		acts = append(acts, fmt.Sprintf("kill %s (%s)", k.TaskID, k.Reason))
	}
	if d.Start > 0 {
		acts = append(acts, fmt.Sprintf("start %d", d.Start))
	}
	if !d.DelayedUntil.IsZero() {
		acts = append(acts, fmt.Sprintf("delayed %s", d.DelayedUntil.Sub(at(tick))))
	}
	if d.Done {
		acts = append(acts, "done")
	}
	if len(acts) > 0 {
		fmt.Fprintf(&s.trace, " | %s", strings.Join(acts, ", "))
	}
	s.trace.WriteString("\n")
}

// rollout drives a rollout to the end, checking after every tick that at
// least MinHealthy instances are healthy and no more than MaxCapacity
// exist, and at the end that exactly Instances healthy new ones remain.
// supersedeAt > 0 switches to a third version at that tick.
func (s *sim) rollout(maxTicks, supersedeAt int) {
	s.t.Helper()
	lim := LimitsFor(s.spec.Instances, s.spec.MinimumHealthCapacity, s.spec.MaximumOverCapacity)
	first := s.observe()
	floor := min(lim.MinHealthy, first.healthy)
	ceiling := max(lim.MaxCapacity, first.total)
	for tick := range maxTicks {
		if tick == supersedeAt && supersedeAt > 0 {
			s.spec.Version += "-next"
		}
		snap, _ := s.step(tick)
		if snap.healthy < floor {
			s.t.Fatalf("tick %d: %d healthy, fewer than minHealthy %d\n%s", tick, snap.healthy, floor, s.trace.String())
		}
		if snap.total > ceiling {
			s.t.Fatalf("tick %d: %d tasks, more than maxCapacity %d\n%s", tick, snap.total, ceiling, s.trace.String())
		}
		// Once under the limit, the app never goes back over it.
		ceiling = max(lim.MaxCapacity, min(ceiling, snap.total))
		if s.done {
			end := snap.byVersion[s.spec.Version]
			if end[0] != s.spec.Instances || end[1] != s.spec.Instances || snap.total != s.spec.Instances {
				s.t.Fatalf("tick %d: done with %v, want %d healthy of %s only\n%s", tick, snap.byVersion, s.spec.Instances, s.spec.Version, s.trace.String())
			}
			return
		}
	}
	s.t.Fatalf("no convergence in %d ticks\n%s", maxTicks, s.trace.String())
}

func TestSimulatedRollouts(t *testing.T) {
	counts := []int{1, 2, 3, 4, 5, 7, 10}
	fractions := []float64{0, 0.25, 0.5, 0.75, 1}
	overs := []float64{0, 0.25, 0.5, 1}
	runs := 0
	for _, n := range counts {
		for _, mhc := range fractions {
			for _, moc := range overs {
				for seed := uint64(1); seed <= 3; seed++ {
					name := fmt.Sprintf("n=%d/mhc=%v/moc=%v/seed=%d", n, mhc, moc, seed)
					s := newSim(t, strategy(spec("v2", n), mhc, moc), seed*uint64(n)+uint64(mhc*100)+uint64(moc*1000), 0.2)
					s.spec.Backoff = Backoff{Initial: time.Second, Factor: 2, Max: 4 * time.Second}
					s.seed("v1", n)
					// Some runs get a new commit in the middle of the rollout.
					supersede := 0
					if seed == 3 {
						supersede = 4
					}
					t.Run(name, func(t *testing.T) {
						s.t = t
						s.rollout(5000, supersede)
					})
					runs++
				}
			}
		}
	}
	t.Logf("%d simulated rollouts", runs)
}

func TestSimulatedScaleAndRestart(t *testing.T) {
	for _, c := range []struct{ from, to int }{{5, 2}, {2, 5}, {1, 4}, {6, 1}, {3, 0}, {0, 3}} {
		for _, mhc := range []float64{0, 0.5, 1} {
			for _, moc := range []float64{0, 0.5, 1} {
				name := fmt.Sprintf("%d->%d/mhc=%v/moc=%v", c.from, c.to, mhc, moc)
				t.Run(name, func(t *testing.T) {
					s := newSim(t, strategy(spec("v2", c.to), mhc, moc), uint64(c.from*7+c.to), 0.1)
					s.spec.Backoff = Backoff{Initial: time.Second, Factor: 2, Max: 4 * time.Second}
					s.seed("v1", c.from)
					s.rollout(5000, 0)
				})
			}
		}
	}
}

// TestRolloutTraces pins whole rollouts tick by tick in golden files, with
// fixed delays: a task runs one tick after it is started, turns healthy two
// ticks later, and a killed task ends one tick after the kill.
func TestRolloutTraces(t *testing.T) {
	cases := []struct {
		name     string
		n        int
		mhc, moc float64
		from     int
	}{
		{"marathon-default-1-1", 3, 1, 1, 3},
		{"one-at-a-time-1-0", 3, 1, 0, 3},
		{"stop-then-start-0-0", 3, 0, 0, 3},
		{"half-0.5-0", 4, 0.5, 0, 4},
		{"half-0.5-0.5", 4, 0.5, 0.5, 4},
		{"scale-down-and-restart-1-0", 2, 1, 0, 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newSim(t, strategy(spec("v2", c.n), c.mhc, c.moc), 1, 0)
			s.fixed = true
			s.seed("v1", c.from)
			s.rollout(100, 0)
			golden(t, filepath.Join("testdata", "rollout", c.name+".txt"), s.trace.String())
		})
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (run go test -update if the change is intended):\n--- want\n%s--- got\n%s", path, want, got)
	}
}

// TestSimulatedChaos throws everything at one app for 60 ticks (agents lost
// and back, new versions, scaling, strategy changes, failing launches), then
// lets it settle: it must end with exactly Instances healthy tasks of the
// last version, having never killed a task twice.
func TestSimulatedChaos(t *testing.T) {
	for seed := uint64(1); seed <= 300; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 99))
			s := newSim(t, spec("v0", 1+rng.IntN(6)), seed, 0.2)
			s.spec.InactiveAfter, s.spec.ExpungeAfter = 5*time.Second, 20*time.Second
			s.spec.Backoff = Backoff{Initial: time.Second, Factor: 2, Max: 4 * time.Second}
			s.seed("v0", s.spec.Instances)
			fractions := []float64{0, 0.5, 0.8, 1}
			version := 0
			for tick := range 3000 {
				if tick < 60 {
					switch r := rng.Float64(); {
					case r < 0.05:
						version++
						s.spec.Version = fmt.Sprintf("v%d", version)
					case r < 0.10:
						s.spec.Instances = rng.IntN(8)
					case r < 0.13:
						s.spec.MinimumHealthCapacity = fractions[rng.IntN(len(fractions))]
						s.spec.MaximumOverCapacity = fractions[rng.IntN(len(fractions))]
					case r < 0.20 && len(s.tasks) > 0:
						st := s.tasks[rng.IntN(len(s.tasks))]
						if st.lostUntil <= tick {
							st.lostFrom, st.lostUntil = tick, tick+1+rng.IntN(40)
						}
					}
				}
				s.step(tick)
				if tick >= 60 && s.done {
					snap := s.observe()
					end := snap.byVersion[s.spec.Version]
					if end[0] != s.spec.Instances || end[1] != s.spec.Instances || snap.total != s.spec.Instances {
						t.Fatalf("tick %d: done with %v, want %d healthy of %s only\n%s", tick, snap.byVersion, s.spec.Instances, s.spec.Version, s.trace.String())
					}
					return
				}
			}
			t.Fatalf("no convergence\n%s", s.trace.String())
		})
	}
}
