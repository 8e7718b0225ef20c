//go:build berth_broken_capacity

package rollout

// brokenCapacity is true only in the deliberately broken build
// (go build -tags berth_broken_capacity), which exists to show that the
// soak's checker fails on a real broken promise: its rolling restarts kill
// every old task at once instead of keeping minimumHealthCapacity of them
// until new ones are healthy. Never ship it: e2e/soak's
// TestBrokenCapacityBuildIsCaught builds and runs it.
const brokenCapacity = true
