package main

import (
	"fmt"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthops/berth/allocator"
	"github.com/berthops/berth/allocator/allocbench"
)

// newBenchCmd groups the built-in benchmarks operators can run on their own
// hardware before trusting Berth with a large cluster.
func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure Berth's components on this machine",
	}
	cmd.AddCommand(newBenchAllocatorCmd())
	return cmd
}

func newBenchAllocatorCmd() *cobra.Command {
	var (
		agents, tasks, apps int
		seed                uint64
		spread, noQueues    bool
		mix                 string
	)
	cmd := &cobra.Command{
		Use:   "allocator",
		Short: "Place a synthetic workload with the built-in allocator and report its speed",
		Long: `Builds a synthetic cluster (64 cpus, 256 GiB agents in racks of 40 over 3 zones) and
a demand of --tasks tasks in --apps apps (default tasks/100) with mixed constraints
and a small queue tree, places it once, and prints:

  placements_per_sec: N
  unplaced: N
  peak_rss_mib: N`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if agents < 1 || tasks < 0 {
				return fmt.Errorf("bench allocator: --agents must be at least 1 and --tasks not negative")
			}
			m := allocbench.Mixed
			switch mix {
			case "mixed":
			case "none":
				m = allocbench.None
			case "unique":
				m = allocbench.Unique
			default:
				return fmt.Errorf("bench allocator: --mix %q: want mixed, none or unique", mix)
			}
			sp := allocbench.Spec{Agents: agents, Tasks: tasks, Apps: apps, Mix: m, Seed: seed, Queues: !noQueues}
			c, demand, queues := allocbench.Build(sp)
			opts := allocator.Options{Seed: seed, Queues: queues}
			if spread {
				opts.Strategy = allocator.Spread
			}
			start := time.Now()
			res, err := allocator.Allocate(c, demand, opts)
			elapsed := time.Since(start)
			if err != nil {
				return fmt.Errorf("bench allocator: %w", err)
			}
			var ru syscall.Rusage
			if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
				return fmt.Errorf("bench allocator: read peak memory: %w", err)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "placements_per_sec: %d\n", int64(float64(res.Placed())/max(elapsed.Seconds(), 1e-9)))
			fmt.Fprintf(out, "unplaced: %d\n", res.Unplaced())
			fmt.Fprintf(out, "peak_rss_mib: %d\n", ru.Maxrss/1024) // Linux reports KiB
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&agents, "agents", 10000, "number of agents")
	f.IntVar(&tasks, "tasks", 1000000, "number of tasks to place")
	f.IntVar(&apps, "apps", 0, "number of apps (default tasks/100)")
	f.Uint64Var(&seed, "seed", 1, "seed for the workload and the allocator's tie-breaking")
	f.BoolVar(&spread, "spread", false, "use the spread strategy instead of bin-packing")
	f.BoolVar(&noQueues, "no-queues", false, "charge every app to one unlimited queue")
	f.StringVar(&mix, "mix", "mixed", "constraint mix: mixed, none or unique")
	return cmd
}
