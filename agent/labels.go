package agent

// Labels the agent puts on every container it creates. They are how a
// restarted agent finds its containers again, and berth.agent is what keeps
// two agents on one Docker daemon from touching each other's containers.
const (
	LabelAgent   = "berth.agent"
	LabelTask    = "berth.task"
	LabelApp     = "berth.app" // the owner id: an app id or a job name
	LabelOwner   = "berth.owner"
	LabelVersion = "berth.version"

	// LabelServiceName overrides the Consul service name (app label, or a
	// port's label for that port).
	LabelServiceName = "berth.service.name"
	// LabelServiceTags adds comma-separated Consul tags.
	LabelServiceTags = "berth.service.tags"
)

// Consul service meta keys the agent writes; metaAgent is how a restarted
// agent finds its own stale registrations.
const (
	metaAgent   = "berth-agent"
	metaApp     = "berth-app"
	metaTask    = "berth-task"
	metaVersion = "berth-version"
)
