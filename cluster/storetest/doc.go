// Package storetest is the conformance suite every cluster.Store
// implementation must pass: the in-memory store and the ZooKeeper store run
// the same tests, so Berth behaves the same on `berth up` and in production.
//
// It imports only the cluster package and the standard library.
package storetest
