package agent

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/berthops/berth/cluster"
)

// healthTracker applies Marathon's rules to one health check's results:
// failures are ignored during the grace period until the task has been
// healthy once; after that, maxConsecutiveFailures failures in a row (0 =
// never) mean the task is killed so the server replaces it.
type healthTracker struct {
	spec     cluster.HealthCheckSpec
	started  time.Time
	healthy  bool // has passed at least once
	failures int
	verdict  cluster.Health
}

// observe records one probe result and says whether the task must be killed.
func (h *healthTracker) observe(now time.Time, ok bool) (kill bool) {
	if ok {
		h.healthy, h.failures, h.verdict = true, 0, cluster.HealthHealthy
		return false
	}
	if !h.healthy && now.Sub(h.started) < h.spec.GracePeriod {
		return false
	}
	h.failures++
	h.verdict = cluster.HealthUnhealthy
	return h.spec.MaxConsecutiveFailures > 0 && h.failures >= h.spec.MaxConsecutiveFailures
}

// combinedHealth is a task's verdict over all its checks: unknown until every
// check has one, unhealthy when any fails.
func combinedHealth(ts []*healthTracker) cluster.Health {
	if len(ts) == 0 {
		return cluster.HealthHealthy
	}
	out := cluster.HealthHealthy
	for _, t := range ts {
		switch t.verdict {
		case cluster.HealthUnhealthy:
			return cluster.HealthUnhealthy
		case cluster.HealthUnknown:
			out = cluster.HealthUnknown
		}
	}
	return out
}

// probeTarget resolves the host port a network health check probes: its own
// port, or the task's port at portIndex.
func probeTarget(hc cluster.HealthCheckSpec, addr string, hostPorts []int) (string, error) {
	port := hc.Port
	if port == 0 {
		if hc.PortIndex < 0 || hc.PortIndex >= len(hostPorts) {
			return "", fmt.Errorf("health check portIndex %d: the task has %d ports", hc.PortIndex, len(hostPorts))
		}
		port = hostPorts[hc.PortIndex]
	}
	return net.JoinHostPort(addr, strconv.Itoa(port)), nil
}

// probeURL builds the URL of an HTTP check from its parts, so that a path
// can only ever be a path (and query) on the task's own address: a path
// such as "@other-host/" or "//other-host/" concatenated after the address
// would name another host.
func probeURL(scheme, hostPort, path string) (*url.URL, error) {
	return cluster.HealthCheckURL(scheme, hostPort, path)
}

// execer runs a command inside a task's container (COMMAND checks).
type execer func(ctx context.Context, cmd string) (exitCode int, err error)

// probe runs one health check once; nil means healthy.
func probe(ctx context.Context, hc cluster.HealthCheckSpec, addr string, hostPorts []int, exec execer) error {
	timeout := hc.Timeout
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch hc.Protocol {
	case "HTTP", "HTTPS", "MESOS_HTTP", "MESOS_HTTPS":
		target, err := probeTarget(hc, addr, hostPorts)
		if err != nil {
			return err
		}
		scheme := "http"
		if hc.Protocol == "HTTPS" || hc.Protocol == "MESOS_HTTPS" {
			scheme = "https"
		}
		u, err := probeURL(scheme, target, hc.Path)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return err
		}
		// Marathon did not verify task certificates either: the check asks
		// whether the task answers, not who it is. Nor did it follow
		// redirects: a 3xx is an answer (healthy, as 200-399 are), and
		// following it would let a task point the agent at any address.
		client := &http.Client{
			Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode >= 400 {
			return fmt.Errorf("GET %s: status %d", req.URL, resp.StatusCode)
		}
		return nil
	case "TCP", "MESOS_TCP":
		target, err := probeTarget(hc, addr, hostPorts)
		if err != nil {
			return err
		}
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", target)
		if err != nil {
			return err
		}
		return c.Close()
	case "COMMAND":
		code, err := exec(ctx, hc.Command)
		if err != nil {
			return err
		}
		if code != 0 {
			return fmt.Errorf("command %q exited %d", hc.Command, code)
		}
		return nil
	}
	return fmt.Errorf("health check protocol %q: want HTTP, HTTPS, TCP or COMMAND", hc.Protocol)
}
