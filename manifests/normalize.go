package manifests

import (
	"slices"
	"strings"
	"time"
)

// Network modes of the newer `networks` form, which normalisation makes the
// only one.
const (
	ModeHost      = "host"
	ModeBridge    = "container/bridge"
	ModeContainer = "container"
)

// Defaults Chronos 3 applies when a job's resource is 0 or absent.
const (
	defaultJobCPUs = 0.1
	defaultJobMem  = 128
	defaultJobDisk = 256
)

// normalizeApp applies the defaults that are not set at decode time and moves
// Marathon's older forms to the newer ones, so that the two spellings of the
// same app are equal. It reports an app that uses both spellings at once.
func normalizeApp(a *App, r reporter) {
	normalizeMesos(a, r)
	if a.KillSelection == "" {
		a.KillSelection = "YOUNGEST_FIRST"
	}
	a.KillSelection = strings.ToUpper(a.KillSelection)
	for i := range a.Constraints {
		a.Constraints[i].Operator = strings.ToUpper(a.Constraints[i].Operator)
	}
	if c := a.Container; c != nil {
		c.Type = strings.ToUpper(c.Type)
		if c.Type == "" {
			c.Type = "DOCKER"
		}
		if c.Type == "MESOS" && c.Docker != nil && c.Docker.Image != "" {
			// Marathon's UCR running a Docker image: Berth runs it on Docker.
			c.Type = "DOCKER"
		}
		if d := c.Docker; d != nil {
			if len(d.PortMappings) > 0 {
				if len(c.PortMappings) > 0 {
					r.at(p("container", "docker", "portMappings"), "set portMappings in container or in container.docker, not both")
				}
				c.PortMappings = d.PortMappings
				d.PortMappings = nil
			}
			if d.Network != "" {
				if len(a.Networks) > 0 {
					r.at(p("container", "docker", "network"), "set networks or container.docker.network, not both")
				}
				switch strings.ToUpper(d.Network) {
				case NetworkBridge:
					a.Networks = []Network{{Mode: ModeBridge}}
				case NetworkHost:
					a.Networks = []Network{{Mode: ModeHost}}
				case NetworkUser:
					// Marathon named the network in ipAddress, which Berth
					// does not read: the newer form names it.
					r.at(p("container", "docker", "network"), "USER networking needs the Docker network's name: use networks: [{mode: container, name: <network>}]")
					a.Networks = []Network{{Mode: ModeContainer}}
				default:
					r.at(p("container", "docker", "network"), "unknown network %q: expected BRIDGE, HOST or USER", d.Network)
				}
				d.Network = ""
			}
		}
		for i := range c.PortMappings {
			normalizeProtocol(&c.PortMappings[i].Protocol)
		}
		normalizeVolumes(c.Volumes)
	}
	for i := range a.Networks {
		a.Networks[i].Mode = strings.ToLower(a.Networks[i].Mode)
	}
	if len(a.Networks) == 0 {
		a.Networks = []Network{{Mode: ModeHost}}
	}
	// Old Marathon echoed a bridged app's service ports in `ports`: in an
	// export of a bridged app they say nothing new and are dropped below.
	if a.Ports != nil {
		if a.PortDefinitions != nil {
			r.at(p("ports"), "set portDefinitions or ports, not both")
		}
		a.PortDefinitions = make([]PortDefinition, len(a.Ports))
		for i, port := range a.Ports {
			a.PortDefinitions[i] = PortDefinition{Port: port}
		}
		a.Ports = nil
	}
	if a.hostNetwork() && a.PortDefinitions == nil {
		// Marathon gives a host-networked app one port unless it says
		// otherwise (portDefinitions: [] asks for none).
		a.PortDefinitions = []PortDefinition{{Port: 0}}
	}
	if !a.hostNetwork() && len(a.PortDefinitions) > 0 && mapValue(r.root, "portDefinitions") != nil {
		r.at(p("portDefinitions"), "portDefinitions are host ports of a host-networked app; with %s networking use container.portMappings", a.Networks[0].Mode)
	}
	if !a.hostNetwork() {
		a.PortDefinitions = nil
	}
	for i := range a.PortDefinitions {
		normalizeProtocol(&a.PortDefinitions[i].Protocol)
	}
	for i := range a.HealthChecks {
		hc := &a.HealthChecks[i]
		hc.Protocol = strings.ToUpper(hc.Protocol)
		switch hc.Protocol {
		case "":
			hc.Protocol = "HTTP"
		case "MESOS_HTTP", "MESOS_HTTPS", "MESOS_TCP":
			// Berth's agent runs every check itself; where it runs changes nothing.
			hc.Protocol = strings.TrimPrefix(hc.Protocol, "MESOS_")
		}
		if (hc.Protocol == "HTTP" || hc.Protocol == "HTTPS") && hc.Path == "" {
			hc.Path = "/"
		}
	}
	normalizeReadinessChecks(a.ReadinessChecks)
	normalizeResidency(a)
	a.Dependencies = sortedSet(a.Dependencies)
	if len(a.Args) == 0 {
		a.Args = nil
	}
}

// hostNetwork reports whether the app uses the host's network namespace.
func (a *App) hostNetwork() bool {
	return len(a.Networks) == 0 || a.Networks[0].Mode == ModeHost
}

func normalizeProtocol(s *string) {
	*s = strings.ToLower(strings.ReplaceAll(*s, " ", ""))
	if *s == "" {
		*s = "tcp"
	}
	if *s == "tcp,udp" {
		*s = "udp,tcp"
	}
}

func normalizeVolumes(vs []Volume) {
	for i := range vs {
		vs[i].Mode = strings.ToUpper(vs[i].Mode)
		if vs[i].Mode == "" {
			vs[i].Mode = "RW"
		}
	}
}

func normalizeJob(j *Job) {
	if j.CPUs == 0 {
		j.CPUs = defaultJobCPUs
	}
	if j.Mem == 0 {
		j.Mem = defaultJobMem
	}
	if j.Disk == 0 {
		j.Disk = defaultJobDisk
	}
	j.Schedule = strings.TrimSpace(j.Schedule)
	j.Cron = strings.TrimSpace(j.Cron)
	if c := j.Container; c != nil {
		c.Type = strings.ToUpper(c.Type)
		if c.Type == "" || (c.Type == "MESOS" && c.Image != "") {
			c.Type = "DOCKER"
		}
		c.Network = strings.ToUpper(c.Network)
		normalizeNetworkInfos(c)
		if c.Network == "" {
			c.Network = NetworkHost
		}
		normalizeVolumes(c.Volumes)
	}
	for i := range j.Constraints {
		c := &j.Constraints[i]
		c.Operator = strings.ToUpper(c.Operator)
		if c.Operator == "EQUALS" {
			c.Operator = OpIs // Chronos's name for the same thing
		}
	}
	j.Parents = sortedSet(j.Parents)
	if len(j.Arguments) == 0 {
		j.Arguments = nil
	}
}

func normalizeTemplate(t *Template) {
	if t.ID != "" {
		t.ID = resolveOwnID(t.ID, "/")
	}
	if t.Perms == "" {
		t.Perms = "0644"
	}
	if w := t.Wait; w != nil && w.Max == "" {
		if min, err := time.ParseDuration(w.Min); err == nil {
			w.Max = (4 * min).String()
		}
	}
}

func normalizeQueue(q *Queue) {
	if q.ID != "" {
		q.ID = resolveOwnID(q.ID, "/")
	}
}

// sortedSet sorts and deduplicates; nil when empty, so that absent and empty
// compare equal.
func sortedSet(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	slices.Sort(s)
	return slices.Compact(s)
}
