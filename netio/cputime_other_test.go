//go:build !unix

package netio

import "time"

// cpuTime is unavailable here; benchmarks then omit their CPU metric.
func cpuTime() time.Duration { return 0 }
