package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// Integration skips the calling test under `go test -short` and otherwise
// lets it run; tests that start real components call it first.
func Integration(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: skipped with -short")
	}
}

// ToolPath returns the path of a tool built from tools/ (consul,
// consul-template, staticcheck). It looks in $BERTH_TOOLS_BIN, then in
// .tools/bin at the module root, then on $PATH; a missing tool fails the test
// with the command that builds it.
func ToolPath(t testing.TB, name string) string {
	t.Helper()
	p, err := findTool(name)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return p
}

func findTool(name string) (string, error) {
	var dirs []string
	if d := os.Getenv("BERTH_TOOLS_BIN"); d != "" {
		dirs = append(dirs, d)
	}
	if root, err := ModuleRoot(); err == nil {
		dirs = append(dirs, filepath.Join(root, ".tools", "bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("testenv: %s not found in $BERTH_TOOLS_BIN, .tools/bin or $PATH: run `make deps` (or ./scripts/build-tools.sh) first", name)
}

// ModuleRoot finds the directory holding Berth's go.mod by walking up from
// the working directory (go test runs each package in its own directory).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("testenv: working directory: %w", err)
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && len(b) > 0 && isBerthModule(b) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("testenv: no Berth go.mod above the working directory")
		}
		dir = parent
	}
}

func isBerthModule(gomod []byte) bool {
	const want = "module github.com/berthops/berth\n"
	return len(gomod) >= len(want) && string(gomod[:len(want)]) == want
}

// FreePort returns a TCP port that was free on host a moment ago. There is a
// small race with other processes; tests on loopback accept it.
func FreePort(t testing.TB, host string) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatalf("testenv: find a free port on %s: %v", host, err)
	}
	defer l.Close()
	_, p, _ := net.SplitHostPort(l.Addr().String())
	n, _ := strconv.Atoi(p)
	return n
}
