package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/berthops/berth/testenv"
)

// Binary returns the berth binary the cluster runs: $BERTH_E2E_BIN when set
// (`make e2e` may point it at bin/berth), otherwise ./cmd/berth built once
// per test binary into a directory named after this process, which
// RemoveBinary deletes (call it from TestMain).
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("BERTH_E2E_BIN"); p != "" {
		return p
	}
	bin := filepath.Join(binaryDir(), "berth")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatalf("e2e: %v", err)
	}
	if err := os.MkdirAll(binaryDir(), 0o755); err != nil {
		t.Fatalf("e2e: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// Built under another name and renamed, so a build cut short never
	// leaves a half-written binary that a later test would run.
	tmp := bin + ".tmp"
	cmd := exec.CommandContext(ctx, "go", "build", "-o", tmp, "./cmd/berth")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("e2e: build berth: %v\n%s", err, out)
	}
	if err := os.Rename(tmp, bin); err != nil {
		t.Fatalf("e2e: %v", err)
	}
	return bin
}

// RemoveBinary deletes what Binary built for this test binary.
func RemoveBinary() {
	_ = os.RemoveAll(binaryDir())
}

func binaryDir() string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("berth-e2e-%d", os.Getpid()))
}
