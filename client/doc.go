// Package client is a small typed Go client for the berth server's HTTP API
// (documented in docs/api.md): server and leader status, the reconciler's
// sync status, apps, tasks, agents, triggering a sync and following the
// Server-Sent Events stream.
//
// It only speaks HTTP and decodes the server's own response types (from
// packages server, reconciler and cluster), so the CLI and any program
// embedding Berth read exactly what the server writes. It holds no state
// beyond its configuration and never retries: callers decide that.
package client
