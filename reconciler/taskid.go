package reconciler

import (
	"crypto/rand"
	"encoding/hex"

	"github.com/berthops/berth/reconciler/decide"
)

// NewTaskID makes a task id in Marathon's style, app name dot unique suffix
// (web-nginx.3f9a1c2e4b7d), so an id alone says which app a task is of.
func NewTaskID(appID string) string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on Linux
	return decide.TaskPrefix(appID) + "." + hex.EncodeToString(b[:])
}
