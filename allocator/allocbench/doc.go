// Package allocbench builds synthetic clusters and demands for measuring the
// allocator: the Go benchmarks and `berth bench allocator` share it so their
// figures describe the same workload. It is pure and deterministic in its
// seed; nothing here is used in production paths.
package allocbench
