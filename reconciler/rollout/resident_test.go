package rollout

import "testing"

func TestLimitsForResidentKillBelowMinimumRatherThanOverCapacity(t *testing.T) {
	for _, c := range []struct {
		n        int
		mhc, moc float64
		want     Limits
	}{
		{1, 0.5, 0, Limits{MinHealthy: 0, MaxCapacity: 1}}, // Marathon's default for resident apps
		{1, 0, 0, Limits{MinHealthy: 0, MaxCapacity: 1}},
		{4, 0.5, 0, Limits{MinHealthy: 2, MaxCapacity: 4}},
		{3, 1, 0, Limits{MinHealthy: 2, MaxCapacity: 3}},
	} {
		if got := LimitsForResident(c.n, c.mhc, c.moc); got != c.want {
			t.Errorf("LimitsForResident(%d, %v, %v) = %+v, want %+v", c.n, c.mhc, c.moc, got, c.want)
		}
	}
}
