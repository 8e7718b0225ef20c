package manifests

import (
	"slices"
	"strings"
	"time"
)

// validateRegistrator checks the values of Registrator's SERVICE_* variables
// the agent would otherwise have to drop silently (see cluster/registrator.go
// for what they mean): durations and a check's initial status.
func validateRegistrator(a *App, r reporter) {
	for _, src := range []struct {
		field string
		m     map[string]string
	}{{"env", a.Env}, {"labels", a.Labels}} {
		keys := make([]string, 0, len(src.m))
		for k := range src.m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if !strings.HasPrefix(k, "SERVICE_") {
				continue
			}
			v := src.m[k]
			key := strings.ToLower(k)
			switch {
			case strings.HasSuffix(key, "check_interval"), strings.HasSuffix(key, "check_timeout"):
				if d, err := time.ParseDuration(v); err != nil || d <= 0 {
					r.at(p(src.field, k), "%q is not a positive duration such as 10s (Registrator's check interval or timeout)", v)
				}
			case strings.HasSuffix(key, "check_initial_status"):
				switch v {
				case "passing", "warning", "critical":
				default:
					r.at(p(src.field, k), "unknown initial status %q: expected passing, warning or critical", v)
				}
			}
		}
	}
}
