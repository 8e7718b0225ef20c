package rollout

import "math"

// Limits are the bounds of a rolling restart, fixed by the instance count
// and the upgradeStrategy.
type Limits struct {
	// MinHealthy is how many instances, old or new, must stay healthy.
	MinHealthy int
	// MaxCapacity is how many instances, old, new or being killed, may exist.
	MaxCapacity int
}

// LimitsFor computes Marathon's limits: MinHealthy = ceil(n*mhc) and
// MaxCapacity = floor(n*(1+moc)), with one extra instance allowed when they
// are equal, or a restart could never start a new instance.
//
// Unlike Marathon, the products are rounded to nine decimals first, so that
// 10*0.7 is 7 and not 7.000000000000001, which Marathon rounds up to 8.
func LimitsFor(n int, mhc, moc float64) Limits {
	if n <= 0 {
		return Limits{}
	}
	mhc, moc = fraction(mhc), fraction(moc)
	l := Limits{
		MinHealthy:  int(math.Ceil(round9(float64(n) * mhc))),
		MaxCapacity: int(math.Floor(round9(float64(n) * (1 + moc)))),
	}
	if l.MinHealthy == l.MaxCapacity {
		l.MaxCapacity++
	}
	return l
}

// fraction clamps an upgradeStrategy value to [0, 1]; validation rejects
// anything else, this only keeps Step total on any input.
func fraction(f float64) float64 {
	if !(f > 0) {
		return 0
	}
	return min(f, 1)
}

func round9(f float64) float64 { return math.Round(f*1e9) / 1e9 }
