package agent

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/berthops/berth/cluster"
)

// Node is what an agent offers to the cluster: the registration it writes
// and the limits it enforces on what it runs.
type Node struct {
	ID         string
	Hostname   string
	Address    string // advertise address: published ports bind here, checks probe here
	Resources  cluster.Resources
	Ports      []cluster.PortRange
	Attributes map[string]string
	// AllowPrivileged is the operator's consent to privileged containers.
	AllowPrivileged bool
	// Policy is the rest of the operator's consent (package policy): host
	// paths, capabilities, networks, docker parameters, templates.
	Policy cluster.AgentPolicy
	// LogsAddress is where the agent serves its tasks' logs, if it does.
	LogsAddress string
}

// policy is the node's whole policy, privileged included, as it is
// advertised and enforced.
func (n Node) policy() cluster.AgentPolicy {
	p := n.Policy
	p.Privileged = p.Privileged || n.AllowPrivileged
	return p
}

// Mesos's default port range for an agent.
const (
	defaultPortBegin = 31000
	defaultPortEnd   = 32000
)

// ResourceFlag is the parsed form of --resources: only what was given is set.
type ResourceFlag struct {
	CPUs, Mem, Disk *float64
	Ports           []cluster.PortRange
}

// ParseResources parses the Mesos agent --resources syntax:
// "cpus:4;mem:8192;disk:40000;ports:[31000-32000,33000-33100]". Names are
// cpus, mem (MiB), disk (MiB) and ports; each may be given once.
func ParseResources(s string) (ResourceFlag, error) {
	var r ResourceFlag
	seen := map[string]bool{}
	for _, part := range splitNonEmpty(s, ";") {
		name, val, ok := strings.Cut(part, ":")
		name, val = strings.TrimSpace(name), strings.TrimSpace(val)
		if !ok || name == "" || val == "" {
			return r, fmt.Errorf("--resources %q: want name:value (for example cpus:4;mem:8192;ports:[31000-32000])", part)
		}
		if seen[name] {
			return r, fmt.Errorf("--resources: %s given twice", name)
		}
		seen[name] = true
		switch name {
		case "cpus", "mem", "disk":
			f, err := strconv.ParseFloat(val, 64)
			if err != nil || f < 0 || f != f || f > 1e12 {
				return r, fmt.Errorf("--resources %s:%s: want a non-negative number", name, val)
			}
			switch name {
			case "cpus":
				r.CPUs = &f
			case "mem":
				r.Mem = &f
			default:
				r.Disk = &f
			}
		case "ports":
			pr, err := parsePortRanges(val)
			if err != nil {
				return r, fmt.Errorf("--resources ports:%s: %w", val, err)
			}
			r.Ports = pr
		default:
			return r, fmt.Errorf("--resources: unknown resource %q (valid: cpus, mem, disk, ports)", name)
		}
	}
	return r, nil
}

func parsePortRanges(s string) ([]cluster.PortRange, error) {
	if !strings.HasPrefix(s, "[") || !strings.HasSuffix(s, "]") {
		return nil, errors.New("want [begin-end,...]")
	}
	var out []cluster.PortRange
	for _, rg := range splitNonEmpty(s[1:len(s)-1], ",") {
		b, e, ok := strings.Cut(strings.TrimSpace(rg), "-")
		if !ok {
			e = b
		}
		begin, err1 := strconv.Atoi(strings.TrimSpace(b))
		end, err2 := strconv.Atoi(strings.TrimSpace(e))
		if err1 != nil || err2 != nil || begin < 1 || end > 65535 || begin > end {
			return nil, fmt.Errorf("range %q: want begin-end with 1 <= begin <= end <= 65535", rg)
		}
		out = append(out, cluster.PortRange{Begin: begin, End: end})
	}
	if len(out) == 0 {
		return nil, errors.New("no port range given")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Begin < out[j].Begin })
	for i := 1; i < len(out); i++ {
		if out[i].Begin <= out[i-1].End {
			return nil, fmt.Errorf("ranges %d-%d and %d-%d overlap", out[i-1].Begin, out[i-1].End, out[i].Begin, out[i].End)
		}
	}
	return out, nil
}

// ParseAttributes parses the Mesos agent --attributes syntax: "rack:r1;zone:a".
func ParseAttributes(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, part := range splitNonEmpty(s, ";") {
		k, v, ok := strings.Cut(part, ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("--attributes %q: want name:value (for example rack:r1;zone:a)", part)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("--attributes: %s given twice", k)
		}
		if k == "hostname" {
			return nil, errors.New("--attributes: hostname is not an attribute: constraints on hostname use the agent's hostname (--hostname)")
		}
		out[k] = v
	}
	return out, nil
}

func splitNonEmpty(s, sep string) []string {
	var out []string
	for _, p := range strings.Split(s, sep) {
		if strings.TrimSpace(p) != "" {
			out = append(out, p)
		}
	}
	return out
}

// DetectResources measures the machine the way the Mesos agent did: every
// CPU, total memory less 1 GiB kept for the system (half of it on small
// machines), and the free space of the filesystem holding dir less 5 GiB
// (half on small disks), with Mesos's default port range.
func DetectResources(dir string) (cluster.Resources, []cluster.PortRange, error) {
	r := cluster.Resources{CPUs: float64(runtime.NumCPU())}
	mem, err := memTotalMiB()
	if err != nil {
		return r, nil, fmt.Errorf("detect memory: %w", err)
	}
	r.Mem = keepBack(mem, 1024)
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return r, nil, fmt.Errorf("detect disk of %s: %w", dir, err)
	}
	r.Disk = keepBack(float64(st.Bavail)*float64(st.Bsize)/(1<<20), 5*1024)
	return r, []cluster.PortRange{{Begin: defaultPortBegin, End: defaultPortEnd}}, nil
}

func keepBack(total, reserve float64) float64 {
	if total >= 2*reserve {
		return total - reserve
	}
	return total / 2
}

func memTotalMiB() (float64, error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, err := strconv.ParseFloat(f[0], 64)
				if err != nil {
					return 0, fmt.Errorf("MemTotal %q: %w", f[0], err)
				}
				return kb / 1024, nil
			}
		}
	}
	return 0, errors.New("no MemTotal in /proc/meminfo")
}

// Apply overrides detected values with what the operator gave.
func (f ResourceFlag) Apply(r cluster.Resources, ports []cluster.PortRange) (cluster.Resources, []cluster.PortRange) {
	if f.CPUs != nil {
		r.CPUs = *f.CPUs
	}
	if f.Mem != nil {
		r.Mem = *f.Mem
	}
	if f.Disk != nil {
		r.Disk = *f.Disk
	}
	if f.Ports != nil {
		ports = f.Ports
	}
	return r, ports
}
