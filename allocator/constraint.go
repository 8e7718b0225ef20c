package allocator

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/berthops/berth/manifests"
)

// hostnameField is the constraint field that names the agent's hostname
// rather than one of its attributes ("@hostname" is Marathon 1.5's spelling).
func isHostnameField(f string) bool { return f == "hostname" || f == "@hostname" }

// rule is one compiled constraint.
type rule struct {
	field    string
	op       string
	value    string
	re       *regexp.Regexp // LIKE, UNLIKE
	n        int            // GROUP_BY count (0 = values seen), MAX_PER limit
	hostname bool
	// dynamic rules depend on where the group's other tasks are; static ones
	// only on the agent.
	dynamic bool
}

// String is the constraint the way operators write it: hostname:UNIQUE,
// rack:GROUP_BY:3, rack:LIKE:r[12].
func (r *rule) String() string {
	if r.value == "" {
		return r.field + ":" + r.op
	}
	return r.field + ":" + r.op + ":" + r.value
}

// compileRules checks and compiles a group's constraints. The error names
// the constraint by index so the caller can point at the manifest field.
func compileRules(cs []manifests.Constraint) ([]rule, error) {
	rules := make([]rule, 0, len(cs))
	for i, c := range cs {
		r := rule{field: c.Field, op: c.Operator, value: c.Value, hostname: isHostnameField(c.Field)}
		if c.Field == "" {
			return nil, fmt.Errorf("constraints[%d]: field is empty (want hostname or an agent attribute)", i)
		}
		switch c.Operator {
		case manifests.OpUnique:
			r.dynamic = true
		case manifests.OpCluster:
			r.dynamic = c.Value == ""
		case manifests.OpIs:
		case manifests.OpLike, manifests.OpUnlike:
			re, err := regexp.Compile(`^(?:` + c.Value + `)$`)
			if err != nil {
				return nil, fmt.Errorf("constraints[%d]: %s value %q is not a valid regular expression: %w", i, c.Operator, c.Value, err)
			}
			r.re = re
		case manifests.OpGroupBy:
			r.dynamic = true
			if c.Value != "" {
				n, err := strconv.Atoi(c.Value)
				if err != nil || n < 0 {
					return nil, fmt.Errorf("constraints[%d]: GROUP_BY value %q is not a count (want a whole number such as 3, or no value)", i, c.Value)
				}
				r.n = n
			}
		case manifests.OpMaxPer:
			r.dynamic = true
			n, err := strconv.Atoi(c.Value)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("constraints[%d]: MAX_PER value %q is not a limit (want a whole number of at least 1)", i, c.Value)
			}
			r.n = n
		default:
			return nil, fmt.Errorf("constraints[%d]: unknown operator %q (want UNIQUE, CLUSTER, GROUP_BY, LIKE, UNLIKE, MAX_PER or IS)", i, c.Operator)
		}
		rules = append(rules, r)
	}
	return rules, nil
}

// matchStatic applies a static rule to an agent's value of the field. As in
// Marathon, an agent without the attribute satisfies only UNLIKE.
func (r *rule) matchStatic(val string, ok bool) bool {
	if !ok {
		return r.op == manifests.OpUnlike
	}
	switch r.op {
	case manifests.OpIs:
		return val == r.value
	case manifests.OpCluster:
		return r.value == "" || val == r.value
	case manifests.OpLike:
		return r.re.MatchString(val)
	case manifests.OpUnlike:
		return !r.re.MatchString(val)
	}
	// Dynamic rules still need the attribute to be present.
	return true
}

// missingKey counts a group's tasks on agents without the attribute:
// Marathon groups them under None, which matters for GROUP_BY's minimum.
const missingKey = "\x00missing"

// matchDynamic applies a dynamic rule given the counts of the group's tasks
// placed so far (running and new), with Marathon's semantics. pin is the
// value of the group's first task for CLUSTER without a value (nil before
// there is one).
func (r *rule) matchDynamic(val string, counts map[string]int32, pin *string) bool {
	switch r.op {
	case manifests.OpUnique:
		return counts[val] == 0
	case manifests.OpMaxPer:
		return int(counts[val]) < r.n
	case manifests.OpCluster:
		// Without a value: every task on the value of the first one.
		return pin == nil || *pin == val
	case manifests.OpGroupBy:
		c, seen := counts[val]
		if !seen || c == 0 {
			return true
		}
		if len(counts) < r.n {
			return false
		}
		min := c
		for _, k := range counts {
			if k < min {
				min = k
			}
		}
		return c == min
	}
	return true
}
