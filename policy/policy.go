// Package policy decides whether a task or a template may run on an agent,
// given what that agent's operator allowed (cluster.AgentPolicy). Git write
// access must not be root on the machines: by default a task gets no host
// files, no added capabilities, no security profile turned off, no host
// network namespace, no Docker network but the default ones, and a template
// writes nowhere and runs nothing. Operators widen this per agent with
// berth agent flags (docs/security.md, "Agent policy").
//
// The package is pure (no I/O, no clock): the agent calls it before every
// launch and every template update, and the leader calls it to place tasks
// only where they are allowed. Symlinks on the host are the agent's to
// resolve before asking.
package policy

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/berthops/berth/cluster"
)

// Rules: the names a refusal carries, so that statuses, `berth apps` and
// logs say which consent is missing.
const (
	RuleHostPath        = "host-path"
	RuleDockerSocket    = "docker-socket"
	RuleCapAdd          = "cap-add"
	RuleParameter       = "parameter"
	RuleHostNetwork     = "host-network"
	RuleNetwork         = "network"
	RulePrivileged      = "privileged"
	RuleTemplateRoot    = "template-root"
	RuleTemplateCommand = "template-command"
	RuleVolumeDriver    = "volume-driver"
	// RuleSecrets is not a consent but a capability: an agent that
	// published no age recipient cannot be given a task's secrets.
	RuleSecrets = "secrets"
)

// Refusal says which rule refused what, and which flag would allow it.
type Refusal struct {
	Rule   string `json:"rule"`
	Reason string `json:"reason"`
}

func (r Refusal) Error() string { return "agent policy " + r.Rule + ": " + r.Reason }

func refuse(rule, format string, args ...any) (Refusal, bool) {
	return Refusal{Rule: rule, Reason: fmt.Sprintf(format, args...)}, false
}

// harmlessParameters are docker parameters that give a container nothing the
// host did not already grant it: metadata, its own environment, names and
// the dropping of capabilities.
var harmlessParameters = []string{"label", "env", "e", "hostname", "h", "workdir", "w", "user", "u", "add-host", "cap-drop", "dns", "init"}

// engineSockets are the host paths through which a container controls the
// container engine, and so the host.
var engineSockets = []string{"/var/run/docker.sock", "/run/docker.sock", "/run/containerd/containerd.sock", "/var/run/containerd/containerd.sock"}

// defaultNetworks are Docker networks that add no reach: the default bridge
// (what BRIDGE tasks use) and none.
var defaultNetworks = []string{"bridge", "none", "default"}

// Check reports whether spec may run on an agent with policy p. When it may
// not, the Refusal names the first rule that refused it. HOST networking is
// not refused: an agent without HostNetwork runs such a task in its own
// network namespace with its assigned ports published at the same numbers
// (see docs/security.md).
func Check(p cluster.AgentPolicy, spec cluster.TaskSpec) (Refusal, bool) {
	if spec.Privileged && !p.Privileged {
		return refuse(RulePrivileged, "docker.privileged is not allowed on this agent (berth agent --allow-privileged)")
	}
	for i, v := range spec.Volumes {
		if SandboxPath(v.HostPath) || v.Name != "" || v.Persistent {
			// A path in the task's sandbox, or a Docker named volume
			// (persistent or external): no host file is exposed; the local
			// driver's host-mounting options are refused when the manifest
			// loads.
			continue
		}
		if r, ok := CheckHostPath(p, v.HostPath); !ok {
			r.Reason = fmt.Sprintf("volumes[%d]: %s", i, r.Reason)
			return r, false
		}
	}
	if spec.Network == "USER" {
		if r, ok := checkNetwork(p, spec.NetworkName); !ok {
			return r, false
		}
	}
	for i, prm := range spec.Parameters {
		if r, ok := checkParameter(p, prm); !ok {
			r.Reason = fmt.Sprintf("parameters[%d]: %s", i, r.Reason)
			return r, false
		}
	}
	return Refusal{}, true
}

// CheckAgent is Check against what agent a advertised: the call placement
// makes for each candidate agent. An agent registered before policies
// existed advertises only AllowPrivileged, and gets the default policy.
func CheckAgent(a cluster.Agent, spec cluster.TaskSpec) (Refusal, bool) {
	p := a.Policy
	p.Privileged = p.Privileged || a.AllowPrivileged
	if len(spec.Secrets) > 0 && a.SecretRecipient == "" {
		return refuse(RuleSecrets, "this agent published no secret recipient, so it cannot receive the task's secrets (berth agent --state-dir, and a tmpfs --secrets-dir)")
	}
	if r, ok := Check(p, spec); !ok {
		return r, false
	}
	for i, v := range spec.Volumes {
		if v.Driver != "" && !slices.Contains(a.VolumeDrivers, v.Driver) {
			return refuse(RuleVolumeDriver, "volumes[%d]: volume driver %q is not installed on this agent's Docker Engine (it has %s)", i, v.Driver, driverList(a.VolumeDrivers))
		}
	}
	return Refusal{}, true
}

func driverList(ds []string) string {
	if len(ds) == 0 {
		return "none advertised"
	}
	return strings.Join(ds, ", ")
}

// CheckHostPath reports whether a hostPath volume may name hostPath. The path
// is cleaned first, so /data/../etc is /etc; it must then equal an allowed
// prefix or lie below one. A path that is or holds the engine's socket needs
// its own consent, whatever prefix allows it.
func CheckHostPath(p cluster.AgentPolicy, hostPath string) (Refusal, bool) {
	if !path.IsAbs(hostPath) || strings.ContainsAny(hostPath, ":\x00") {
		return refuse(RuleHostPath, "hostPath %q must be an absolute path without ':'", hostPath)
	}
	clean := path.Clean(hostPath)
	if !p.DockerSocket {
		for _, s := range engineSockets {
			if under(s, clean) {
				return refuse(RuleDockerSocket, "hostPath %q exposes the container engine's socket %s, which is root on the host (berth agent --allow-docker-socket)", hostPath, s)
			}
		}
	}
	for _, prefix := range p.HostPaths {
		if under(clean, path.Clean(prefix)) {
			return Refusal{}, true
		}
	}
	if len(p.HostPaths) == 0 {
		return refuse(RuleHostPath, "hostPath %q: this agent allows no host paths (berth agent --allow-host-path PREFIX)", hostPath)
	}
	return refuse(RuleHostPath, "hostPath %q is not under an allowed prefix %v (berth agent --allow-host-path PREFIX)", hostPath, p.HostPaths)
}

// under reports whether the clean absolute path p is dir or below it.
func under(p, dir string) bool {
	return dir == "/" || p == dir || strings.HasPrefix(p, dir+"/")
}

func checkNetwork(p cluster.AgentPolicy, name string) (Refusal, bool) {
	switch {
	case name == "host":
		if p.HostNetwork {
			return Refusal{}, true
		}
		return refuse(RuleHostNetwork, "Docker network %q is the host's network namespace (berth agent --allow-host-network)", name)
	case slices.Contains(defaultNetworks, name), slices.Contains(p.Networks, name):
		return Refusal{}, true
	case strings.HasPrefix(name, "container:"):
		return refuse(RuleNetwork, "Docker network %q joins another container's network namespace (berth agent --allow-network %s)", name, name)
	}
	return refuse(RuleNetwork, "Docker network %q is not allowed on this agent (berth agent --allow-network %s)", name, name)
}

func checkParameter(p cluster.AgentPolicy, prm cluster.Parameter) (Refusal, bool) {
	key := strings.TrimLeft(prm.Key, "-")
	switch {
	case key == "cap-add":
		c := NormalizeCap(prm.Value)
		if slices.Contains(p.Caps, "ALL") || (c != "ALL" && slices.Contains(p.Caps, c)) {
			return Refusal{}, true
		}
		return refuse(RuleCapAdd, "cap-add %s is not allowed on this agent (berth agent --allow-cap %s)", prm.Value, c)
	case key == "security-opt" && isNoNewPrivileges(prm.Value):
		return Refusal{}, true // only ever narrows what the task may do
	case slices.Contains(harmlessParameters, key), slices.Contains(p.Parameters, key):
		return Refusal{}, true
	}
	return refuse(RuleParameter, "docker parameter %s=%s is not allowed on this agent (berth agent --allow-parameter %s)", key, prm.Value, key)
}

func isNoNewPrivileges(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "no-new-privileges", "no-new-privileges:true", "no-new-privileges=true":
		return true
	}
	return false
}

// NormalizeCap spells a capability as the policy compares it: upper case,
// without the CAP_ prefix (cap_sys_admin and SYS_ADMIN are the same).
func NormalizeCap(c string) string {
	c = strings.ToUpper(strings.TrimSpace(c))
	return strings.TrimPrefix(c, "CAP_")
}

// CheckTemplateDestination reports whether a template may write dest on an
// agent with policy p: the cleaned path must lie below a template root.
func CheckTemplateDestination(p cluster.AgentPolicy, dest string) (Refusal, bool) {
	if !path.IsAbs(dest) {
		return refuse(RuleTemplateRoot, "destination %q is not an absolute path", dest)
	}
	clean := path.Clean(dest)
	for _, root := range p.TemplateRoots {
		r := path.Clean(root)
		if clean != r && under(clean, r) {
			return Refusal{}, true
		}
	}
	if len(p.TemplateRoots) == 0 {
		return refuse(RuleTemplateRoot, "destination %q: this agent has no template root (berth agent --template-root DIR)", dest)
	}
	return refuse(RuleTemplateRoot, "destination %q is outside the template roots %v (berth agent --template-root DIR)", dest, p.TemplateRoots)
}

// shellSpecial are the characters that make /bin/sh do more than start one
// program with arguments; a command holding any of them could start a second
// program after an allowed first word.
const shellSpecial = ";&|<>()$`\\\"'*?[]{}~#!\n\r"

// CheckTemplateCommand reports whether a template's validate or command
// line may run on an agent with policy p: it must be one plain program call
// (no shell syntax at all) whose first word is an allowed command. An empty
// line is always allowed: there is nothing to run.
func CheckTemplateCommand(p cluster.AgentPolicy, line string) (Refusal, bool) {
	words := strings.Fields(line)
	if len(words) == 0 {
		return Refusal{}, true
	}
	if i := strings.IndexAny(strings.TrimSpace(line), shellSpecial); i >= 0 {
		return refuse(RuleTemplateCommand, "command %q: shell syntax (%q) is not allowed: it could run a program other than the allowed ones", line, strings.TrimSpace(line)[i])
	}
	if !slices.Contains(p.TemplateCommands, words[0]) {
		return refuse(RuleTemplateCommand, "command %q: %s is not an allowed template command (berth agent --allow-template-command %s)", line, words[0], words[0])
	}
	return Refusal{}, true
}

// Describe summarizes what p allows beyond the default, for `berth agents`:
// "-" when nothing.
func Describe(p cluster.AgentPolicy) string {
	var out []string
	add := func(ok bool, s string) {
		if ok {
			out = append(out, s)
		}
	}
	add(p.Privileged, "privileged")
	add(p.HostNetwork, "host-network")
	add(p.DockerSocket, "docker-socket")
	for _, h := range p.HostPaths {
		out = append(out, "host-path="+h)
	}
	for _, c := range p.Caps {
		out = append(out, "cap="+c)
	}
	for _, k := range p.Parameters {
		out = append(out, "parameter="+k)
	}
	for _, n := range p.Networks {
		out = append(out, "network="+n)
	}
	for _, r := range p.TemplateRoots {
		out = append(out, "template-root="+r)
	}
	for _, c := range p.TemplateCommands {
		out = append(out, "template-command="+c)
	}
	if len(out) == 0 {
		return "-"
	}
	return strings.Join(out, ",")
}

// Normalize checks and cleans a policy built from flags: host paths and
// template roots must be absolute (they are cleaned), capabilities are
// normalized, parameters lose their leading dashes. Errors name the flag.
func Normalize(p cluster.AgentPolicy) (cluster.AgentPolicy, error) {
	out := p
	out.HostPaths = nil
	for _, h := range p.HostPaths {
		if !path.IsAbs(h) {
			return p, fmt.Errorf("--allow-host-path %q: want an absolute path", h)
		}
		out.HostPaths = append(out.HostPaths, path.Clean(h))
	}
	out.TemplateRoots = nil
	for _, r := range p.TemplateRoots {
		if !path.IsAbs(r) || path.Clean(r) == "/" {
			return p, fmt.Errorf("--template-root %q: want an absolute directory other than /", r)
		}
		out.TemplateRoots = append(out.TemplateRoots, path.Clean(r))
	}
	out.Caps = nil
	for _, c := range p.Caps {
		n := NormalizeCap(c)
		if n == "" {
			return p, fmt.Errorf("--allow-cap %q: want a capability such as NET_ADMIN", c)
		}
		out.Caps = append(out.Caps, n)
	}
	out.Parameters = nil
	for _, k := range p.Parameters {
		n := strings.TrimLeft(strings.TrimSpace(k), "-")
		if n == "" {
			return p, fmt.Errorf("--allow-parameter %q: want a docker option name such as log-driver", k)
		}
		out.Parameters = append(out.Parameters, n)
	}
	for _, c := range p.TemplateCommands {
		if c == "" || strings.ContainsAny(c, shellSpecial+" ") {
			return p, fmt.Errorf("--allow-template-command %q: want one program name or path, such as nginx or /usr/sbin/nginx", c)
		}
	}
	for _, n := range p.Networks {
		if n == "" {
			return p, fmt.Errorf("--allow-network: empty network name")
		}
	}
	return out, nil
}
