package soak

import (
	"os"
	"testing"

	"github.com/berthops/berth/e2e"
)

// TestMain removes the berth binary e2e.Start built for this test binary.
func TestMain(m *testing.M) {
	code := m.Run()
	e2e.RemoveBinary()
	os.Exit(code)
}
