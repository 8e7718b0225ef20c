package marathonapi

import (
	"strings"
	"testing"
)

// FuzzQuery feeds the query parameters clients send (embed=, label=) to
// their parsers: whatever the input, no panic, and a selector that names no
// label matches everything.
func FuzzQuery(f *testing.F) {
	for _, s := range []string{"apps.tasks,apps.counts", "tier==front,env!=prod", "a", "==", "!=x", ",,", "app.failures"} {
		f.Add(s)
	}
	labels := map[string]string{"tier": "front", "env": "dev", "": "empty"}
	f.Fuzz(func(t *testing.T, s string) {
		_ = parseEmbeds([]string{s}, "apps.")
		got := labelsMatch(labels, s)
		if strings.Trim(s, " ,") == "" && !got {
			t.Errorf("empty selector %q matched nothing", s)
		}
	})
}
