// Package rollout is the pure core of Berth's app deployments: given one app's
// desired spec, the tasks the cluster reports for it and the current time, it
// decides what the reconcile loop does next. That covers starting, scaling
// (with Marathon's killSelection and GROUP_BY spread), Marathon's rolling
// restart under an upgradeStrategy, self-healing of dead, unhealthy and
// unreachable tasks (unreachableStrategy), launch backoff, and the Argo
// CD-style sync and health status an operator sees.
//
// The package is level-triggered: Step reads the whole state each time and
// keeps nothing between calls, so calling it twice with the same input gives
// the same Decision, and a new spec version in the middle of a rollout simply
// starts from whatever is running. The only memory it needs across calls, the
// launch-failure history for backoff, is passed in and handed back as a value
// for the caller to store.
//
// Boundaries: no I/O, no clock, no randomness, no logging. It imports only the
// manifest and cluster model types; placement belongs to the allocator, the
// order of deployment steps across apps to reconciler/plan (Gate only tells
// the loop when an app waits for its dependencies), and executing a Decision
// (writing assignments, kill flags) to the reconcile loop.
package rollout
