package manifests

import (
	"reflect"

	"gopkg.in/yaml.v3"
)

// extraRule says what to do with a field Berth knows about but does not
// model: status that Marathon and Chronos put in their API responses (ignored,
// so an export can be committed as it is), features Berth does not have
// (accepted only while empty, so a default-filled export still loads), and
// features that must not be silently dropped (rejected with the reason).
// docs/manifests.md lists every one of them.
type extraRule struct {
	action extraAction
	reason string
}

type extraAction int

const (
	extraIgnore      extraAction = iota // status or intent with no meaning in Berth
	extraIgnoreEmpty                    // accepted while empty/false/zero, else rejected with reason
	extraReject                         // always rejected with reason
)

func ignore() extraRule                { return extraRule{action: extraIgnore} }
func ifEmpty(reason string) extraRule  { return extraRule{action: extraIgnoreEmpty, reason: reason} }
func rejected(reason string) extraRule { return extraRule{action: extraReject, reason: reason} }

const (
	whyRoles = "Mesos roles have no meaning in Berth: use queue"
	whyIP    = "networkNames is a Mesos network list Berth does not read: use networks [{mode: container, name: ...}]"
)

// extraRules is built per decoder (not a package variable) so that nothing in
// the package is mutable shared state.
func extraRules() map[reflect.Type]map[string]extraRule {
	return map[reflect.Type]map[string]extraRule{
		reflect.TypeFor[App](): {
			"kind":                  ignore(),
			"version":               ignore(),
			"versionInfo":           ignore(),
			"tasksStaged":           ignore(),
			"tasksRunning":          ignore(),
			"tasksHealthy":          ignore(),
			"tasksUnhealthy":        ignore(),
			"deployments":           ignore(),
			"tasks":                 ignore(),
			"lastTaskFailure":       ignore(),
			"taskStats":             ignore(),
			"readinessCheckResults": ignore(),
			"storeUrls":             ignore(),
			"role":                  ignore(),
			"acceptedResourceRoles": ignore(),
			"executor":              ifEmpty("custom Mesos executors are not supported"),
			"gpus":                  ifEmpty("GPUs are not scheduled by Berth"),
			"tty":                   ifEmpty("tty is not supported"),
			"networkNames":          ifEmpty(whyIP),
			// Resources of a custom Mesos executor: Berth runs none, the
			// container gets cpus, mem and disk.
			"executorResources": ignore(),
			"resourceLimits":    ifEmpty("resourceLimits (limits above cpus and mem) are not supported: the container's limits are cpus and mem"),
		},
		reflect.TypeFor[Container](): {
			"linuxInfo": ifEmpty("linuxInfo is not supported"),
			"appc":      rejected("AppC images are not supported: run a Docker image (container.docker.image)"),
		},
		reflect.TypeFor[Docker](): {
			"credential": rejected("credential (deprecated since Marathon 1.5) put a registry password in the app: use pullConfig with a secret"),
			// Not in Marathon's schema (requirePorts is the app's); Marathon
			// 1.5+ dropped it, and a non-zero hostPort of a port mapping is
			// always used as it is, so it changes nothing.
			"requirePorts": ignore(),
		},
		reflect.TypeFor[PortMapping](): {
			"networkNames": ifEmpty("networkNames are not supported"),
		},
		reflect.TypeFor[HealthCheck](): {
			"delaySeconds": ignore(),
			"ipProtocol":   ignore(),
		},
		reflect.TypeFor[Job](): {
			"kind":                   ignore(),
			"async":                  ignore(),
			"successCount":           ignore(),
			"errorCount":             ignore(),
			"lastSuccess":            ignore(),
			"lastError":              ignore(),
			"errorsSinceLastSuccess": ignore(),
			"softError":              ignore(),
			"highPriority":           ignore(),
			"description":            ignore(),
			"ownerName":              ignore(),
			"runAsUser":              ignore(),
			"dataProcessingJobType":  ignore(),
			"executor":               ifEmpty("custom Mesos executors are not supported"),
			"executorFlags":          ifEmpty("custom Mesos executors are not supported"),
			"taskInfoData":           ifEmpty("custom Mesos executors are not supported"),
		},
		reflect.TypeFor[Template](): {"kind": ignore()},
		reflect.TypeFor[Queue]():    {"kind": ignore()},
		reflect.TypeFor[Secret]():   {"kind": ignore()},
	}
}

func (d *decoder) applyExtra(r extraRule, key, val *yaml.Node, field string) {
	switch r.action {
	case extraIgnore:
	case extraIgnoreEmpty:
		if !emptyNode(d.resolve(val, field)) {
			d.errorf(key, field, "%s", r.reason)
		}
	case extraReject:
		d.errorf(key, field, "%s", r.reason)
	}
}

// emptyNode reports whether n is null, "", 0, false, [] or {}.
func emptyNode(n *yaml.Node) bool {
	if n == nil {
		return true
	}
	switch n.Kind {
	case yaml.SequenceNode, yaml.MappingNode:
		return len(n.Content) == 0
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return true
		case "!!str":
			return n.Value == ""
		case "!!bool":
			return n.Value == "false"
		case "!!int", "!!float":
			f, ok := scalarNumber(n)
			return ok && f == 0
		}
	}
	return false
}
