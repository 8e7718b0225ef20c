// Package gitsource gives Berth the manifests of a Git commit: it opens a
// local repository, or clones and incrementally fetches a remote one (file://,
// smart HTTP(S) with a token or basic auth, SSH with a key and known_hosts)
// into a cache directory, resolves a branch, tag or commit, and presents a
// commit's tree (or a subdirectory of it) as an fs.FS read straight from the
// object store, for manifests.Load. It never needs a work tree.
//
// A cache that is half written or corrupt is detected when opened and
// replaced by a fresh clone; a fresh clone is built beside the cache and
// swapped in only once complete, so a failed clone never costs a good cache.
//
// It also checks a commit's OpenPGP or SSH signature against trusted keys
// (an armored OpenPGP key ring and an ssh-keygen allowed_signers file), as
// git verify-commit does, for servers that apply only signed commits.
//
// It knows nothing of manifests or plans: it deals in commits, trees and
// paths. Only the reconciler and the berth command import it.
package gitsource
