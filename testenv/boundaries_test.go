package testenv

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// TestPureCoreImportsNoIO keeps Berth's pure core pure: manifest loading,
// planning, allocation, schedule maths and rollout decisions must not depend
// on Docker, ZooKeeper, Consul or Git clients, so they stay testable with
// values alone and usable by `berth diff` without a cluster.
func TestPureCoreImportsNoIO(t *testing.T) {
	pure := []string{
		"github.com/berthops/berth/manifests",
		"github.com/berthops/berth/allocator",
		"github.com/berthops/berth/schedule",
		"github.com/berthops/berth/reconciler/plan",
		"github.com/berthops/berth/reconciler/rollout",
	}
	forbidden := []string{
		"github.com/docker/",
		"github.com/go-zookeeper/",
		"github.com/hashicorp/consul",
		"github.com/go-git/",
		"github.com/berthops/berth/testenv",
		"github.com/berthops/berth/agent",
		"github.com/berthops/berth/cluster/zkstore",
		"os/exec",
		"net/http",
	}
	for _, pkg := range pure {
		out, err := exec.Command("go", "list", "-deps", "-json=ImportPath", pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v: %s", pkg, err, errString(err))
		}
		dec := json.NewDecoder(strings.NewReader(string(out)))
		for dec.More() {
			var p struct{ ImportPath string }
			if err := dec.Decode(&p); err != nil {
				t.Fatalf("decode go list output: %v", err)
			}
			for _, f := range forbidden {
				if strings.HasPrefix(p.ImportPath, f) {
					t.Errorf("%s depends on %s: the pure core must not do I/O through it", pkg, p.ImportPath)
				}
			}
		}
	}
}

func errString(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return err.Error()
}
