package shard

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"sync/atomic"
)

// Buckets counts observations exactly in fixed buckets with Prometheus "le" semantics: v goes to
// the first bucket i with v <= bound i, and values above every bound go to a final +Inf bucket.
// Create one with NewBuckets; the zero value is not usable. All methods are safe for concurrent use.
//
// Observe is a binary search over the bounds, an atomic add on the bucket and a compare-and-swap
// loop on the float64 sum; it allocates nothing. Swap moves each bucket out with an atomic swap,
// so every count lands in exactly one snapshot; the sum of an observation racing a Swap may land
// in the neighbouring snapshot.
type Buckets struct {
	bounds  []float64
	counts  []atomic.Uint64 // len(bounds)+1; the last is +Inf
	sum     atomic.Uint64   // float64 bits
	invalid atomic.Uint64   // NaN and ±Inf
}

// NewBuckets returns Buckets with the given upper bounds, which must be non-empty, finite and
// strictly ascending. The slice is copied.
func NewBuckets(bounds []float64) (*Buckets, error) {
	if len(bounds) == 0 {
		return nil, errors.New("shard: bucket bounds must be non-empty")
	}
	for i, v := range bounds {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("shard: bucket bounds must be finite: bounds[%d] is %v", i, v)
		}
		if i > 0 && !(v > bounds[i-1]) {
			return nil, fmt.Errorf("shard: bucket bounds must be strictly ascending: bounds[%d] = %v after %v", i, v, bounds[i-1])
		}
	}
	return &Buckets{
		bounds: append([]float64(nil), bounds...),
		counts: make([]atomic.Uint64, len(bounds)+1),
	}, nil
}

// Bounds returns the upper bounds. The caller must not modify the slice.
func (b *Buckets) Bounds() []float64 { return b.bounds }

// Observe records v. NaN and ±Inf are not recorded; they are counted in BucketsSnapshot.Invalid.
func (b *Buckets) Observe(v float64) { b.ObserveN(v, 1) }

// ObserveN records v as n observations, as when a value arrives with sample rate 1/n. Sum grows by
// v·n. n == 0 records nothing.
func (b *Buckets) ObserveN(v float64, n uint64) {
	if n == 0 {
		return
	}
	if math.Float64bits(v)&histPosInf == histPosInf {
		b.invalid.Add(n)
		return
	}
	// sort.SearchFloat64s finds the first bound >= v, the le bucket. A linear scan was tried for
	// up to 16 bounds: it won by about 1 ns on one value pattern and lost on another (thread CPU
	// time, BenchmarkBucketsSearch), so the simpler search stays.
	i := sort.SearchFloat64s(b.bounds, v)
	x := v
	if n != 1 {
		x = v * float64(n)
	}
	// Sum before count, and Swap reads counts before the sum: an observation counted in a snapshot
	// has its sum in that snapshot or an earlier one.
	addFloat(&b.sum, x, false)
	b.counts[i].Add(n)
}

// Swap resets s, moves everything recorded since the previous Swap into it and resets b. s.Counts
// is reused: Swap allocates nothing once s has been used with b.
func (b *Buckets) Swap(s *BucketsSnapshot) {
	n := len(b.counts)
	if cap(s.Counts) < n {
		s.Counts = make([]uint64, n)
	}
	s.Counts = s.Counts[:n]
	s.Count = 0
	for i := range b.counts {
		var c uint64
		// A plain load first: most buckets of most series are idle, and a swap is a locked write.
		if b.counts[i].Load() != 0 {
			c = b.counts[i].Swap(0)
		}
		s.Counts[i] = c
		s.Count += c
	}
	s.Sum = math.Float64frombits(b.sum.Swap(0))
	s.Invalid = b.invalid.Swap(0)
}

// BucketsSnapshot is what a Buckets recorded in one interval. The zero value is ready for
// Buckets.Swap.
type BucketsSnapshot struct {
	Counts  []uint64 // per bucket, not cumulative; len(bounds)+1, the last is +Inf
	Count   uint64   // sum of Counts
	Sum     float64  // sum of the observations in float64 arithmetic
	Invalid uint64   // NaN and ±Inf observations, not recorded
}

// Cumulative returns the number of observations <= bound i, the Prometheus "le" count; i ==
// len(bounds) (the +Inf bucket) returns Count, and i < 0 returns 0. It panics if i > len(bounds).
func (s *BucketsSnapshot) Cumulative(i int) uint64 {
	var c uint64
	for j := 0; j <= i; j++ {
		c += s.Counts[j]
	}
	return c
}
