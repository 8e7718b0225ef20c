package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/berthops/berth/reconciler"
	"github.com/berthops/berth/reconciler/decide"
	"github.com/berthops/berth/reconciler/decide/decidebench"
	"github.com/berthops/berth/reconciler/gitsource"
	"github.com/berthops/berth/testenv"
)

// BenchmarkDiff5000Apps is the PR-review target: `berth diff` between two
// commits of a 5,000-app repository, with 10, 100 and 1,000 apps changed,
// without the parse cache and with a cache warmed by an earlier run over the
// base commit. The target is under 1 s for 10 changes on 2 cores
// (docs/benchmarks.md); with the cache, the cost follows the changed files.
func BenchmarkDiff5000Apps(b *testing.B) {
	const apps = 5000
	app := func(i, instances int) string {
		return fmt.Sprintf("kind: App\nid: /team-%d/app-%04d\ncmd: ./serve --port $PORT0\ninstances: %d\ncpus: 0.1\nmem: 64\n"+
			"container:\n  type: DOCKER\n  docker:\n    image: registry.example/app-%04d:1\n  portMappings:\n    - containerPort: 8080\n"+
			"networks:\n  - mode: container/bridge\nhealthChecks:\n  - protocol: HTTP\n    path: /health\nlabels:\n  team: team-%d\n", i%50, i, instances, i, i%50)
	}
	for _, changed := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("changed=%d", changed), func(b *testing.B) {
			r := testenv.NewGitRepo(b, filepath.Join(b.TempDir(), "big.git"))
			files := map[string]string{}
			for i := range apps {
				files[fmt.Sprintf("apps/team-%d/app-%04d.yaml", i%50, i)] = app(i, 2)
			}
			r.Commit(b, "main", files, "base")
			for i := 0; i < changed; i++ {
				n := i * (apps / changed)
				files[fmt.Sprintf("apps/team-%d/app-%04d.yaml", n%50, n)] = app(n, 3)
			}
			r.Commit(b, "feature", files, "head")
			// Through a file:// clone, as CI runs it against a remote: the
			// objects are then packed, as in any real clone.
			cacheDir := b.TempDir()
			f := diffFlags{repo: r.FileURL(), cacheDir: cacheDir, base: "main", head: "feature", format: "json", nextRuns: 5}
			// The warm state CI sees: the parse cache holds what an earlier
			// run parsed (the base commit), not the PR's changed files.
			seed := f
			seed.head = "main"
			if err := runDiff(context.Background(), io.Discard, io.Discard, seed); err != nil {
				b.Fatal(err)
			}
			cacheFile := parseCachePath(cacheDir, f.repo, ".")
			warm, err := os.ReadFile(cacheFile)
			if err != nil {
				b.Fatal(err)
			}
			// With a cluster too (10 changes only): the fit verdict, the blast
			// radius and the template previews over 5,000 running apps on 50
			// agents, from a snapshot as a PR check reads it.
			modes := []string{"off", "warm"}
			var snapshot string
			if changed == 10 {
				snapshot = benchSnapshot(b, r.Dir)
				modes = append(modes, "warm+cluster")
			}
			for _, mode := range modes {
				b.Run("cache="+mode, func(b *testing.B) {
					f := f
					f.noParseCache = mode == "off"
					if mode == "warm+cluster" {
						f.observed = snapshot
					}
					// CPU time per diff is reported beside wall time: on a
					// shared machine wall time mostly measures the neighbours.
					cpu0 := cpuTime(b)
					for b.Loop() {
						b.StopTimer()
						if err := os.WriteFile(cacheFile, warm, 0o600); err != nil {
							b.Fatal(err)
						}
						b.StartTimer()
						if err := runDiff(context.Background(), io.Discard, io.Discard, f); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64((cpuTime(b)-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
					if mode == "warm" {
						b.ReportMetric(float64(len(warm))/1e6, "cache-MB")
					}
				})
			}
		})
	}
}

// cpuTime is the process's user plus system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchSnapshot is the cluster that runs the base commit of repo (every app
// placed on 50 large agents and running), as GET /v1/observed gives it.
func benchSnapshot(b *testing.B, repo string) string {
	src, err := gitsource.Open(context.Background(), gitsource.Options{URL: repo})
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	commit, err := src.Resolve("main")
	if err != nil {
		b.Fatal(err)
	}
	set, err := reconciler.LoadCommit(reconciler.GitTrees(src), nil, commit, "")
	if err != nil {
		b.Fatal(err)
	}
	v := decide.Simulate(decide.Input{Desired: set, Commit: commit, Agents: decidebench.BigAgents(50), Now: decidebench.Now}, decide.Options{Prune: true}, 0)
	snap := decide.SnapshotOf(v.End, set)
	data, err := json.Marshal(snap)
	if err != nil {
		b.Fatal(err)
	}
	file := filepath.Join(b.TempDir(), "state.json")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		b.Fatal(err)
	}
	return file
}
