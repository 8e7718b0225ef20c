// Package testenv starts the real components Berth's tests run against, on
// this machine and on loopback addresses only: ZooKeeper ensembles, a Consul
// agent in dev mode, nginx, Docker images built from static Go binaries, and
// Git repositories served over smart HTTP. Everything it starts is cleaned up
// through t.Cleanup.
//
// A component that is not installed fails the test with a message saying how
// to install it (`make deps`); integration tests are skipped only under
// `go test -short`. Production code must never import this package.
package testenv
