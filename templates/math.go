package templates

import (
	"errors"
	"fmt"
	"reflect"
)

// consul-template's math functions take the piped value last
// (`{{ 10 | subtract 2 }}` is 8) and keep Go's numeric kinds: int op int is
// an int64, anything with a float is a float64, uint with uint stays uint64.
// The result type matters: it decides how later functions and the final
// output print the value.

type numKind int

const (
	numInt numKind = iota + 1
	numUint
	numFloat
)

type number struct {
	kind numKind
	i    int64
	u    uint64
	f    float64
}

func toNumber(v any) (number, bool) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return number{kind: numInt, i: rv.Int()}, true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return number{kind: numUint, u: rv.Uint()}, true
	case reflect.Float32, reflect.Float64:
		return number{kind: numFloat, f: rv.Float()}, true
	}
	return number{}, false
}

func (n number) float() float64 {
	switch n.kind {
	case numInt:
		return float64(n.i)
	case numUint:
		return float64(n.u)
	}
	return n.f
}

func (n number) int() int64 {
	if n.kind == numUint {
		return int64(n.u)
	}
	return n.i
}

func (n number) value() any {
	switch n.kind {
	case numInt:
		return n.i
	case numUint:
		return n.u
	}
	return n.f
}

var errDivZero = errors.New("division by zero")

// arith applies op to a (the piped value) and b, following consul-template's
// type table.
func arith(name string, b, a any, intOp func(x, y int64) (int64, error), uintOp func(x, y uint64) (uint64, error), floatOp func(x, y float64) (float64, error)) (any, error) {
	av, ok := toNumber(a)
	if !ok {
		return nil, fmt.Errorf("%s: unknown type for %q (%T)", name, fmt.Sprint(a), a)
	}
	bv, ok := toNumber(b)
	if !ok {
		return nil, fmt.Errorf("%s: unknown type for %q (%T)", name, fmt.Sprint(b), b)
	}
	switch {
	case av.kind == numFloat || bv.kind == numFloat:
		if floatOp == nil {
			return nil, fmt.Errorf("%s: unknown type for %q (%T)", name, fmt.Sprint(b), b)
		}
		r, err := floatOp(av.float(), bv.float())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return r, nil
	case av.kind == numUint && bv.kind == numUint:
		r, err := uintOp(av.u, bv.u)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return r, nil
	default:
		r, err := intOp(av.int(), bv.int())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return r, nil
	}
}

func add(b, a any) (any, error) {
	return arith("add", b, a,
		func(x, y int64) (int64, error) { return x + y, nil },
		func(x, y uint64) (uint64, error) { return x + y, nil },
		func(x, y float64) (float64, error) { return x + y, nil })
}

func subtract(b, a any) (any, error) {
	return arith("subtract", b, a,
		func(x, y int64) (int64, error) { return x - y, nil },
		func(x, y uint64) (uint64, error) { return x - y, nil },
		func(x, y float64) (float64, error) { return x - y, nil })
}

func multiply(b, a any) (any, error) {
	return arith("multiply", b, a,
		func(x, y int64) (int64, error) { return x * y, nil },
		func(x, y uint64) (uint64, error) { return x * y, nil },
		func(x, y float64) (float64, error) { return x * y, nil })
}

func divide(b, a any) (any, error) {
	return arith("divide", b, a,
		func(x, y int64) (int64, error) {
			if y == 0 {
				return 0, errDivZero
			}
			return x / y, nil
		},
		func(x, y uint64) (uint64, error) {
			if y == 0 {
				return 0, errDivZero
			}
			return x / y, nil
		},
		func(x, y float64) (float64, error) { return x / y, nil })
}

func modulo(b, a any) (any, error) {
	return arith("modulo", b, a,
		func(x, y int64) (int64, error) {
			if y == 0 {
				return 0, errDivZero
			}
			return x % y, nil
		},
		func(x, y uint64) (uint64, error) {
			if y == 0 {
				return 0, errDivZero
			}
			return x % y, nil
		},
		nil)
}

// minimum and maximum return whichever operand wins, in its own type, as
// consul-template does (comparing in float when either side is a float).
func minimum(b, a any) (any, error) { return pick("minimum", b, a, true) }
func maximum(b, a any) (any, error) { return pick("maximum", b, a, false) }

func pick(name string, b, a any, wantLess bool) (any, error) {
	av, ok := toNumber(a)
	if !ok {
		return nil, fmt.Errorf("%s: unknown type for %q (%T)", name, fmt.Sprint(a), a)
	}
	bv, ok := toNumber(b)
	if !ok {
		return nil, fmt.Errorf("%s: unknown type for %q (%T)", name, fmt.Sprint(b), b)
	}
	var aWins bool
	switch {
	case av.kind == numFloat || bv.kind == numFloat:
		if wantLess {
			aWins = av.float() < bv.float()
		} else {
			aWins = av.float() > bv.float()
		}
	case av.kind == numUint && bv.kind == numUint:
		if wantLess {
			aWins = av.u < bv.u
		} else {
			aWins = av.u > bv.u
		}
	default:
		if wantLess {
			aWins = av.int() < bv.int()
		} else {
			aWins = av.int() > bv.int()
		}
	}
	if aWins {
		return av.value(), nil
	}
	return bv.value(), nil
}
