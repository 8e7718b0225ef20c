package rollout

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPure keeps the package free of I/O: outside tests it may import only
// the standard library's pure parts and Berth's model packages.
func TestPure(t *testing.T) {
	allowed := map[string]bool{
		"github.com/berthops/berth/cluster":   true,
		"github.com/berthops/berth/manifests": true,
	}
	forbidden := []string{"os", "net", "io", "log", "math/rand", "time/tzdata", "syscall", "os/exec", "net/http"}
	files, err := filepath.Glob("*.go")
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
		parsed, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range parsed.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.Contains(path, ".") && !allowed[path] {
				t.Errorf("%s imports %s: rollout must stay pure", f, path)
			}
			for _, bad := range forbidden {
				if path == bad || strings.HasPrefix(path, bad+"/") {
					t.Errorf("%s imports %s: rollout must not do I/O or read randomness", f, path)
				}
			}
		}
	}
}
