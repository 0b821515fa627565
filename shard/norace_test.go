//go:build !race

package shard

// raceEnabled reports a -race build, where allocation counts are meaningless.
const raceEnabled = false
