package cluster

import "time"

// CheckSpec is a resolved Mesos check (Marathon's `check`): run by the agent
// every Interval after Delay, its latest result reported in
// TaskStatus.Check. Unlike a health check it never makes a task unhealthy,
// never kills it and never changes what is routed to it.
type CheckSpec struct {
	Protocol  string `json:"protocol"` // HTTP, HTTPS, TCP, COMMAND
	Path      string `json:"path,omitempty"`
	PortIndex int    `json:"portIndex"`
	Port      int    `json:"port,omitempty"`
	// Command runs through the container's /bin/sh -c.
	Command  string        `json:"command,omitempty"`
	Interval time.Duration `json:"interval"`
	Timeout  time.Duration `json:"timeout"`
	Delay    time.Duration `json:"delay"`
}

// CheckResult is a check's latest result, shaped as Marathon's CheckStatus:
// one of HTTP, TCP and Command is set once the check has run, or Message
// says why it could not (connection refused, timeout).
type CheckResult struct {
	HTTP    *HTTPCheckResult    `json:"http,omitempty"`
	TCP     *TCPCheckResult     `json:"tcp,omitempty"`
	Command *CommandCheckResult `json:"command,omitempty"`
	Message string              `json:"message,omitempty"`
}

// HTTPCheckResult is the status code the check's GET was answered with.
type HTTPCheckResult struct {
	StatusCode int `json:"statusCode"`
}

// TCPCheckResult says whether the check's connection succeeded.
type TCPCheckResult struct {
	Succeeded bool `json:"succeeded"`
}

// CommandCheckResult is the exit code of the check's command.
type CommandCheckResult struct {
	ExitCode int `json:"exitCode"`
}
