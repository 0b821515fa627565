//go:build !linux

package gometrics_test

import "time"

// Without per-thread CPU times the benchmark reports wall-clock ns/op only.
func processCPU() (time.Duration, bool) { return 0, false }
func threadCPU() (time.Duration, bool)  { return 0, false }
