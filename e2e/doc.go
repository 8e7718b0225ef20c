// Package e2e runs Berth end to end the way an operator deploys it: the real
// berth binary as separate `berth server` and `berth agent` processes, a
// three-server ZooKeeper ensemble, a Consul agent, Docker, and a Git
// repository that tests push to over smart HTTP.
//
// Cluster (Start) is the harness the walkthrough and the failure drills are
// written on: it builds ./cmd/berth once per test binary, starts everything
// on loopback addresses (agents on 127.0.0.2, 127.0.0.3, ...), and gives
// helpers to push commits, send signed webhooks, find the leader, read the
// API through the client package, kill, pause and restart any process, and
// wait for a condition with a deadline. Everything it starts, containers
// included, is removed through t.Cleanup.
//
// Processes are controlled through testenv's types: Server.Proc and
// Agent.Proc (Kill is kill -9, Pause/Resume are SIGSTOP/SIGCONT, Restart
// starts the same command again), Cluster.ZK.Servers[i] and Cluster.Consul.
// A failing test logs the tail of every process's output.
//
// Run `go test -run 'TestWalkthrough|TestDrill' ./e2e` (make e2e), and
// `go test -run '^$' -bench . ./e2e` for BenchmarkWebhookTo20Running.
//
// The randomized fault soak (e2e/soak, `make soak`) runs on the same
// harness, and its history is judged by the pure checker in e2e/history.
//
// It is test support only: nothing in Berth imports it. Its tests are
// integration tests, skipped under `go test -short`.
package e2e
