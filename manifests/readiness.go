package manifests

import "strings"

// ReadinessCheck is Marathon's readiness check: during a deployment a new
// task counts towards the app's capacity only once this HTTP(S) endpoint of
// the port named PortName answers with one of HTTPStatusCodesForReady.
// Defaults are Marathon's: name readinessCheck, protocol HTTP, path /,
// portName http-api, intervalSeconds 30, timeoutSeconds 10, status 200.
type ReadinessCheck struct {
	Name                    string `json:"name" yaml:"name"`
	Protocol                string `json:"protocol" yaml:"protocol"` // HTTP or HTTPS
	Path                    string `json:"path" yaml:"path"`
	PortName                string `json:"portName" yaml:"portName"`
	IntervalSeconds         int    `json:"intervalSeconds" yaml:"intervalSeconds"`
	TimeoutSeconds          int    `json:"timeoutSeconds" yaml:"timeoutSeconds"`
	HTTPStatusCodesForReady []int  `json:"httpStatusCodesForReady" yaml:"httpStatusCodesForReady"`
	// PreserveLastResponse keeps the last response (status, content type,
	// body) in the task's status, where the API shows it; without it the
	// response is never kept.
	PreserveLastResponse bool `json:"preserveLastResponse,omitempty" yaml:"preserveLastResponse,omitempty"`
}

func readinessDefaults(rc *ReadinessCheck) {
	*rc = ReadinessCheck{
		Name: "readinessCheck", Protocol: "HTTP", Path: "/", PortName: "http-api",
		IntervalSeconds: 30, TimeoutSeconds: 10, HTTPStatusCodesForReady: []int{200},
	}
}

func normalizeReadinessChecks(rcs []ReadinessCheck) {
	for i := range rcs {
		rcs[i].Protocol = strings.ToUpper(rcs[i].Protocol)
	}
}

// PortIndex is the index, among the ports a task of the app gets, of the
// port named name, or -1.
func (a *App) PortIndex(name string) int {
	if a.Container != nil && len(a.Container.PortMappings) > 0 {
		for i, m := range a.Container.PortMappings {
			if m.Name == name {
				return i
			}
		}
		return -1
	}
	for i, d := range a.PortDefinitions {
		if d.Name == name {
			return i
		}
	}
	return -1
}

// validateReadinessChecks applies Marathon's rules: HTTP or HTTPS, a path, a
// port the app names, a timeout shorter than the interval and at least one
// status code.
func validateReadinessChecks(a *App, r reporter) {
	names := map[string]bool{}
	for i, rc := range a.ReadinessChecks {
		at := p("readinessChecks", i)
		if rc.Name == "" {
			r.at(append(at, "name"), "required")
		} else if names[rc.Name] {
			r.at(append(at, "name"), "another readiness check is named %q", rc.Name)
		}
		names[rc.Name] = true
		switch rc.Protocol {
		case "HTTP", "HTTPS":
		default:
			r.at(append(at, "protocol"), "unknown protocol %q: expected HTTP or HTTPS", rc.Protocol)
		}
		if !strings.HasPrefix(rc.Path, "/") {
			r.at(append(at, "path"), "must start with /, found %q", rc.Path)
		}
		if a.PortIndex(rc.PortName) < 0 {
			r.at(append(at, "portName"), "the app has no port named %q (name one in portDefinitions or container.portMappings)", rc.PortName)
		}
		if rc.IntervalSeconds < 1 || rc.IntervalSeconds > MaxSeconds {
			r.at(append(at, "intervalSeconds"), "must be between 1 and %d, found %d", MaxSeconds, rc.IntervalSeconds)
		}
		if rc.TimeoutSeconds < 1 || rc.TimeoutSeconds >= rc.IntervalSeconds {
			r.at(append(at, "timeoutSeconds"), "must be at least 1 and smaller than intervalSeconds (%d), found %d", rc.IntervalSeconds, rc.TimeoutSeconds)
		}
		if len(rc.HTTPStatusCodesForReady) == 0 {
			r.at(append(at, "httpStatusCodesForReady"), "name at least one status code")
		}
		for j, c := range rc.HTTPStatusCodesForReady {
			if c < 100 || c > 999 {
				r.at(append(at, "httpStatusCodesForReady", j), "must be between 100 and 999, found %d", c)
			}
		}
	}
}
