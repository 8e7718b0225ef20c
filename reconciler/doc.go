// Package reconciler keeps the cluster equal to the head of a Git branch: it
// watches the repository, loads and validates each commit whole, reads the
// cluster state and the decision engine's memory, asks the engine
// (reconciler/decide) what to do, and commits its typed changes as one
// fenced batch.
//
// Every decision is the pure engine's; this package is the loop around it:
// Git (Source), the store (cluster.State), the clock (Config.Now) and what
// it reports (Status, an Observer for metrics). The HTTP API over it is
// package httpapi.
package reconciler
