package shard

import (
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

// DefaultReservoirCap is the number of values a Reservoir keeps per interval when Cap is zero.
const DefaultReservoirCap = 1024

// Reservoir keeps a uniform random sample of at most Cap of the values observed in one interval
// (Vitter's Algorithm R), for exporters that send raw values rather than a sketch. The zero value is
// ready to use and keeps DefaultReservoirCap values. All methods are safe for concurrent use.
//
// Observe holds a mutex for a counter increment, one draw from math/rand/v2's per-thread generator
// and one store; NaN and ±Inf skip the lock. Memory is at most two buffers of Cap float64s: Swap
// hands the filled buffer out and the previous one in, so steady state allocates nothing.
type Reservoir struct {
	// Cap is the most values kept per interval. Set it before first use; zero means
	// DefaultReservoirCap.
	Cap int

	mu      sync.Mutex
	kept    []float64 // the sample; len <= Cap
	spare   []float64 // the other buffer, nil while a Swap is copying out of it
	count   uint64    // valid observations since the last Swap
	invalid atomic.Uint64
}

// Observe records v. NaN and ±Inf are not recorded; Swap reports how many there were.
func (r *Reservoir) Observe(v float64) {
	if math.Float64bits(v)&histPosInf == histPosInf {
		r.invalid.Add(1)
		return
	}
	r.mu.Lock()
	r.count++
	if len(r.kept) < cap(r.kept) {
		r.kept = append(r.kept, v)
	} else if r.kept == nil {
		r.fill(v)
	} else if j := rand.Uint64N(r.count); j < uint64(len(r.kept)) {
		// Algorithm R: the count-th value replaces a random slot with probability len/count, which
		// keeps every value seen so far in the sample with the same probability.
		r.kept[j] = v
	}
	r.mu.Unlock()
}

// fill allocates the sample buffer on the first value. Called with r.mu held.
func (r *Reservoir) fill(v float64) {
	n := r.Cap
	if n <= 0 {
		n = DefaultReservoirCap
	}
	r.kept = make([]float64, 1, n)
	r.kept[0] = v
}

// Swap appends the values kept since the previous Swap to dst and resets r. count is the number
// of valid observations since the previous Swap and invalid the number of NaN and ±Inf ones. When
// count > len(samples)-len(dst), the samples are a uniform random subset of the observations: an
// exporter sends them with sample rate (len(samples)-len(dst))/count so the receiver's totals stay
// unbiased. Swap allocates only when dst must grow.
func (r *Reservoir) Swap(dst []float64) (samples []float64, count, invalid uint64) {
	r.mu.Lock()
	kept := r.kept
	count = r.count
	r.kept, r.spare, r.count = r.spare[:0], nil, 0
	r.mu.Unlock()
	invalid = r.invalid.Swap(0)

	// Copy outside the lock; Observe meanwhile fills the other buffer.
	samples = append(dst, kept...)

	r.mu.Lock()
	if r.spare == nil && kept != nil {
		r.spare = kept[:0]
	}
	r.mu.Unlock()
	return samples, count, invalid
}
