//go:build !race

package gometrics

const raceEnabled = false
