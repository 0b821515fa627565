//go:build race

package shard

// histRaceEnabled reports a -race build, where allocation counts are meaningless.
const histRaceEnabled = true
