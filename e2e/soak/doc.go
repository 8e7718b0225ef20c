// Package soak runs Berth under randomized, combined faults while it is
// busy, records what every client and component saw, and judges the whole
// record with package history's checker.
//
// Run starts a whole cluster with e2e.Start (three ZooKeeper servers, three
// `berth server` replicas, three agents on 127.0.0.2-4, Consul, a Git
// repository over smart HTTP) plus nginx whose upstream the first agent
// renders from Consul. Then, for the soak's duration:
//
//   - a generator pushes commits (scale, image change, new app, app removed,
//     job added and changed, template changed) and asks for manual job runs;
//   - a nemesis injects faults at random, at most two at a time and never two
//     on the same component: kill -9 and SIGSTOP of the leader and of
//     followers, kill and restart of agents, one ZooKeeper server stopped or
//     two (quorum lost), Consul restarted empty, app containers killed or
//     removed under Docker, the Git server stalled;
//   - a recorder samples the API's tasks and job runs, Consul's passing
//     instances, nginx's upstream file and answers, and Docker's events.
//
// When the duration is over the faults are healed, the generator stops, and
// the cluster is observed until it matches the head commit exactly (tasks,
// Docker and Consul) or the convergence bound passes. The history is written
// to a JSON file and checked; the report ends with `faults: N`,
// `violations: N` and `converge_s: X`, then each violation with its time
// window.
//
// The seed drives every choice of the generator and the nemesis, so a failing
// soak is replayed with the same sequence of commits and faults (the timing of
// a real cluster is not replayable, the choices are).
//
// It is test support only, run by `make soak` and, for two minutes, by
// `make test`. Every process, container, image tag and directory it creates
// is removed through t.Cleanup.
package soak
