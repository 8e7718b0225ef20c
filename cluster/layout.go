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
