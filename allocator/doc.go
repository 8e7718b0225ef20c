// Package allocator decides where tasks run: it replaces the Mesos master's
// allocator and Marathon's offer matching with one pure function.
//
// Given a snapshot of the cluster (agents, their attributes, total resources,
// port ranges and the tasks already running on them) and the demand (groups
// of identical tasks, one per app, with Marathon constraints and a capacity
// queue), Allocate returns a placement per task (agent and host ports) or a
// reason a person can act on. Fit wraps it into the verdict `berth diff`
// shows, and AssignServicePorts hands out cluster-unique service ports.
//
// Boundaries: the package does no I/O, keeps no state between calls and
// reads neither clock nor global randomness (ties are broken from
// Options.Seed). It must not import Docker, ZooKeeper, Consul, Git nor the
// cluster stores; callers convert their own types into Cluster and Group.
// It imports only the pure manifests package, for Constraint and Queue.
package allocator
