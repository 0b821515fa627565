package shard

import (
	"math/bits"
	"runtime"
	"sync/atomic"
	"unsafe"
)

// Striping. A histogram, reservoir or counter recorded from several goroutines at once makes every
// core take the cell's cache lines in turn, and its compare-and-swap loops or mutex retry: on the
// 2-core VM of docs/perf.md, observing one histogram from 2 goroutines cost 3× the CPU of observing
// it from one. Such a cell, once contended often enough within one interval (stripeAfter busy
// mutexes for a reservoir; stripeAfterSwitches changes of recording goroutine for a histogram or a
// Counter.AddShared), switches to stripes: a set of independent sub-cells, each on cache lines of
// its own, that a goroutine picks by the address of its stack. Swap drains and merges them.
// Striping is one-way for the life of the cell (expiry frees it); the uncontended path pays an
// atomic pointer load, and for histograms and AddShared a load and compare of the last owner.

const (
	// stripeAfter is how many contended updates (failed compare-and-swaps, busy mutexes) in one
	// interval make a cell stripe. A cell recorded from one goroutine at a time never fails one,
	// and a few unlucky collisions an interval stay well below it.
	stripeAfter = 64
	// stripeAfterSwitches is how many changes of recording goroutine in one interval make a
	// histogram stripe (Histogram.ObserveN says why it counts them): a few hundred a second at
	// the default 10 s interval, from a histogram recorded that often by turns from several
	// goroutines. A failed compare-and-swap counts as stripeAfterSwitches/stripeAfter changes.
	stripeAfterSwitches = 4096
	// resaltAfter is how many collisions inside the stripes make every goroutine move to another
	// stripe: two goroutines whose stacks picked the same stripe are split apart by chance.
	resaltAfter = 64
	// minStripes and maxStripes bound the stripe count, 2·GOMAXPROCS rounded up to a power of two:
	// enough that the goroutines running at one time seldom share a stripe.
	minStripes, maxStripes = 8, 64
)

// stripeCount returns the number of stripes for a cell striped now.
func stripeCount() int {
	n := 1 << bits.Len(uint(2*runtime.GOMAXPROCS(0)-1))
	return min(max(n, minStripes), maxStripes)
}

// stackHint returns the address of a variable on the calling goroutine's stack. Goroutines have
// disjoint stacks, so it tells them apart for free; a goroutine keeps its value as long as it
// calls from the same depth and its stack is not moved, which is all a stripe choice needs. The
// address is only hashed, never turned back into a pointer.
//
//go:nosplit
func stackHint() uint64 {
	var x byte
	return uint64(uintptr(unsafe.Pointer(&x)))
}

// stripePicker chooses a stripe for the calling goroutine, and moves every goroutine to another
// one when the stripes keep colliding, at most maxResalts times an interval: with more goroutines
// than stripes, collisions are bound to happen, and moving everyone often would cost more than
// they do. salt is read on every update of a striped cell and written only on a resalt; the
// collision count, written on collisions, is on another cache line, and once the interval's
// resalts are spent a collision only reads it.
type stripePicker struct {
	_     linePad
	salt  atomic.Uint64
	shift uint // 64 - log2(stripes)
	_     linePad
	fails atomic.Uint32 // collisions this interval, up to resaltAfter·maxResalts
	_     linePad
}

// maxResalts bounds the resalts in one interval. Two goroutines that keep colliding on 8 stripes
// after 4 resalts do so with probability 8^-5.
const maxResalts = 4

func newStripePicker(n int) stripePicker {
	return stripePicker{shift: uint(64 - bits.TrailingZeros(uint(n)))}
}

// pick returns the stripe index for the calling goroutine. Stacks are at least 2 KiB apart and
// frames are 8-byte aligned, so the address drops its low bits before a Fibonacci hash mixes in
// the salt.
func (p *stripePicker) pick() int {
	return int(((stackHint() >> 10) + p.salt.Load()) * 0x9e3779b97f4a7c15 >> p.shift)
}

// collided records that an update in a stripe met another goroutine there.
//
//go:noinline
func (p *stripePicker) collided() {
	if p.fails.Load() >= resaltAfter*maxResalts {
		return
	}
	if p.fails.Add(1)%resaltAfter == 0 {
		p.salt.Add(1)
	}
}

// interval starts a new interval, called by the owning cell's Swap.
func (p *stripePicker) interval() {
	if p.fails.Load() != 0 {
		p.fails.Store(0)
	}
}

// switchedTo reports whether the goroutine with hint g is not the last one to update through
// owner, and makes it so: the cheap sign that goroutines take turns on one cache line.
func switchedTo(owner *atomic.Uint64, g uint64) bool {
	if owner.Load() == g {
		return false
	}
	owner.Store(g)
	return true
}
