// Package agent is Berth's node agent: it stands in for the Mesos agent, the
// Docker executor and Registrator. It registers its node in the cluster state,
// watches the assignments the leader makes for it, makes the local Docker
// Engine run exactly those tasks, supervises them (exit, health checks,
// graceful kills), reports every state change back, and registers each
// running task's ports as services in the local Consul agent.
//
// The pure parts (node flags, container and environment construction, health
// verdicts) are functions over values. Docker, Consul and the cluster store
// sit behind the small interfaces declared here (Docker, Cluster, Registry);
// the Consul registry is the adapter package agent/consulreg, and service
// names come from the cluster model (cluster.TaskServices). Tasks come as the cluster.TaskSpec the server
// resolved, never as App or Job manifests, so an older agent still runs what
// a newer server decided; the one manifest an agent reads is Template, which
// the leader publishes and each agent renders where its constraints match
// (templates.go).
//
// Containers are found again by label after a restart (berth.agent,
// berth.task, berth.app, berth.version); containers without this agent's
// berth.agent label are never touched, so several agents can share one
// Docker daemon.
package agent
