package agent

import (
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berthops/berth/cluster"
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
}

// serviceTTL is the TTL of checks the agent keeps alive; it refreshes them at
// a third of it, so one missed refresh does not flap the service.
const serviceTTL = 30 * time.Second

// serviceName turns an app id into a service name the way operators wrote
// them by hand for Marathon apps: /web/nginx becomes web-nginx.
func serviceName(ownerID string) string {
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

// taskServices derives the registrations of a running task: one per port
// published on the host. The base name is the app id (or the berth.service.name
// label); a task with several ports registers each as base-<port name> (or
// base-<index> when unnamed), and a port's own berth.service.name label wins.
// Tags are the comma-separated berth.service.tags and every label whose value
// is "tag" (marathon-consul's convention).
func taskServices(node Node, a cluster.Assignment, ports []int) []Service {
	spec := a.Spec
	base := spec.Labels[LabelServiceName]
	if base == "" {
		base = serviceName(a.OwnerID)
	}
	tags := labelTags(spec.Labels)
	var out []Service
	for i, p := range spec.Ports {
		if i >= len(ports) || ports[i] == 0 {
			continue // not published on the host: nothing to reach
		}
		name := base
		if len(spec.Ports) > 1 {
			suffix := serviceName(p.Name)
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
			Address: node.Address,
			Port:    ports[i],
			Meta: map[string]string{
				metaAgent:   node.ID,
				metaApp:     a.OwnerID,
				metaTask:    a.TaskID,
				metaVersion: a.Version,
			},
			Check: ServiceCheck{TTL: serviceTTL},
		}
		for _, hc := range spec.HealthChecks {
			if hc.Port != 0 || hc.PortIndex != i {
				continue
			}
			target := net.JoinHostPort(node.Address, strconv.Itoa(ports[i]))
			switch hc.Protocol {
			case "HTTP", "MESOS_HTTP", "HTTPS", "MESOS_HTTPS":
				scheme := "http"
				if strings.HasSuffix(hc.Protocol, "HTTPS") {
					scheme = "https"
				}
				u, err := probeURL(scheme, target, hc.Path)
				if err != nil {
					continue // the agent's own probe reports it; Consul keeps the TTL check
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
