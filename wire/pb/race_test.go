//go:build race

package pb

// raceEnabled turns allocation tests off: the race detector allocates.
const raceEnabled = true
