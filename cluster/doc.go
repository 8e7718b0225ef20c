// Package cluster is Berth's live-state model and the Store interface the
// server and agents share: agents, task assignments and statuses, service
// ports, the applied Git commit, deployments and job runs.
//
// It holds types and the storage contract only. Implementations live in
// subpackages (an in-memory store and a ZooKeeper store); this package must
// not import Docker, Consul or ZooKeeper clients.
package cluster
