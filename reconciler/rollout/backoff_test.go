package rollout

import (
	"testing"
	"time"
)

func TestBackoffDelay(t *testing.T) {
	marathon := Backoff{Initial: time.Second, Factor: 1.15, Max: 300 * time.Second}
	tests := []struct {
		b        Backoff
		failures int
		want     time.Duration
	}{
		{marathon, 0, 0},
		{marathon, 1, time.Second},
		{marathon, 2, 1150 * time.Millisecond},
		{marathon, 3, 1322500 * time.Microsecond},
		{marathon, 100, 300 * time.Second}, // 1.15^99 s is far past the cap
		{marathon, 1 << 30, 300 * time.Second},
		{Backoff{Initial: 2 * time.Second, Factor: 2, Max: 10 * time.Second}, 3, 8 * time.Second},
		{Backoff{Initial: 2 * time.Second, Factor: 2, Max: 10 * time.Second}, 4, 10 * time.Second},
		{Backoff{Initial: 2 * time.Second, Factor: 0.5, Max: 10 * time.Second}, 4, 2 * time.Second}, // factor < 1 acts as 1
		{Backoff{Initial: time.Second, Factor: 2}, 10, 512 * time.Second},                           // no cap given
		{Backoff{}, 5, 0},
	}
	for _, tt := range tests {
		if got := tt.b.Delay(tt.failures); got != tt.want {
			t.Errorf("%+v.Delay(%d) = %v, want %v", tt.b, tt.failures, got, tt.want)
		}
	}
}

func TestBackoffAllowed(t *testing.T) {
	b := Backoff{Initial: 10 * time.Second, Factor: 2, Max: time.Minute}
	var l Launches
	if ok, next := b.Allowed(l, "v1", t0); !ok || !next.IsZero() {
		t.Fatalf("no failures: Allowed = %v, %v; want true, zero", ok, next)
	}
	l = l.Failed("v1", at(0)).Failed("v1", at(5))
	if l.Failures != 2 || !l.LastFailure.Equal(at(5)) {
		t.Fatalf("after two failures: %+v", l)
	}
	// Two failures: 20s after the last one.
	if ok, next := b.Allowed(l, "v1", at(10)); ok || !next.Equal(at(25)) {
		t.Errorf("Allowed at 10s = %v, %v; want false, %v", ok, next, at(25))
	}
	if ok, _ := b.Allowed(l, "v1", at(25)); !ok {
		t.Errorf("Allowed at 25s = false, want true")
	}
	// A new version starts from zero.
	if ok, _ := b.Allowed(l, "v2", at(10)); !ok {
		t.Errorf("new version still delayed")
	}
	if got := l.Failed("v2", at(30)); got.Version != "v2" || got.Failures != 1 {
		t.Errorf("failure of a new version = %+v, want a fresh count", got)
	}
	// An older timestamp does not move the last failure back.
	if got := l.Failed("v1", at(1)); !got.LastFailure.Equal(at(5)) {
		t.Errorf("LastFailure moved back to %v", got.LastFailure)
	}
}
