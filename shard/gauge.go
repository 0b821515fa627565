package shard

import (
	"math"
	"sync/atomic"
)

// Gauge is a lock-free float64 value with a "touched since the last Swap" flag and an "ever set"
// one. The zero value is ready to use and holds 0, untouched and never set.
type Gauge struct {
	bits    atomic.Uint64
	touched atomic.Uint32 // gaugeTouched and gaugeEverSet
}

// Gauge.touched flags.
const (
	gaugeTouched = 1 << iota // set or added to since the last Swap
	gaugeEverSet             // set or added to at least once
)

// Set stores v. Setting 0 is a real value: the gauge is touched and 0 is reported.
func (g *Gauge) Set(v float64) {
	g.bits.Store(math.Float64bits(v))
	g.touch()
}

// Add adds d (which may be negative) to the value with a compare-and-swap loop and returns the
// value it stored.
func (g *Gauge) Add(d float64) float64 {
	v, _, _ := addFloat(&g.bits, d, false)
	g.touch()
	return v
}

// touch marks the gauge touched after its value was stored. Reading first keeps the cache line
// shared when the flag is already set (the common case for a hot gauge). Because the value is
// stored before the flag is read, a Swap that clears the flag always reads that value or a later one:
// no update is lost, at worst a value is reported in two consecutive intervals.
func (g *Gauge) touch() {
	if g.touched.Load()&gaugeTouched == 0 {
		g.touched.Store(gaugeTouched | gaugeEverSet)
	}
}

// Load returns the current value.
func (g *Gauge) Load() float64 { return math.Float64frombits(g.bits.Load()) }

// Swap clears the touched flag and returns the current value and whether it was touched since the
// previous Swap. The value itself is kept (a gauge is a level, not a delta).
func (g *Gauge) Swap() (v float64, touched bool) {
	if g.touched.Load()&gaugeTouched == 0 {
		return g.Load(), false // untouched: no locked instruction (a Set racing with this is the next interval's)
	}
	t := g.touched.And(^uint32(gaugeTouched))
	return g.Load(), t&gaugeTouched != 0
}

// Touched reports whether the gauge was set since the last Swap, without clearing the flag.
func (g *Gauge) Touched() bool { return g.touched.Load()&gaugeTouched != 0 }

// EverSet reports whether the gauge was ever set or added to: a gauge that was not holds no value
// of anyone's, only its zero.
func (g *Gauge) EverSet() bool { return g.touched.Load()&gaugeEverSet != 0 }
