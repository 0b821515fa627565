//go:build !race

package netio

// hubRaceEnabled skips the hub's allocation tests: the race detector allocates on its own.
const hubRaceEnabled = false
