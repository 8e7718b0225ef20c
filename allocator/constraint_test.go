package allocator

import (
	"strings"
	"testing"

	"github.com/berthops/berth/manifests"
)

func TestMatchStatic(t *testing.T) {
	tests := []struct {
		name    string
		c       manifests.Constraint
		val     string
		present bool
		want    bool
	}{
		{"LIKE full match", manifests.Constraint{Field: "rack", Operator: "LIKE", Value: "rack-[0-9]"}, "rack-1", true, true},
		{"LIKE is anchored at the start", manifests.Constraint{Field: "rack", Operator: "LIKE", Value: "rack-[0-9]"}, "xrack-1", true, false},
		{"LIKE is anchored at the end", manifests.Constraint{Field: "rack", Operator: "LIKE", Value: "rack"}, "rack-1", true, false},
		{"LIKE alternation stays anchored", manifests.Constraint{Field: "rack", Operator: "LIKE", Value: "a|b"}, "ab", true, false},
		{"LIKE on a missing attribute", manifests.Constraint{Field: "rack", Operator: "LIKE", Value: ".*"}, "", false, false},
		{"UNLIKE rejects a match", manifests.Constraint{Field: "rack", Operator: "UNLIKE", Value: "r[12]"}, "r1", true, false},
		{"UNLIKE accepts a partial match", manifests.Constraint{Field: "rack", Operator: "UNLIKE", Value: "r[12]"}, "r12", true, true},
		{"UNLIKE on a missing attribute matches", manifests.Constraint{Field: "rack", Operator: "UNLIKE", Value: "r1"}, "", false, true},
		{"IS equal", manifests.Constraint{Field: "disk", Operator: "IS", Value: "ssd"}, "ssd", true, true},
		{"IS different", manifests.Constraint{Field: "disk", Operator: "IS", Value: "ssd"}, "SSD", true, false},
		{"IS on a missing attribute", manifests.Constraint{Field: "disk", Operator: "IS", Value: ""}, "", false, false},
		{"CLUSTER value equal", manifests.Constraint{Field: "rack", Operator: "CLUSTER", Value: "r1"}, "r1", true, true},
		{"CLUSTER value different", manifests.Constraint{Field: "rack", Operator: "CLUSTER", Value: "r1"}, "r2", true, false},
		{"CLUSTER on a missing attribute", manifests.Constraint{Field: "rack", Operator: "CLUSTER"}, "", false, false},
		{"UNIQUE on a missing attribute", manifests.Constraint{Field: "rack", Operator: "UNIQUE"}, "", false, false},
		{"GROUP_BY on a missing attribute", manifests.Constraint{Field: "rack", Operator: "GROUP_BY"}, "", false, false},
		{"MAX_PER on a missing attribute", manifests.Constraint{Field: "rack", Operator: "MAX_PER", Value: "1"}, "", false, false},
		{"UNIQUE needs only presence statically", manifests.Constraint{Field: "rack", Operator: "UNIQUE"}, "r1", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := compileRules([]manifests.Constraint{tt.c})
			if err != nil {
				t.Fatal(err)
			}
			if got := rs[0].matchStatic(tt.val, tt.present); got != tt.want {
				t.Errorf("matchStatic(%q, %v) = %v, want %v", tt.val, tt.present, got, tt.want)
			}
		})
	}
}

func TestMatchDynamic(t *testing.T) {
	tests := []struct {
		name   string
		c      manifests.Constraint
		counts map[string]int32
		pin    string
		val    string
		want   bool
	}{
		{"UNIQUE unused value", manifests.Constraint{Field: "hostname", Operator: "UNIQUE"}, map[string]int32{"a": 1}, "", "b", true},
		{"UNIQUE used value", manifests.Constraint{Field: "hostname", Operator: "UNIQUE"}, map[string]int32{"a": 1}, "", "a", false},
		{"CLUSTER without value, nothing placed", manifests.Constraint{Field: "rack", Operator: "CLUSTER"}, map[string]int32{}, "", "b", true},
		{"CLUSTER without value follows the first", manifests.Constraint{Field: "rack", Operator: "CLUSTER"}, map[string]int32{"a": 2, "b": 1}, "a", "a", true},
		{"CLUSTER without value refuses another", manifests.Constraint{Field: "rack", Operator: "CLUSTER"}, map[string]int32{"a": 2, "b": 1}, "a", "b", false},
		{"MAX_PER below the limit", manifests.Constraint{Field: "rack", Operator: "MAX_PER", Value: "2"}, map[string]int32{"a": 1}, "", "a", true},
		{"MAX_PER at the limit", manifests.Constraint{Field: "rack", Operator: "MAX_PER", Value: "2"}, map[string]int32{"a": 2}, "", "a", false},
		{"GROUP_BY without count, new value", manifests.Constraint{Field: "rack", Operator: "GROUP_BY"}, map[string]int32{"a": 2, "b": 1}, "", "c", true},
		{"GROUP_BY without count, smallest value", manifests.Constraint{Field: "rack", Operator: "GROUP_BY"}, map[string]int32{"a": 2, "b": 1}, "", "b", true},
		{"GROUP_BY without count, larger value", manifests.Constraint{Field: "rack", Operator: "GROUP_BY"}, map[string]int32{"a": 2, "b": 1}, "", "a", false},
		{"GROUP_BY without count, balanced", manifests.Constraint{Field: "rack", Operator: "GROUP_BY"}, map[string]int32{"a": 1, "b": 1}, "", "a", true},
		{"GROUP_BY 3, too few values seen", manifests.Constraint{Field: "rack", Operator: "GROUP_BY", Value: "3"}, map[string]int32{"a": 1, "b": 1}, "", "a", false},
		{"GROUP_BY 3, new value while too few", manifests.Constraint{Field: "rack", Operator: "GROUP_BY", Value: "3"}, map[string]int32{"a": 1, "b": 1}, "", "c", true},
		{"GROUP_BY 3, all seen and smallest", manifests.Constraint{Field: "rack", Operator: "GROUP_BY", Value: "3"}, map[string]int32{"a": 1, "b": 2, "c": 1}, "", "a", true},
		{"GROUP_BY 3, all seen and larger", manifests.Constraint{Field: "rack", Operator: "GROUP_BY", Value: "3"}, map[string]int32{"a": 1, "b": 2, "c": 1}, "", "b", false},
		{"GROUP_BY counts tasks on agents without the attribute", manifests.Constraint{Field: "rack", Operator: "GROUP_BY"}, map[string]int32{missingKey: 1, "a": 2}, "", "a", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := compileRules([]manifests.Constraint{tt.c})
			if err != nil {
				t.Fatal(err)
			}
			if !rs[0].dynamic {
				t.Fatalf("%v should be dynamic", tt.c)
			}
			var pin *string
			if tt.pin != "" {
				pin = &tt.pin
			}
			if got := rs[0].matchDynamic(tt.val, tt.counts, pin); got != tt.want {
				t.Errorf("matchDynamic(%q, %v) = %v, want %v", tt.val, tt.counts, got, tt.want)
			}
		})
	}
}

func TestCompileRulesErrors(t *testing.T) {
	tests := []struct {
		c    manifests.Constraint
		want string
	}{
		{manifests.Constraint{Field: "rack", Operator: "LIKE", Value: "("}, `constraints[0]: LIKE value "(" is not a valid regular expression`},
		{manifests.Constraint{Field: "rack", Operator: "MAX_PER", Value: "x"}, `constraints[0]: MAX_PER value "x" is not a limit`},
		{manifests.Constraint{Field: "rack", Operator: "MAX_PER"}, `MAX_PER value "" is not a limit`},
		{manifests.Constraint{Field: "rack", Operator: "GROUP_BY", Value: "-1"}, `GROUP_BY value "-1" is not a count`},
		{manifests.Constraint{Field: "rack", Operator: "NEAR"}, `unknown operator "NEAR"`},
		{manifests.Constraint{Operator: "UNIQUE"}, `field is empty`},
	}
	for _, tt := range tests {
		_, err := compileRules([]manifests.Constraint{tt.c})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("compileRules(%v) = %v, want an error containing %q", tt.c, err, tt.want)
		}
	}
}

func TestPortSet(t *testing.T) {
	ps := newPortSet([]PortRange{{Begin: 100, End: 101}, {Begin: 200, End: 200}})
	if ps.free != 3 {
		t.Fatalf("free = %d, want 3", ps.free)
	}
	if got := ps.takeAny(); got != 100 {
		t.Errorf("takeAny = %d, want 100", got)
	}
	ps.take(200)
	if ps.isFree(200) || !ps.isFree(101) || ps.isFree(150) {
		t.Errorf("isFree wrong after take: 200=%v 101=%v 150=%v", ps.isFree(200), ps.isFree(101), ps.isFree(150))
	}
	if got := ps.takeAny(); got != 101 {
		t.Errorf("takeAny = %d, want 101", got)
	}
	if got := ps.takeAny(); got != -1 {
		t.Errorf("takeAny on a full set = %d, want -1", got)
	}
	ps.release(100)
	if got := ps.takeAny(); got != 100 {
		t.Errorf("takeAny after release = %d, want 100", got)
	}
	if o := newPortSet([]PortRange{{Begin: 10, End: 20}, {Begin: 15, End: 25}, {Begin: 26, End: 26}, {Begin: 5, End: 1}}); o.free != 17 || len(o.ranges) != 1 {
		t.Errorf("overlapping ranges: %d ports in %v, want 17 in one range", o.free, o.ranges)
	}
	if d := newPortSet(nil); d.free != DefaultPortEnd-DefaultPortBegin+1 {
		t.Errorf("default range has %d ports", d.free)
	}
}
