package marathonapi

import (
	"strings"

	"github.com/berthops/berth/manifests"
)

// App is Marathon's App (app.raml, AppDefinition.json) as GET /v2/apps
// returns it, with the AppInfo fields the embed parameters add.
type App struct {
	ID                         string               `json:"id"`
	Cmd                        string               `json:"cmd,omitempty"`
	Args                       []string             `json:"args,omitempty"`
	User                       string               `json:"user,omitempty"`
	Env                        map[string]string    `json:"env"`
	Instances                  int                  `json:"instances"`
	CPUs                       float64              `json:"cpus"`
	Mem                        float64              `json:"mem"`
	Disk                       float64              `json:"disk"`
	GPUs                       int                  `json:"gpus"`
	Executor                   string               `json:"executor"`
	Constraints                [][]string           `json:"constraints"`
	Fetch                      []any                `json:"fetch"`
	Container                  *Container           `json:"container,omitempty"`
	Networks                   []Network            `json:"networks"`
	PortDefinitions            []PortDefinition     `json:"portDefinitions"`
	RequirePorts               bool                 `json:"requirePorts"`
	HealthChecks               []HealthCheck        `json:"healthChecks"`
	Check                      *manifests.Check     `json:"check,omitempty"`
	ReadinessChecks            []any                `json:"readinessChecks"`
	Dependencies               []string             `json:"dependencies"`
	UpgradeStrategy            UpgradeStrategy      `json:"upgradeStrategy"`
	UnreachableStrategy        UnreachableStrategy  `json:"unreachableStrategy"`
	Residency                  *manifests.Residency `json:"residency,omitempty"`
	KillSelection              string               `json:"killSelection"`
	BackoffSeconds             int                  `json:"backoffSeconds"`
	BackoffFactor              float64              `json:"backoffFactor"`
	MaxLaunchDelaySeconds      int                  `json:"maxLaunchDelaySeconds"`
	TaskKillGracePeriodSeconds int                  `json:"taskKillGracePeriodSeconds,omitempty"`
	Labels                     map[string]string    `json:"labels"`
	Secrets                    map[string]any       `json:"secrets"`
	Version                    string               `json:"version"`
	VersionInfo                VersionInfo          `json:"versionInfo"`

	// AppInfo: counts (always in lists, as Marathon does), deployments,
	// tasks, readiness and the last failure on demand.
	TasksStaged           *int           `json:"tasksStaged,omitempty"`
	TasksRunning          *int           `json:"tasksRunning,omitempty"`
	TasksHealthy          *int           `json:"tasksHealthy,omitempty"`
	TasksUnhealthy        *int           `json:"tasksUnhealthy,omitempty"`
	Deployments           []Identifiable `json:"deployments,omitempty"`
	ReadinessCheckResults []any          `json:"readinessCheckResults,omitempty"`
	Tasks                 []Task         `json:"tasks,omitempty"`
	LastTaskFailure       *TaskFailure   `json:"lastTaskFailure,omitempty"`
}

// Container is a Docker container (Berth runs nothing else).
type Container struct {
	Type         string        `json:"type"`
	Docker       Docker        `json:"docker"`
	PortMappings []PortMapping `json:"portMappings,omitempty"`
	Volumes      []Volume      `json:"volumes"`
}

// Docker is container.docker. Network and PortMappings are the forms
// Marathon deprecated in 1.5 (for networks and container.portMappings);
// they are repeated for clients written before (go-marathon, marathon-lb
// before 1.11, Traefik 1's Marathon provider), which read only them.
type Docker struct {
	Image          string        `json:"image"`
	Network        string        `json:"network,omitempty"`
	PortMappings   []PortMapping `json:"portMappings,omitempty"`
	Privileged     bool          `json:"privileged"`
	Parameters     []Parameter   `json:"parameters"`
	ForcePullImage bool          `json:"forcePullImage"`
}

type Parameter struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type Volume struct {
	ContainerPath string                      `json:"containerPath"`
	HostPath      string                      `json:"hostPath,omitempty"`
	Mode          string                      `json:"mode"`
	Persistent    *manifests.PersistentVolume `json:"persistent,omitempty"`
	External      *manifests.ExternalVolume   `json:"external,omitempty"`
}

type PortMapping struct {
	ContainerPort int               `json:"containerPort"`
	HostPort      int               `json:"hostPort"`
	ServicePort   int               `json:"servicePort"`
	Protocol      string            `json:"protocol"`
	Name          string            `json:"name,omitempty"`
	Labels        map[string]string `json:"labels"`
}

type PortDefinition struct {
	Port     int               `json:"port"`
	Protocol string            `json:"protocol"`
	Name     string            `json:"name,omitempty"`
	Labels   map[string]string `json:"labels"`
}

type Network struct {
	Mode   string            `json:"mode"`
	Name   string            `json:"name,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
}

type HealthCheck struct {
	Protocol               string         `json:"protocol"`
	Path                   string         `json:"path,omitempty"`
	PortIndex              *int           `json:"portIndex,omitempty"`
	Port                   int            `json:"port,omitempty"`
	Command                *HealthCommand `json:"command,omitempty"`
	GracePeriodSeconds     int            `json:"gracePeriodSeconds"`
	IntervalSeconds        int            `json:"intervalSeconds"`
	TimeoutSeconds         int            `json:"timeoutSeconds"`
	MaxConsecutiveFailures int            `json:"maxConsecutiveFailures"`
	IgnoreHTTP1xx          bool           `json:"ignoreHttp1xx,omitempty"`
	DelaySeconds           int            `json:"delaySeconds"`
}

type HealthCommand struct {
	Value string `json:"value"`
}

type UpgradeStrategy struct {
	MinimumHealthCapacity float64 `json:"minimumHealthCapacity"`
	MaximumOverCapacity   float64 `json:"maximumOverCapacity"`
}

type UnreachableStrategy struct {
	InactiveAfterSeconds int `json:"inactiveAfterSeconds"`
	ExpungeAfterSeconds  int `json:"expungeAfterSeconds"`
}

type VersionInfo struct {
	LastScalingAt      string `json:"lastScalingAt"`
	LastConfigChangeAt string `json:"lastConfigChangeAt"`
}

// Identifiable is a reference by id (a deployment in AppInfo).
type Identifiable struct {
	ID string `json:"id"`
}

// TaskFailure is AppInfo.lastTaskFailure.
type TaskFailure struct {
	AppID     string `json:"appId"`
	Host      string `json:"host"`
	Message   string `json:"message"`
	State     string `json:"state"`
	TaskID    string `json:"taskId"`
	Timestamp string `json:"timestamp"`
	Version   string `json:"version"`
	SlaveID   string `json:"slaveId,omitempty"`
}

// embeds are the embed= parameters of /v2/apps and /v2/apps/{id}, with
// or without their "apps."/"app." prefix.
type embeds struct {
	tasks, counts, deployments, readiness, lastTaskFailure bool
}

func parseEmbeds(values []string, prefix string) embeds {
	var e embeds
	for _, raw := range values {
		for _, v := range strings.Split(raw, ",") {
			switch strings.TrimPrefix(strings.TrimSpace(v), prefix) {
			case "tasks":
				e.tasks = true
			case "counts":
				e.counts = true
			case "deployments":
				e.deployments = true
			case "readiness":
				e.readiness = true
			case "lastTaskFailure":
				e.lastTaskFailure = true
			case "failures": // Marathon's older name for tasks + lastTaskFailure
				e.tasks, e.lastTaskFailure = true, true
			}
		}
	}
	return e
}

// app renders one desired app as Marathon shows it.
func (v *view) app(a *manifests.App, e embeds) App {
	ver := v.appVersion(a.ID)
	out := App{
		ID: a.ID, Cmd: a.Cmd, Args: a.Args, User: a.User, Env: orEmpty(a.Env), Instances: a.Instances,
		CPUs: a.CPUs, Mem: a.Mem, Disk: a.Disk, Constraints: [][]string{}, Fetch: fetchOf(a.Fetch),
		PortDefinitions: []PortDefinition{}, RequirePorts: a.RequirePorts, HealthChecks: []HealthCheck{}, ReadinessChecks: readinessChecks(a),
		Check: a.Check, Dependencies: orEmptySlice(a.Dependencies), KillSelection: a.KillSelection, Residency: a.Residency, Labels: orEmpty(a.Labels), Secrets: map[string]any{},
		UpgradeStrategy:     UpgradeStrategy{MinimumHealthCapacity: a.UpgradeStrategy.MinimumHealthCapacity, MaximumOverCapacity: a.UpgradeStrategy.MaximumOverCapacity},
		UnreachableStrategy: UnreachableStrategy{InactiveAfterSeconds: int(a.UnreachableStrategy.InactiveAfterSeconds), ExpungeAfterSeconds: int(a.UnreachableStrategy.ExpungeAfterSeconds)},
		BackoffSeconds:      int(a.BackoffSeconds), BackoffFactor: a.BackoffFactor, MaxLaunchDelaySeconds: int(a.MaxLaunchDelaySeconds),
		TaskKillGracePeriodSeconds: int(a.TaskKillGracePeriodSeconds),
		Version:                    timestamp(v.versionTime(a.ID, ver)),
		VersionInfo:                VersionInfo{LastScalingAt: timestamp(v.lastScaling(a.ID)), LastConfigChangeAt: timestamp(v.versionTime(a.ID, ver))},
	}
	if out.KillSelection == "" {
		out.KillSelection = "YOUNGEST_FIRST"
	}
	for _, c := range a.Constraints {
		tr := []string{c.Field, c.Operator}
		if c.Value != "" {
			tr = append(tr, c.Value)
		}
		out.Constraints = append(out.Constraints, tr)
	}
	svc := v.servicePorts[a.ID]
	if c := a.Container; c != nil {
		out.Container = &Container{Type: orDefault(c.Type, "DOCKER"), Volumes: []Volume{}, Docker: Docker{Parameters: []Parameter{}}}
		if c.Docker != nil {
			out.Container.Docker = Docker{Image: c.Docker.Image, Privileged: c.Docker.Privileged, ForcePullImage: c.Docker.ForcePullImage, Parameters: []Parameter{}}
			for _, p := range c.Docker.Parameters {
				out.Container.Docker.Parameters = append(out.Container.Docker.Parameters, Parameter(p))
			}
		}
		for i, m := range portMappings(c) {
			sp := m.ServicePort
			if p, ok := svc[i]; ok {
				sp = p
			}
			out.Container.PortMappings = append(out.Container.PortMappings, PortMapping{ContainerPort: m.ContainerPort, HostPort: m.HostPort,
				ServicePort: sp, Protocol: orDefault(m.Protocol, "tcp"), Name: m.Name, Labels: orEmpty(m.Labels)})
		}
		for _, vol := range c.Volumes {
			out.Container.Volumes = append(out.Container.Volumes, Volume{ContainerPath: vol.ContainerPath, HostPath: vol.HostPath, Mode: orDefault(vol.Mode, "RW"),
				Persistent: vol.Persistent, External: vol.External})
		}
	}
	for i, p := range a.PortDefinitions {
		port := p.Port
		if sp, ok := svc[i]; ok && !a.RequirePorts {
			// Marathon shows the assigned service port here; with
			// requirePorts the declared port is the host port itself.
			port = sp
		}
		out.PortDefinitions = append(out.PortDefinitions, PortDefinition{Port: port, Protocol: orDefault(p.Protocol, "tcp"), Name: p.Name, Labels: orEmpty(p.Labels)})
	}
	out.Networks = networks(a)
	if out.Container != nil {
		out.Container.Docker.PortMappings = out.Container.PortMappings
		switch out.Networks[0].Mode {
		case "container/bridge":
			out.Container.Docker.Network = manifests.NetworkBridge
		case "container":
			out.Container.Docker.Network = manifests.NetworkUser
		default:
			out.Container.Docker.Network = manifests.NetworkHost
		}
	}
	for _, h := range a.HealthChecks {
		hc := HealthCheck{Protocol: h.Protocol, Path: h.Path, Port: h.Port, GracePeriodSeconds: h.GracePeriodSeconds,
			IntervalSeconds: h.IntervalSeconds, TimeoutSeconds: h.TimeoutSeconds, MaxConsecutiveFailures: h.MaxConsecutiveFailures,
			IgnoreHTTP1xx: h.IgnoreHTTP1xx, DelaySeconds: 15}
		if h.Port == 0 && h.Protocol != "COMMAND" {
			idx := h.PortIndex
			hc.PortIndex = &idx
		}
		if h.Command != nil {
			hc.Command = &HealthCommand{Value: h.Command.Value}
		}
		if h.Protocol != "HTTP" && h.Protocol != "HTTPS" {
			hc.Path = ""
		}
		out.HealthChecks = append(out.HealthChecks, hc)
	}

	tasks := v.tasks[a.ID]
	st := v.status[a.ID]
	if e.counts {
		var staged, running, healthy, unhealthy int
		for _, t := range tasks {
			switch t.Status.State {
			case "", "STAGING", "STARTING":
				staged++
			case "RUNNING":
				running++
			}
			if len(a.HealthChecks) > 0 {
				switch t.Status.Health {
				case "healthy":
					healthy++
				case "unhealthy":
					unhealthy++
				}
			}
		}
		out.TasksStaged, out.TasksRunning, out.TasksHealthy, out.TasksUnhealthy = &staged, &running, &healthy, &unhealthy
	}
	if e.deployments {
		out.Deployments = []Identifiable{}
		if st.Deploying {
			out.Deployments = append(out.Deployments, Identifiable{ID: deploymentID(a)})
		}
	}
	if e.readiness {
		out.ReadinessCheckResults = v.readinessResults(a)
	}
	if e.tasks {
		out.Tasks = []Task{}
		for _, t := range tasks {
			out.Tasks = append(out.Tasks, v.task(t, a))
		}
	}
	if e.lastTaskFailure {
		if f, ok := v.failed[a.ID]; ok {
			out.LastTaskFailure = v.failure(f)
		}
	}
	return out
}

// portMappings are the app's mappings in either of Marathon's forms
// (normalisation moves docker.portMappings up, but say so once here).
func portMappings(c *manifests.Container) []manifests.PortMapping {
	if len(c.PortMappings) > 0 || c.Docker == nil {
		return c.PortMappings
	}
	return c.Docker.PortMappings
}

// networks are the app's networks in Marathon 1.5+'s form, derived from the
// deprecated docker.network when the manifest used that.
func networks(a *manifests.App) []Network {
	if len(a.Networks) > 0 {
		out := make([]Network, 0, len(a.Networks))
		for _, n := range a.Networks {
			out = append(out, Network{Mode: n.Mode, Name: n.Name, Labels: n.Labels})
		}
		return out
	}
	if c := a.Container; c != nil && c.Docker != nil {
		switch c.Docker.Network {
		case manifests.NetworkBridge:
			return []Network{{Mode: "container/bridge"}}
		case manifests.NetworkUser:
			return []Network{{Mode: "container"}}
		}
		if len(portMappings(c)) > 0 {
			return []Network{{Mode: "container/bridge"}}
		}
	}
	return []Network{{Mode: "host"}}
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func orEmptySlice(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// fetchOf shows an app's artifacts as Marathon's API did: every flag
// written out, [] when there are none.
func fetchOf(as []manifests.Artifact) []any {
	out := []any{}
	for _, a := range as {
		e := map[string]any{"uri": a.URI, "extract": a.Extract, "executable": a.Executable, "cache": a.Cache}
		if a.DestPath != "" {
			e["destPath"] = a.DestPath
		}
		out = append(out, e)
	}
	return out
}
