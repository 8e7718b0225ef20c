package rollout

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var allStates = []cluster.TaskState{"", cluster.TaskStaging, cluster.TaskStarting, cluster.TaskRunning,
	cluster.TaskRunning, cluster.TaskRunning, cluster.TaskFinished, cluster.TaskFailed, cluster.TaskKilling,
	cluster.TaskKilled, cluster.TaskLost, cluster.TaskUnreachable, "ERROR"}

var allHealth = []cluster.Health{cluster.HealthUnknown, cluster.HealthHealthy, cluster.HealthHealthy, cluster.HealthUnhealthy}

// byteSource hands out bytes of a fuzz input, then zeros.
type byteSource struct{ b []byte }

func (s *byteSource) next() int {
	if len(s.b) == 0 {
		return 0
	}
	v := s.b[0]
	s.b = s.b[1:]
	return int(v)
}

func (s *byteSource) pick(n int) int { return s.next() % n }

func (s *byteSource) float() float64 {
	switch v := s.next(); v {
	case 255:
		return math.NaN()
	case 254:
		return math.Inf(1)
	case 253:
		return -1
	default:
		return float64(v) / 200 // 0 .. 1.26, a little beyond the valid range
	}
}

// inputFrom builds an arbitrary Input, valid or not, from bytes: the fuzz
// target and the random property test share it.
func inputFrom(data []byte) Input {
	src := &byteSource{b: data}
	versions := []string{"v1", "v2", "v3"}
	s := Spec{
		Version:               versions[src.pick(3)],
		Instances:             src.next()%14 - 1,
		MinimumHealthCapacity: src.float(),
		MaximumOverCapacity:   src.float(),
		KillSelection:         []KillSelection{YoungestFirst, OldestFirst, ""}[src.pick(3)],
		ReplaceUnhealthy:      src.next()%2 == 0,
		InactiveAfter:         time.Duration(src.next()) * time.Second,
		ExpungeAfter:          time.Duration(src.next()) * time.Second,
		Backoff:               Backoff{Initial: time.Duration(src.next()) * 100 * time.Millisecond, Factor: src.float() * 3, Max: time.Duration(src.next()) * time.Second},
	}
	in := Input{Spec: s, Now: t0,
		Launches: Launches{Version: versions[src.pick(3)], Failures: src.next() % 40, LastFailure: at(-src.next())}}
	for len(src.b) > 0 {
		t := Task{
			ID:      fmt.Sprintf("t%02d", src.pick(40)),
			Version: versions[src.pick(3)],
			State:   allStates[src.pick(len(allStates))],
			Health:  allHealth[src.pick(len(allHealth))],
			Group:   []string{"", "a", "b", "c"}[src.pick(4)],
			Killing: src.pick(5) == 0,
		}
		if v := src.next(); v > 0 {
			t.StartedAt = at(-v)
		}
		if v := src.next(); v > 0 {
			t.Agent = fmt.Sprintf("agent-%d", v%4)
		}
		if v := src.next(); v > 0 {
			t.Since = at(-v * 3)
		}
		in.Tasks = append(in.Tasks, t)
	}
	return in
}

// checkDecision asserts what must hold for any input.
func checkDecision(t *testing.T, in Input) Decision {
	t.Helper()
	d := Step(in)
	// Of repeated ids Step keeps the first; the check uses the same rule.
	byID := map[string]Task{}
	for _, p := range byIDTasks(in.Tasks) {
		byID[p.ID] = p
	}
	killed := map[string]bool{}
	healthyKilled := 0
	for _, k := range d.Kill {
		tk, ok := byID[k.TaskID]
		switch {
		case !ok:
			t.Fatalf("kill of unknown task %s", k.TaskID)
		case killed[k.TaskID]:
			t.Fatalf("task %s killed twice", k.TaskID)
		case tk.State.Terminal():
			t.Fatalf("kill of ended task %s", k.TaskID)
		case tk.Killing || tk.State == cluster.TaskKilling:
			t.Fatalf("kill of task %s already being killed", k.TaskID)
		}
		killed[k.TaskID] = true
		if healthy(&tk) {
			healthyKilled++
		}
	}
	forgotten := map[string]bool{}
	for _, id := range d.Forget {
		tk := byID[id]
		if forgotten[id] || killed[id] || !(tk.State.Terminal() || tk.State == cluster.TaskUnreachable) {
			t.Fatalf("bad forget of %s (%s)", id, tk.State)
		}
		forgotten[id] = true
	}
	n := max(in.Spec.Instances, 0)
	if d.Start < 0 || d.Start > n {
		t.Fatalf("start %d of %d instances", d.Start, n)
	}
	if d.Start > 0 && !d.DelayedUntil.IsZero() {
		t.Fatalf("start %d while delayed until %v", d.Start, d.DelayedUntil)
	}
	healthyBefore, occupying := 0, 0
	for _, tk := range byID {
		if healthy(&tk) && !tk.Killing {
			healthyBefore++
		}
		gone := tk.State.Terminal() || forgotten[tk.ID] ||
			(tk.State == cluster.TaskUnreachable && (tk.Killing || killed[tk.ID]))
		if !gone {
			occupying++
		}
	}
	if d.Rolling && d.Start > 0 && occupying+d.Start > d.Limits.MaxCapacity {
		t.Fatalf("rolling: %d tasks + %d started exceeds maxCapacity %d", occupying, d.Start, d.Limits.MaxCapacity)
	}
	scaledDown := slices.ContainsFunc(d.Kill, func(k Kill) bool { return k.Reason == ReasonScaleDown })
	if d.Rolling && !scaledDown && healthyBefore-healthyKilled < min(d.Limits.MinHealthy, healthyBefore) {
		t.Fatalf("rolling: %d healthy, %d of them killed, minHealthy %d", healthyBefore, healthyKilled, d.Limits.MinHealthy)
	}
	shuffled := slices.Clone(in.Tasks)
	rand.New(rand.NewPCG(uint64(len(shuffled)), 7)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	// Repeated ids are resolved by order, so only unique inputs must be
	// order-independent.
	if len(byID) == len(in.Tasks) {
		in2 := in
		in2.Tasks = shuffled
		if diff := cmp.Diff(d, Step(in2), cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("decision depends on task order:\n%s", diff)
		}
	}
	return d
}

func byIDTasks(ts []Task) []Task {
	var out []Task
	for _, p := range byID(ts) {
		out = append(out, *p)
	}
	return out
}

// apply executes a decision on the task list without any progress of the
// tasks themselves: kills are requested, records forgotten, starts added.
func apply(in Input, d Decision, round int) Input {
	out := in
	out.Launches = d.Launches
	out.Tasks = nil
	for _, tk := range byIDTasks(in.Tasks) {
		if slices.Contains(d.Forget, tk.ID) {
			continue
		}
		if slices.ContainsFunc(d.Kill, func(k Kill) bool { return k.TaskID == tk.ID }) {
			tk.Killing = true
		}
		out.Tasks = append(out.Tasks, tk)
	}
	for i := range d.Start {
		out.Tasks = append(out.Tasks, Task{ID: fmt.Sprintf("new-%d-%d", round, i), Version: in.Spec.Version, State: cluster.TaskStaging})
	}
	return out
}

// TestStepProperties checks the invariants on random inputs, and that
// re-running Step on its own applied output (nothing in the cluster moving)
// settles: a level-triggered loop that polls must not keep acting.
func TestStepProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 42))
	for i := range 3000 {
		data := make([]byte, 8+rng.IntN(200))
		for j := range data {
			data[j] = byte(rng.UintN(256))
		}
		in := inputFrom(data)
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			cur := in
			for round := range len(in.Tasks) + 3 {
				d := checkDecision(t, cur)
				if len(d.Kill) == 0 && d.Start == 0 && len(d.Forget) == 0 {
					return
				}
				cur = apply(cur, d, round)
			}
			t.Fatalf("no fixpoint after %d rounds without cluster changes", len(in.Tasks)+3)
		})
	}
}

func FuzzStep(f *testing.F) {
	f.Add([]byte{1, 5, 200, 200, 0, 0, 10, 20, 10, 50, 30, 0, 3, 0})
	f.Add([]byte{0, 3, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 3, 1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte{2, 10, 255, 254, 2, 0, 255, 255, 255, 255, 255, 255, 255, 11, 1, 1, 1, 0, 9, 9, 9})
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecision(t, inputFrom(data))
		AppStatus(inputFrom(data))
	})
}
