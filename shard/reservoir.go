package shard

import (
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

// DefaultReservoirCap is the number of values a Reservoir keeps per interval when Cap is zero.
const DefaultReservoirCap = 1024

// Reservoir keeps a uniform random sample of at most Cap of the observations of one interval
// (Vitter's Algorithm R), for exporters that send raw values rather than a sketch. Each observation
// carries an integral weight, the number of values it stands for (1, or n for a value sampled at
// rate 1/n), kept beside it; the sample is uniform over observations and the weights say what each
// kept one stands for. The zero value is ready to use and keeps DefaultReservoirCap values. All
// methods are safe for concurrent use.
//
// Observe holds a mutex for a counter increment, one draw from math/rand/v2's per-thread generator
// and one store; NaN and ±Inf skip the lock. Memory is at most two buffers of Cap values and
// weights, 12 bytes each, grown as an interval brings values (8, 16, ... up to Cap): Swap hands
// the filled buffers out and the previous ones in, so steady state allocates nothing.
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
	wts     []uint32  // the weight of each kept value; len == len(kept)
	spare   []float64 // the other buffers, nil while a Swap is copying out of them
	spareW  []uint32
	count   uint64 // total weight of the valid observations since the last Swap
	events  uint64 // valid observations since the last Swap
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

// resStripe pads a sub-reservoir so that no two share a cache line, wherever the array starts.
type resStripe struct {
	r Reservoir
	_ linePad
}

// Observe records v. NaN and ±Inf are not recorded; Swap reports how many there were.
func (r *Reservoir) Observe(v float64) { r.ObserveN(v, 1) }

// ObserveN records v as one observation standing for n values, as when a value arrives with
// sample rate 1/n. n == 0 records nothing.
func (r *Reservoir) ObserveN(v float64, n uint32) {
	if n == 0 {
		return
	}
	if math.Float64bits(v)&histPosInf == histPosInf {
		r.invalid.Add(uint64(n))
		return
	}
	if st := r.striped.Load(); st != nil {
		sub := &st.subs[st.pick.pick()].r
		if !sub.mu.TryLock() {
			st.pick.collided()
			sub.mu.Lock()
		}
		sub.keep(v, n)
		sub.mu.Unlock()
		return
	}
	if !r.mu.TryLock() {
		r.contend()
		r.mu.Lock()
	}
	r.keep(v, n)
	r.mu.Unlock()
}

// keep adds v, of weight n, to the sample. Called with r.mu held.
func (r *Reservoir) keep(v float64, n uint32) {
	r.count += uint64(n)
	r.events++
	if len(r.kept) < cap(r.kept) {
		r.kept = append(r.kept, v)
		r.wts = append(r.wts, n)
	} else if len(r.kept) < r.limit() {
		r.grow(v, n)
	} else if j := rand.Uint64N(r.events); j < uint64(len(r.kept)) {
		// Algorithm R: the events-th observation replaces a random slot with probability
		// len/events, which keeps every observation seen so far in the sample with the same
		// probability.
		r.kept[j], r.wts[j] = v, n
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

// limit returns the most values the reservoir keeps.
func (r *Reservoir) limit() int {
	if r.Cap <= 0 {
		return DefaultReservoirCap
	}
	return r.Cap
}

// reservoirFirst is the capacity of a reservoir's buffers on its first value.
const reservoirFirst = 8

// grow adds v, of weight w, to full buffers below the limit, doubling them (at most to the limit).
// The buffers grow with the values an interval brings, not to Cap on the first value: a series
// that sees a few values an interval keeps a few, where 100,000 of them allocated up front cost
// 12 KiB each. Swap hands the buffers back, so an interval like the last allocates nothing.
// Called with r.mu held.
func (r *Reservoir) grow(v float64, w uint32) {
	n := min(max(2*cap(r.kept), reservoirFirst), r.limit())
	kept := make([]float64, len(r.kept), n)
	copy(kept, r.kept)
	wts := make([]uint32, len(r.wts), n)
	copy(wts, r.wts)
	r.kept, r.wts = append(kept, v), append(wts, w)
}

// ReservoirSnapshot is what Reservoir.Swap took out of a reservoir: one interval's sample. Its
// zero value is ready for Swap, which reuses its slices.
type ReservoirSnapshot struct {
	// Values is the sample, Weights[i] the number of values Values[i] stood for when it was
	// observed (1 unless it was sampled).
	Values  []float64
	Weights []uint32
	// Count is the total weight of the interval's valid observations; Observations is their
	// number. When Observations > len(Values) the sample is a uniform random subset of them, and
	// an exporter scales the weights up so that they add up to Count.
	Count        uint64
	Observations uint64
	// Invalid is the weight of the NaN and ±Inf observations, which were not kept.
	Invalid uint64
}

// Sampled reports whether the sample holds fewer observations than were made.
func (s *ReservoirSnapshot) Sampled() bool { return s.Observations > uint64(len(s.Values)) }

// Swap moves the sample kept since the previous Swap into s (reusing its slices) and resets r.
// It allocates only when s's slices must grow.
func (r *Reservoir) Swap(s *ReservoirSnapshot) {
	s.Values, s.Weights = s.Values[:0], s.Weights[:0]
	s.Count, s.Observations, s.Invalid = 0, 0, 0
	r.contended.Store(0)
	st := r.striped.Load()
	if st == nil {
		r.swap(s)
		return
	}
	st.pick.interval()
	st.merge(r, s)
}

// swap appends r's own sample, without its stripes, to s and adds its counts.
func (r *Reservoir) swap(s *ReservoirSnapshot) {
	r.mu.Lock()
	kept, wts := r.kept, r.wts
	s.Count += r.count
	s.Observations += r.events
	r.kept, r.wts, r.spare, r.spareW, r.count, r.events = r.spare[:0], r.spareW[:0], nil, nil, 0, 0
	r.mu.Unlock()
	s.Invalid += r.invalid.Swap(0)

	// Copy outside the lock; Observe meanwhile fills the other buffers.
	s.Values = append(s.Values, kept...)
	s.Weights = append(s.Weights, wts...)

	r.mu.Lock()
	if r.spare == nil && kept != nil {
		r.spare, r.spareW = kept[:0], wts[:0]
	}
	r.mu.Unlock()
}

// merge swaps r and every stripe into s as one uniform sample of at most r's Cap observations.
// Each stripe i kept len_i of its n_i observations uniformly; an observation of stripe i is kept
// again with probability p/(len_i/n_i), where p, the smallest of the len_i/n_i and of Cap/n, is
// the probability every observation then has of being in the sample: the sample is uniform over
// observations. Stripe i keeps about p·n_i of them, rounded by systematic sampling (one random
// offset for all stripes), so the total is at most Cap; each keeps its share by a partial
// Fisher-Yates shuffle, in place, moving weights with their values.
func (st *resStripes) merge(r *Reservoir, s *ReservoirSnapshot) {
	var obs [maxStripes + 1]uint64
	var ends [maxStripes + 1]int
	prev := s.Observations
	r.swap(s)
	obs[0], ends[0] = s.Observations-prev, len(s.Values)
	for i := range st.subs {
		prev = s.Observations
		st.subs[i].r.swap(s)
		obs[i+1], ends[i+1] = s.Observations-prev, len(s.Values)
	}
	n := len(st.subs) + 1
	if s.Observations == 0 {
		return
	}
	c := r.Cap
	if c <= 0 {
		c = DefaultReservoirCap
	}
	p := min(1, float64(c)/float64(s.Observations))
	start := 0
	for i := range n {
		if kept := ends[i] - start; obs[i] > 0 {
			p = min(p, float64(kept)/float64(obs[i]))
		}
		start = ends[i]
	}
	// Compact: stripe i keeps floor(u + p·(n_0+..+n_i)) - floor(u + p·(n_0+..+n_i-1)) of its
	// observations: p·n_i on average, never more than it holds, Cap in all.
	vs, ws := s.Values, s.Weights
	out, start := 0, 0
	u, cum, last := rand.Float64(), uint64(0), 0
	for i := range n {
		seg, wseg := vs[start:ends[i]], ws[start:ends[i]]
		start = ends[i]
		cum += obs[i]
		next := int(u + p*float64(cum))
		k := min(next-last, len(seg))
		last = next
		for j := 0; j < k; j++ {
			x := j + rand.IntN(len(seg)-j)
			seg[j], seg[x] = seg[x], seg[j]
			wseg[j], wseg[x] = wseg[x], wseg[j]
		}
		copy(vs[out:], seg[:k])
		copy(ws[out:], wseg[:k])
		out += k
	}
	s.Values, s.Weights = vs[:out], ws[:out]
}
