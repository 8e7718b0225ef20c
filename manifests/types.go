package manifests

// Kind names one of the four manifest kinds.
type Kind string

const (
	KindApp      Kind = "App"
	KindJob      Kind = "Job"
	KindTemplate Kind = "Template"
	KindQueue    Kind = "Queue"
	KindSecret   Kind = "Secret"
)

// Origin records where an object was declared, so every later error (planning,
// allocation, rollout) can point a person back at the file and line they wrote.
// It is not part of an object's identity: moving an app between files changes
// nothing in the cluster.
type Origin struct {
	File string `json:"file,omitempty" yaml:"-"`
	Line int    `json:"line,omitempty" yaml:"-"`
	Col  int    `json:"col,omitempty" yaml:"-"`
}

// App is a long-running service, field for field Marathon's app definition
// (/v2/apps), with Marathon's defaults applied by normalisation.
type App struct {
	ID              string            `json:"id" yaml:"id"`
	Cmd             string            `json:"cmd,omitempty" yaml:"cmd,omitempty"`
	Args            []string          `json:"args,omitempty" yaml:"args,omitempty"`
	User            string            `json:"user,omitempty" yaml:"user,omitempty"`
	Env             map[string]string `json:"env,omitempty" yaml:"env,omitempty"`
	Instances       int               `json:"instances" yaml:"instances"`
	CPUs            float64           `json:"cpus" yaml:"cpus"`
	Mem             float64           `json:"mem" yaml:"mem"`
	Disk            float64           `json:"disk" yaml:"disk"`
	Constraints     []Constraint      `json:"constraints,omitempty" yaml:"constraints,omitempty"`
	Container       *Container        `json:"container,omitempty" yaml:"container,omitempty"`
	Networks        []Network         `json:"networks,omitempty" yaml:"networks,omitempty"`
	PortDefinitions []PortDefinition  `json:"portDefinitions,omitempty" yaml:"portDefinitions,omitempty"`
	// Ports is Marathon's older form of PortDefinitions; normalisation moves
	// it there and leaves it empty.
	Ports           []int            `json:"ports,omitempty" yaml:"ports,omitempty"`
	RequirePorts    bool             `json:"requirePorts,omitempty" yaml:"requirePorts,omitempty"`
	HealthChecks    []HealthCheck    `json:"healthChecks,omitempty" yaml:"healthChecks,omitempty"`
	ReadinessChecks []ReadinessCheck `json:"readinessChecks,omitempty" yaml:"readinessChecks,omitempty"`
	// Check is a Mesos check: run and reported, never a health verdict.
	Check *Check `json:"check,omitempty" yaml:"check,omitempty"`
	// IPAddress is Marathon's older IP-per-task form; normalisation moves it
	// to Networks and Container.PortMappings and leaves it nil.
	IPAddress                  *IPAddress          `json:"ipAddress,omitempty" yaml:"ipAddress,omitempty"`
	UpgradeStrategy            UpgradeStrategy     `json:"upgradeStrategy" yaml:"upgradeStrategy"`
	UnreachableStrategy        UnreachableStrategy `json:"unreachableStrategy" yaml:"unreachableStrategy"`
	BackoffSeconds             float64             `json:"backoffSeconds" yaml:"backoffSeconds"`
	BackoffFactor              float64             `json:"backoffFactor" yaml:"backoffFactor"`
	MaxLaunchDelaySeconds      float64             `json:"maxLaunchDelaySeconds" yaml:"maxLaunchDelaySeconds"`
	TaskKillGracePeriodSeconds float64             `json:"taskKillGracePeriodSeconds,omitempty" yaml:"taskKillGracePeriodSeconds,omitempty"`
	KillSelection              string              `json:"killSelection" yaml:"killSelection"`
	Dependencies               []string            `json:"dependencies,omitempty" yaml:"dependencies,omitempty"`
	Labels                     map[string]string   `json:"labels,omitempty" yaml:"labels,omitempty"`
	// Queue is Berth's addition: the capacity queue the app's tasks are charged to.
	Queue string `json:"queue,omitempty" yaml:"queue,omitempty"`
	// Fetch is downloaded into the task's sandbox before it starts. URIs is
	// Marathon's older form; normalisation moves it to Fetch (artifacts.go).
	Fetch []Artifact `json:"fetch,omitempty" yaml:"fetch,omitempty"`
	URIs  []string   `json:"uris,omitempty" yaml:"uris,omitempty"`
	// Residency keeps the tasks of an app with persistent volumes on the
	// agents that hold their volumes (see volumes.go); normalisation sets
	// Marathon's default when the app has persistent volumes.
	Residency *Residency `json:"residency,omitempty" yaml:"residency,omitempty"`
	// Secrets and EnvSecrets are Marathon's secret references (see secret.go);
	// EnvSecrets is Marathon's env {"secret": NAME}, kept apart so Env stays
	// plain values.
	Secrets    map[string]SecretSource `json:"secrets,omitempty" yaml:"secrets,omitempty"`
	EnvSecrets map[string]string       `json:"envSecrets,omitempty" yaml:"envSecrets,omitempty"`

	Origin Origin `json:"-" yaml:"-"`
}

// Constraint is Marathon's [field, operator, value?] triple.
type Constraint struct {
	Field    string `json:"field" yaml:"field"`
	Operator string `json:"operator" yaml:"operator"`
	Value    string `json:"value,omitempty" yaml:"value,omitempty"`
}

// Constraint operators, with Marathon's semantics (see docs/manifests.md).
const (
	OpUnique  = "UNIQUE"
	OpCluster = "CLUSTER"
	OpGroupBy = "GROUP_BY"
	OpLike    = "LIKE"
	OpUnlike  = "UNLIKE"
	OpMaxPer  = "MAX_PER"
	OpIs      = "IS"
)

// Container describes how a task is run. DOCKER runs its image; a MESOS
// container with a docker image is normalised to DOCKER, and one without an
// image runs its command the way an app without a container does (in the
// shell image, see docs/manifests.md).
type Container struct {
	Type         string        `json:"type" yaml:"type"`
	Docker       *Docker       `json:"docker,omitempty" yaml:"docker,omitempty"`
	PortMappings []PortMapping `json:"portMappings,omitempty" yaml:"portMappings,omitempty"`
	Volumes      []Volume      `json:"volumes,omitempty" yaml:"volumes,omitempty"`
}

// Docker holds the Docker-specific part of a container. PortMappings here is
// Marathon's older form; normalisation moves it to Container.PortMappings.
type Docker struct {
	Image          string        `json:"image" yaml:"image"`
	Network        string        `json:"network,omitempty" yaml:"network,omitempty"`
	PortMappings   []PortMapping `json:"portMappings,omitempty" yaml:"portMappings,omitempty"`
	Privileged     bool          `json:"privileged,omitempty" yaml:"privileged,omitempty"`
	Parameters     []Parameter   `json:"parameters,omitempty" yaml:"parameters,omitempty"`
	ForcePullImage bool          `json:"forcePullImage,omitempty" yaml:"forcePullImage,omitempty"`
	// PullConfig names the secret holding the registry credentials for the
	// pull (Docker's config.json).
	PullConfig *PullConfig `json:"pullConfig,omitempty" yaml:"pullConfig,omitempty"`
	// ForcePull is the Mesos containerizer's name of ForcePullImage;
	// normalisation folds it into ForcePullImage.
	ForcePull bool `json:"forcePull,omitempty" yaml:"forcePull,omitempty"`
}

// Network modes of Container.Docker.Network.
const (
	NetworkBridge = "BRIDGE"
	NetworkHost   = "HOST"
	NetworkUser   = "USER"
)

// Network is Marathon's newer `networks` entry (mode container/bridge, host, container).
type Network struct {
	Mode   string            `json:"mode" yaml:"mode"`
	Name   string            `json:"name,omitempty" yaml:"name,omitempty"`
	Labels map[string]string `json:"labels,omitempty" yaml:"labels,omitempty"`
}

// PortMapping maps a container port to a host port (0 = any free port from the
// agent's range) and a cluster-wide service port (0 = assigned by Berth).
type PortMapping struct {
	ContainerPort int               `json:"containerPort" yaml:"containerPort"`
	HostPort      int               `json:"hostPort" yaml:"hostPort"`
	ServicePort   int               `json:"servicePort" yaml:"servicePort"`
	Protocol      string            `json:"protocol" yaml:"protocol"`
	Name          string            `json:"name,omitempty" yaml:"name,omitempty"`
	Labels        map[string]string `json:"labels,omitempty" yaml:"labels,omitempty"`
}

// PortDefinition is a host port for an app without port mappings (HOST network).
type PortDefinition struct {
	Port     int               `json:"port" yaml:"port"`
	Protocol string            `json:"protocol" yaml:"protocol"`
	Name     string            `json:"name,omitempty" yaml:"name,omitempty"`
	Labels   map[string]string `json:"labels,omitempty" yaml:"labels,omitempty"`
}

// Parameter is a raw `docker run` option (key without the leading dashes).
type Parameter struct {
	Key   string `json:"key" yaml:"key"`
	Value string `json:"value" yaml:"value"`
}

// Volume is a host bind mount (HostPath), a local persistent volume
// (Persistent) or an external volume (External); see volumes.go.
type Volume struct {
	ContainerPath string            `json:"containerPath" yaml:"containerPath"`
	HostPath      string            `json:"hostPath,omitempty" yaml:"hostPath,omitempty"`
	Mode          string            `json:"mode" yaml:"mode"` // RO or RW
	Persistent    *PersistentVolume `json:"persistent,omitempty" yaml:"persistent,omitempty"`
	External      *ExternalVolume   `json:"external,omitempty" yaml:"external,omitempty"`
	// Secret makes this a secret volume: the file at ContainerPath holds
	// the value of the app's secret of that name (a tmpfs file, read-only).
	Secret string `json:"secret,omitempty" yaml:"secret,omitempty"`
}

// HealthCheck follows Marathon's health check with its defaults:
// gracePeriodSeconds 300, intervalSeconds 60, timeoutSeconds 20,
// maxConsecutiveFailures 3, portIndex 0, path "/".
type HealthCheck struct {
	Protocol               string   `json:"protocol" yaml:"protocol"` // HTTP, HTTPS, TCP, COMMAND
	Path                   string   `json:"path,omitempty" yaml:"path,omitempty"`
	PortIndex              int      `json:"portIndex" yaml:"portIndex"`
	Port                   int      `json:"port,omitempty" yaml:"port,omitempty"`
	Command                *Command `json:"command,omitempty" yaml:"command,omitempty"`
	GracePeriodSeconds     int      `json:"gracePeriodSeconds" yaml:"gracePeriodSeconds"`
	IntervalSeconds        int      `json:"intervalSeconds" yaml:"intervalSeconds"`
	TimeoutSeconds         int      `json:"timeoutSeconds" yaml:"timeoutSeconds"`
	MaxConsecutiveFailures int      `json:"maxConsecutiveFailures" yaml:"maxConsecutiveFailures"`
	IgnoreHTTP1xx          bool     `json:"ignoreHttp1xx,omitempty" yaml:"ignoreHttp1xx,omitempty"`
}

// Command is the value of a COMMAND health check.
type Command struct {
	Value string `json:"value" yaml:"value"`
}

// UpgradeStrategy controls rolling restarts (Marathon's algorithm).
type UpgradeStrategy struct {
	MinimumHealthCapacity float64 `json:"minimumHealthCapacity" yaml:"minimumHealthCapacity"`
	MaximumOverCapacity   float64 `json:"maximumOverCapacity" yaml:"maximumOverCapacity"`
}

// UnreachableStrategy says when tasks on an unreachable agent are replaced
// and when they are expunged.
type UnreachableStrategy struct {
	InactiveAfterSeconds float64 `json:"inactiveAfterSeconds" yaml:"inactiveAfterSeconds"`
	ExpungeAfterSeconds  float64 `json:"expungeAfterSeconds" yaml:"expungeAfterSeconds"`
}

// Job is a Chronos-style batch job, scheduled (Schedule or Cron) or dependent
// (Parents), never both.
type Job struct {
	Name                 string        `json:"name" yaml:"name"`
	Command              string        `json:"command" yaml:"command"`
	Shell                bool          `json:"shell" yaml:"shell"`
	Arguments            []string      `json:"arguments,omitempty" yaml:"arguments,omitempty"`
	Schedule             string        `json:"schedule,omitempty" yaml:"schedule,omitempty"`
	ScheduleTimeZone     string        `json:"scheduleTimeZone,omitempty" yaml:"scheduleTimeZone,omitempty"`
	Cron                 string        `json:"cron,omitempty" yaml:"cron,omitempty"`
	Parents              []string      `json:"parents,omitempty" yaml:"parents,omitempty"`
	Epsilon              string        `json:"epsilon,omitempty" yaml:"epsilon,omitempty"` // ISO 8601 duration
	Retries              int           `json:"retries" yaml:"retries"`
	CPUs                 float64       `json:"cpus" yaml:"cpus"`
	Mem                  float64       `json:"mem" yaml:"mem"`
	Disk                 float64       `json:"disk" yaml:"disk"`
	Container            *JobContainer `json:"container,omitempty" yaml:"container,omitempty"`
	EnvironmentVariables []EnvVar      `json:"environmentVariables,omitempty" yaml:"environmentVariables,omitempty"`
	Owner                string        `json:"owner,omitempty" yaml:"owner,omitempty"`
	Disabled             bool          `json:"disabled,omitempty" yaml:"disabled,omitempty"`
	Concurrent           bool          `json:"concurrent,omitempty" yaml:"concurrent,omitempty"`
	Constraints          []Constraint  `json:"constraints,omitempty" yaml:"constraints,omitempty"`
	Queue                string        `json:"queue,omitempty" yaml:"queue,omitempty"`
	// Fetch and URIs as for App, with Chronos's defaults (artifacts.go).
	Fetch []JobArtifact `json:"fetch,omitempty" yaml:"fetch,omitempty"`
	URIs  []string      `json:"uris,omitempty" yaml:"uris,omitempty"`
	// Timeout is Berth's addition (Chronos has none): an ISO 8601 duration
	// after which a run is killed and counted failed.
	Timeout string `json:"timeout,omitempty" yaml:"timeout,omitempty"`

	Origin Origin `json:"-" yaml:"-"`
}

// JobContainer is Chronos's container object.
type JobContainer struct {
	Type        string `json:"type" yaml:"type"`
	Image       string `json:"image" yaml:"image"`
	Network     string `json:"network,omitempty" yaml:"network,omitempty"` // default HOST
	NetworkName string `json:"networkName,omitempty" yaml:"networkName,omitempty"`
	// NetworkInfos is Chronos 3's Mesos (CNI) network list; normalisation
	// makes its one entry Network USER with NetworkName.
	NetworkInfos   []NetworkInfo `json:"networkInfos,omitempty" yaml:"networkInfos,omitempty"`
	Volumes        []Volume      `json:"volumes,omitempty" yaml:"volumes,omitempty"`
	Parameters     []Parameter   `json:"parameters,omitempty" yaml:"parameters,omitempty"`
	ForcePullImage bool          `json:"forcePullImage,omitempty" yaml:"forcePullImage,omitempty"`
}

// EnvVar is Chronos's {name, value} environment entry.
type EnvVar struct {
	Name  string `json:"name" yaml:"name"`
	Value string `json:"value" yaml:"value"`
}

// Template is a consul-template-style file rendered on the nodes its
// constraints select.
type Template struct {
	ID          string       `json:"id" yaml:"id"`
	Source      string       `json:"source,omitempty" yaml:"source,omitempty"` // path inside the repo
	Contents    string       `json:"contents,omitempty" yaml:"contents,omitempty"`
	Destination string       `json:"destination" yaml:"destination"`
	Command     string       `json:"command,omitempty" yaml:"command,omitempty"`
	Validate    string       `json:"validate,omitempty" yaml:"validate,omitempty"`
	Wait        *Wait        `json:"wait,omitempty" yaml:"wait,omitempty"`
	Perms       string       `json:"perms,omitempty" yaml:"perms,omitempty"` // octal, e.g. "0644"
	Backup      bool         `json:"backup,omitempty" yaml:"backup,omitempty"`
	LeftDelim   string       `json:"leftDelimiter,omitempty" yaml:"leftDelimiter,omitempty"`
	RightDelim  string       `json:"rightDelimiter,omitempty" yaml:"rightDelimiter,omitempty"`
	Constraints []Constraint `json:"constraints,omitempty" yaml:"constraints,omitempty"`

	Origin Origin `json:"-" yaml:"-"`
}

// Wait is consul-template's quiescence window ("5s:20s"); Max defaults to 4x Min.
type Wait struct {
	Min string `json:"min" yaml:"min"`
	Max string `json:"max,omitempty" yaml:"max,omitempty"`
}

// Queue is a capacity share (YARN capacity-scheduler style) in a tree of queues.
type Queue struct {
	ID          string  `json:"id" yaml:"id"`
	Capacity    float64 `json:"capacity" yaml:"capacity"`       // percent of the parent
	MaxCapacity float64 `json:"maxCapacity" yaml:"maxCapacity"` // percent of the parent; default 100
	Weight      float64 `json:"weight,omitempty" yaml:"weight,omitempty"`

	Origin Origin `json:"-" yaml:"-"`
}

// Set is one validated, normalised manifest set: everything one commit declares.
// Slices are sorted by id (jobs by name) so that equal content compares equal.
type Set struct {
	Apps      []App      `json:"apps,omitempty"`
	Jobs      []Job      `json:"jobs,omitempty"`
	Templates []Template `json:"templates,omitempty"`
	Queues    []Queue    `json:"queues,omitempty"`
	Secrets   []Secret   `json:"secrets,omitempty"`
}
