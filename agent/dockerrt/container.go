package dockerrt

import (
	"fmt"
	"maps"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"

	"github.com/berthops/berth/agent/launch"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/policy"
)

// definition is everything Docker needs to create one task's container.
type definition struct {
	Name   string                    `json:"name"`
	Image  string                    `json:"image"`
	Config *container.Config         `json:"config"`
	Host   *container.HostConfig     `json:"host"`
	Net    *network.NetworkingConfig `json:"net,omitempty"`
}

// containerName is stable per agent and task, so a retried create after a
// crash conflicts instead of starting a second copy.
func containerName(agentID, taskID string) string {
	return "berth-" + dockerNameSafe(agentID) + "-" + dockerNameSafe(taskID)
}

func dockerNameSafe(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// buildLaunch turns an assignment into a container definition. It is pure:
// every error is about the spec (or this agent's consent) and is final, so
// the task is reported FAILED with it rather than retried.
func buildLaunch(node launch.Node, a cluster.Assignment, sandbox string, opts launchOptions) (definition, error) {
	spec := a.Spec
	l := definition{Name: containerName(node.ID, a.TaskID), Image: spec.Image}
	cfg := &container.Config{User: spec.User}
	host := &container.HostConfig{}

	switch {
	case spec.Cmd != "" && len(spec.Args) > 0:
		return l, fmt.Errorf("spec has both cmd and args: Marathon allows only one")
	case spec.Cmd != "":
		// Marathon's cmd is a shell command: with an image, Mesos replaced the
		// entrypoint with /bin/sh -c, and so does Berth.
		cfg.Entrypoint = []string{"/bin/sh", "-c"}
		cfg.Cmd = []string{spec.Cmd}
		if l.Image == "" {
			l.Image = opts.ShellImage
		}
	case len(spec.Args) > 0:
		cfg.Cmd = append([]string(nil), spec.Args...)
	}
	if l.Image == "" {
		return l, fmt.Errorf("spec has no image and no cmd: nothing to run")
	}
	cfg.Image = l.Image
	cfg.Labels = map[string]string{}
	maps.Copy(cfg.Labels, spec.Labels)
	maps.Copy(cfg.Labels, opts.ExtraLabels)
	cfg.Labels[launch.LabelAgent] = node.ID
	cfg.Labels[launch.LabelTask] = a.TaskID
	cfg.Labels[launch.LabelApp] = a.OwnerID
	cfg.Labels[launch.LabelOwner] = string(a.Owner)
	cfg.Labels[launch.LabelVersion] = a.Version

	if err := setNetwork(node, spec, cfg, host); err != nil {
		return l, err
	}
	for i, v := range spec.Volumes {
		if v.Name != "" || v.Persistent {
			if err := addNamedVolume(node, a, v, host, opts); err != nil {
				return l, fmt.Errorf("volumes[%d]: %w", i, err)
			}
			continue
		}
		hostPath, err := volumeSource(sandbox, v.HostPath)
		if err != nil {
			return l, fmt.Errorf("volumes[%d]: %w", i, err)
		}
		if !path.IsAbs(hostPath) || !path.IsAbs(v.ContainerPath) || strings.Contains(hostPath+v.ContainerPath, ":") {
			return l, fmt.Errorf("volumes[%d]: hostPath %q and containerPath %q must be absolute paths without ':'", i, v.HostPath, v.ContainerPath)
		}
		mode := "rw"
		if v.ReadOnly {
			mode = "ro"
		}
		host.Binds = append(host.Binds, hostPath+":"+v.ContainerPath+":"+mode)
	}
	mountSandbox(sandbox, spec, cfg, host)
	host.Privileged = spec.Privileged // allowed by the policy check above
	// Mesos mapped cpus to CPU shares (1024 per CPU) and, with CFS enabled,
	// to a hard quota; mem is a hard limit. Docker cannot cap disk on most
	// storage drivers, so disk is only accounted by the allocator.
	if c := spec.Resources.CPUs; c > 0 {
		host.CPUShares = max(2, int64(math.Round(c*1024)))
		host.CPUPeriod = 100000
		host.CPUQuota = max(1000, int64(math.Round(c*100000)))
	}
	if m := spec.Resources.Mem; m > 0 {
		host.Memory = int64(m * (1 << 20))
	}
	if err := applyParameters(spec.Parameters, cfg, host); err != nil {
		return l, err
	}
	// Checked last, so that a spec that is wrong anywhere says so first.
	// The leader places tasks only where the policy allows them, but the
	// agent is the one that must not be talked into more: a leader of an
	// older version, or a forged assignment, gets the same answer.
	if r, ok := policy.Check(node.Policy, spec); !ok {
		return l, r
	}
	cfg.Env = append(taskEnv(node, a, l.Image), cfg.Env...)
	l.Config, l.Host = cfg, host
	if spec.Network == networkUser {
		l.Net = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{spec.NetworkName: {}}}
	}
	return l, nil
}

// Network modes of cluster.TaskSpec.Network (Marathon's names).
const (
	networkBridge = "BRIDGE"
	networkHost   = "HOST"
	networkUser   = "USER"
)

func setNetwork(node launch.Node, spec cluster.TaskSpec, cfg *container.Config, host *container.HostConfig) error {
	switch spec.Network {
	case networkBridge, "":
		host.NetworkMode = "bridge"
	case networkHost:
		if node.Policy.HostNetwork {
			// Under HOST the task binds its PORTn itself; there is nothing to map.
			host.NetworkMode = "host"
			return nil
		}
		// Host-port mode: the task keeps Marathon's HOST contract (it binds
		// $PORTn and is reached at $HOST:$PORTn) from its own network
		// namespace, where it cannot reach the host's loopback services nor
		// bind ports it was not given (docs/security.md, "Agent policy").
		host.NetworkMode = "bridge"
	case networkUser:
		if spec.NetworkName == "" {
			return fmt.Errorf("network USER needs a network name (the Docker network to join)")
		}
		host.NetworkMode = container.NetworkMode(spec.NetworkName)
	default:
		return fmt.Errorf("network %q: want BRIDGE, HOST or USER", spec.Network)
	}
	cfg.ExposedPorts = nat.PortSet{}
	host.PortBindings = nat.PortMap{}
	for i, p := range spec.Ports {
		cport := p.ContainerPort
		if cport == 0 {
			// Marathon: containerPort 0 means "the same as the host port".
			cport = p.HostPort
		}
		if spec.Network == networkHost && p.HostPort == 0 {
			continue // no host port assigned: nothing to publish
		}
		if cport <= 0 || cport > 65535 || p.HostPort < 0 || p.HostPort > 65535 {
			return fmt.Errorf("ports[%d]: containerPort %d, hostPort %d out of range", i, p.ContainerPort, p.HostPort)
		}
		protos, err := protocols(p.Protocol)
		if err != nil {
			return fmt.Errorf("ports[%d]: %w", i, err)
		}
		for _, proto := range protos {
			port := nat.Port(strconv.Itoa(cport) + "/" + proto)
			cfg.ExposedPorts[port] = struct{}{}
			if p.HostPort == 0 && spec.Network == networkUser {
				continue // reachable on the user network only
			}
			hp := ""
			if p.HostPort != 0 {
				hp = strconv.Itoa(p.HostPort)
			}
			host.PortBindings[port] = append(host.PortBindings[port], nat.PortBinding{HostIP: node.Address, HostPort: hp})
		}
	}
	return nil
}

func protocols(s string) ([]string, error) {
	if s == "" {
		return []string{"tcp"}, nil
	}
	var out []string
	for _, p := range strings.Split(strings.ToLower(s), ",") {
		p = strings.TrimSpace(p)
		if p != "tcp" && p != "udp" {
			return nil, fmt.Errorf("protocol %q: want tcp, udp or udp,tcp", s)
		}
		out = append(out, p)
	}
	return out, nil
}

// applyParameters maps Marathon's docker.parameters (raw `docker run`
// options) onto the container. Only options with a clear meaning here are
// accepted; an unknown one fails the task by name rather than being dropped.
func applyParameters(params []cluster.Parameter, cfg *container.Config, host *container.HostConfig) error {
	for i, p := range params {
		v := p.Value
		switch strings.TrimLeft(p.Key, "-") {
		case "label":
			k, val, _ := strings.Cut(v, "=")
			if strings.HasPrefix(k, "berth.") {
				return fmt.Errorf("parameters[%d]: label %q: berth.* labels are the agent's own", i, k)
			}
			cfg.Labels[k] = val
		case "env", "e":
			if !strings.Contains(v, "=") {
				return fmt.Errorf("parameters[%d]: env %q: want NAME=value", i, v)
			}
			cfg.Env = append(cfg.Env, v)
		case "hostname", "h":
			cfg.Hostname = v
		case "workdir", "w":
			cfg.WorkingDir = v
		case "user", "u":
			cfg.User = v
		case "add-host":
			host.ExtraHosts = append(host.ExtraHosts, v)
		case "cap-add":
			host.CapAdd = append(host.CapAdd, v)
		case "cap-drop":
			host.CapDrop = append(host.CapDrop, v)
		case "dns":
			host.DNS = append(host.DNS, v)
		case "security-opt":
			host.SecurityOpt = append(host.SecurityOpt, v)
		case "log-driver":
			host.LogConfig.Type = v
		case "log-opt":
			k, val, ok := strings.Cut(v, "=")
			if !ok {
				return fmt.Errorf("parameters[%d]: log-opt %q: want key=value", i, v)
			}
			if host.LogConfig.Config == nil {
				host.LogConfig.Config = map[string]string{}
			}
			host.LogConfig.Config[k] = val
		case "init":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("parameters[%d]: init %q: want true or false", i, v)
			}
			host.Init = &b
		default:
			return fmt.Errorf("parameters[%d]: docker option %q is not supported (supported: label, env, hostname, workdir, user, add-host, cap-add, cap-drop, dns, security-opt, log-driver, log-opt, init)", i, p.Key)
		}
	}
	return nil
}

// taskEnv is the environment Marathon (or Chronos) gave a task, under both
// the historical names and Berth's own, sorted. Like Marathon, these override
// the app's own env of the same name, because they describe this launch.
func taskEnv(node launch.Node, a cluster.Assignment, image string) []string {
	env := map[string]string{}
	maps.Copy(env, a.Spec.Env)
	set := func(v string, names ...string) {
		for _, n := range names {
			env[n] = v
		}
	}
	set(a.TaskID, "BERTH_TASK_ID", "MESOS_TASK_ID", "mesos_task_id")
	set(node.Address, "BERTH_HOST", "HOST")
	set(node.ID, "BERTH_AGENT_ID")
	set(node.Hostname, "BERTH_HOSTNAME")
	set(a.Version, "BERTH_VERSION")
	switch a.Owner {
	case cluster.OwnerJob:
		set(a.OwnerID, "BERTH_JOB_NAME", "CHRONOS_JOB_NAME")
	default:
		set(a.OwnerID, "BERTH_APP_ID", "MARATHON_APP_ID")
		set(a.Version, "MARATHON_APP_VERSION")
		set(image, "BERTH_APP_DOCKER_IMAGE", "MARATHON_APP_DOCKER_IMAGE")
		r := a.Spec.Resources
		set(strconv.FormatFloat(r.CPUs, 'f', -1, 64), "MARATHON_APP_RESOURCE_CPUS")
		set(strconv.FormatFloat(r.Mem, 'f', -1, 64), "MARATHON_APP_RESOURCE_MEM")
		set(strconv.FormatFloat(r.Disk, 'f', -1, 64), "MARATHON_APP_RESOURCE_DISK")
		var names []string
		for k, v := range a.Spec.Labels {
			n := envName(k)
			if n == "" {
				continue
			}
			names = append(names, n)
			set(v, "MARATHON_APP_LABEL_"+n)
		}
		sort.Strings(names)
		set(strings.Join(names, " "), "MARATHON_APP_LABELS")
	}
	var ports []string
	for i, p := range a.Spec.Ports {
		hp := strconv.Itoa(p.HostPort)
		ports = append(ports, hp)
		set(hp, "PORT"+strconv.Itoa(i), "BERTH_PORT"+strconv.Itoa(i))
		if i == 0 {
			set(hp, "PORT", "BERTH_PORT")
		}
		if n := envName(p.Name); n != "" {
			set(hp, "PORT_"+n, "BERTH_PORT_"+n)
		}
		if p.ContainerPort != 0 {
			set(hp, "PORT_"+strconv.Itoa(p.ContainerPort))
		}
	}
	if len(ports) > 0 {
		set(strings.Join(ports, ","), "PORTS", "BERTH_PORTS")
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// envName upper-cases a name and replaces what a shell variable cannot hold,
// as Marathon did for PORT_<NAME> and MARATHON_APP_LABEL_<NAME>.
func envName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}
