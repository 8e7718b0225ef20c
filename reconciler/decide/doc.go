// Package decide is Berth's one decision engine: given the desired manifests,
// the observed cluster, the durable memory the engine keeps in the cluster
// state, the time and a seed, it returns typed changes (start a task, kill
// one, hold a service port, record a job run, publish a template, remember a
// launch failure, ...) and a verdict with reasons for every object.
//
// The server's reconcile loop and every "what would happen" (berth diff
// offline with a snapshot, --observed, --server, and GET /v1/diff) call the
// same Decide; the loop commits the changes, the others only report them or
// play them forward with Simulate. The package is pure: it does no I/O,
// reads no clock and draws no randomness of its own (the import-boundary
// test in testenv guards it), so the same input always gives the same
// decisions, whoever leads.
//
// An error in one object (an app whose service port clashes, a group the
// allocator refuses) makes that object Degraded with its reason; every other
// object is decided in the same call.
package decide
