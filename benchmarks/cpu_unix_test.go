//go:build unix

package benchmarks

import (
	"syscall"
	"time"
)

// processCPU returns the user plus system CPU time the whole process has used: every thread, so
// the benchmark's goroutines, the clients' own goroutines (datadog-go's sender and aggregator,
// statshard's flush) and the garbage collector. The receiver runs in a child process and is not
// in it. The kernel derives the sum from its exact per-thread run time, so it is precise to the
// microsecond however short the run.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
