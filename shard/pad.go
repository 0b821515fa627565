package shard

import (
	"math"
	"sync/atomic"

	"golang.org/x/sys/cpu"
)

// linePad separates cells that different cores update: placed after a cell, it makes the stride
// of an array of them at least the cell's size plus two cache lines, so no two cells share a line
// wherever the array starts. Two lines, not one: adjacent-line prefetch on x86 pairs 64-byte
// lines. stripe_test.go checks every padded type's stride.
type linePad [2]cpu.CacheLinePad

// addFloat adds d to the float64 whose bits a holds, with a compare-and-swap loop, and returns the
// sum it stored and whether a compare-and-swap failed on the way (another core updated a
// meanwhile: the cells count that as contention). With finite, a sum that would be ±Inf or NaN is
// not stored, and ok is false.
func addFloat(a *atomic.Uint64, d float64, finite bool) (sum float64, ok, contended bool) {
	for {
		old := a.Load()
		sum = math.Float64frombits(old) + d
		if finite && sum-sum != 0 { // ±Inf or NaN: x-x is 0 for every finite x
			return sum, false, contended
		}
		if a.CompareAndSwap(old, math.Float64bits(sum)) {
			return sum, true, contended
		}
		contended = true
	}
}
