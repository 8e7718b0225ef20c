package agent

import (
	"github.com/berthops/berth/agent/launch"
	"github.com/berthops/berth/cluster"
)

// Labels the agent puts on every container it creates. They are how a
// restarted agent finds its containers again, and berth.agent is what keeps
// two agents on one Docker daemon from touching each other's containers.
const (
	LabelAgent   = launch.LabelAgent
	LabelTask    = launch.LabelTask
	LabelApp     = launch.LabelApp // the owner id: an app id or a job name
	LabelOwner   = launch.LabelOwner
	LabelVersion = launch.LabelVersion

	// LabelServiceName and LabelServiceTags shape the service's name and
	// tags (see cluster.TaskServices).
	LabelServiceName = cluster.LabelServiceName
	LabelServiceTags = cluster.LabelServiceTags
)

// Consul service meta keys the agent writes; metaAgent is how a restarted
// agent finds its own stale registrations.
const (
	metaAgent   = cluster.MetaAgent
	metaApp     = cluster.MetaApp
	metaTask    = cluster.MetaTask
	metaVersion = cluster.MetaVersion
)
