package cluster

import "net/url"

// Layout names the parts of the tree a reader that follows the raw store
// (package mirror) keeps in memory: it decodes nodes itself instead of going
// through State, so it needs to know where they are.
type Layout struct {
	Agents       string // <agent> = Agent
	Live         string // <agent>, ephemeral, no data the leader needs
	Assignments  string // <agent>/<task> = Assignment
	Statuses     string // <agent>/<task> = TaskStatus
	ServicePorts string // <port> = ServicePort
	Templates    string // <template> = PublishedTemplate
	Deployments  string // <app> = Deployment
	Launches     string // <app> = LaunchHistory
	Lost         string // <agent> = AgentLost
	Residences   string // <app> = Residence
	Commit       string // the AppliedCommit node
}

// TreeLayout returns where each part of the cluster state is stored.
func TreeLayout() Layout {
	return Layout{Agents: dirAgents, Live: dirLive, Assignments: dirAssignments, Statuses: dirStatuses,
		ServicePorts: dirPorts, Templates: dirTemplates, Deployments: dirDeployments, Launches: dirLaunches,
		Lost: dirLost, Residences: dirResidences, Commit: nodeCommit}
}

// AssignmentsDir is the directory of one agent's assignments.
func AssignmentsDir(agentID string) string { return assignmentsDir(agentID) }

// NodeName is the single path element an id is stored under.
func NodeName(id string) string { return nodeName(id) }

// IDOfNode turns a node name back into the id it was made from.
func IDOfNode(name string) (string, error) { return url.PathUnescape(name) }
