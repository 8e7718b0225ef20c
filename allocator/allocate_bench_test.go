package allocator_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/berthops/berth/allocator"
	"github.com/berthops/berth/allocator/allocbench"
)

func benchAllocate(b *testing.B, sp allocbench.Spec, strategy allocator.Strategy) {
	c, demand, queues := allocbench.Build(sp)
	opts := allocator.Options{Strategy: strategy, Seed: sp.Seed, Queues: queues}
	b.ResetTimer()
	var placed, unplaced int
	var spent, cpu time.Duration
	for b.Loop() {
		start, cpu0 := time.Now(), cpuTime(b)
		res, err := allocator.Allocate(c, demand, opts)
		spent += time.Since(start)
		cpu += cpuTime(b) - cpu0
		if err != nil {
			b.Fatal(err)
		}
		placed, unplaced = res.Placed(), res.Unplaced()
	}
	b.ReportMetric(float64(placed)*float64(b.N)/spent.Seconds(), "placements/s")
	b.ReportMetric(float64(spent.Nanoseconds())/float64(b.N)/float64(max(placed, 1)), "ns/placement")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/float64(max(placed, 1)), "cpu-ns/placement")
	b.ReportMetric(float64(unplaced), "unplaced")
}

// cpuTime is the process's user+system CPU time. On a shared machine wall
// time mostly measures the neighbours; CPU time per placement is the cost
// that matters for capacity planning (the allocator is single-threaded,
// and the garbage collector's share is included).
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAllocate measures the cost per placement as agents grow at a
// fixed number of tasks (it should stay roughly flat), and the strategies
// and constraint mixes against each other.
func BenchmarkAllocate(b *testing.B) {
	for _, agents := range []int{1000, 2500, 5000, 10000} {
		b.Run(fmt.Sprintf("mixed/agents=%d/tasks=100000", agents), func(b *testing.B) {
			benchAllocate(b, allocbench.Spec{Agents: agents, Tasks: 100000, Seed: 1, Queues: true}, allocator.BinPack)
		})
	}
	// The same load per agent (50 tasks each) as the cluster grows.
	for _, agents := range []int{1000, 2500, 5000, 10000} {
		b.Run(fmt.Sprintf("mixed/agents=%d/tasks=%d", agents, 50*agents), func(b *testing.B) {
			benchAllocate(b, allocbench.Spec{Agents: agents, Tasks: 50 * agents, Seed: 1, Queues: true}, allocator.BinPack)
		})
	}
	// Every agent with a unique attribute nobody constrains on (a serial
	// number): it must not split the agents into 10,000 classes.
	b.Run("mixed/serials/agents=10000/tasks=100000", func(b *testing.B) {
		benchAllocate(b, allocbench.Spec{Agents: 10000, Tasks: 100000, Seed: 1, Queues: true, Serials: true}, allocator.BinPack)
	})
	for _, mix := range []struct {
		name string
		mix  allocbench.Mix
	}{{"none", allocbench.None}, {"unique", allocbench.Unique}} {
		for _, st := range []struct {
			name string
			s    allocator.Strategy
		}{{"binpack", allocator.BinPack}, {"spread", allocator.Spread}} {
			b.Run(fmt.Sprintf("%s/%s/agents=10000/tasks=100000", mix.name, st.name), func(b *testing.B) {
				benchAllocate(b, allocbench.Spec{Agents: 10000, Tasks: 100000, Mix: mix.mix, Seed: 1}, st.s)
			})
		}
	}
}

// BenchmarkAllocateMillion is the target workload: 10,000 agents and
// 1,000,000 tasks in 10,000 apps with mixed constraints and queues.
func BenchmarkAllocateMillion(b *testing.B) {
	if testing.Short() {
		b.Skip("the million-task benchmark takes about a minute")
	}
	benchAllocate(b, allocbench.Spec{Agents: 10000, Tasks: 1000000, Seed: 1, Queues: true}, allocator.BinPack)
}
