package shard

import (
	"math"
	"sync/atomic"
)

// Counter is a lock-free delta: an int64 part for Add and a float64 part for AddFloat (DogStatsD
// counters received by the agent may be fractional, e.g. "1|c|@0.3" counts 3.33). The zero value is
// ready to use.
type Counter struct {
	v atomic.Uint64
	f atomic.Uint64 // float64 bits
}

// AddFloat adds v with a compare-and-swap loop.
func (c *Counter) AddFloat(v float64) {
	for {
		old := c.f.Load()
		if c.f.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

// SwapFloat returns the float part accumulated since the last SwapFloat and resets it to zero.
func (c *Counter) SwapFloat() float64 { return math.Float64frombits(c.f.Swap(0)) }

// LoadFloat returns the float part accumulated since the last SwapFloat.
func (c *Counter) LoadFloat() float64 { return math.Float64frombits(c.f.Load()) }

// Add adds n (which may be negative) with one atomic add.
func (c *Counter) Add(n int64) { c.v.Add(uint64(n)) }

// Load returns the delta accumulated since the last Swap.
func (c *Counter) Load() int64 { return int64(c.v.Load()) }

// Swap returns the delta accumulated since the last Swap and resets it to zero atomically, so an Add
// racing with Swap lands in exactly one of the two intervals.
func (c *Counter) Swap() int64 { return int64(c.v.Swap(0)) }
