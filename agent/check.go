package agent

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"reflect"
	"time"

	"github.com/berthops/berth/cluster"
)

// Mesos checks (Marathon's `check`) tell an operator something about a task
// without judging it: the agent runs the check and reports its latest
// result with the task, and nothing else follows from it. No kill, no health
// verdict, no change to the service registration.

// runCheck runs a check once. A check that ran has a result (the HTTP status
// code, whether the TCP connection succeeded, the command's exit code); one
// that could not run has only a Message, as Mesos leaves the result unset.
func runCheck(ctx context.Context, c cluster.CheckSpec, addr string, hostPorts []int, exec execer) cluster.CheckResult {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// probeTarget resolves the port as it does for a health check.
	target := cluster.HealthCheckSpec{PortIndex: c.PortIndex, Port: c.Port}
	switch c.Protocol {
	case "HTTP", "HTTPS":
		hostPort, err := probeTarget(target, addr, hostPorts)
		if err != nil {
			return cluster.CheckResult{Message: err.Error()}
		}
		scheme := "http"
		if c.Protocol == "HTTPS" {
			scheme = "https"
		}
		u, err := probeURL(scheme, hostPort, c.Path)
		if err != nil {
			return cluster.CheckResult{Message: err.Error()}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return cluster.CheckResult{Message: err.Error()}
		}
		// As for health checks: the task's certificate is not verified and
		// redirects are not followed (a 3xx is the answer).
		client := &http.Client{
			Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
		resp, err := client.Do(req)
		if err != nil {
			return cluster.CheckResult{Message: err.Error()}
		}
		resp.Body.Close()
		return cluster.CheckResult{HTTP: &cluster.HTTPCheckResult{StatusCode: resp.StatusCode}}
	case "TCP":
		hostPort, err := probeTarget(target, addr, hostPorts)
		if err != nil {
			return cluster.CheckResult{Message: err.Error()}
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", hostPort)
		if err != nil {
			// A refused or timed-out connection is the check's answer.
			return cluster.CheckResult{TCP: &cluster.TCPCheckResult{Succeeded: false}, Message: err.Error()}
		}
		conn.Close()
		return cluster.CheckResult{TCP: &cluster.TCPCheckResult{Succeeded: true}}
	case "COMMAND":
		code, err := exec(ctx, c.Command)
		if err != nil {
			return cluster.CheckResult{Message: err.Error()}
		}
		return cluster.CheckResult{Command: &cluster.CommandCheckResult{ExitCode: code}}
	}
	return cluster.CheckResult{Message: "check protocol " + c.Protocol + ": want HTTP, HTTPS, TCP or COMMAND"}
}

// checkLoop runs the task's check after its delay and then every interval,
// sending each result.
func (t *task) checkLoop(ctx context.Context, c cluster.CheckSpec, ports []int, out chan<- cluster.CheckResult) {
	repeat(ctx, c.Delay, orDefault(c.Interval, time.Minute), func(ctx context.Context) cluster.CheckResult {
		return runCheck(ctx, c, t.ag.cfg.Node.Address, ports, t.exec)
	}, out, nil)
}

// sameCheckResult says whether a new result changes what is reported, so a
// steady check costs no status write.
func sameCheckResult(a, b *cluster.CheckResult) bool {
	return reflect.DeepEqual(a, b)
}
