package allocator

import (
	"fmt"
	"math"
	"strconv"
)

// vec is an amount of resources in thousandths (millicpus, KiB-ish for
// mem/disk), so that sums and differences are exact: float sums drift, and a
// drift of 1e-9 is enough to over-commit an agent or refuse a perfect fit.
type vec [3]int64

const (
	rCPU = iota
	rMem
	rDisk
	numRes
)

func resName(i int) string {
	switch i {
	case rCPU:
		return "cpus"
	case rMem:
		return "mem"
	}
	return "disk"
}

// maxAmount and maxInstances bound the input so that no sum the allocator
// forms (a gang's total: amount x 1000 x instances) can overflow an int64.
const (
	maxAmount    = 1e9
	maxInstances = 1 << 22
)

func toMilli(f float64) int64 { return int64(math.Round(f * 1000)) }

func fromMilli(m int64) float64 { return float64(m) / 1000 }

// Add adds two amounts as the allocator counts them, in rounded
// thousandths, so that one Running holding a sum holds exactly what the
// Runnings it sums would: a caller may hand the allocator one entry per
// agent for the tasks no group being placed counts. Only valid amounts
// (Valid) add exactly.
func Add(a, b Resources) Resources {
	return Resources{CPUs: fromMilli(toMilli(a.CPUs) + toMilli(b.CPUs)), Mem: fromMilli(toMilli(a.Mem) + toMilli(b.Mem)),
		Disk: fromMilli(toMilli(a.Disk) + toMilli(b.Disk))}
}

// Valid reports whether every amount of r is one the allocator takes.
func (r Resources) Valid() bool {
	_, err := toVec(r)
	return err == nil
}

// fmtMilli prints an amount the way the user wrote it (512, 0.5).
func fmtMilli(m int64) string { return strconv.FormatFloat(fromMilli(m), 'f', -1, 64) }

// toVec converts and checks user resources: negative, NaN or absurdly large
// amounts are refused rather than silently wrapped.
func toVec(r Resources) (vec, error) {
	var v vec
	for i, f := range [numRes]float64{r.CPUs, r.Mem, r.Disk} {
		if math.IsNaN(f) || f < 0 || f > maxAmount {
			return v, fmt.Errorf("%s: %v is not a valid amount (want a number from 0 to %g)", resName(i), f, float64(maxAmount))
		}
		v[i] = toMilli(f)
	}
	return v, nil
}

func (v vec) resources() Resources {
	return Resources{CPUs: fromMilli(v[rCPU]), Mem: fromMilli(v[rMem]), Disk: fromMilli(v[rDisk])}
}

func (v vec) add(o vec) vec {
	for i := range v {
		v[i] += o[i]
	}
	return v
}

func (v vec) sub(o vec) vec {
	for i := range v {
		v[i] -= o[i]
	}
	return v
}

func (v vec) scale(n int64) vec {
	for i := range v {
		v[i] *= n
	}
	return v
}

// fits reports whether need fits in v in every resource.
func (v vec) fits(need vec) bool {
	return v[0] >= need[0] && v[1] >= need[1] && v[2] >= need[2]
}
