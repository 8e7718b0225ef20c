package agent

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/berthops/berth/agent/dockerrt"
	"github.com/berthops/berth/agent/launch"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/testenv"
)

const benchContainers = 50

// BenchmarkAgentStart50 starts 50 containers through the agent (assignment
// in, RUNNING reported) and, in the same run, the same 50 containers with bare
// docker create + start, and reports the agent's overhead over bare Docker
// and the resident memory of the process while the agent manages them.
func BenchmarkAgentStart50(b *testing.B) {
	b.Setenv("BERTH_TEST_QUIET", "1")
	h := newHarness(b)
	node := h.node("127.0.0.2")
	h.start(node, nil)
	ctx := context.Background()
	spec := func(i int, prefix string) cluster.Assignment {
		as := webTask(node, fmt.Sprintf("%s.%d", prefix, i))
		as.Spec.Env["WEB_PORTS"] = "80"
		return as
	}

	bareLabel := testenv.DockerTestLabel(b, h.cli)
	var bare, managed, cpu time.Duration
	var rssKiB int
	for n := range b.N {
		// Alternate which goes first, so neither always meets a cold (or
		// warm) daemon.
		runBare := func() {
			// Bare Docker: create and start concurrently, as the agent does.
			start := time.Now()
			var g errgroup.Group
			for i := range benchContainers {
				g.Go(func() error {
					rt := dockerrt.New(h.cli, dockerrt.Options{ExtraLabels: map[string]string{testenv.TestLabel: bareLabel}})
					id, err := rt.Create(ctx, launch.Task{Node: launch.Node{ID: "bare-" + h.label[len(h.label)-12:], Address: node.Address},
						Assignment: spec(i, fmt.Sprintf("bare%d", n))})
					if err != nil {
						return err
					}
					return rt.Start(ctx, id)
				})
			}
			if err := g.Wait(); err != nil {
				b.Fatal(err)
			}
			bare += time.Since(start)
			testenv.RemoveLabeled(b, h.cli, bareLabel)

		}
		runAgent := func() {
			// The agent: assignments in, every task reported RUNNING.
			start := time.Now()
			cpu0 := cpuTime(b)
			ids := make([]string, benchContainers)
			for i := range benchContainers {
				as := spec(i, fmt.Sprintf("agent%d", n))
				ids[i] = as.TaskID
				h.fc.put(as)
			}
			var wg sync.WaitGroup
			for _, id := range ids {
				wg.Add(1)
				go func() {
					defer wg.Done()
					h.fc.waitFor(b, id, 2*time.Minute, "RUNNING", func(s cluster.TaskStatus) bool { return s.State == cluster.TaskRunning })
				}()
			}
			wg.Wait()
			managed += time.Since(start)
			cpu += cpuTime(b) - cpu0
			rssKiB = max(rssKiB, vmRSS(b))
			for _, id := range ids {
				h.fc.remove(node.ID, id)
			}
			for _, id := range ids {
				st := h.fc.waitState(b, id, cluster.TaskKilled)
				waitGone(b, h.cli, st.ContainerID)
			}
		}
		if n%2 == 0 {
			runBare()
			runAgent()
		} else {
			runAgent()
			runBare()
		}
	}
	b.ReportMetric(bare.Seconds()/float64(b.N), "bare-s/op")
	b.ReportMetric(managed.Seconds()/float64(b.N), "agent-s/op")
	b.ReportMetric(100*(managed.Seconds()/bare.Seconds()-1), "overhead-%")
	b.ReportMetric(float64(rssKiB)/1024, "rss-MiB")
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "agent-cpu-ms/op")
}

// cpuTime is the user+system CPU this process used so far: unlike wall
// time, it is not inflated by other work on the machine.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// vmRSS is the resident set of this process: the agent, its Docker client
// and the test harness together, so an upper bound on the agent's own.
func vmRSS(b *testing.B) int {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.Fields(rest)[0])
			return kb
		}
	}
	return 0
}
