package manifests

import (
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"testing/fstest"
	"time"
)

// BenchmarkLoad10kApps loads a repository of 10,000 app manifests, one per
// file, the size the issue sets as a target (under 1 s and 500 MiB).
func BenchmarkLoad10kApps(b *testing.B) {
	fsys := fstest.MapFS{}
	for i := range 10000 {
		fsys[fmt.Sprintf("apps/team%02d/app%05d.yaml", i%50, i)] = &fstest.MapFile{Data: []byte(fmt.Sprintf(`kind: App
id: /team%02d/app%05d
instances: 3
cpus: 0.25
mem: 64
constraints:
  - [hostname, UNIQUE]
container:
  type: DOCKER
  docker:
    image: berth/web:dev
  portMappings:
    - {containerPort: 80, hostPort: 0, servicePort: 0, protocol: tcp}
networks: [{mode: container/bridge}]
env:
  WEB_PORTS: "80"
  TEAM: team%02d
healthChecks:
  - {protocol: HTTP, path: /health, portIndex: 0}
labels:
  owner: team%02d
`, i%50, i, i%50, i%50))}
	}
	b.ReportAllocs()
	runtime.GC()
	var before, after syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	var live uint64
	for b.Loop() {
		set, err := Load(fsys)
		if err != nil {
			b.Fatal(err)
		}
		if len(set.Apps) != 10000 {
			b.Fatalf("%d apps", len(set.Apps))
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		live = max(live, ms.HeapAlloc)
	}
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	// The build machine is shared: CPU time per load is the figure other
	// builds do not inflate, and the peak heap is what the target bounds.
	cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(live)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(after.Maxrss)/1024, "maxrss-MiB")
}
