//go:build race

package statsd

// raceEnabled skips allocation tests: the race detector allocates.
const raceEnabled = true
