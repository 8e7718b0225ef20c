// Package zkstore is the ZooKeeper implementation of cluster.Store, over
// github.com/go-zookeeper/zk: Berth's production store, shared by every
// server and agent of a cluster.
//
// It maps the store contract onto ZooKeeper directly: versions are znode
// versions, Multi is a ZooKeeper multi-operation, registrations are ephemeral
// znodes re-created after a session expires, elections use sequential
// ephemeral znodes and the leader's fence is a check op on its own election
// znode, which the ensemble deletes when the leader's session expires.
// Connection strings are Mesos and Marathon's zk://user:pass@h1:2181,h2/path.
//
// It depends on the cluster package and the ZooKeeper client only.
package zkstore
