package decide

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
)

// DefaultShellImage runs apps and jobs that have a command but no image.
// Mesos ran such commands directly on the agent host; Berth always runs a
// container, so they get a small shell image instead (see docs/manifests.md).
const DefaultShellImage = "berth/shell:dev"

// SpecOptions are the server-wide settings that shape task specs.
type SpecOptions struct {
	// ShellImage replaces DefaultShellImage.
	ShellImage string
}

func (o SpecOptions) shellImage() string {
	if o.ShellImage != "" {
		return o.ShellImage
	}
	return DefaultShellImage
}

// AppTaskSpec derives the launch spec for one instance of app. servicePorts
// holds the cluster-assigned service port for each of the app's ports, in
// order; host ports of 0 are left for the allocator to choose.
func AppTaskSpec(app *manifests.App, servicePorts []int, opts SpecOptions) cluster.TaskSpec {
	s := cluster.TaskSpec{
		Cmd:       app.Cmd,
		Args:      append([]string(nil), app.Args...),
		Env:       copyMap(app.Env),
		Labels:    copyMap(app.Labels),
		Resources: cluster.Resources{CPUs: app.CPUs, Mem: app.Mem, Disk: app.Disk},
		Network:   manifests.NetworkHost,
		User:      app.User,
		Fetch:     artifactSpecs(app.Fetch),
	}
	if app.TaskKillGracePeriodSeconds > 0 {
		s.KillGracePeriod = seconds(app.TaskKillGracePeriodSeconds)
	}
	var mappings []manifests.PortMapping
	if c := app.Container; c != nil {
		mappings = c.PortMappings
		s.Volumes = volumeSpecs(c.Volumes)
		if d := c.Docker; d != nil {
			s.Image = d.Image
			s.ForcePullImage = d.ForcePullImage
			s.Privileged = d.Privileged
			for _, p := range d.Parameters {
				s.Parameters = append(s.Parameters, cluster.Parameter{Key: p.Key, Value: p.Value})
			}
			if len(mappings) == 0 {
				mappings = d.PortMappings
			}
			if d.Network != "" {
				s.Network = d.Network
			}
		}
	}
	for _, n := range app.Networks {
		switch n.Mode {
		case "container/bridge":
			s.Network = manifests.NetworkBridge
		case "container":
			s.Network, s.NetworkName = manifests.NetworkUser, n.Name
		case "host":
			s.Network = manifests.NetworkHost
		}
	}
	if s.Image == "" {
		// An app without a container and a MESOS container without an
		// image mean the same: run cmd in the shell image.
		s.Image = opts.shellImage()
	}
	if s.Network == manifests.NetworkHost {
		for i, d := range app.PortDefinitions {
			p := cluster.PortSpec{Name: d.Name, Protocol: protocol(d.Protocol), Labels: copyMap(d.Labels), ServicePort: d.Port}
			if app.RequirePorts {
				p.HostPort = d.Port
			}
			if i < len(servicePorts) && servicePorts[i] != 0 {
				p.ServicePort = servicePorts[i]
			}
			s.Ports = append(s.Ports, p)
		}
	} else {
		for i, m := range mappings {
			p := cluster.PortSpec{Name: m.Name, ContainerPort: m.ContainerPort, HostPort: m.HostPort, ServicePort: m.ServicePort, Protocol: protocol(m.Protocol), Labels: copyMap(m.Labels)}
			if i < len(servicePorts) && servicePorts[i] != 0 {
				p.ServicePort = servicePorts[i]
			}
			s.Ports = append(s.Ports, p)
		}
	}
	for _, hc := range app.HealthChecks {
		h := cluster.HealthCheckSpec{
			Protocol:               hc.Protocol,
			Path:                   hc.Path,
			PortIndex:              hc.PortIndex,
			Port:                   hc.Port,
			GracePeriod:            time.Duration(hc.GracePeriodSeconds) * time.Second,
			Interval:               time.Duration(hc.IntervalSeconds) * time.Second,
			Timeout:                time.Duration(hc.TimeoutSeconds) * time.Second,
			MaxConsecutiveFailures: hc.MaxConsecutiveFailures,
		}
		if hc.Command != nil {
			h.Command = hc.Command.Value
		}
		s.HealthChecks = append(s.HealthChecks, h)
	}
	s.Check = checkSpec(app)
	for _, rc := range app.ReadinessChecks {
		s.ReadinessChecks = append(s.ReadinessChecks, cluster.ReadinessCheckSpec{
			Name:                 rc.Name,
			Protocol:             rc.Protocol,
			Path:                 rc.Path,
			PortIndex:            app.PortIndex(rc.PortName),
			Interval:             time.Duration(rc.IntervalSeconds) * time.Second,
			Timeout:              time.Duration(rc.TimeoutSeconds) * time.Second,
			StatusCodes:          append([]int(nil), rc.HTTPStatusCodesForReady...),
			PreserveLastResponse: rc.PreserveLastResponse,
		})
	}
	return s
}

// JobTaskSpec derives the launch spec for one run of job.
func JobTaskSpec(job *manifests.Job, opts SpecOptions) cluster.TaskSpec {
	s := cluster.TaskSpec{
		Resources: cluster.Resources{CPUs: job.CPUs, Mem: job.Mem, Disk: job.Disk},
		Network:   manifests.NetworkHost,
		Env:       map[string]string{},
		Fetch:     jobArtifactSpecs(job.Fetch),
		Timeout:   jobTimeout(job),
	}
	if job.Shell {
		s.Cmd = job.Command
	} else {
		// Chronos with shell false runs command as the executable and
		// arguments as its argv; without a shell that is an entrypoint call.
		s.Args = append([]string{job.Command}, job.Arguments...)
	}
	for _, e := range job.EnvironmentVariables {
		s.Env[e.Name] = e.Value
	}
	if len(s.Env) == 0 {
		s.Env = nil
	}
	if c := job.Container; c != nil {
		s.Image = c.Image
		s.ForcePullImage = c.ForcePullImage
		if c.Network != "" {
			s.Network = strings.ToUpper(c.Network)
		}
		if c.NetworkName != "" {
			s.Network, s.NetworkName = manifests.NetworkUser, c.NetworkName
		}
		s.Volumes = volumeSpecs(c.Volumes)
		for _, p := range c.Parameters {
			s.Parameters = append(s.Parameters, cluster.Parameter{Key: p.Key, Value: p.Value})
		}
	}
	if s.Image == "" {
		s.Image = opts.shellImage()
	}
	return s
}

// SpecVersion is a short content hash of what a task runs. Labels are left
// out: Marathon treats a labels-only change as configuration, not a reason to
// restart tasks. Host ports are left out because the allocator fills them in
// per instance.
func SpecVersion(s cluster.TaskSpec) string {
	s.Labels = nil
	// Sealed is ciphertext, different at every sealing; the secrets'
	// versions in s.Secrets are what says their values changed.
	s.Sealed = ""
	ports := make([]cluster.PortSpec, len(s.Ports))
	copy(ports, s.Ports)
	for i := range ports {
		ports[i].Labels = nil
	}
	s.Ports = ports
	b, _ := json.Marshal(s) // a TaskSpec always marshals: plain values only
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}

// TaskPrefix starts an app's task ids: its id without the leading slash,
// slashes as dashes (/web/nginx -> web-nginx), so an id says whose task it is.
func TaskPrefix(appID string) string {
	return strings.ReplaceAll(strings.Trim(appID, "/"), "/", "-")
}

func protocol(p string) string {
	if p == "" {
		return "tcp"
	}
	return strings.ToLower(p)
}

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

func copyMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
