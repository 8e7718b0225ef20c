package manifests

import (
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/berthops/berth/schedule"
)

var (
	idSegmentRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$`)
	jobNameRE   = regexp.MustCompile(`^[\w.-]+$`)
)

// checkPathID validates a Marathon-style path id (already made absolute).
func checkPathID(id string) string {
	if id == "" {
		return "required"
	}
	if id == "/" {
		return "the root group cannot be an object's id"
	}
	for _, seg := range strings.Split(strings.TrimPrefix(id, "/"), "/") {
		if seg == "." || seg == ".." {
			return fmt.Sprintf("%q is not a valid id: %q is not allowed in an object's own id (write the id it means, e.g. /group/name)", id, seg)
		}
		if !idSegmentRE.MatchString(seg) {
			return fmt.Sprintf("%q is not a valid id: each path segment must be lowercase letters, digits and dashes, starting and ending with a letter or digit (dots may separate such labels)", id)
		}
	}
	return ""
}

// between checks 0 <= v <= limit; NaN and infinities (a quoted "NaN" reads
// as a number) are out of range too.
func between(r reporter, v, limit float64, at ...any) {
	if !(v >= 0 && v <= limit) {
		r.at(p(at...), "must be between 0 and %s, found %v", strconv.FormatFloat(limit, 'f', -1, 64), v)
	}
}

func validateApp(a *App, r reporter) {
	if msg := checkPathID(a.ID); msg != "" {
		r.at(p("id"), "%s", msg)
	}
	if a.Cmd != "" && len(a.Args) > 0 {
		r.at(p("args"), "set cmd (run through /bin/sh -c) or args (passed to the image's entrypoint), not both")
	}
	image := ""
	if a.Container != nil && a.Container.Docker != nil {
		image = a.Container.Docker.Image
	}
	if a.Cmd == "" && image == "" {
		r.at(p("cmd"), "nothing to run: set cmd, or container.docker.image")
	}
	if len(a.Args) > 0 && image == "" {
		r.at(p("args"), "args need an image whose entrypoint receives them: set container.docker.image, or use cmd")
	}
	between(r, float64(a.Instances), MaxInstances, "instances")
	between(r, a.CPUs, MaxCPUs, "cpus")
	between(r, a.Mem, MaxMem, "mem")
	between(r, a.Disk, MaxDisk, "disk")
	between(r, a.BackoffSeconds, MaxSeconds, "backoffSeconds")
	between(r, a.MaxLaunchDelaySeconds, MaxSeconds, "maxLaunchDelaySeconds")
	between(r, a.TaskKillGracePeriodSeconds, MaxSeconds, "taskKillGracePeriodSeconds")
	if !(a.BackoffFactor >= 1 && a.BackoffFactor <= 100) {
		r.at(p("backoffFactor"), "must be between 1 and 100, found %v", a.BackoffFactor)
	}
	if us := a.UpgradeStrategy; !(us.MinimumHealthCapacity >= 0 && us.MinimumHealthCapacity <= 1) {
		r.at(p("upgradeStrategy", "minimumHealthCapacity"), "must be between 0 and 1, found %v", us.MinimumHealthCapacity)
	}
	if us := a.UpgradeStrategy; !(us.MaximumOverCapacity >= 0 && us.MaximumOverCapacity <= 1) {
		r.at(p("upgradeStrategy", "maximumOverCapacity"), "must be between 0 and 1, found %v", us.MaximumOverCapacity)
	}
	if us := a.UnreachableStrategy; us.InactiveAfterSeconds < 0 || us.ExpungeAfterSeconds < 0 || us.InactiveAfterSeconds > us.ExpungeAfterSeconds && us.ExpungeAfterSeconds != 0 {
		r.at(p("unreachableStrategy"), "inactiveAfterSeconds and expungeAfterSeconds must not be negative, and inactiveAfterSeconds must not exceed expungeAfterSeconds")
	} else {
		between(r, us.InactiveAfterSeconds, MaxSeconds, "unreachableStrategy", "inactiveAfterSeconds")
		between(r, us.ExpungeAfterSeconds, MaxSeconds, "unreachableStrategy", "expungeAfterSeconds")
	}
	switch a.KillSelection {
	case "YOUNGEST_FIRST", "OLDEST_FIRST":
	default:
		r.at(p("killSelection"), "unknown kill selection %q: expected YOUNGEST_FIRST or OLDEST_FIRST", a.KillSelection)
	}
	for i, c := range a.Constraints {
		validateConstraint(c, r, p("constraints", i))
	}
	for k := range a.Env {
		if k == "" {
			r.at(p("env"), "an environment variable needs a name")
		}
	}
	validateNetworks(a, r)
	validateContainer(a, r)
	validateResidency(a, r)
	validatePorts(a, r)
	validateHealthChecks(a, r)
	validateMesos(a, r)
	validateReadinessChecks(a, r)
	validateRegistrator(a, r)
}

func validateConstraint(c Constraint, r reporter, at []any) {
	if c.Field == "" {
		r.at(at, "a constraint needs a field (hostname or an agent attribute)")
	}
	switch c.Operator {
	case OpUnique:
		if c.Value != "" {
			r.at(at, "UNIQUE takes no value")
		}
	case OpCluster:
	case OpGroupBy:
		if c.Value != "" {
			if n, err := strconv.Atoi(c.Value); err != nil || n < 1 {
				r.at(at, "GROUP_BY takes an optional positive number of values, found %q", c.Value)
			}
		}
	case OpMaxPer:
		if n, err := strconv.Atoi(c.Value); err != nil || n < 1 {
			r.at(at, "MAX_PER needs a positive number, found %q", c.Value)
		}
	case OpLike, OpUnlike:
		if c.Value == "" {
			r.at(at, "%s needs a regular expression", c.Operator)
		} else if _, err := regexp.Compile("^(?:" + c.Value + ")$"); err != nil {
			r.at(at, "bad regular expression %q: %v", c.Value, err)
		}
	case OpIs:
		if c.Value == "" {
			r.at(at, "IS needs a value")
		}
	default:
		r.at(at, "unknown operator %q: expected UNIQUE, CLUSTER, GROUP_BY, LIKE, UNLIKE, MAX_PER or IS", c.Operator)
	}
}

func validateNetworks(a *App, r reporter) {
	hosts, bridges := 0, 0
	for i, n := range a.Networks {
		switch n.Mode {
		case ModeHost:
			hosts++
		case ModeBridge:
			bridges++
		case ModeContainer:
			if n.Name == "" && mapValue(r.root, "networks") != nil {
				r.at(p("networks", i, "name"), "a container network needs the name of the Docker network to join")
			}
		default:
			r.at(p("networks", i, "mode"), "unknown network mode %q: expected host, container/bridge or container", n.Mode)
		}
	}
	if (hosts > 0 || bridges > 0) && len(a.Networks) > 1 {
		r.at(p("networks"), "host and container/bridge networking cannot be combined with other networks")
	}
}

func validateContainer(a *App, r reporter) {
	c := a.Container
	if c == nil {
		return
	}
	switch c.Type {
	case "DOCKER":
		if c.Docker == nil || c.Docker.Image == "" {
			r.at(p("container", "docker", "image"), "a DOCKER container needs an image")
		}
	case ContainerMesos:
		// Normalisation made every MESOS container with an image DOCKER:
		// what is left runs cmd the way an app without a container does.
		if c.Docker != nil {
			r.at(p("container", "docker", "image"), "a MESOS container's docker needs an image (or leave docker out to run cmd in the shell image)")
		}
	default:
		r.at(p("container", "type"), "unknown container type %q: expected DOCKER or MESOS", c.Type)
	}
	if d := c.Docker; d != nil {
		for i, prm := range d.Parameters {
			if prm.Key == "" {
				r.at(p("container", "docker", "parameters", i, "key"), "required")
			}
		}
	}
	validateVolumes(c.Volumes, r, "container", true)
}

func validateVolumes(vs []Volume, r reporter, parent string, app bool) {
	for i := range vs {
		if vs[i].Secret != "" {
			continue // checked with the app's secrets (checkSecrets)
		}
		validateVolume(vs, i, r, parent, app)
	}
}

func validProtocol(s string) bool {
	return s == "tcp" || s == "udp" || s == "udp,tcp"
}

func validatePorts(a *App, r reporter) {
	fixed := map[int]string{}
	checkHost := func(port int, field []any) {
		if port == 0 {
			return
		}
		if prev, ok := fixed[port]; ok {
			r.at(field, "host port %d is already used by %s of this app", port, prev)
			return
		}
		fixed[port] = fieldPath(field...)
	}
	checkRange := func(port int, field []any) bool {
		if port < 0 || port > 65535 {
			r.at(field, "must be between 0 and 65535, found %d", port)
			return false
		}
		return true
	}
	names := map[string]bool{}
	checkName := func(name string, field []any) {
		if name == "" {
			return
		}
		if names[name] {
			r.at(field, "port name %q is used twice", name)
		}
		names[name] = true
	}
	if a.Container != nil {
		pm := "portMappings"
		base := p("container", pm)
		if mapValue(mapValue(mapValue(r.root, "container"), "docker"), pm) != nil {
			base = p("container", "docker", pm) // written in the older place
		}
		if len(a.Container.PortMappings) > 0 && a.hostNetwork() {
			r.at(base, "portMappings need container/bridge or container networking; with host networking use portDefinitions")
		}
		for i, m := range a.Container.PortMappings {
			at := append(append([]any{}, base...), i)
			if checkRange(m.ContainerPort, append(at, "containerPort")) && checkRange(m.HostPort, append(at, "hostPort")) {
				checkHost(m.HostPort, append(at, "hostPort"))
			}
			checkRange(m.ServicePort, append(at, "servicePort"))
			if !validProtocol(m.Protocol) {
				r.at(append(at, "protocol"), "unknown protocol %q: expected tcp, udp or udp,tcp", m.Protocol)
			}
			checkName(m.Name, append(at, "name"))
		}
	}
	base := p("portDefinitions")
	if mapValue(r.root, "ports") != nil {
		base = p("ports")
	}
	for i, d := range a.PortDefinitions {
		at := append(append([]any{}, base...), i)
		if checkRange(d.Port, append(at, "port")) {
			checkHost(d.Port, append(at, "port"))
		}
		if !validProtocol(d.Protocol) {
			r.at(append(at, "protocol"), "unknown protocol %q: expected tcp, udp or udp,tcp", d.Protocol)
		}
		checkName(d.Name, append(at, "name"))
	}
}

// portCount is how many ports each task of the app has, for portIndex.
func (a *App) portCount() int {
	if a.Container != nil && len(a.Container.PortMappings) > 0 {
		return len(a.Container.PortMappings)
	}
	return len(a.PortDefinitions)
}

func validateHealthChecks(a *App, r reporter) {
	for i, hc := range a.HealthChecks {
		at := p("healthChecks", i)
		switch hc.Protocol {
		case "HTTP", "HTTPS", "TCP":
			if hc.Port == 0 && (hc.PortIndex < 0 || hc.PortIndex >= a.portCount()) {
				r.at(append(at, "portIndex"), "the app has %d port(s), so portIndex %d does not exist", a.portCount(), hc.PortIndex)
			}
			if hc.Port < 0 || hc.Port > 65535 {
				r.at(append(at, "port"), "must be between 0 and 65535, found %d", hc.Port)
			}
		case "COMMAND":
			if hc.Command == nil || hc.Command.Value == "" {
				r.at(append(at, "command"), "a COMMAND health check needs command.value")
			}
		default:
			r.at(append(at, "protocol"), "unknown protocol %q: expected HTTP, HTTPS, TCP or COMMAND", hc.Protocol)
		}
		for _, f := range []struct {
			name string
			v    int
		}{{"gracePeriodSeconds", hc.GracePeriodSeconds}, {"intervalSeconds", hc.IntervalSeconds}, {"timeoutSeconds", hc.TimeoutSeconds}, {"maxConsecutiveFailures", hc.MaxConsecutiveFailures}} {
			if f.v < 0 || f.v > MaxSeconds {
				r.at(append(at, f.name), "must be between 0 and %d, found %d", MaxSeconds, f.v)
			}
		}
		if hc.IntervalSeconds < 1 {
			r.at(append(at, "intervalSeconds"), "must be at least 1")
		}
	}
}

func validateJob(j *Job, r reporter) {
	switch {
	case j.Name == "":
		r.at(p("name"), "required")
	case !jobNameRE.MatchString(j.Name):
		r.at(p("name"), "%q is not a valid job name: use letters, digits, '_', '.' and '-'", j.Name)
	}
	if j.Command == "" && (j.Container == nil || j.Container.Image == "") {
		r.at(p("command"), "nothing to run: set command, or container.image")
	}
	if !j.Shell && j.Command == "" && len(j.Arguments) == 0 && j.Container == nil {
		r.at(p("command"), "required")
	}
	scheduled := j.Schedule != "" || j.Cron != ""
	switch {
	case j.Schedule != "" && j.Cron != "":
		r.at(p("cron"), "set schedule or cron, not both")
	case scheduled && len(j.Parents) > 0:
		r.at(p("parents"), "a job has a schedule or parents, never both")
	case !scheduled && len(j.Parents) == 0:
		r.at(p("schedule"), "a job needs a schedule, a cron expression or parents")
	}
	if j.ScheduleTimeZone != "" {
		if _, err := schedule.LoadZone(j.ScheduleTimeZone); err != nil {
			r.at(p("scheduleTimeZone"), "%v", err)
		}
	}
	if j.Schedule != "" {
		if _, err := schedule.ParseISO(j.Schedule, ""); err != nil {
			r.syntax(p("schedule"), err)
		}
	}
	if j.Cron != "" {
		if _, err := schedule.ParseCron(j.Cron, ""); err != nil {
			r.syntax(p("cron"), err)
		}
	}
	if j.ScheduleTimeZone != "" && !scheduled {
		r.at(p("scheduleTimeZone"), "only meaningful with a schedule")
	}
	if j.Epsilon != "" {
		if d, err := schedule.ParseDuration(j.Epsilon); err != nil {
			r.syntax(p("epsilon"), err)
		} else if d < 0 {
			r.at(p("epsilon"), "must not be negative")
		}
	}
	if j.Timeout != "" {
		if d, err := schedule.ParseDuration(j.Timeout); err != nil {
			r.syntax(p("timeout"), err)
		} else if d <= 0 {
			r.at(p("timeout"), "must be a positive duration such as PT30M")
		}
	}
	between(r, float64(j.Retries), MaxRetries, "retries")
	between(r, j.CPUs, MaxCPUs, "cpus")
	between(r, j.Mem, MaxMem, "mem")
	between(r, j.Disk, MaxDisk, "disk")
	for i, c := range j.Constraints {
		validateConstraint(c, r, p("constraints", i))
	}
	for i, e := range j.EnvironmentVariables {
		if e.Name == "" {
			r.at(p("environmentVariables", i, "name"), "required")
		}
	}
	if c := j.Container; c != nil {
		switch c.Type {
		case "DOCKER":
			if c.Image == "" {
				r.at(p("container", "image"), "a DOCKER container needs an image")
			}
		case ContainerMesos:
			// Normalisation made MESOS with an image DOCKER: without one the
			// command runs as a job without a container does.
		default:
			r.at(p("container", "type"), "unknown container type %q: expected DOCKER or MESOS", c.Type)
		}
		if len(c.NetworkInfos) > 0 {
			r.at(p("container", "networkInfos"), "a task joins one Docker network: give one networkInfos entry, with network USER or no network (or use networkName)")
		}
		switch c.Network {
		case NetworkHost, NetworkBridge:
		case NetworkUser:
			if c.NetworkName == "" {
				r.at(p("container", "networkName"), "a USER network needs networkName")
			}
		default:
			r.at(p("container", "network"), "unknown network %q: expected HOST, BRIDGE or USER", c.Network)
		}
		validateVolumes(c.Volumes, r, "container", false)
	}
}

var permsRE = regexp.MustCompile(`^0?[0-7]{3}$`)

func validateTemplate(t *Template, r reporter) {
	if msg := checkPathID(t.ID); msg != "" {
		r.at(p("id"), "%s", msg)
	}
	if (t.Source == "") == (t.Contents == "") {
		r.at(p("source"), "set source (a file in the repository) or contents, exactly one")
	}
	if !path.IsAbs(t.Destination) {
		r.at(p("destination"), "must be an absolute path on the node, found %q", t.Destination)
	}
	if !permsRE.MatchString(t.Perms) {
		r.at(p("perms"), "must be octal permissions like \"0644\", found %q", t.Perms)
	}
	if (t.LeftDelim == "") != (t.RightDelim == "") {
		r.at(p("leftDelimiter"), "set both leftDelimiter and rightDelimiter, or neither")
	}
	if w := t.Wait; w != nil {
		min, err := time.ParseDuration(w.Min)
		if err != nil || min < 0 {
			r.at(p("wait", "min"), "must be a duration like \"5s\", found %q", w.Min)
		}
		max, err := time.ParseDuration(w.Max)
		if (err != nil && w.Max != "") || (err == nil && max < min) {
			r.at(p("wait", "max"), "must be a duration like \"20s\", at least min, found %q", w.Max)
		}
	}
	for i, c := range t.Constraints {
		validateConstraint(c, r, p("constraints", i))
	}
}

func validateQueue(q *Queue, r reporter) {
	if msg := checkPathID(q.ID); msg != "" {
		r.at(p("id"), "%s", msg)
	}
	if !(q.Capacity >= 0 && q.Capacity <= 100) {
		r.at(p("capacity"), "a percentage of the parent: between 0 and 100, found %v", q.Capacity)
	}
	if !(q.MaxCapacity >= q.Capacity && q.MaxCapacity <= 100) {
		r.at(p("maxCapacity"), "a percentage of the parent between capacity (%v) and 100, found %v", q.Capacity, q.MaxCapacity)
	}
	between(r, q.Weight, MaxWeight, "weight")
}
