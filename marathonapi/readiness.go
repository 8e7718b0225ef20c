package marathonapi

import (
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
)

// ReadinessCheck is Marathon's readiness check as /v2/apps shows it.
type ReadinessCheck struct {
	Name                    string `json:"name"`
	Protocol                string `json:"protocol"`
	Path                    string `json:"path"`
	PortName                string `json:"portName"`
	IntervalSeconds         int    `json:"intervalSeconds"`
	TimeoutSeconds          int    `json:"timeoutSeconds"`
	HTTPStatusCodesForReady []int  `json:"httpStatusCodesForReady"`
	PreserveLastResponse    bool   `json:"preserveLastResponse"`
}

// ReadinessCheckResult is Marathon's TaskReadinessCheckResult.
type ReadinessCheckResult struct {
	Name         string                     `json:"name"`
	TaskID       string                     `json:"taskId"`
	Ready        bool                       `json:"ready"`
	LastResponse *cluster.ReadinessResponse `json:"lastResponse,omitempty"`
}

func readinessChecks(a *manifests.App) []any {
	out := []any{}
	for _, rc := range a.ReadinessChecks {
		out = append(out, ReadinessCheck{Name: rc.Name, Protocol: rc.Protocol, Path: rc.Path, PortName: rc.PortName,
			IntervalSeconds: rc.IntervalSeconds, TimeoutSeconds: rc.TimeoutSeconds,
			HTTPStatusCodesForReady: append([]int{}, rc.HTTPStatusCodesForReady...), PreserveLastResponse: rc.PreserveLastResponse})
	}
	return out
}

// readinessResults are the readiness results of the app's tasks of the
// version being deployed, as Marathon lists them while a deployment runs
// (and not after). A last response is there only when its check preserves
// it: the agent keeps no other.
func (v *view) readinessResults(a *manifests.App) []any {
	out := []any{}
	st := v.status[a.ID]
	if !st.Deploying {
		return out
	}
	for _, t := range v.tasks[a.ID] {
		if t.Version != st.Version {
			continue
		}
		for _, r := range t.Status.Readiness {
			out = append(out, ReadinessCheckResult{Name: r.Name, TaskID: t.TaskID, Ready: r.Ready, LastResponse: r.LastResponse})
		}
	}
	return out
}
