// Package agent is Berth's node agent: it stands in for the Mesos agent, the
// Docker executor and Registrator. It registers its node in the cluster state,
// watches the assignments the leader makes for it, makes the local Docker
// Engine run exactly those tasks, supervises them (exit, health checks,
// graceful kills), reports every state change back, and registers each
// running task's ports as services in the local Consul agent.
//
// The agent core is technology-free: it supervises tasks through a
// launch.Runtime (agent/dockerrt on a Docker Engine: container definitions,
// images, ports, logs), publishes services through a Registry
// (agent/consulreg on Consul), and reads and reports through a Cluster (the
// cluster store). Service names come from the cluster model
// (cluster.TaskServices); the node's policy from package policy. Tasks come as the cluster.TaskSpec the server
// resolved, never as App or Job manifests, so an older agent still runs what
// a newer server decided; the one manifest an agent reads is Template, which
// the leader publishes and each agent renders where its constraints match
// (templates.go).
//
// Containers are found again by label after a restart (berth.agent,
// berth.task, berth.app, berth.version: launch.Label*); containers without
// this agent's berth.agent label are never touched, so several agents can
// share one Docker daemon.
package agent
