package gometrics_test

import (
	"syscall"
	"time"
)

// processCPU is the user plus system CPU time of every thread of the process.
func processCPU() (time.Duration, bool) { return rusage(syscall.RUSAGE_SELF) }

// threadCPU is the CPU time of the calling thread (the caller has locked its goroutine to it).
func threadCPU() (time.Duration, bool) { return rusage(1) } // RUSAGE_THREAD

func rusage(who int) (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
