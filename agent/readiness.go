package agent

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/berthops/berth/cluster"
)

// readinessOutcome is one probe of one readiness check.
type readinessOutcome struct {
	index int
	ready bool
	resp  *cluster.ReadinessResponse // nil when there was no answer
	err   error
}

// probeReadiness runs one readiness check once: ready when the answer's
// status is one of the check's codes. The response is returned (body cut at
// cluster.MaxReadinessBody) only when the check preserves it.
func probeReadiness(ctx context.Context, rc cluster.ReadinessCheckSpec, addr string, hostPorts []int) readinessOutcome {
	timeout := rc.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	target, err := probeTarget(cluster.HealthCheckSpec{PortIndex: rc.PortIndex}, addr, hostPorts)
	if err != nil {
		return readinessOutcome{err: err}
	}
	scheme := "http"
	if rc.Protocol == "HTTPS" {
		scheme = "https"
	}
	u, err := probeURL(scheme, target, rc.Path)
	if err != nil {
		return readinessOutcome{err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return readinessOutcome{err: err}
	}
	// As for health checks: the task's certificate is not verified (the
	// question is whether it answers) and redirects are answers, so a task
	// cannot point the agent at another address.
	client := &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		return readinessOutcome{err: err}
	}
	defer resp.Body.Close()
	out := readinessOutcome{ready: slices.Contains(rc.StatusCodes, resp.StatusCode)}
	if rc.PreserveLastResponse {
		body, err := io.ReadAll(io.LimitReader(resp.Body, cluster.MaxReadinessBody))
		if err != nil {
			return readinessOutcome{err: fmt.Errorf("GET %s: read the answer: %w", req.URL, err)}
		}
		out.resp = &cluster.ReadinessResponse{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Body: string(body)}
	}
	if !out.ready {
		out.err = fmt.Errorf("GET %s: status %d is not one of %v", req.URL, resp.StatusCode, rc.StatusCodes)
	}
	return out
}

// readinessLoop probes one readiness check now and then every interval until
// it passes once: from then on the task is ready for good, as in Marathon.
func (t *task) readinessLoop(ctx context.Context, i int, rc cluster.ReadinessCheckSpec, ports []int, out chan<- readinessOutcome) {
	repeat(ctx, 0, orDefault(rc.Interval, 30*time.Second), func(ctx context.Context) readinessOutcome {
		r := probeReadiness(ctx, rc, t.ag.cfg.Node.Address, ports)
		r.index = i
		return r
	}, out, func(r readinessOutcome) bool { return r.ready })
}

// initialReadiness is a running task's readiness before any probe: not
// ready, for each check.
func initialReadiness(specs []cluster.ReadinessCheckSpec) []cluster.ReadinessResult {
	if len(specs) == 0 {
		return nil
	}
	out := make([]cluster.ReadinessResult, len(specs))
	for i, s := range specs {
		out[i] = cluster.ReadinessResult{Name: s.Name}
	}
	return out
}

// observeReadiness records a probe's outcome in the task's status and
// reports it when what the API shows changes.
func (t *task) observeReadiness(ctx context.Context, r readinessOutcome) {
	if r.err != nil {
		t.log.Debug("readiness check not ready", "check", r.index, "err", r.err)
	}
	if r.index >= len(t.status.Readiness) {
		return
	}
	cur := t.status.Readiness[r.index]
	next := cluster.ReadinessResult{Name: cur.Name, Ready: r.ready, LastResponse: r.resp}
	if cur.Ready == next.Ready && equalResponse(cur.LastResponse, next.LastResponse) {
		return
	}
	rs := slices.Clone(t.status.Readiness)
	rs[r.index] = next
	t.report(ctx, cluster.TaskRunning, func(s *cluster.TaskStatus) { s.Readiness = rs })
}

func equalResponse(a, b *cluster.ReadinessResponse) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
