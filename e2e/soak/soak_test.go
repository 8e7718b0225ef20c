package soak

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berthops/berth/e2e/history"
	"github.com/berthops/berth/testenv"
)

// TestSoak is `make soak` when BERTH_SOAK names a duration (BERTH_SOAK_SEED
// the seed, random when unset; BERTH_SOAK_DIR where the history goes;
// BERTH_SOAK_SUMMARY a file that receives the report). Otherwise it is
// `make test`'s soak: two minutes with a fixed seed, two with a random one,
// and on each recorded history a proof that the checker catches what it
// must.
func TestSoak(t *testing.T) {
	testenv.Integration(t)
	// An interrupt (^C on make soak) ends the soak early but cleanly: the
	// test's clean-ups stop every process and remove every container.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if d := os.Getenv("BERTH_SOAK"); d != "" {
		dur, err := time.ParseDuration(d)
		if err != nil {
			t.Fatalf("BERTH_SOAK=%q: %v", d, err)
		}
		seed := time.Now().UnixNano() % 1_000_000
		if s := os.Getenv("BERTH_SOAK_SEED"); s != "" {
			if seed, err = strconv.ParseInt(s, 10, 64); err != nil {
				t.Fatalf("BERTH_SOAK_SEED=%q: %v", s, err)
			}
		}
		rep := Run(ctx, t, Config{Duration: dur, Seed: seed, HistoryDir: os.Getenv("BERTH_SOAK_DIR")})
		if path := os.Getenv("BERTH_SOAK_SUMMARY"); path != "" {
			var b bytes.Buffer
			PrintReport(&b, rep)
			if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
				t.Errorf("summary: %v", err)
			}
		}
		if n := len(rep.Result.Violations); n > 0 {
			t.Errorf("%d violations (history %s)", n, rep.HistoryFile)
		}
		return
	}
	const fixed = 20261207
	for _, seed := range []int64{fixed, time.Now().UnixNano() % 1_000_000} {
		// The random seed's violations fail the run only with
		// BERTH_SOAK_STRICT=1 until the findings of the long soaks
		// (docs/reliability.md) are root-caused: about half of the random
		// two-minute soaks find one of them, and main must stay landable.
		// The fixed seed always fails on a violation.
		strict := seed == fixed || os.Getenv("BERTH_SOAK_STRICT") == "1"
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			dir := os.Getenv("BERTH_SOAK_DIR")
			if dir == "" {
				dir = t.TempDir()
			}
			var out bytes.Buffer
			rep := Run(ctx, t, Config{Duration: 2 * time.Minute, Seed: seed, HistoryDir: dir, Out: &out})
			t.Logf("soak report:\n%s", out.String())
			for _, v := range rep.Result.Violations {
				if strict {
					t.Errorf("violation: %s", v)
				} else {
					t.Logf("UNRESOLVED FINDING (not failing: set BERTH_SOAK_STRICT=1; replay with make soak SEED=%d SOAK=2m): %s", seed, v)
				}
			}
			if rep.Result.FaultCount() < 5 {
				t.Errorf("only %d faults injected in two minutes", rep.Result.FaultCount())
			}
			catchesInjected(t, rep.History)
		})
	}
}

// catchesInjected shows the checker can fail: each broken promise, written
// into a real recorded history as a recorder would have seen it, is
// reported under its rule.
func catchesInjected(t *testing.T, h history.History) {
	t.Helper()
	if len(h.Events) == 0 {
		t.Fatal("empty history")
	}
	h.Sort()
	// After every fault's grace: nothing excuses what happens then.
	late := h.Events[len(h.Events)-1].At.Add(2 * time.Minute)
	var head *history.Commit
	for _, e := range h.Events {
		if e.Kind == history.KindCommit {
			head = e.Commit
		}
	}
	web := head.Apps["/web"]
	cases := map[string]func(h *history.History) bool{
		// A rolling upgrade of /web with no serving task left.
		history.RuleCapacity: func(h *history.History) bool {
			h.Events = append(h.Events, history.Event{At: late, Kind: history.KindTasks, Tasks: []history.Task{
				{ID: "old", App: "/web", Image: "old-image", Live: true, Running: true},
				{ID: "new", App: "/web", Image: web.Image, Live: true, Running: true}}})
			return true
		},
		// A scheduled occurrence of tick recorded twice.
		history.RuleJobTwice: func(h *history.History) bool {
			for i, e := range h.Events {
				if e.Kind == history.KindJobRuns && e.Job == "tick" {
					for _, r := range e.Runs {
						if r.Trigger == "schedule" && r.State == "SUCCEEDED" {
							dup := r
							dup.RunID += "-again"
							h.Events[i].Runs = append(append([]history.JobRun{}, e.Runs...), dup)
							return true
						}
					}
				}
			}
			return false
		},
		// An occurrence of tick that left no record at all.
		history.RuleJobMissing: func(h *history.History) bool {
			var victim time.Time
			for _, e := range h.Events {
				if e.Kind == history.KindJobRuns && e.Job == "tick" {
					for _, r := range e.Runs {
						if r.Trigger == "schedule" && victim.IsZero() {
							victim = r.ScheduledAt
						}
					}
				}
			}
			if victim.IsZero() {
				return false
			}
			for i, e := range h.Events {
				if e.Kind != history.KindJobRuns {
					continue
				}
				var keep []history.JobRun
				for _, r := range e.Runs {
					if !r.ScheduledAt.Equal(victim) {
						keep = append(keep, r)
					}
				}
				h.Events[i].Runs = keep
			}
			return true
		},
		// nginx's upstream naming an instance Consul never listed.
		history.RuleRouted: func(h *history.History) bool {
			h.Events = append(h.Events, history.Event{At: late, Kind: history.KindUpstream, Upstream: &history.Upstream{Service: "web", Servers: []string{"127.0.0.99:1"}}})
			return true
		},
		// No server said it leads for a minute, with no fault to explain it.
		history.RuleNoLeader: func(h *history.History) bool {
			for s := 0; s <= 60; s += 5 {
				h.Events = append(h.Events, history.Event{At: late.Add(time.Duration(s) * time.Second), Kind: history.KindMembers, Members: &history.Members{}})
			}
			return true
		},
		// An agent whose process exited with no fault to explain it.
		history.RuleDown: func(h *history.History) bool {
			h.Events = append(h.Events, history.Event{At: late, Kind: history.KindMembers, Members: &history.Members{Leader: "server-1", Down: []string{"agent-2"}}})
			return true
		},
		// A container of a removed app still running at the end.
		history.RuleLeftover: func(h *history.History) bool {
			for i := len(h.Events) - 1; i >= 0; i-- {
				if e := h.Events[i]; e.Kind == history.KindSettle {
					obs := *e.Settle
					obs.Containers = append(append([]history.Container{}, obs.Containers...), history.Container{ID: "injected", App: "/removed", Task: "removed.1", Running: true})
					h.Events[i].Settle = &obs
					return true
				}
			}
			return false
		},
	}
	for rule, inject := range cases {
		broken := history.History{Seed: h.Seed, Events: append([]history.Event{}, h.Events...)}
		if !inject(&broken) {
			t.Errorf("injecting %s: the history has nothing to break", rule)
			continue
		}
		res := history.Check(broken, history.Options{})
		found := false
		for _, v := range res.Violations {
			found = found || v.Rule == rule
		}
		if !found {
			t.Errorf("injected %s, the checker reported %v", rule, res.Violations)
		}
	}
	var rules []string
	for r := range cases {
		rules = append(rules, r)
	}
	t.Logf("the checker caught each injected violation: %s", strings.Join(rules, ", "))
}

// TestCheckHistoryFile is `make soak-check HISTORY=FILE`: it judges a
// history a soak wrote with today's checker and prints the same report, so
// a checker's new rule or corrected bound can be tried on old runs without
// running them again.
func TestCheckHistoryFile(t *testing.T) {
	path := os.Getenv("BERTH_SOAK_CHECK")
	if path == "" {
		t.Skip("set BERTH_SOAK_CHECK to a history file (make soak-check HISTORY=FILE)")
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open history: %v", err)
	}
	defer f.Close()
	h, err := history.Read(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	rep := Report{Seed: h.Seed, HistoryFile: path, History: h, Result: history.Check(h, history.Options{})}
	PrintReport(os.Stdout, rep)
	if n := len(rep.Result.Violations); n > 0 {
		t.Errorf("%d violations", n)
	}
}
