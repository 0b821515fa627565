//go:build unix

package netio

import (
	"syscall"
	"time"
)

// cpuTime is the process's user+system CPU time. On a shared, noisy machine it is a steadier
// cost measure than wall time, and a datagram's cost is mostly kernel (system) time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
