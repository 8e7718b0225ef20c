package marathonapi

import (
	"fmt"
	"sort"
	"strings"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
)

// Task is Marathon's Task (task.raml).
type Task struct {
	ID                 string              `json:"id"`
	AppID              string              `json:"appId"`
	Host               string              `json:"host"`
	Ports              []int               `json:"ports"`
	ServicePorts       []int               `json:"servicePorts"`
	SlaveID            string              `json:"slaveId"`
	State              string              `json:"state"`
	StagedAt           string              `json:"stagedAt"`
	StartedAt          string              `json:"startedAt,omitempty"`
	Version            string              `json:"version"`
	IPAddresses        []IPAddress         `json:"ipAddresses"`
	HealthCheckResults []HealthCheckResult `json:"healthCheckResults,omitempty"`
	CheckResult        *CheckStatus        `json:"checkResult,omitempty"`
	Role               string              `json:"role"`
	Region             string              `json:"region,omitempty"`
	Zone               string              `json:"zone,omitempty"`
}

type IPAddress struct {
	IPAddress string `json:"ipAddress"`
	Protocol  string `json:"protocol"`
}

// HealthCheckResult is Marathon's health.raml Health: one result per
// health check; Berth keeps one verdict per task, so it is repeated.
type HealthCheckResult struct {
	Alive               bool    `json:"alive"`
	ConsecutiveFailures int     `json:"consecutiveFailures"`
	FirstSuccess        *string `json:"firstSuccess"`
	LastFailure         *string `json:"lastFailure"`
	LastSuccess         *string `json:"lastSuccess"`
	LastFailureCause    *string `json:"lastFailureCause,omitempty"`
	TaskID              string  `json:"taskId"`
	InstanceID          string  `json:"instanceId"`
}

// CheckStatus is Marathon's check.raml CheckStatus: the latest result of
// the task's Mesos check.
type CheckStatus struct {
	HTTP    *cluster.HTTPCheckResult    `json:"http,omitempty"`
	TCP     *cluster.TCPCheckResult     `json:"tcp,omitempty"`
	Command *cluster.CommandCheckResult `json:"command,omitempty"`
}

// defaultRole is Mesos's default role, which every Marathon task without a
// role of its own reports.
const defaultRole = "*"

// mesosState is a Berth task state as a Mesos task state (TASK_RUNNING).
func mesosState(s cluster.TaskState) string {
	if s == "" {
		return "TASK_STAGING"
	}
	return "TASK_" + string(s)
}

// host is where a task's published ports are reached: the agent's
// advertise address (Marathon shows the Mesos agent's host name, which
// resolves there).
func (v *view) host(agentID string) string {
	a, ok := v.agents[agentID]
	switch {
	case !ok:
		return agentID
	case a.Address != "":
		return a.Address
	case a.Hostname != "":
		return a.Hostname
	}
	return agentID
}

// task renders one task; app may be nil (the app left the desired state).
func (v *view) task(t cluster.Task, app *manifests.App) Task {
	out := Task{ID: t.TaskID, AppID: t.OwnerID, Host: v.host(t.AgentID), SlaveID: t.AgentID, State: mesosState(t.Status.State),
		StagedAt: timestamp(t.CreatedAt), Version: timestamp(v.versionTime(t.OwnerID, t.Version)), Ports: []int{}, ServicePorts: []int{},
		Role: defaultRole}
	if !t.Status.StartedAt.IsZero() {
		out.StartedAt = timestamp(t.Status.StartedAt)
	}
	for i, p := range t.Spec.Ports {
		hp := p.HostPort
		if hp == 0 && i < len(t.Status.HostPorts) {
			hp = t.Status.HostPorts[i]
		}
		out.Ports = append(out.Ports, hp)
	}
	if len(t.Spec.Ports) == 0 {
		out.Ports = append(out.Ports, t.Status.HostPorts...)
	}
	for i, p := range t.Spec.Ports {
		sp := p.ServicePort
		if s, ok := v.servicePorts[t.OwnerID][i]; ok {
			sp = s
		}
		if sp != 0 {
			out.ServicePorts = append(out.ServicePorts, sp)
		}
	}
	out.IPAddresses = []IPAddress{{IPAddress: out.Host, Protocol: ipProtocol(out.Host)}}
	if a, ok := v.agents[t.AgentID]; ok {
		out.Region, out.Zone = a.Attributes["region"], a.Attributes["zone"]
	}
	if app != nil && len(app.HealthChecks) > 0 && t.Status.Health != cluster.HealthUnknown {
		out.HealthCheckResults = healthResults(t, len(app.HealthChecks))
	}
	if c := t.Status.Check; c != nil && (c.HTTP != nil || c.TCP != nil || c.Command != nil) {
		out.CheckResult = &CheckStatus{HTTP: c.HTTP, TCP: c.TCP, Command: c.Command}
	}
	return out
}

func ipProtocol(host string) string {
	if strings.Contains(host, ":") {
		return "IPv6"
	}
	return "IPv4"
}

func healthResults(t cluster.Task, n int) []HealthCheckResult {
	at := timestamp(t.Status.UpdatedAt)
	r := HealthCheckResult{Alive: t.Status.Health == cluster.HealthHealthy, TaskID: t.TaskID, InstanceID: t.TaskID}
	if r.Alive {
		r.FirstSuccess, r.LastSuccess = &at, &at
	} else {
		cause := t.Status.Message
		r.LastFailure, r.LastFailureCause, r.ConsecutiveFailures = &at, &cause, 1
	}
	out := make([]HealthCheckResult, n)
	for i := range out {
		out[i] = r
	}
	return out
}

func (v *view) failure(t cluster.Task) *TaskFailure {
	msg := t.Status.Message
	if msg == "" && t.Status.ExitCode != nil {
		msg = fmt.Sprintf("Command exited with status %d", *t.Status.ExitCode)
	}
	return &TaskFailure{AppID: t.OwnerID, Host: v.host(t.AgentID), Message: msg, State: mesosState(t.Status.State), TaskID: t.TaskID,
		Timestamp: timestamp(t.Status.UpdatedAt), Version: timestamp(v.versionTime(t.OwnerID, t.Version)), SlaveID: t.AgentID}
}

// safePath is Marathon's PathId.safePath: /web/nginx as web_nginx.
func safePath(id string) string {
	return strings.ReplaceAll(strings.Trim(id, "/"), "/", "_")
}

// endpoints is GET /v2/tasks as text/plain, the format marathon-lb's older
// versions and haproxy-marathon-bridge read: per service port of every app
// `{app}\t{servicePort}\t{host}:{port}\t...`, or `{app}\t \t{host}\t...`
// for an app without service ports; running tasks only, sorted.
func (v *view) endpoints() string {
	var b strings.Builder
	for i := range v.set.Apps {
		a := &v.set.Apps[i]
		var running []Task
		for _, t := range v.tasks[a.ID] {
			if t.Status.State == cluster.TaskRunning {
				running = append(running, v.task(t, a))
			}
		}
		app := v.app(a, embeds{})
		svc := servicePortsOf(app)
		if len(svc) == 0 {
			hosts := make([]string, 0, len(running))
			for _, t := range running {
				hosts = append(hosts, t.Host)
			}
			sort.Strings(hosts)
			fmt.Fprintf(&b, "%s\t \t", safePath(a.ID))
			for _, h := range hosts {
				b.WriteString(h + "\t")
			}
			b.WriteString("\n")
			continue
		}
		for i, sp := range svc {
			addrs := make([]string, 0, len(running))
			for _, t := range running {
				port := 0
				if i < len(t.Ports) {
					port = t.Ports[i]
				}
				addrs = append(addrs, fmt.Sprintf("%s:%d", t.Host, port))
			}
			sort.Strings(addrs)
			fmt.Fprintf(&b, "%s\t%d\t", safePath(a.ID), sp)
			for _, ad := range addrs {
				b.WriteString(ad + "\t")
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// servicePortsOf is Marathon's AppDefinition.servicePorts: the mappings'
// service ports, else the port definitions'.
func servicePortsOf(a App) []int {
	var out []int
	if a.Container != nil && len(a.Container.PortMappings) > 0 {
		for _, m := range a.Container.PortMappings {
			out = append(out, m.ServicePort)
		}
		return out
	}
	for _, p := range a.PortDefinitions {
		out = append(out, p.Port)
	}
	return out
}
