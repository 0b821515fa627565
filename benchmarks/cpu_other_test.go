//go:build !unix

package benchmarks

import "time"

// processCPU is unavailable here: the benchmarks then report no cpu-ns/op.
func processCPU() (time.Duration, bool) { return 0, false }
