package manifests

import (
	"fmt"
	"testing"
	"testing/fstest"
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
	for b.Loop() {
		set, err := Load(fsys)
		if err != nil {
			b.Fatal(err)
		}
		if len(set.Apps) != 10000 {
			b.Fatalf("%d apps", len(set.Apps))
		}
	}
}
