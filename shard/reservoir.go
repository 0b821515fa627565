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
//
// A reservoir whose mutex is found taken stripe.go's stripeAfter times in one interval becomes
// striped: each goroutine then observes into one of 2·GOMAXPROCS (8 to 64) sub-reservoirs of Cap
// values, allocated on first use, and Swap merges them into one uniform sample of at most Cap
// values. Its memory is then up to two buffers of Cap float64s per stripe in use.
type Reservoir struct {
	// Cap is the most values kept per interval. Set it before first use; zero means
	// DefaultReservoirCap.
	Cap int

	mu      sync.Mutex
	kept    []float64 // the sample; len <= Cap
	spare   []float64 // the other buffer, nil while a Swap is copying out of it
	count   uint64    // valid observations since the last Swap
	invalid atomic.Uint64

	contended atomic.Uint32              // Observes that found mu taken, since the last Swap
	striped   atomic.Pointer[resStripes] // set once contention makes the reservoir stripe
}

// resStripes are a contended reservoir's sub-reservoirs (see stripe.go), each a uniform sample of
// the values the goroutines that picked it observed. Swap merges them into one uniform sample.
type resStripes struct {
	pick stripePicker
	subs []resStripe
}

// resStripe pads a sub-reservoir so that no two share a cache line. (The pad cannot be computed
// from unsafe.Sizeof(Reservoir{}): Reservoir refers to this type.)
type resStripe struct {
	r Reservoir
	_ [cacheLine - 16]byte
}

// Observe records v. NaN and ±Inf are not recorded; Swap reports how many there were.
func (r *Reservoir) Observe(v float64) {
	if math.Float64bits(v)&histPosInf == histPosInf {
		r.invalid.Add(1)
		return
	}
	if st := r.striped.Load(); st != nil {
		sub := &st.subs[st.pick.pick()].r
		if !sub.mu.TryLock() {
			st.pick.collided()
			sub.mu.Lock()
		}
		sub.keep(v)
		sub.mu.Unlock()
		return
	}
	if !r.mu.TryLock() {
		r.contend()
		r.mu.Lock()
	}
	r.keep(v)
	r.mu.Unlock()
}

// keep adds v to the sample. Called with r.mu held.
func (r *Reservoir) keep(v float64) {
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
}

// contend counts an Observe that found the mutex taken, and stripes r at the stripeAfter-th since
// the last Swap. Every stripe keeps up to Cap values, allocated on its first value, so a reservoir
// recorded from two goroutines holds about twice the memory of one recorded from a single one.
//
//go:noinline
func (r *Reservoir) contend() {
	if r.contended.Add(1) != stripeAfter {
		return
	}
	n := stripeCount()
	st := &resStripes{pick: newStripePicker(n), subs: make([]resStripe, n)}
	for i := range st.subs {
		st.subs[i].r.Cap = r.Cap
	}
	r.striped.CompareAndSwap(nil, st)
}

// stripeNow makes r striped as if it had met stripeAfter contended Observes, for tests.
func (r *Reservoir) stripeNow() {
	for r.striped.Load() == nil {
		r.contend()
	}
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
	r.contended.Store(0)
	st := r.striped.Load()
	if st == nil {
		return r.swap(dst)
	}
	st.pick.interval()
	return st.merge(r, dst)
}

// swap is Swap of r's own sample, without its stripes.
func (r *Reservoir) swap(dst []float64) (samples []float64, count, invalid uint64) {
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

// merge swaps r and every stripe into dst as one uniform sample of at most r's Cap values. Each
// stripe i kept len_i of its count_i values uniformly; a value of stripe i is kept again with
// probability p/(len_i/count_i), where p, the smallest of the len_i/count_i and of Cap/count, is the
// probability every observation then has of being in the sample: the sample is uniform, and the
// exporter's rate len(samples)/count is unbiased. Stripe i keeps about p·count_i values, rounded by
// systematic sampling (one random offset for all stripes), so the total is at most Cap; each keeps
// its share by a partial Fisher-Yates shuffle, in place.
func (st *resStripes) merge(r *Reservoir, dst []float64) (samples []float64, count, invalid uint64) {
	base := len(dst)
	var counts [maxStripes + 1]uint64
	var ends [maxStripes + 1]int
	samples, counts[0], invalid = r.swap(dst)
	ends[0] = len(samples)
	for i := range st.subs {
		var c, inv uint64
		samples, c, inv = st.subs[i].r.swap(samples)
		counts[i+1], ends[i+1] = c, len(samples)
		invalid += inv
	}
	n := len(st.subs) + 1
	p := 1.0
	for i := range n {
		count += counts[i]
	}
	if count == 0 {
		return samples, 0, invalid
	}
	c := r.Cap
	if c <= 0 {
		c = DefaultReservoirCap
	}
	p = min(p, float64(c)/float64(count))
	start := base
	for i := range n {
		if kept := ends[i] - start; counts[i] > 0 {
			p = min(p, float64(kept)/float64(counts[i]))
		}
		start = ends[i]
	}
	// Compact: stripe i keeps floor(u + p·(count_0+..+count_i)) - floor(u + p·(count_0+..+count_i-1))
	// of its values: p·count_i on average, never more than it holds, Cap in all.
	out, start := base, base
	u, cum, prev := rand.Float64(), uint64(0), 0
	for i := range n {
		seg := samples[start:ends[i]]
		start = ends[i]
		cum += counts[i]
		next := int(u + p*float64(cum))
		k := min(next-prev, len(seg))
		prev = next
		for j := 0; j < k; j++ {
			x := j + rand.IntN(len(seg)-j)
			seg[j], seg[x] = seg[x], seg[j]
		}
		out += copy(samples[out:], seg[:k])
	}
	return samples[:out], count, invalid
}
