//go:build !unix

package main

// monotonicUsec has no CLOCK_MONOTONIC to read here (nor systemd to tell).
func monotonicUsec() (uint64, bool) { return 0, false }
