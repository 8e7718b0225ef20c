package testenv

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestZooKeeperEnsemble(t *testing.T) {
	z := StartZooKeeper(t, 3)
	leader := z.Leader()
	if leader < 0 {
		t.Fatalf("no leader in a fresh ensemble:\n%s", z.Output())
	}
	if out, err := FourLetterWord(z.Servers[0].Addr, "ruok", time.Second); err != nil || out != "imok" {
		t.Fatalf("ruok = %q, %v", out, err)
	}
	// Killing the leader leaves a quorum of two, which elects a new leader.
	z.Servers[leader].Kill()
	deadline := time.Now().Add(30 * time.Second)
	for z.Leader() < 0 || z.Leader() == leader {
		if time.Now().After(deadline) {
			t.Fatalf("no new leader after killing server %d:\n%s", leader+1, z.Output())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := z.Servers[leader].Restart(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := z.WaitServing(ctx); err != nil {
		t.Fatalf("restarted server: %v", err)
	}
	follower := (leader + 1) % 3
	if err := z.Servers[follower].Pause(); err != nil {
		t.Fatal(err)
	}
	if _, err := FourLetterWord(z.Servers[follower].Addr, "ruok", 300*time.Millisecond); err == nil {
		t.Fatalf("a paused server answered")
	}
	if err := z.Servers[follower].Resume(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(z.URL("/berth"), "zk://127.0.0.1:") {
		t.Fatalf("URL %q", z.URL("/berth"))
	}
}
