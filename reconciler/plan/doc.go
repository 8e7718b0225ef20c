// Package plan computes what it takes to move the cluster from what it runs to
// what a commit declares: for every App, Job, Template and Queue a create,
// update (scale, restart or config, classified as Marathon does), delete or
// nothing, with the fields that differ, in Marathon's deployment order.
//
// It is pure: Compute is a function of its two arguments and nothing else. It
// must not import Git, Docker, ZooKeeper or Consul clients, read the clock or
// touch the filesystem; callers load manifests and live state and hand them in.
// The same plan feeds `berth diff` (rendered as text, Markdown or JSON) and the
// reconciler that applies it. AddSchedulePreviews adds, for `berth diff`, when
// each created or rescheduled job runs; the moment it looks from is an input.
package plan
