// Package server is the `berth server` process: it announces itself in the
// cluster store, campaigns for leadership, runs the leader's duties while it
// leads (and stops them the moment leadership is lost) and serves the HTTP
// API every replica answers (/healthz, /v1/status). Other packages add
// routes with Handle and leader duties with Config.Lead, so the reconcile
// loop plugs in without this package knowing about manifests or Git.
//
// It depends on the cluster package (the Store interface), not on a
// particular store: cmd/berth wires in the ZooKeeper store.
package server
