package main

import (
	"bytes"
	"regexp"
	"testing"

	"github.com/berthops/berth/testenv"
)

func TestBenchAllocator(t *testing.T) {
	var out, errb bytes.Buffer
	root := newRootCmd(&out, &errb)
	root.SetArgs([]string{"bench", "allocator", "--agents", "1000", "--tasks", "5000", "--seed", "3"})
	if err := root.Execute(); err != nil {
		t.Fatalf("bench allocator: %v (stderr %q)", err, errb.String())
	}
	want := regexp.MustCompile(`^placements_per_sec: [1-9][0-9]*\nunplaced: 0\npeak_rss_mib: [1-9][0-9]*\n$`)
	if !want.MatchString(out.String()) {
		t.Errorf("bench allocator printed %q", out.String())
	}
	root = newRootCmd(&out, &errb)
	root.SetArgs([]string{"bench", "allocator", "--mix", "odd"})
	if err := root.Execute(); err == nil {
		t.Errorf("--mix odd was accepted")
	}
}

// TestBenchClusterSmoke runs berth bench cluster at a tiny size against a
// real ZooKeeper and checks that every figure is printed (not its value:
// speed is the benchmark's business, not a test's).
func TestBenchClusterSmoke(t *testing.T) {
	zk := testenv.StartZooKeeper(t, 1)
	var out, errb bytes.Buffer
	root := newRootCmd(&out, &errb)
	root.SetArgs([]string{"bench", "cluster", "--zk", zk.URL("/bench"), "--agents", "5", "--tasks", "50", "--instances", "10",
		"--session-timeout", "2s", "--idle-passes", "2", "--timeout", "2m"})
	if err := root.Execute(); err != nil {
		t.Fatalf("bench cluster: %v\nstderr:\n%s", err, errb.String())
	}
	for _, name := range []string{"cold_converge_s", "idle_pass_ms", "change_to_commit_ms", "failover_first_pass_s",
		"leader_rss_mib", "zk_txn_per_1k_placements", "agent_status_txn_per_1k_placements"} {
		if !regexp.MustCompile(`(?m)^` + name + `: [0-9.]+$`).MatchString(out.String()) {
			t.Errorf("no %s line in:\n%s", name, out.String())
		}
	}
	if !regexp.MustCompile(`(?m)^failover_restarts: 0$`).MatchString(out.String()) {
		t.Errorf("the failover restarted tasks:\n%s", out.String())
	}
	t.Logf("bench cluster at 5 agents, 50 tasks:\n%s", out.String())
}
