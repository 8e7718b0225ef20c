package cluster

import (
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Registrator's conventions: SERVICE_* variables in a container's
// environment or labels shaped its Consul registration. Apps migrated from a
// Registrator cluster keep them in their env or labels; TaskServices applies
// them as Registrator did (see docs/agent.md):
//
//   - SERVICE_<key> applies to every published port, SERVICE_<port>_<key> to
//     the port whose container port (the host port under host networking) is
//     <port>, and wins over the general one; labels win over env.
//   - name: the service name; with several ports, "-<port>" is appended
//     unless the name came from SERVICE_<port>_NAME.
//   - tags: comma-separated tags, added to Berth's own.
//   - ignore: any non-empty value registers nothing (for that port).
//   - check_http, check_https (a path), check_tcp (any value), with
//     check_interval (default 10s), check_timeout and check_initial_status:
//     the Consul check, instead of the one derived from health checks.
//   - any other key becomes service meta (lower case), as Registrator's attrs.
//
// Not taken over: id (Berth's ids must stay unique per task, and Registrator's
// custom ids collided across instances), check_cmd, check_script and
// check_ttl (Consul would run or wait on them outside the task; Berth keeps
// its own check).
const registratorPrefix = "SERVICE_"

// registratorDefaultInterval is Registrator's check interval.
const registratorDefaultInterval = 10 * time.Second

// registratorMeta is the SERVICE_* metadata that applies to the port whose
// key is port, and which of its keys came from port-specific variables.
func registratorMeta(env, labels map[string]string, port string) (meta map[string]string, fromPort map[string]bool) {
	for _, src := range []map[string]string{env, labels} {
		keys := make([]string, 0, len(src))
		for k := range src {
			if strings.HasPrefix(k, registratorPrefix) {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			key := strings.ToLower(strings.TrimPrefix(k, registratorPrefix))
			if meta == nil {
				meta, fromPort = map[string]string{}, map[string]bool{}
			}
			if p, rest, ok := strings.Cut(key, "_"); ok && isNumber(p) {
				if p == port {
					meta[rest] = src[k]
					fromPort[rest] = true
				}
				continue
			}
			if fromPort[key] {
				continue
			}
			meta[key] = src[k]
		}
	}
	return meta, fromPort
}

func isNumber(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil && s != ""
}

// registratorKeys are the SERVICE_* keys TaskServices interprets; the rest
// go to meta.
var registratorKeys = []string{"name", "tags", "ignore", "id", "check_http", "check_https", "check_tcp", "check_interval",
	"check_timeout", "check_initial_status", "check_cmd", "check_script", "check_ttl"}

// consulMetaKey is what Consul accepts as a meta key.
var consulMetaKey = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// applyRegistrator shapes svc (the port's registration as Berth derives it)
// by the port's SERVICE_* metadata. It reports false when the port must not
// be registered.
func applyRegistrator(svc *Service, meta map[string]string, fromPort map[string]bool, portKey string, multiPort bool, target string) bool {
	if meta["ignore"] != "" {
		return false
	}
	if n := meta["name"]; n != "" {
		svc.Name = n
		if multiPort && !fromPort["name"] {
			svc.Name += "-" + portKey
		}
	}
	var tags []string
	for _, t := range strings.Split(meta["tags"], ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	svc.Tags = mergeTags(svc.Tags, tags)
	check := ServiceCheck{}
	switch {
	case meta["check_http"] != "":
		if u, err := HealthCheckURL("http", target, meta["check_http"]); err == nil {
			check.HTTP = u.String()
		}
	case meta["check_https"] != "":
		if u, err := HealthCheckURL("https", target, meta["check_https"]); err == nil {
			check.HTTP = u.String()
		}
	case meta["check_tcp"] != "":
		check.TCP = target
	}
	if check.HTTP != "" || check.TCP != "" {
		check.Interval = registratorDefaultInterval
		if d, err := time.ParseDuration(meta["check_interval"]); err == nil && d > 0 {
			check.Interval = d
		}
		if d, err := time.ParseDuration(meta["check_timeout"]); err == nil && d > 0 {
			check.Timeout = d
		}
		svc.Check = check
	}
	if s := meta["check_initial_status"]; s != "" && svc.Check.TTL == 0 {
		svc.Check.InitialStatus = s
	}
	for k, v := range meta {
		if slices.Contains(registratorKeys, k) || !consulMetaKey.MatchString(k) || strings.HasPrefix(k, "consul-") || len(v) > 512 {
			continue
		}
		if _, taken := svc.Meta[k]; !taken {
			svc.Meta[k] = v
		}
	}
	return true
}

// registratorPortKey is the port number Registrator's SERVICE_<port>_*
// variables name: the container port, or the host port under host
// networking, where the two are the same.
func registratorPortKey(p PortSpec, hostPort int) string {
	if p.ContainerPort > 0 {
		return strconv.Itoa(p.ContainerPort)
	}
	return strconv.Itoa(hostPort)
}

// hostPortTarget is host:port.
func hostPortTarget(address string, port int) string {
	return net.JoinHostPort(address, strconv.Itoa(port))
}
