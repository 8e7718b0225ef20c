package manifests

import (
	"path"
	"strings"
)

// PersistentVolume is Marathon's local persistent volume: disk reserved on
// one agent that outlives the task using it. Berth makes it a Docker named
// volume on that agent, and the app resident there (Residency).
type PersistentVolume struct {
	// Type is the Mesos disk kind (root, path or mount). Docker has one
	// kind of local volume, so every type is a named volume on the agent's
	// Docker Engine; the type is kept for the record.
	Type string `json:"type,omitempty" yaml:"type,omitempty"`
	// Size is the disk the volume reserves on its agent, in MiB.
	Size float64 `json:"size" yaml:"size"`
	// MaxSize bounds a Mesos mount disk; it has no meaning for a Docker
	// volume and is accepted only when it is not below Size.
	MaxSize     float64      `json:"maxSize,omitempty" yaml:"maxSize,omitempty"`
	ProfileName string       `json:"profileName,omitempty" yaml:"profileName,omitempty"`
	Constraints []Constraint `json:"constraints,omitempty" yaml:"constraints,omitempty"`
}

// ExternalVolume is Marathon's (and Chronos's) external volume: a volume
// that a Docker volume driver provides, by name.
type ExternalVolume struct {
	Name string `json:"name" yaml:"name"`
	// Provider is "dvdi" in Marathon (the driver is the option
	// dvdi/driver); in Chronos it is the Docker volume driver itself.
	Provider string        `json:"provider" yaml:"provider"`
	Options  VolumeOptions `json:"options,omitempty" yaml:"options,omitempty"`
	Size     float64       `json:"size,omitempty" yaml:"size,omitempty"`
}

// VolumeOptions are an external volume's options: an object in Marathon, a
// list of {key, value} in Chronos (both are read).
type VolumeOptions map[string]string

// Residency is Marathon's residency: what happens to a task pinned to the
// agent that holds its persistent volumes when that agent is lost.
type Residency struct {
	// RelaunchEscalationTimeoutSeconds is how long a task of a lost agent
	// waits for it under RELAUNCH_AFTER_TIMEOUT before its volumes are
	// given up and it starts afresh elsewhere.
	RelaunchEscalationTimeoutSeconds float64 `json:"relaunchEscalationTimeoutSeconds" yaml:"relaunchEscalationTimeoutSeconds"`
	// TaskLostBehavior is WAIT_FOREVER (the default) or RELAUNCH_AFTER_TIMEOUT.
	TaskLostBehavior string `json:"taskLostBehavior" yaml:"taskLostBehavior"`
}

// Residency values and the volume provider Marathon names.
const (
	WaitForever          = "WAIT_FOREVER"
	RelaunchAfterTimeout = "RELAUNCH_AFTER_TIMEOUT"
	ProviderDVDI         = "dvdi"
	// OptionDVDIDriver is the option of a dvdi external volume that names
	// the Docker volume driver.
	OptionDVDIDriver = "dvdi/driver"
	// defaultRelaunchEscalation is Marathon's default (one hour).
	defaultRelaunchEscalation = 3600
)

// Resident reports whether the app has local persistent volumes, and so
// runs each instance on the agent that holds that instance's volumes.
func (a *App) Resident() bool {
	if a.Container == nil {
		return false
	}
	for _, v := range a.Container.Volumes {
		if v.Persistent != nil {
			return true
		}
	}
	return false
}

// PersistentDisk is the disk in MiB that one instance's persistent volumes
// reserve on their agent.
func (a *App) PersistentDisk() float64 {
	var n float64
	if a.Container != nil {
		for _, v := range a.Container.Volumes {
			if v.Persistent != nil {
				n += v.Persistent.Size
			}
		}
	}
	return n
}

// Driver is the Docker volume driver an external volume needs: Marathon's
// dvdi/driver option, or Chronos's provider.
func (e *ExternalVolume) Driver() string {
	if e.Provider == ProviderDVDI {
		return e.Options[OptionDVDIDriver]
	}
	return e.Provider
}

// DriverOptions are the options passed to the Docker volume driver: every
// option but Marathon's own dvdi/ ones.
func (e *ExternalVolume) DriverOptions() map[string]string {
	var out map[string]string
	for k, v := range e.Options {
		if e.Provider == ProviderDVDI && strings.HasPrefix(k, "dvdi/") {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = v
	}
	return out
}

// normalizeResidency applies Marathon's rules for resident apps: residency
// defaults to {3600, WAIT_FOREVER}, and the upgrade strategy to
// {minimumHealthCapacity: 0.5, maximumOverCapacity: 0}, because an instance
// can only be relaunched where its volume is, after its old task stopped.
// An upgrade strategy left at the general default (1, 1) counts as unset.
func normalizeResidency(a *App) {
	if rs := a.Residency; rs != nil {
		rs.TaskLostBehavior = strings.ToUpper(rs.TaskLostBehavior)
		if rs.TaskLostBehavior == "" {
			rs.TaskLostBehavior = WaitForever
		}
	}
	if !a.Resident() {
		return
	}
	if a.Residency == nil {
		a.Residency = &Residency{RelaunchEscalationTimeoutSeconds: defaultRelaunchEscalation, TaskLostBehavior: WaitForever}
	}
	if a.UpgradeStrategy == (UpgradeStrategy{MinimumHealthCapacity: 1, MaximumOverCapacity: 1}) {
		a.UpgradeStrategy = UpgradeStrategy{MinimumHealthCapacity: 0.5, MaximumOverCapacity: 0}
	}
}

// validateResidency checks an app's residency against its volumes.
func validateResidency(a *App, r reporter) {
	rs := a.Residency
	if rs == nil {
		return
	}
	if !a.Resident() {
		r.at(p("residency"), "residency needs at least one persistent volume (container.volumes[].persistent)")
	}
	between(r, rs.RelaunchEscalationTimeoutSeconds, MaxSeconds, "residency", "relaunchEscalationTimeoutSeconds")
	switch rs.TaskLostBehavior {
	case WaitForever, RelaunchAfterTimeout:
	default:
		r.at(p("residency", "taskLostBehavior"), "unknown behaviour %q: expected WAIT_FOREVER or RELAUNCH_AFTER_TIMEOUT", rs.TaskLostBehavior)
	}
	if !a.Resident() {
		return
	}
	if us := a.UpgradeStrategy; us.MaximumOverCapacity != 0 {
		r.at(p("upgradeStrategy", "maximumOverCapacity"), "must be 0 for an app with persistent volumes (an instance is relaunched where its volume is, after its old task stopped), found %v", us.MaximumOverCapacity)
	}
	if us := a.UpgradeStrategy; us.MinimumHealthCapacity > 0.5 {
		r.at(p("upgradeStrategy", "minimumHealthCapacity"), "must be at most 0.5 for an app with persistent volumes, as Marathon requires, found %v", us.MinimumHealthCapacity)
	}
}

// validateVolume checks one volume of an app (app true) or of a job.
// parent is the path to the volume list's owner ("container").
func validateVolume(vs []Volume, i int, r reporter, parent string, app bool) {
	v := vs[i]
	at := func(field ...any) []any { return p(append([]any{parent, "volumes", i}, field...)...) }
	if v.Mode != "RO" && v.Mode != "RW" {
		r.at(at("mode"), "unknown mode %q: expected RO or RW", v.Mode)
	}
	kinds := 0
	for _, set := range []bool{v.HostPath != "", v.Persistent != nil, v.External != nil} {
		if set {
			kinds++
		}
	}
	if kinds > 1 {
		r.at(at(), "a volume is one of hostPath, persistent or external, found more than one")
		return
	}
	switch {
	case v.Persistent != nil:
		pv := v.Persistent
		if !app {
			r.at(at("persistent"), "persistent volumes are for apps only: a job's run has no agent to come back to")
			return
		}
		if msg := relativeVolumePath(v.ContainerPath); msg != "" {
			r.at(at("containerPath"), "%s", msg)
		}
		if !(pv.Size > 0 && pv.Size <= MaxDisk) {
			r.at(at("persistent", "size"), "must be more than 0 and at most %d MiB, found %v", int64(MaxDisk), pv.Size)
		}
		if pv.MaxSize != 0 && !(pv.MaxSize >= pv.Size && pv.MaxSize <= MaxDisk) {
			r.at(at("persistent", "maxSize"), "must be at least size (%v) and at most %d MiB, found %v", pv.Size, int64(MaxDisk), pv.MaxSize)
		}
		switch pv.Type {
		case "", "root", "path", "mount":
		default:
			r.at(at("persistent", "type"), "unknown disk type %q: expected root, path or mount", pv.Type)
		}
		if v.Mode != "RW" {
			r.at(at("mode"), "a persistent volume is mounted RW (Marathon allows no other mode), found %q", v.Mode)
		}
	case v.External != nil:
		e := v.External
		if e.Name == "" {
			r.at(at("external", "name"), "required: the name of the volume the driver provides")
		} else if strings.ContainsAny(e.Name, "/:\x00") || e.Name == "." || e.Name == ".." {
			r.at(at("external", "name"), "%q is not a Docker volume name (no '/' or ':')", e.Name)
		}
		switch {
		case e.Provider == "":
			r.at(at("external", "provider"), "required: dvdi (with options.dvdi/driver), or the Docker volume driver")
		case e.Provider == ProviderDVDI && e.Options[OptionDVDIDriver] == "":
			r.at(at("external", "options"), "a dvdi volume names its Docker volume driver in options.%s", OptionDVDIDriver)
		}
		if e.Driver() == "local" && len(e.DriverOptions()) > 0 {
			// The local driver's type/device/o options mount any host path
			// or device: that is a hostPath volume, under the agent's
			// --allow-host-path, not an external one.
			r.at(at("external", "options"), "options of the local volume driver can mount host paths and devices: use a hostPath volume")
		}
		between(r, e.Size, MaxDisk, parent, "volumes", i, "external", "size")
		if !path.IsAbs(v.ContainerPath) && relativeVolumePath(v.ContainerPath) != "" {
			r.at(at("containerPath"), "must be an absolute path, or a relative one inside the sandbox, found %q", v.ContainerPath)
		}
	default:
		if !path.IsAbs(v.ContainerPath) {
			r.at(at("containerPath"), "must be an absolute path, found %q", v.ContainerPath)
		}
		if path.IsAbs(v.HostPath) {
			return
		}
		// Marathon's Docker form of a persistent volume: a relative
		// hostPath names the persistent volume to mount at an absolute
		// containerPath.
		if app && v.HostPath != "" && persistentNamed(vs, v.HostPath) {
			return
		}
		if sandboxRelative(v.HostPath) {
			return // a path inside the task's sandbox (artifacts)
		}
		r.at(at("hostPath"), "must be an absolute path on the host, a path inside the task's sandbox (relative, no ..), or the containerPath of one of the app's persistent volumes, found %q", v.HostPath)
	}
}

// relativeVolumePath checks a persistent volume's containerPath: relative
// to the sandbox, as Mesos mounts it, and staying inside it.
func relativeVolumePath(s string) string {
	switch {
	case s == "":
		return "required: the volume's path, relative to the task's sandbox"
	case path.IsAbs(s):
		return "must be a path relative to the sandbox (Marathon mounts persistent volumes there), found the absolute path " + quote(s) + ": add a hostPath volume naming it to mount it elsewhere"
	case strings.Contains(s, ":") || strings.Contains(s, "\x00"):
		return "must not contain ':', found " + quote(s)
	}
	for _, seg := range strings.Split(s, "/") {
		if seg == ".." {
			return "must stay inside the sandbox (no '..'), found " + quote(s)
		}
	}
	return ""
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// persistentNamed reports whether one of vs is a persistent volume at name.
func persistentNamed(vs []Volume, name string) bool {
	for _, v := range vs {
		if v.Persistent != nil && path.Clean(v.ContainerPath) == path.Clean(name) {
			return true
		}
	}
	return false
}
