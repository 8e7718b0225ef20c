package cluster

import "time"

// ReadinessCheckSpec is a resolved Marathon readiness check: the agent GETs
// Path on the task's port at PortIndex every Interval until the answer's
// status is one of StatusCodes; from then on the task is ready for good.
type ReadinessCheckSpec struct {
	Name        string        `json:"name"`
	Protocol    string        `json:"protocol"` // HTTP or HTTPS
	Path        string        `json:"path"`
	PortIndex   int           `json:"portIndex"`
	Interval    time.Duration `json:"interval"`
	Timeout     time.Duration `json:"timeout"`
	StatusCodes []int         `json:"statusCodes"`
	// PreserveLastResponse keeps the last answer in ReadinessResult.
	PreserveLastResponse bool `json:"preserveLastResponse,omitempty"`
}

// ReadinessResult is one readiness check's outcome on one task, as
// Marathon's TaskReadinessCheckResult.
type ReadinessResult struct {
	Name  string `json:"name"`
	Ready bool   `json:"ready"`
	// LastResponse is set only for checks with PreserveLastResponse.
	LastResponse *ReadinessResponse `json:"lastResponse,omitempty"`
}

// ReadinessResponse is the last HTTP answer to a readiness check; Body is
// cut at MaxReadinessBody bytes.
type ReadinessResponse struct {
	Status      int    `json:"status"`
	ContentType string `json:"contentType"`
	Body        string `json:"body"`
}

// MaxReadinessBody bounds a preserved response body: it is stored with the
// task's status on every change.
const MaxReadinessBody = 4096

// Ready reports whether the task has passed every readiness check its spec
// declares; a task without readiness checks is always ready.
func (t *Task) Ready() bool {
	for _, rc := range t.Spec.ReadinessChecks {
		ok := false
		for _, r := range t.Status.Readiness {
			if r.Name == rc.Name && r.Ready {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// AllReady is the readiness a well-behaved task reports once every check
// passed (used when agents are simulated).
func AllReady(specs []ReadinessCheckSpec) []ReadinessResult {
	if len(specs) == 0 {
		return nil
	}
	out := make([]ReadinessResult, len(specs))
	for i, s := range specs {
		out[i] = ReadinessResult{Name: s.Name, Ready: true}
	}
	return out
}
