package cluster

import (
	"net/url"
	"path"
	"strconv"
	"strings"
)

// The tree under a store's root. Agents own /agents, /live and /statuses of
// their own id; the leader owns everything else and writes it fenced.
const (
	dirAgents      = "/agents"      // <agent> = Agent, persistent
	dirLive        = "/live"        // <agent> ephemeral while the agent's session lives
	dirAssignments = "/assignments" // <agent>/<task> = Assignment
	dirStatuses    = "/statuses"    // <agent>/<task> = TaskStatus
	dirPorts       = "/serviceports"
	dirDeployments = "/deployments"
	// The decision engine's durable memory: launch-failure history per app
	// and the lost-since clock per agent, so a new leader continues them.
	dirLaunches    = "/memory/launches" // <app> = LaunchHistory
	dirLost        = "/memory/lost"     // <agent> = AgentLost
	dirJobRuns     = "/jobruns"         // <job>/<run> = JobRun
	dirJobs        = "/jobs"            // <job> = JobState
	nodeCommit     = "/commit"
	nodeLeaderInfo = "/leaderinfo"
	dirServers     = "/servers" // <server> = ServerInfo, ephemeral
	// DirLeader is the election directory of berth servers.
	DirLeader = "/leader"
)

// nodeName turns an id (app ids and job names contain slashes) into a single
// path element that every store accepts, and back with url.PathUnescape.
func nodeName(id string) string {
	s := url.PathEscape(id)
	switch s {
	case "":
		return "%00" // not a valid id, but never an invalid path
	case ".", "..":
		// ZooKeeper refuses these as names.
		return strings.ReplaceAll(s, ".", "%2E")
	}
	return s
}

func join(elem ...string) string { return path.Join(elem...) }

func agentPath(id string) string               { return join(dirAgents, nodeName(id)) }
func livePath(id string) string                { return join(dirLive, nodeName(id)) }
func assignmentsDir(agent string) string       { return join(dirAssignments, nodeName(agent)) }
func assignmentPath(agent, task string) string { return join(assignmentsDir(agent), nodeName(task)) }
func statusesDir(agent string) string          { return join(dirStatuses, nodeName(agent)) }
func statusPath(agent, task string) string     { return join(statusesDir(agent), nodeName(task)) }
func portPath(port int) string                 { return join(dirPorts, strconv.Itoa(port)) }
func deploymentPath(id string) string          { return join(dirDeployments, nodeName(id)) }
func launchesPath(app string) string           { return join(dirLaunches, nodeName(app)) }
func lostPath(agent string) string             { return join(dirLost, nodeName(agent)) }
func jobRunsDir(job string) string             { return join(dirJobRuns, nodeName(job)) }
func jobRunPath(job, run string) string        { return join(jobRunsDir(job), nodeName(run)) }
func jobStatePath(job string) string           { return join(dirJobs, nodeName(job)) }

func serverPath(id string) string { return join(dirServers, nodeName(id)) }

// Access says who may do what with one path of the tree, for stores that
// give every agent its own identity (ZooKeeper ACLs; see docs/security.md,
// "ZooKeeper identities"). Servers may do everything everywhere.
type Access struct {
	// Agent is the agent the path belongs to, if any.
	Agent string
	// AgentWrites: that agent writes the path (its registration, its live
	// node, its statuses); otherwise it only reads it (its assignments).
	AgentWrites bool
	// AgentsRead: every agent reads it (the published templates, and the
	// top-level directories they list).
	AgentsRead bool
	// AgentsCreate: every agent may create its own node in it (the
	// top-level directories of agents' nodes).
	AgentsCreate bool
}

// PathAccess classifies a path relative to the store's root.
func PathAccess(p string) Access {
	if p == "/" || p == "" {
		return Access{AgentsRead: true}
	}
	parts := strings.SplitN(strings.TrimPrefix(p, "/"), "/", 3)
	top := "/" + parts[0]
	switch top {
	case dirAgents, dirLive, dirStatuses, dirAssignments, dirRenders:
		if len(parts) == 1 {
			return Access{AgentsRead: true, AgentsCreate: true}
		}
		id, err := url.PathUnescape(parts[1])
		if err != nil {
			return Access{}
		}
		return Access{Agent: id, AgentWrites: top != dirAssignments}
	case dirTemplates:
		return Access{AgentsRead: true}
	}
	return Access{}
}

// TopDirs are the top-level directories of the tree, which servers create
// before agents need them (agents may not create nodes at the top).
func TopDirs() []string {
	return []string{dirAgents, dirLive, dirAssignments, dirStatuses, dirRenders, dirTemplates, dirServers, DirLeader}
}
