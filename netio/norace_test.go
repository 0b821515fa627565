//go:build !race

package netio

// raceEnabled skips allocation tests: the race detector allocates on its own.
const raceEnabled = false
