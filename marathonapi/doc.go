// Package marathonapi serves a read-only Marathon API (/v2/apps, /v2/tasks,
// /v2/deployments, /v2/groups, /v2/info, /v2/leader, /v2/events, /ping) over
// Berth's desired and live state, so the tools built around Marathon
// (Prometheus's marathon_sd_configs, marathon-lb, Traefik's Marathon
// provider, go-marathon programs, dashboards) keep working after a move to
// Berth. Shapes follow Marathon's RAML types and JSON Schema; what Berth has
// no notion of (Mesos agent ids, framework ids, per-task container IPs) is
// filled the way Marathon fills it for a Docker task (docs/api.md).
//
// Every write (POST, PUT, PATCH, DELETE) is answered with Marathon's error
// shape saying that the cluster follows Git: Berth's only write path is a
// commit.
//
// The package reads the cluster through the small Cluster interface, not
// through the reconciler, so that it depends only on the state model
// (cluster, manifests); cmd/berth adapts the reconciler to it.
package marathonapi
