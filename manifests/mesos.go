package manifests

import (
	"strings"
)

// The Mesos containerizer's side of Marathon's app definition: checks that
// are run and reported but never make a task unhealthy, the older
// IP-per-task form, and the image-pull settings of a MESOS container. They
// are normalised onto the forms Berth runs (see docs/migration.md).

// Check is Marathon's `check` (a Mesos check): exactly one of HTTP, TCP and
// Exec, run by the agent every IntervalSeconds after DelaySeconds; its last
// result is reported with the task and never affects health or routing.
type Check struct {
	HTTP            *HTTPCheck `json:"http,omitempty" yaml:"http,omitempty"`
	TCP             *TCPCheck  `json:"tcp,omitempty" yaml:"tcp,omitempty"`
	Exec            *ExecCheck `json:"exec,omitempty" yaml:"exec,omitempty"`
	IntervalSeconds int        `json:"intervalSeconds" yaml:"intervalSeconds"`
	TimeoutSeconds  int        `json:"timeoutSeconds" yaml:"timeoutSeconds"`
	DelaySeconds    int        `json:"delaySeconds" yaml:"delaySeconds"`
}

// HTTPCheck is a check's GET of Path on the task's port (Port, or the port
// at PortIndex); Scheme is HTTP or HTTPS.
type HTTPCheck struct {
	PortIndex int    `json:"portIndex" yaml:"portIndex"`
	Port      int    `json:"port,omitempty" yaml:"port,omitempty"`
	Path      string `json:"path,omitempty" yaml:"path,omitempty"`
	Scheme    string `json:"scheme,omitempty" yaml:"scheme,omitempty"`
}

// TCPCheck is a check's connection to the task's port.
type TCPCheck struct {
	PortIndex int `json:"portIndex" yaml:"portIndex"`
	Port      int `json:"port,omitempty" yaml:"port,omitempty"`
}

// ExecCheck runs a command inside the task's container.
type ExecCheck struct {
	Command MesosCommand `json:"command" yaml:"command"`
}

// MesosCommand is a shell command line or an argv, never both.
type MesosCommand struct {
	Shell string   `json:"shell,omitempty" yaml:"shell,omitempty"`
	Argv  []string `json:"argv,omitempty" yaml:"argv,omitempty"`
}

// IPAddress is Marathon's deprecated IP-per-task request: the task joins
// NetworkName (a USER network) and Discovery lists the ports it exposes on
// its own address.
type IPAddress struct {
	NetworkName string            `json:"networkName,omitempty" yaml:"networkName,omitempty"`
	Labels      map[string]string `json:"labels,omitempty" yaml:"labels,omitempty"`
	Discovery   *IPDiscovery      `json:"discovery,omitempty" yaml:"discovery,omitempty"`
	// Groups is kept for API compatibility only: Marathon ignored it.
	Groups []string `json:"groups,omitempty" yaml:"groups,omitempty"`
}

// IPDiscovery holds the ports a task exposes on its own IP address.
type IPDiscovery struct {
	Ports []DiscoveryPort `json:"ports,omitempty" yaml:"ports,omitempty"`
}

// DiscoveryPort is one of those ports.
type DiscoveryPort struct {
	Number   int               `json:"number" yaml:"number"`
	Name     string            `json:"name,omitempty" yaml:"name,omitempty"`
	Protocol string            `json:"protocol,omitempty" yaml:"protocol,omitempty"`
	Labels   map[string]string `json:"labels,omitempty" yaml:"labels,omitempty"`
}

// PullConfig names the secret whose value is a Docker config.json with the
// credentials to pull the image.
type PullConfig struct {
	Secret string `json:"secret" yaml:"secret"`
}

// Marathon's defaults for a check whose fields are absent.
const (
	defaultCheckInterval = 60
	defaultCheckTimeout  = 20
	defaultCheckDelay    = 15
)

// MESOS container types, as written and as normalised.
const (
	ContainerDocker = "DOCKER"
	ContainerMesos  = "MESOS"
)

// normalizeMesos runs before the rest of normalizeApp: it moves ipAddress to
// the networks and port mappings it means, so that the older and newer forms
// of the same app are equal, and folds forcePull into forcePullImage.
func normalizeMesos(a *App, r reporter) {
	if d := containerDocker(a); d != nil && d.ForcePull {
		d.ForcePullImage, d.ForcePull = true, false
	}
	if c := a.Check; c != nil {
		if h := c.HTTP; h != nil {
			h.Scheme = strings.ToUpper(h.Scheme)
			if h.Scheme == "" {
				h.Scheme = "HTTP"
			}
			if h.Path == "" {
				h.Path = "/"
			}
		}
	}
	ip := a.IPAddress
	if ip == nil {
		return
	}
	a.IPAddress = nil
	if mapValue(r.root, "networks") != nil {
		r.at(p("ipAddress"), "set networks or ipAddress (its older form), not both")
		return
	}
	if d := containerDocker(a); d != nil && d.Network != "" && !strings.EqualFold(d.Network, NetworkUser) {
		r.at(p("container", "docker", "network"), "ipAddress asks for a task's own IP on a USER network, but container.docker.network is %q", d.Network)
		return
	}
	if d := containerDocker(a); d != nil {
		d.Network = "" // the network is named below
	}
	if ip.NetworkName == "" {
		// Marathon fell back to its --default_network_name; Berth has no
		// cluster-wide default network.
		r.at(p("ipAddress", "networkName"), "required: the Docker network the task joins (Berth has no default network)")
	}
	a.Networks = []Network{{Mode: ModeContainer, Name: ip.NetworkName, Labels: ip.Labels}}
	if ip.Discovery == nil || len(ip.Discovery.Ports) == 0 {
		return
	}
	if a.Container != nil && (len(a.Container.PortMappings) > 0 || (a.Container.Docker != nil && len(a.Container.Docker.PortMappings) > 0)) {
		r.at(p("ipAddress", "discovery", "ports"), "with ipAddress.discovery.ports the ports are the task's own: remove the portMappings (Marathon refused both)")
		return
	}
	if a.Container == nil {
		// An app without a container runs as one; MESOS without an image
		// says so and holds the ports.
		a.Container = &Container{Type: ContainerMesos}
	}
	for _, dp := range ip.Discovery.Ports {
		// No host port: the port is reached on the task's own address, as
		// with Marathon's IP per task.
		a.Container.PortMappings = append(a.Container.PortMappings, PortMapping{
			ContainerPort: dp.Number, HostPort: 0, Name: dp.Name, Protocol: dp.Protocol, Labels: dp.Labels,
		})
	}
}

func containerDocker(a *App) *Docker {
	if a.Container == nil {
		return nil
	}
	return a.Container.Docker
}

// validateMesos checks what normalizeMesos left: the check, and the pull
// configuration's secret.
func validateMesos(a *App, r reporter) {
	if d := containerDocker(a); d != nil && d.PullConfig != nil {
		at := p("container", "docker", "pullConfig", "secret")
		switch name := d.PullConfig.Secret; {
		case name == "":
			r.at(at, "required: the name of a secret (declared in the app's secrets) holding a Docker config.json")
		default:
			// The secret must be one the app declares, as in Marathon.
			if sec := mapValue(r.root, "secrets"); sec == nil || mapValue(sec, name) == nil {
				r.at(at, "secret %q is not declared in the app's secrets", name)
			}
		}
	}
	c := a.Check
	if c == nil {
		return
	}
	at := p("check")
	kinds := 0
	for _, set := range []bool{c.HTTP != nil, c.TCP != nil, c.Exec != nil} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		r.at(at, "a check is exactly one of http, tcp and exec, found %d", kinds)
	}
	port := func(portIndex, port int, at []any) {
		if port < 0 || port > 65535 {
			r.at(append(at, "port"), "must be between 0 and 65535, found %d", port)
		}
		if port == 0 && (portIndex < 0 || portIndex >= a.portCount()) {
			r.at(append(at, "portIndex"), "the app has %d port(s), so portIndex %d does not exist", a.portCount(), portIndex)
		}
	}
	if h := c.HTTP; h != nil {
		port(h.PortIndex, h.Port, p("check", "http"))
		if h.Scheme != "HTTP" && h.Scheme != "HTTPS" {
			r.at(p("check", "http", "scheme"), "unknown scheme %q: expected HTTP or HTTPS", h.Scheme)
		}
		if !strings.HasPrefix(h.Path, "/") {
			r.at(p("check", "http", "path"), "must start with /, found %q", h.Path)
		}
	}
	if t := c.TCP; t != nil {
		port(t.PortIndex, t.Port, p("check", "tcp"))
	}
	if e := c.Exec; e != nil {
		cmd := e.Command
		switch {
		case cmd.Shell != "" && len(cmd.Argv) > 0:
			r.at(p("check", "exec", "command"), "set shell or argv, not both")
		case cmd.Shell == "" && len(cmd.Argv) == 0:
			r.at(p("check", "exec", "command"), "required: shell (a command line) or argv (the executable and its arguments)")
		}
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"intervalSeconds", c.IntervalSeconds}, {"timeoutSeconds", c.TimeoutSeconds}, {"delaySeconds", c.DelaySeconds}} {
		if f.v < 0 || f.v > MaxSeconds {
			r.at(p("check", f.name), "must be between 0 and %d, found %d", MaxSeconds, f.v)
		}
	}
	if c.IntervalSeconds < 1 {
		r.at(p("check", "intervalSeconds"), "must be at least 1")
	}
}

// CommandLine is the shell command line the check's exec runs: Shell as it
// is, or Argv quoted for /bin/sh so each element stays one argument.
func (c MesosCommand) CommandLine() string {
	if c.Shell != "" {
		return c.Shell
	}
	q := make([]string, len(c.Argv))
	for i, a := range c.Argv {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// NetworkInfo is one entry of a Chronos job's networkInfos: the Mesos (CNI)
// network to join. Its labels were for the CNI plugin; Docker has no place
// for them, so they are kept in the manifest but not used.
type NetworkInfo struct {
	Name   string      `json:"name" yaml:"name"`
	Labels []Parameter `json:"labels,omitempty" yaml:"labels,omitempty"`
}

// normalizeNetworkInfos makes a job's one networkInfos entry the USER
// network it names, the form Berth runs. Anything else is left for
// validateJob to refuse.
func normalizeNetworkInfos(c *JobContainer) {
	if len(c.NetworkInfos) != 1 || c.NetworkName != "" || (c.Network != "" && c.Network != NetworkUser) {
		return
	}
	c.Network, c.NetworkName = NetworkUser, c.NetworkInfos[0].Name
	c.NetworkInfos = nil
}
