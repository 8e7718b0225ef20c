// Package mirror keeps the part of the cluster state a reconcile pass reads
// in memory, decoded, and current through store watches (an informer): one
// full read, then each watch that fires re-reads only the node it names.
// It is built on cluster.Store alone, so it works the same over zkstore and
// memstore.
//
// Boundaries: it reads and watches, and never writes the store. The leader
// tells it what it committed (Apply), so a decision never sees state older
// than the leader's own last write. A full re-read (Resync) runs on a slow
// timer, after a lost session and when asked (a new leadership term); it
// repairs and counts what the watches missed (drift).
package mirror
