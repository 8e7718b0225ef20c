// Package reconciler keeps the cluster equal to the head of a Git branch: it
// watches the repository, validates each commit, plans the change against the
// live state in the cluster store, places tasks with the allocator and rolls
// them out with health gating.
//
// The decisions are made by pure subpackages (plan, rollout) and the
// allocator; this package is the loop that reads state, calls them and writes
// their results. It talks to Git, the store and the clock only through
// interfaces it owns.
package reconciler
