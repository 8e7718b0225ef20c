// Package memstore is an in-memory cluster.Store with ZooKeeper's semantics
// (versions, ephemeral nodes tied to a session, one-shot watches, atomic
// multi-operations), optionally persisted to a file. It backs `berth up` and
// unit tests. A Tree is the shared state (the "ensemble"); each Client is one
// session on it, so tests can run several agents and servers against one
// tree and expire a session on demand.
//
// It must not import ZooKeeper, Docker or Consul clients.
package memstore
