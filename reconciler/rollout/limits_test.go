package rollout

import (
	"math"
	"testing"
)

func TestLimitsFor(t *testing.T) {
	tests := []struct {
		n        int
		mhc, moc float64
		want     Limits
	}{
		{3, 1, 1, Limits{MinHealthy: 3, MaxCapacity: 6}}, // Marathon's default: all new first
		{3, 1, 0, Limits{MinHealthy: 3, MaxCapacity: 4}}, // equal: one extra, one at a time
		{3, 0, 0, Limits{MinHealthy: 0, MaxCapacity: 3}}, // stop all, then start
		{4, 0.5, 0, Limits{MinHealthy: 2, MaxCapacity: 4}},
		{5, 0.5, 0.5, Limits{MinHealthy: 3, MaxCapacity: 7}},   // ceil 2.5, floor 7.5
		{1, 0.5, 0, Limits{MinHealthy: 1, MaxCapacity: 2}},     // ceil 0.5 = 1 = floor 1: extra
		{10, 0.7, 0.1, Limits{MinHealthy: 7, MaxCapacity: 11}}, // 10*0.7 is 7, not 8
		{100, 0.29, 0.29, Limits{MinHealthy: 29, MaxCapacity: 129}},
		{0, 1, 1, Limits{}},
		{-2, 1, 1, Limits{}},
		{2, math.NaN(), math.Inf(1), Limits{MinHealthy: 0, MaxCapacity: 4}},
		{2, 7, -3, Limits{MinHealthy: 2, MaxCapacity: 3}},
	}
	for _, tt := range tests {
		if got := LimitsFor(tt.n, tt.mhc, tt.moc); got != tt.want {
			t.Errorf("LimitsFor(%d, %v, %v) = %+v, want %+v", tt.n, tt.mhc, tt.moc, got, tt.want)
		}
	}
}
