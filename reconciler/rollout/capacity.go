//go:build !berth_broken_capacity

package rollout

// brokenCapacity is false in every real build; see broken_capacity.go.
const brokenCapacity = false
