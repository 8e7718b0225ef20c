package rollout

import (
	"fmt"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
)

// bigApp is an app of n instances in the middle of a rolling restart over
// 20 GROUP_BY groups: 60% old healthy, 30% new healthy, 10% new starting,
// plus a few ended tasks and a lost agent.
func bigApp(n int) Input {
	in := Input{Spec: strategy(spec("v2", n), 0.9, 0.1), Now: t0}
	for i := range n {
		g := fmt.Sprintf("rack-%02d", i%20)
		var tk Task
		switch {
		case i < n*6/10:
			tk = healthyT(fmt.Sprintf("old-%04d", i), "v1", -10000+i)
		case i < n*9/10:
			tk = healthyT(fmt.Sprintf("new-%04d", i), "v2", i)
		default:
			tk = stagingT(fmt.Sprintf("new-%04d", i), "v2")
		}
		in.Tasks = append(in.Tasks, inGroup(tk, g))
	}
	for i := range 10 {
		in.Tasks = append(in.Tasks, endedT(fmt.Sprintf("end-%02d", i), "v2", cluster.TaskFailed, -i))
		in.Tasks = append(in.Tasks, unreachableT(fmt.Sprintf("lost-%02d", i), "v1", -60))
	}
	return in
}

func BenchmarkStepRolling1000(b *testing.B) {
	in := bigApp(1000)
	b.ReportAllocs()
	for b.Loop() {
		Step(in)
	}
}

// BenchmarkStepScaleDown1000 halves a 1,000-instance app spread over 100
// groups: the GROUP_BY victim choice is the costliest path.
func BenchmarkStepScaleDown1000(b *testing.B) {
	in := Input{Spec: spec("v1", 500), Now: t0}
	for i := range 1000 {
		in.Tasks = append(in.Tasks, inGroup(healthyT(fmt.Sprintf("t%04d", i), "v1", i), fmt.Sprintf("g%03d", i%100)))
	}
	b.ReportAllocs()
	for b.Loop() {
		Step(in)
	}
}

func BenchmarkAppStatus1000(b *testing.B) {
	in := bigApp(1000)
	in.Now = t0.Add(time.Minute)
	b.ReportAllocs()
	for b.Loop() {
		AppStatus(in)
	}
}
