package cluster

// Service naming is part of the cluster model, not of any one registry: the
// agent registers these services in Consul and Berth's own catalog serves
// the same names to templates, so templates read one set of names with or
// without Consul.

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	// LabelServiceName overrides the service name (an app label, or a
	// port's label for that port).
	LabelServiceName = "berth.service.name"
	// LabelServiceTags adds comma-separated tags.
	LabelServiceTags = "berth.service.tags"
)

// Service meta keys; MetaAgent is how a restarted agent finds its own stale
// registrations.
const (
	MetaAgent   = "berth-agent"
	MetaApp     = "berth-app"
	MetaTask    = "berth-task"
	MetaVersion = "berth-version"
)

// Service is one registration of a task's port, in the registry's terms but
// free of any registry's types.
type Service struct {
	ID      string            `json:"id"`
	Name    string            `json:"name"`
	Tags    []string          `json:"tags,omitempty"`
	Address string            `json:"address"`
	Port    int               `json:"port"`
	Meta    map[string]string `json:"meta"`
	Check   ServiceCheck      `json:"check"`
}

// ServiceCheck is the registry-side check of a service: an HTTP or TCP probe
// derived from the task's health check, or else a TTL the agent keeps alive
// from its own verdict.
type ServiceCheck struct {
	HTTP     string        `json:"http,omitempty"`
	TCP      string        `json:"tcp,omitempty"`
	Interval time.Duration `json:"interval,omitempty"`
	Timeout  time.Duration `json:"timeout,omitempty"`
	TTL      time.Duration `json:"ttl,omitempty"`
	// InitialStatus is the status an HTTP or TCP check starts in
	// (Registrator's SERVICE_CHECK_INITIAL_STATUS); empty: Consul's default.
	InitialStatus string `json:"initialStatus,omitempty"`
}

// ServiceTTL is the TTL of checks the agent keeps alive; it refreshes them at
// a third of it, so one missed refresh does not flap the service.
const ServiceTTL = 30 * time.Second

// ServiceName turns an app id into a service name the way operators wrote
// them by hand for Marathon apps: /web/nginx becomes web-nginx.
func ServiceName(ownerID string) string {
	parts := strings.FieldsFunc(ownerID, func(r rune) bool { return r == '/' })
	name := strings.Join(parts, "-")
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	return b.String()
}

// TaskServices derives the registrations of a running task: one per port
// published on the host. The base name is the app id (or the berth.service.name
// label); a task with several ports registers each as base-<port name> (or
// base-<index> when unnamed), and a port's own berth.service.name label wins.
// Tags are the comma-separated berth.service.tags and every label whose value
// is "tag" (marathon-consul's convention).
func TaskServices(nodeID, address string, a Assignment, ports []int) []Service {
	spec := a.Spec
	base := spec.Labels[LabelServiceName]
	if base == "" {
		base = ServiceName(a.OwnerID)
	}
	tags := labelTags(spec.Labels)
	var out []Service
	for i, p := range spec.Ports {
		if i >= len(ports) || ports[i] == 0 {
			continue // not published on the host: nothing to reach
		}
		name := base
		if len(spec.Ports) > 1 {
			suffix := ServiceName(p.Name)
			if suffix == "" {
				suffix = strconv.Itoa(i)
			}
			name = base + "-" + suffix
		}
		if n := p.Labels[LabelServiceName]; n != "" {
			name = n
		}
		svc := Service{
			ID:      "berth-" + a.TaskID + "-" + strconv.Itoa(i),
			Name:    name,
			Tags:    mergeTags(tags, labelTags(p.Labels)),
			Address: address,
			Port:    ports[i],
			Meta: map[string]string{
				MetaAgent:   nodeID,
				MetaApp:     a.OwnerID,
				MetaTask:    a.TaskID,
				MetaVersion: a.Version,
			},
			Check: ServiceCheck{TTL: ServiceTTL},
		}
		for _, hc := range spec.HealthChecks {
			if hc.Port != 0 || hc.PortIndex != i {
				continue
			}
			target := net.JoinHostPort(address, strconv.Itoa(ports[i]))
			switch hc.Protocol {
			case "HTTP", "MESOS_HTTP", "HTTPS", "MESOS_HTTPS":
				scheme := "http"
				if strings.HasSuffix(hc.Protocol, "HTTPS") {
					scheme = "https"
				}
				u, err := HealthCheckURL(scheme, target, hc.Path)
				if err != nil {
					continue // the agent's own probe reports it; the registry keeps the TTL check
				}
				svc.Check = ServiceCheck{HTTP: u.String(), Interval: hc.Interval, Timeout: hc.Timeout}
			case "TCP", "MESOS_TCP":
				svc.Check = ServiceCheck{TCP: target, Interval: hc.Interval, Timeout: hc.Timeout}
			default:
				continue
			}
			if svc.Check.Interval <= 0 {
				svc.Check.Interval = 10 * time.Second
			}
			break
		}
		if meta, fromPort := registratorMeta(spec.Env, spec.Labels, registratorPortKey(p, ports[i])); meta != nil {
			if !applyRegistrator(&svc, meta, fromPort, registratorPortKey(p, ports[i]), len(spec.Ports) > 1, hostPortTarget(address, ports[i])) {
				continue
			}
		}
		out = append(out, svc)
	}
	return out
}

func labelTags(labels map[string]string) []string {
	var tags []string
	for k, v := range labels {
		if v == "tag" {
			tags = append(tags, k)
		}
	}
	for _, t := range strings.Split(labels[LabelServiceTags], ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	slices.Sort(tags)
	return slices.Compact(tags)
}

func mergeTags(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

// HealthCheckURL is the URL an HTTP health check of path probes at hostPort:
// built with net/url, never by concatenation, so a path cannot change the
// host or smuggle another query. The agent's probe and the registry's check
// use the same URL.
func HealthCheckURL(scheme, hostPort, path string) (*url.URL, error) {
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	ref, err := url.ParseRequestURI(path)
	if err != nil {
		return nil, fmt.Errorf("health check path %q: %w", path, err)
	}
	return &url.URL{Scheme: scheme, Host: hostPort, Path: ref.Path, RawPath: ref.RawPath, RawQuery: ref.RawQuery}, nil
}
