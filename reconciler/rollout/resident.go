package rollout

import "math"

// LimitsForResident are the limits of a resident app's rollout. Where
// LimitsFor lets one task more run than minimumHealthCapacity and
// maximumOverCapacity allow (so that a rollout can move at all), a resident
// app cannot start that task: its instance's volumes are held by the old
// task until it stops. Marathon then kills one instance below the minimum
// instead, and so does Berth: an upgrade of a one-instance resident app is
// kill, then relaunch in place.
func LimitsForResident(n int, mhc, moc float64) Limits {
	if n <= 0 {
		return Limits{}
	}
	mhc, moc = fraction(mhc), fraction(moc)
	l := Limits{
		MinHealthy:  int(math.Ceil(round9(float64(n) * mhc))),
		MaxCapacity: int(math.Floor(round9(float64(n) * (1 + moc)))),
	}
	if l.MinHealthy >= l.MaxCapacity {
		l.MinHealthy = l.MaxCapacity - 1
	}
	return l
}

func (s Spec) limits(n int) Limits {
	if s.Resident {
		return LimitsForResident(n, s.MinimumHealthCapacity, s.MaximumOverCapacity)
	}
	return LimitsFor(n, s.MinimumHealthCapacity, s.MaximumOverCapacity)
}
