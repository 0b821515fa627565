package shard

import (
	"math"
	"sync/atomic"
)

// Counter is a lock-free delta: an int64 part for Add and a float64 part for AddFloat (DogStatsD
// counters received by the agent may be fractional, e.g. "1|c|@0.3" counts 3.33). The zero value is
// ready to use.
//
// The delta never wraps: an Add that carries the int64 part past its range counts the wrap, and
// Swap (or LoadFloat) reports the 2^64s in the float part, so a sum beyond ±2^63 is reported as
// the float64 it is. AddFloat refuses a value that would make the float part infinite.
//
// Add is one atomic add, for a handle. AddShared is for paths that many goroutines share, like the
// by-name API: once goroutines have taken turns on the counter stripeAfterSwitches times in one
// interval, AddShared adds into per-goroutine stripes on cache lines of their own (see stripe.go),
// so cores stop taking the counter's cache line from each other. Swap and Load include the stripes.
type Counter struct {
	v         atomic.Uint64
	wraps     atomic.Int64  // net times v wrapped past ±2^63: the int part is v + wraps·2^64
	f         atomic.Uint64 // float64 bits
	owner     atomic.Uint64 // stackHint of the goroutine that last used AddShared, >> 13
	contended atomic.Uint32 // changes of owner since the last Swap
	striped   atomic.Pointer[counterStripes]
}

// counterStripes are a contended counter's per-goroutine parts.
type counterStripes struct {
	pick stripePicker
	subs []counterStripe
}

// counterStripe is one part, padded to cache lines of its own.
type counterStripe struct {
	v     atomic.Uint64
	owner atomic.Uint64
	_     linePad
}

// AddShared adds n like Add, into the calling goroutine's stripe once the counter is striped.
func (c *Counter) AddShared(n int64) {
	if st := c.striped.Load(); st != nil {
		sub := &st.subs[st.pick.pick()]
		if switchedTo(&sub.owner, stackHint()>>13) {
			st.pick.collided()
		}
		if v := int64(sub.v.Add(uint64(n))); carried(v, n) {
			c.wraps.Add(n>>63 | 1)
		}
		return
	}
	if switchedTo(&c.owner, stackHint()>>13) {
		c.contend()
	}
	c.Add(n)
}

// carried reports whether adding n produced v by wrapping around: the value before, v-n, had
// n's sign and v has the other. One branch-free expression, so that Add stays inlinable.
func carried(v, n int64) bool { return (v^n)&^((v-n)^n) < 0 }

// contend counts a change of goroutine and stripes c at the stripeAfterSwitches-th since the
// last Swap.
//
//go:noinline
func (c *Counter) contend() {
	if c.contended.Add(1) == stripeAfterSwitches {
		n := stripeCount()
		c.striped.CompareAndSwap(nil, &counterStripes{pick: newStripePicker(n), subs: make([]counterStripe, n)})
	}
}

// AddFloat adds v with a compare-and-swap loop. It adds nothing and returns false when v is not
// finite or the sum would not be: such a value cannot be sent, and the caller counts it, while the
// interval's other values still go out.
func (c *Counter) AddFloat(v float64) bool {
	_, ok, _ := addFloat(&c.f, v, true)
	return ok
}

// SwapFloat returns the float part accumulated since the last SwapFloat and resets it to zero.
// Call it after Swap, which moves what wrapped the int part into it. A counter with no float part
// (most of them) costs a load, not a locked swap: an AddFloat racing with the load lands in the
// next interval, as it would if it came just after a swap.
func (c *Counter) SwapFloat() float64 {
	if c.f.Load() == 0 {
		return 0
	}
	return math.Float64frombits(c.f.Swap(0))
}

// LoadFloat returns the float part accumulated since the last SwapFloat, with what wrapped the
// int part since the last Swap.
func (c *Counter) LoadFloat() float64 {
	return math.Float64frombits(c.f.Load()) + float64(c.wraps.Load())*(1<<64)
}

// Add adds n (which may be negative) with one atomic add. The test after it is true only when
// the sum wrapped past ±2^63; it is branch-free arithmetic and an atomic add, so Add stays small
// enough for the compiler to inline.
func (c *Counter) Add(n int64) {
	if v := int64(c.v.Add(uint64(n))); carried(v, n) {
		c.wraps.Add(n>>63 | 1) // +1 for a wrap upwards, -1 downwards
	}
}

// Load returns the delta accumulated since the last Swap.
func (c *Counter) Load() int64 {
	v := c.v.Load()
	if st := c.striped.Load(); st != nil {
		for i := range st.subs {
			v += st.subs[i].v.Load()
		}
	}
	return int64(v)
}

// Swap returns the delta accumulated since the last Swap and resets it to zero with atomic swaps,
// so an Add racing with Swap lands in exactly one of the two intervals. A part that is zero is
// only loaded, not swapped: a flush over idle series then takes no locked instruction for them.
func (c *Counter) Swap() int64 {
	var v uint64
	if c.v.Load() != 0 {
		v = c.v.Swap(0)
	}
	if w := c.wraps.Load(); w != 0 {
		c.wraps.Add(-w)
		c.AddFloat(float64(w) * (1 << 64))
	}
	if c.contended.Load() != 0 {
		c.contended.Store(0)
	}
	if st := c.striped.Load(); st != nil {
		st.pick.interval()
		for i := range st.subs {
			if st.subs[i].v.Load() != 0 {
				n := int64(st.subs[i].v.Swap(0))
				if sum := int64(v) + n; carried(sum, n) {
					c.AddFloat(float64(n)) // the stripes' sum passes int64: SwapFloat reports it
					continue
				}
				v += uint64(n)
			}
		}
	}
	return int64(v)
}
