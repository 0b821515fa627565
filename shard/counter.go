package shard

import "sync/atomic"

// Counter is a lock-free int64 delta. The zero value is ready to use.
type Counter struct {
	v atomic.Uint64
}

// Add adds n (which may be negative) with one atomic add.
func (c *Counter) Add(n int64) { c.v.Add(uint64(n)) }

// Load returns the delta accumulated since the last Swap.
func (c *Counter) Load() int64 { return int64(c.v.Load()) }

// Swap returns the delta accumulated since the last Swap and resets it to zero atomically, so an Add
// racing with Swap lands in exactly one of the two intervals.
func (c *Counter) Swap() int64 { return int64(c.v.Swap(0)) }
