package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthops/berth/allocator"
	"github.com/berthops/berth/allocator/allocbench"
	"github.com/berthops/berth/cluster/zkstore"
	"github.com/berthops/berth/clusterbench"
)

// newBenchCmd groups the built-in benchmarks operators can run on their own
// hardware before trusting Berth with a large cluster.
func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure Berth's components on this machine",
	}
	cmd.AddCommand(newBenchAllocatorCmd(), newBenchClusterCmd())
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

func newBenchClusterCmd() *cobra.Command {
	var (
		zkURL               string
		agents, tasks, inst int
		idle                int
		session, agentSess  time.Duration
		timeout             time.Duration
		pprofAddr           string
		cold                bool
	)
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Run two leader replicas and simulated agents against a real ZooKeeper and report the control plane's figures",
		Long: `Runs, in one process, two berth server replicas (election and reconcile loop, as
berth server wires them) against the ZooKeeper of --zk, and --agents simulated
agents: the real agent code over a simulated container runtime that starts a
container at once, each agent with its own ZooKeeper session. The desired state
is a Git repository the command writes in a temporary directory: a commit of
--tasks/--instances apps of --instances instances each. It prints, one per line:

  cold_converge_s        from the commit to every task recorded RUNNING
  idle_pass_ms           process CPU of a pass with nothing to change (median)
  idle_pass_wall_ms      its wall time (median)
  change_to_commit_ms    one app scaled by 10, from its commit fetched to its
                         assignments committed
  failover_first_pass_s  the leader cut off from ZooKeeper as by kill -9, to the
                         other replica's first complete pass
  failover_restarts      tasks started or stopped by the failover (want 0)
  leader_rss_mib         peak process RSS less the agents' own (see docs/benchmarks.md)
  zk_txn_per_1k_placements            the leaders' ZooKeeper write transactions
  agent_status_txn_per_1k_placements  the agents' status writes

The run works under a chroot of its own below --zk's path and leaves its znodes
there: use a ZooKeeper of its own (make bench-cluster starts one). Thousands of
sessions come from one address: the ZooKeeper needs maxClientCnxns=0.`,
		Example: `  berth bench cluster --zk zk://127.0.0.1:2181/bench --agents 500 --tasks 15000`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if zkURL == "" {
				return fmt.Errorf("bench cluster: --zk is required (zk://host:port/path)")
			}
			cfg, err := zkstore.ParseURL(zkURL)
			if err != nil {
				return fmt.Errorf("bench cluster: --zk: %w", err)
			}
			logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
			if pprofAddr != "" {
				stop, err := servePprof(pprofAddr, logger)
				if err != nil {
					return fmt.Errorf("bench cluster: --pprof: %w", err)
				}
				defer stop()
			}
			res, err := clusterbench.Run(cmd.Context(), clusterbench.Config{ZK: cfg, Agents: agents, Tasks: tasks, Instances: inst,
				SessionTimeout: session, AgentSessionTimeout: agentSess, IdlePasses: idle, ColdStandby: cold, Timeout: timeout, Version: version, Log: logger})
			if err != nil {
				return err
			}
			res.Print(cmd.OutOrStdout())
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&zkURL, "zk", os.Getenv("BERTH_ZK"), "ZooKeeper to run against, zk://host:port/path (env BERTH_ZK)")
	f.IntVar(&agents, "agents", 500, "number of simulated agents, each with its own ZooKeeper session")
	f.IntVar(&tasks, "tasks", 15000, "number of tasks: a multiple of --instances")
	f.IntVar(&inst, "instances", 100, "instances of each app")
	f.IntVar(&idle, "idle-passes", 5, "idle passes to time")
	f.DurationVar(&session, "session-timeout", zkstore.DefaultSessionTimeout, "ZooKeeper session timeout of the leader replicas")
	f.DurationVar(&agentSess, "agent-session-timeout", zkstore.DefaultSessionTimeout, "ZooKeeper session timeout of the simulated agents (longer on a machine too loaded to keep thousands of sessions alive)")
	f.DurationVar(&timeout, "timeout", 30*time.Minute, "longest each phase may take")
	f.BoolVar(&cold, "cold-standby", false, "run the replicas with --cold-standby: leader_rss_mib is then the leader's alone, and the failover fills the new leader's cache")
	f.StringVar(&pprofAddr, "pprof", "", "serve Go's profiles (/debug/pprof/) on this address while running, e.g. 127.0.0.1:6060")
	return cmd
}

// servePprof serves net/http/pprof's handlers on addr until stop: the
// benchmark's heap and goroutines at 150,000 tasks are what it is for.
func servePprof(addr string, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Info("serving profiles", "url", "http://"+ln.Addr().String()+"/debug/pprof/")
	return func() { _ = srv.Close() }, nil
}
