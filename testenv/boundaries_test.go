package testenv

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// TestPureCoreImports keeps Berth's pure core pure: manifest loading,
// planning, allocation, schedule maths and rollout decisions must not depend
// on Docker, ZooKeeper, Consul or Git clients (directly or through another
// package), so they stay testable with values alone and usable by `berth
// diff` without a cluster. Where a package is stricter still (no clock, no
// randomness, only certain Berth packages), its row says so.
func TestPureCoreImports(t *testing.T) {
	const berth = "github.com/berthops/berth/"
	// Never anywhere below a pure package.
	forbiddenDeps := []string{
		"github.com/docker/", "github.com/go-zookeeper/", "github.com/hashicorp/consul", "github.com/go-git/",
		berth + "testenv", berth + "agent", berth + "cluster/zkstore", berth + "cluster/memstore",
		"github.com/prometheus/", berth + "reconciler/gitsource",
		"os/exec", "net/http",
	}
	for _, tt := range []struct {
		pkg string
		// berthImports are the only Berth packages it may import directly.
		berthImports []string
		// std are standard-library packages (and their subpackages) it must
		// not import directly.
		std []string
	}{
		{pkg: "manifests", berthImports: []string{"schedule"}},
		{pkg: "schedule", std: []string{"os", "net", "io", "math/rand"}},
		{pkg: "allocator", berthImports: []string{"manifests"}, std: []string{"os", "net", "time"}},
		{pkg: "allocator/allocbench", berthImports: []string{"allocator", "manifests"}, std: []string{"os", "net", "time"}},
		{pkg: "reconciler/plan", berthImports: []string{"manifests", "schedule"}, std: []string{"os", "net"}},
		{pkg: "policy", berthImports: []string{"cluster"}, std: []string{"os", "net", "io", "log", "time", "math/rand", "syscall"}},
		{pkg: "reconciler/rollout", berthImports: []string{"cluster", "manifests"},
			std: []string{"os", "net", "io", "log", "math/rand", "time/tzdata", "syscall"}},
		// The one decision engine: the server's passes and every "what would
		// happen" (berth diff, GET /v1/diff) run it.
		{pkg: "reconciler/decide", berthImports: []string{"allocator", "cluster", "manifests", "policy", "reconciler/plan", "reconciler/rollout", "schedule"},
			std: []string{"os", "net", "io", "log", "math/rand", "crypto/rand", "time/tzdata", "syscall", "context"}},
	} {
		out, err := exec.Command("go", "list", "-json=ImportPath,Imports,Deps", berth+tt.pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v: %s", tt.pkg, err, errString(err))
		}
		var p struct{ Imports, Deps []string }
		if err := json.Unmarshal(out, &p); err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		for _, dep := range p.Deps {
			for _, f := range forbiddenDeps {
				if strings.HasPrefix(dep, f) {
					t.Errorf("%s depends on %s: the pure core must not do I/O through it", tt.pkg, dep)
				}
			}
		}
		for _, imp := range p.Imports {
			if rest, ok := strings.CutPrefix(imp, berth); ok {
				if !contains(tt.berthImports, rest) {
					t.Errorf("%s imports %s: it may import only %v of Berth's packages", tt.pkg, imp, tt.berthImports)
				}
				continue
			}
			for _, bad := range tt.std {
				if imp == bad || strings.HasPrefix(imp, bad+"/") {
					t.Errorf("%s imports %s: it does no I/O and reads no clock or randomness of its own", tt.pkg, imp)
				}
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func errString(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return err.Error()
}

// TestAgentCoreHasNoAdapters keeps the agent's core free of Docker and
// Consul: they are its adapters (agent/dockerrt, agent/consulreg), so the
// core can be driven by another runtime (a scale simulation, say).
func TestAgentCoreHasNoAdapters(t *testing.T) {
	for _, pkg := range []string{"agent", "agent/launch"} {
		out, err := exec.Command("go", "list", "-json=ImportPath,Deps", "github.com/berthops/berth/"+pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v: %s", pkg, err, errString(err))
		}
		var p struct{ Deps []string }
		if err := json.Unmarshal(out, &p); err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		for _, dep := range p.Deps {
			if strings.HasPrefix(dep, "github.com/docker/") || strings.HasPrefix(dep, "github.com/hashicorp/consul") {
				t.Errorf("%s depends on %s: it belongs in an adapter package", pkg, dep)
			}
		}
	}
}

// TestClientIsSmall keeps the API client (and the wire types it shares with
// the server) free of the server's technologies, so a script or tool that
// imports it does not pull in Git, ZooKeeper, Docker, Consul or Prometheus.
func TestClientIsSmall(t *testing.T) {
	for _, pkg := range []string{"client", "reconciler/wire"} {
		out, err := exec.Command("go", "list", "-json=ImportPath,Deps", "github.com/berthops/berth/"+pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v: %s", pkg, err, errString(err))
		}
		var p struct{ Deps []string }
		if err := json.Unmarshal(out, &p); err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		for _, dep := range p.Deps {
			for _, bad := range []string{"github.com/go-git/", "github.com/prometheus/", "github.com/go-zookeeper/", "github.com/docker/", "github.com/hashicorp/consul"} {
				if strings.HasPrefix(dep, bad) {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
}
