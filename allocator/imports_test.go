package allocator_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps the allocator pure: standard library and the manifests
// model only, so no Docker, ZooKeeper, Consul, Git or cluster store can
// creep in (and with them I/O).
func TestImports(t *testing.T) {
	for _, dir := range []string{".", "allocbench"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			pf, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range pf.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				switch {
				case !strings.Contains(strings.SplitN(p, "/", 2)[0], "."):
					if p == "os" || p == "net" || p == "net/http" || p == "os/exec" || p == "time" {
						t.Errorf("%s imports %s: the allocator does no I/O and reads no clock", f, p)
					}
				case p == "github.com/berthops/berth/manifests", p == "github.com/berthops/berth/allocator":
				default:
					t.Errorf("%s imports %s: the allocator may import only the standard library and manifests", f, p)
				}
			}
		}
	}
}
