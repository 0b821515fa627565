package shard

import (
	"cmp"
	"math"
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Histogram is a mergeable quantile sketch with exact count, sum, min and max. Quantiles and bin
// values have a relative error of at most 0.95% for 2^-40 <= |v| < 2^64. The zero value is ready to
// use. A Histogram must not be copied after first use. All methods are safe for concurrent use.
//
// Mapping. A value's bin comes straight from its float64 bits: the exponent picks an octave
// [2^e, 2^(e+1)) and the top 8 mantissa bits pick one of 256 equal-width fine slots, which a 256-byte
// table groups into 40 bins per octave whose bounds are at most 1.9% apart (hi/lo <= 1.0192). A bin's
// value is the harmonic mean 2·lo·hi/(lo+hi) of its bounds, which has the same relative error
// (hi-lo)/(hi+lo) <= 0.95% at both ends. That is one shift, one table load and no math.Log. The
// plain "top 6 mantissa bits" mapping (64 linear bins per octave, 0.78%) measured the same, ~7 ns
// per Observe (BenchmarkHistogramMapping; thread CPU time, median of 15 runs, 2-core EPYC VM), but
// needs 60% more memory: linear bins are needlessly narrow at the top of an octave, and the table
// evens them out.
//
// Range and memory. |v| < 2^-40 (about 9.1e-13) counts in a zero bin whose value is 0; |v| >= 2^64
// counts in the highest bin. Min and max stay exact either way, and bin values are clamped into
// [Min, Max]. Counters live in chunks of 40 uint64 (320 bytes), one per octave and sign, allocated
// the first time a value falls in that octave and published with a compare-and-swap, so
// concurrent first touches are safe. Each sign costs one 896-byte chunk table, allocated on its
// first value: a series that never sees a negative value pays nothing for them. Before any of
// that, the first 16 distinct bins of each interval are counted in words of the struct itself (see
// Histogram.inline), so a histogram that sees up to 16 distinct bins an interval holds 208 bytes
// and no chunk. A latency histogram spanning 6 decades (20 octaves) holds 208 + 896 + 20·320 =
// 7,504 bytes; the hard maximum, every octave of both signs touched, is histMaxBytes = 68,560
// bytes. Bounded memory is why the range is clamped: a sketch over every float64 exponent could
// need 1.3 MB.
//
// Cost. Observe is the bin's atomic add, a compare-and-swap loop on the float64 sum, loads of min
// and max (a compare-and-swap only for a new extreme) and of the octave's touched bit (an atomic
// OR once per octave and interval). It allocates only on the first value in an octave. Count is
// not a separate counter: Swap derives it from the bins, so Count always equals the sum of the bins.
//
// Contention. A histogram observed by turns from different goroutines stripe.go's
// stripeAfterSwitches times in one interval (a few hundred times a second at a 10 s interval)
// becomes striped: Observe then records into one of 2·GOMAXPROCS (8 to 64) padded sub-histograms
// chosen by the calling goroutine, so cores stop taking each other's cache lines, and Swap merges
// them. Each stripe in use holds its own chunks, so a striped histogram's memory is up to the
// stripe count times a plain one's; cost and memory figures are in docs/perf.md.
//
// Swap and concurrency. Swap moves each bin out with an atomic swap, so every observation's count
// lands in exactly one snapshot, even under concurrent Observe. An observation racing a Swap may
// have its Sum, Min or Max contribution land in the neighbouring snapshot (the tear is at most the
// observations in flight during that Swap). If a torn snapshot has bins but no valid Min/Max,
// Swap takes them from the outermost bins, so Min <= Max whenever Count > 0.
type Histogram struct {
	// The fields every Observe reads come first, and the inline words after them, so that a
	// histogram counting a few bins inline touches as few cache lines as it can.
	striped   atomic.Pointer[histStripes] // set once contention makes the histogram stripe
	owner     atomic.Uint64               // stackHint of the goroutine that observed last, >> 13
	min       atomic.Uint64               // float64 bits XOR histPosInf: the zero value means +Inf
	max       atomic.Uint64               // float64 bits XOR histNegInf: the zero value means -Inf
	sum       atomic.Uint64               // float64 bits
	contended atomic.Uint32               // contended updates since the last Swap (stripe.go)
	words     atomic.Uint32               // this interval's use of the inline words: inlineUsed, inlineFull
	sides     [2]atomic.Pointer[histSide] // [0] positive, [1] negative (mirrored)
	zero      atomic.Uint64               // count of |v| < 2^histMinExp
	invalid   atomic.Uint64               // NaN and ±Inf

	// The first histInline distinct bins of each interval are counted here, without a chunk:
	// each word packs a bin (its inlineKey, in the top 16 bits; 0 for a free word) and its count
	// for the interval. Words fill in order and keep their bin until Swap frees them, so a bin
	// is in one word, except that an observation racing a Swap may take a second word for its
	// bin: Swap adds the two.
	inline [histInline]atomic.Uint64
}

// histStripes are a contended histogram's sub-histograms (see stripe.go). Observe records into the
// calling goroutine's stripe; Swap merges them all into the histogram's snapshot.
type histStripes struct {
	pick stripePicker
	subs []histStripe

	mu      sync.Mutex // serializes the merge's use of scratch
	scratch HistogramSnapshot
}

// histStripe pads a sub-histogram so that no two share a cache line, wherever the array starts.
type histStripe struct {
	h Histogram
	_ linePad
}

const (
	histMinExp     = -40 // the lowest octave is [2^-40, 2^-39)
	histOctaves    = 104 // octaves 2^-40 .. 2^63; values >= 2^64 fall into the last bin
	histSubs       = 40  // bins per octave
	histFineBits   = 8   // mantissa bits read to pick a bin
	histFineShift  = 52 - histFineBits
	histMaxRelErr  = 0.0095 // the bin grouping target; histogram_test.go checks the realized error
	histTouchWords = (histOctaves + 63) / 64

	histPosInf = 0x7ff0000000000000
	histNegInf = 0xfff0000000000000
)

// Inline bins (see Histogram.inline). A series that sees a few distinct values an interval, as
// most do at high cardinality, then needs no chunk table and no chunk: 208 bytes in all rather than
// 208 + 896 + 320 per octave touched, and an observation touches the struct's cache lines only
// rather than those of its chunk table and its chunk too. A histogram that sees more distinct
// bins in one interval marks itself full (inlineFull) at the first value that finds no word, and
// counts in its chunks from then until the next Swap: one load more per observation. An
// observation is counted inline only while its bin's count stays below histInlineMax, so the
// count never reaches the key bits; past that, and for weights of histInlineMax or more, it goes
// to the bin's chunk, and Swap adds the two.
//
// Why 16 words: the peer benchmarks at 100,000 series bring each series 7 to 12 observations an
// interval over a few dozen values, which 8 words did not hold; with 16 they stay out of the
// chunks (docs/perf.md has the figures). A histogram that spills still pays the scan of its 16
// words only until its first spill of the interval.
const (
	histInline    = 16
	histInlineMax = 1 << 46
	histCountBits = 48
	histCountMask = 1<<histCountBits - 1
)

// Histogram.words flags, reset by each Swap.
const (
	inlineUsed = 1 << iota // an observation took a free word
	inlineFull             // an observation found no word: the interval goes on in the chunks
)

// inlineKey is a bin's packed key: 1 + octave·histSubs + bin, plus 1<<15 for negative values.
func inlineKey(sign uint64, oct, sub int) uint64 {
	return uint64(1+oct*histSubs+sub) | sign<<15
}

// binKey turns an inline key into a snapshot bin key.
func binKey(k uint64) int32 {
	if k&(1<<15) != 0 {
		return -int32(k &^ (1 << 15))
	}
	return int32(k)
}

// observeInline counts n in the inline word of key, taking a free word for it if it has none.
// It returns false when the bin has no word and none is free, or its word's count is near full.
func (h *Histogram) observeInline(key, n uint64) bool {
	for i := range h.inline {
		w := &h.inline[i]
		for {
			old := w.Load()
			if old == 0 {
				if w.CompareAndSwap(0, key<<histCountBits|n) {
					// After the take, not before: a Swap that reads the flag before it is set
					// leaves the word for the next Swap, which then finds the flag.
					if h.words.Load()&inlineUsed == 0 {
						h.words.Or(inlineUsed)
					}
					return true
				}
				continue // another bin took the word, or the same one: look again
			}
			if old>>histCountBits != key {
				break
			}
			if old&histCountMask+n >= histInlineMax {
				return false
			}
			if w.CompareAndSwap(old, old+n) {
				return true
			}
		}
	}
	return false
}

// drainInline moves the inline counts into s's bins (unsorted; swap sorts them in) and frees
// every word, so that each interval's first histInline distinct bins are counted inline, not the
// histogram's first ever. Each word is taken and freed with one compare-and-swap, so an
// observation racing it lands either here or, in a word it takes again, in the next snapshot.
// Swap calls it only after an interval that took a word (Histogram.words), so that an idle
// histogram's Swap does not read its 16 words.
func (h *Histogram) drainInline(s *HistogramSnapshot) {
	for i := range h.inline {
		w := &h.inline[i]
		old := w.Load()
		for old != 0 && !w.CompareAndSwap(old, 0) {
			old = w.Load()
		}
		if n := old & histCountMask; n != 0 {
			s.bins = append(s.bins, histBin{key: binKey(old >> histCountBits), n: n})
		}
	}
}

// histChunk counts one octave of one sign.
type histChunk [histSubs]atomic.Uint64

// histSide is one sign's lazily filled chunk table. touched has a bit per octave that recorded
// something since the last Swap, so Swap skips quiet chunks without reading them.
type histSide struct {
	chunks  [histOctaves]atomic.Pointer[histChunk]
	touched [histTouchWords]atomic.Uint64
}

// The heap a Histogram holds, each object rounded up to its Go size class: the struct (208 bytes
// on 64-bit, a class), a chunk table per sign (848 bytes, class 896) and each chunk (320, a class).
// histogram_test.go checks the sizes and the heap actually allocated.
const (
	histStructBytes = 208
	histSideBytes   = 896
	histChunkBytes  = 320
	histMaxBytes    = histStructBytes + 2*(histSideBytes+histOctaves*histChunkBytes)
	// histStripesBytes is a striped histogram's histStripes, before its stripes' own chunks.
	histStripesBytes = int(unsafe.Sizeof(histStripes{}))
)

// histMapping is the fine-slot-to-bin table and each bin's value within an octave [1, 2).
type histMapping struct {
	sub   [1 << histFineBits]uint8 // fine slot -> bin
	lower [histSubs + 1]float64    // bin bounds in [1, 2]
	value [histSubs]float64        // harmonic mean of the bounds
}

// histMap is a value, not a pointer, so Observe reads the table without loading its address.
var histMap = histBuildMapping()

// histBuildMapping groups the fine slots greedily from the bottom of the octave, each bin as wide
// as histMaxRelErr allows. The greedy grouping of 256 slots at 0.95% gives exactly histSubs bins.
func histBuildMapping() histMapping {
	const fine = 1 << histFineBits
	ratio := (1 + histMaxRelErr) / (1 - histMaxRelErr)
	var m histMapping
	bin := 0
	for s := 0; s < fine; bin++ {
		if bin >= histSubs {
			panic("shard: histogram mapping needs more bins than histSubs")
		}
		e := s + 1
		for e < fine && (1+float64(e+1)/fine)/(1+float64(s)/fine) <= ratio {
			e++
		}
		for i := s; i < e; i++ {
			m.sub[i] = uint8(bin)
		}
		lo, hi := 1+float64(s)/fine, 1+float64(e)/fine
		m.lower[bin], m.lower[bin+1] = lo, hi
		m.value[bin] = 2 * lo * hi / (lo + hi)
		s = e
	}
	if bin != histSubs {
		panic("shard: histogram mapping needs fewer bins than histSubs")
	}
	return m
}

// Observe records v. NaN and ±Inf are not recorded; they are counted in HistogramSnapshot.Invalid.
func (h *Histogram) Observe(v float64) { h.ObserveN(v, 1) }

// ObserveN records v as n observations, as when a value arrives with sample rate 1/n. Sum grows by
// v·n. n == 0 records nothing.
func (h *Histogram) ObserveN(v float64, n uint64) {
	if n != 0 {
		h.observe(v, n, true)
	}
}

// observe records v as n observations. top is false for a stripe's sub-histogram, which neither
// stripes nor watches for contention itself: its histStripes does.
func (h *Histogram) observe(v float64, n uint64, top bool) {
	if top {
		if st := h.striped.Load(); st != nil {
			st.observe(v, n)
			return
		}
		// Contention seldom shows as a failed compare-and-swap (the cache line moves between
		// cores without one), so a change of observing goroutine counts as a contended update.
		if switchedTo(&h.owner, stackHint()>>13) {
			h.contend(1)
		}
	}
	b := math.Float64bits(v)
	exp := int(b>>52) & 0x7ff
	if exp == 0x7ff {
		h.invalid.Add(n)
		return
	}
	// Min before max before the bin: see the ordering note in Swap.
	if v < math.Float64frombits(h.min.Load()^histPosInf) {
		h.lowerMin(v)
	}
	if v > math.Float64frombits(h.max.Load()^histNegInf) {
		h.raiseMax(v)
	}
	x := v
	if n != 1 {
		x = v * float64(n)
	}
	if _, _, contended := addFloat(&h.sum, x, false); contended && top {
		h.contend(casFailWeight) // once per observation
	}
	oct := exp - (1023 + histMinExp)
	if oct < 0 {
		h.zero.Add(n)
		return
	}
	sub := int(histMap.sub[(b>>histFineShift)&(1<<histFineBits-1)])
	if oct >= histOctaves {
		oct, sub = histOctaves-1, histSubs-1
	}
	if n < histInlineMax && h.words.Load()&inlineFull == 0 {
		if h.observeInline(inlineKey(b>>63, oct, sub), n) {
			return
		}
		// The words are taken by other bins: until the next Swap every observation goes to the
		// chunks, without a scan, even of a bin that has a word (Swap adds the two).
		h.words.Or(inlineFull)
	}
	sd := h.sides[b>>63].Load()
	if sd == nil {
		sd = h.newSide(b >> 63)
	}
	c := sd.chunks[oct].Load()
	if c == nil {
		c = sd.newChunk(oct)
	}
	c[sub].Add(n)
	// The touched bit is set after the add and cleared by Swap before it reads the chunk, so a
	// count is never left behind in a chunk that Swap will skip.
	w, bit := &sd.touched[oct>>6], uint64(1)<<(oct&63)
	if w.Load()&bit == 0 {
		w.Or(bit)
	}
}

// casFailWeight is what a failed compare-and-swap counts for in contend: one stripeAfter-th of the
// threshold, as for the other cells.
const casFailWeight = stripeAfterSwitches / stripeAfter

// contend adds w to the contended updates of the interval, and stripes h when they reach
// stripeAfterSwitches.
//
//go:noinline
func (h *Histogram) contend(w uint32) {
	if c := h.contended.Add(w); c >= stripeAfterSwitches && c-w < stripeAfterSwitches {
		h.stripe()
	}
}

// stripe makes h striped.
func (h *Histogram) stripe() {
	n := stripeCount()
	st := &histStripes{pick: newStripePicker(n), subs: make([]histStripe, n)}
	h.striped.CompareAndSwap(nil, st)
}

// observe records v in the calling goroutine's stripe.
func (st *histStripes) observe(v float64, n uint64) {
	sub := &st.subs[st.pick.pick()].h
	if switchedTo(&sub.owner, stackHint()>>13) {
		st.pick.collided()
	}
	sub.observe(v, n, false)
}

func (h *Histogram) lowerMin(v float64) {
	nb := math.Float64bits(v) ^ histPosInf
	for {
		old := h.min.Load()
		if !(v < math.Float64frombits(old^histPosInf)) || h.min.CompareAndSwap(old, nb) {
			return
		}
	}
}

func (h *Histogram) raiseMax(v float64) {
	nb := math.Float64bits(v) ^ histNegInf
	for {
		old := h.max.Load()
		if !(v > math.Float64frombits(old^histNegInf)) || h.max.CompareAndSwap(old, nb) {
			return
		}
	}
}

//go:noinline
func (h *Histogram) newSide(sign uint64) *histSide {
	sd := new(histSide)
	if h.sides[sign].CompareAndSwap(nil, sd) {
		return sd
	}
	return h.sides[sign].Load()
}

//go:noinline
func (sd *histSide) newChunk(oct int) *histChunk {
	c := new(histChunk)
	if sd.chunks[oct].CompareAndSwap(nil, c) {
		return c
	}
	return sd.chunks[oct].Load()
}

// Swap resets s, moves everything recorded since the previous Swap into it and resets h. Chunks
// stay allocated, and s's buffers are reused: Swap allocates nothing in steady state. Swap may run
// concurrently with Observe and with other Swaps; each count lands in exactly one snapshot.
func (h *Histogram) Swap(s *HistogramSnapshot) {
	h.swap(s)
	h.contended.Store(0)
	st := h.striped.Load()
	if st == nil {
		return
	}
	st.pick.interval()
	st.mu.Lock()
	for i := range st.subs {
		st.subs[i].h.swap(&st.scratch)
		s.Merge(&st.scratch)
	}
	st.mu.Unlock()
}

// swap is Swap of h's own cells, without its stripes.
func (h *Histogram) swap(s *HistogramSnapshot) {
	s.Reset()
	if sd := h.sides[1].Load(); sd != nil {
		sd.drainNeg(s)
	}
	if z := h.zero.Load(); z != 0 {
		if z = h.zero.Swap(0); z != 0 {
			s.bins = append(s.bins, histBin{key: 0, n: z})
		}
	}
	if sd := h.sides[0].Load(); sd != nil {
		sd.drainPos(s)
	}
	chunked := len(s.bins)
	if h.words.Swap(0) != 0 {
		h.drainInline(s)
	}
	if len(s.bins) > chunked {
		s.mergeTail(chunked)
	}
	// Observe updates min, max and sum before its bin, and Swap takes them after the bins, so a
	// value counted here has almost always reached them too. A value in flight during the Swap may
	// still leave its extremes or sum in the other snapshot; the fallback below at least keeps
	// Min <= Max whenever Count > 0.
	s.Sum = math.Float64frombits(h.sum.Swap(0))
	s.Max = math.Float64frombits(h.max.Swap(0) ^ histNegInf)
	s.Min = math.Float64frombits(h.min.Swap(0) ^ histPosInf)
	s.Invalid = h.invalid.Swap(0)
	for _, b := range s.bins {
		s.Count += b.n
	}
	if s.Count == 0 {
		s.Min, s.Max = 0, 0
		return
	}
	if s.Min > s.Max || math.IsInf(s.Min, 0) || math.IsInf(s.Max, 0) {
		// Torn by a racing Observe: fall back on the outermost bins.
		lo, hi := histValue(s.bins[0].key), histValue(s.bins[len(s.bins)-1].key)
		if math.IsInf(s.Min, 0) || lo < s.Min {
			s.Min = lo
		}
		if math.IsInf(s.Max, 0) || hi > s.Max {
			s.Max = hi
		}
	}
}

// drainPos appends the positive bins in ascending order.
func (sd *histSide) drainPos(s *HistogramSnapshot) {
	for wi := range sd.touched {
		w := sd.touched[wi].Swap(0)
		for w != 0 {
			i := bits.TrailingZeros64(w)
			w &^= 1 << i
			oct := wi*64 + i
			c := sd.chunks[oct].Load()
			for sub := range c {
				if c[sub].Load() == 0 {
					continue
				}
				if n := c[sub].Swap(0); n != 0 {
					s.bins = append(s.bins, histBin{key: int32(1 + oct*histSubs + sub), n: n})
				}
			}
		}
	}
}

// drainNeg appends the negative bins in ascending value order: largest magnitude first.
func (sd *histSide) drainNeg(s *HistogramSnapshot) {
	for wi := len(sd.touched) - 1; wi >= 0; wi-- {
		w := sd.touched[wi].Swap(0)
		for w != 0 {
			i := 63 - bits.LeadingZeros64(w)
			w &^= 1 << i
			oct := wi*64 + i
			c := sd.chunks[oct].Load()
			for sub := len(c) - 1; sub >= 0; sub-- {
				if c[sub].Load() == 0 {
					continue
				}
				if n := c[sub].Swap(0); n != 0 {
					s.bins = append(s.bins, histBin{key: -int32(1 + oct*histSubs + sub), n: n})
				}
			}
		}
	}
}

// mergeTail merges the bins from i on, appended out of order (those counted in words), into the
// bins before i, which are in key order, adding up bins that appear twice (a bin counted both in a
// word and in its chunk, or in two words by an observation racing a Swap). It sorts only the tail,
// at most histInline bins, and merges in one pass into s.spare.
func (s *HistogramSnapshot) mergeTail(i int) {
	tail := s.bins[i:]
	slices.SortFunc(tail, func(a, b histBin) int { return cmp.Compare(a.key, b.key) })
	n := 0
	for _, b := range tail {
		if n > 0 && tail[n-1].key == b.key {
			tail[n-1].n += b.n
			continue
		}
		tail[n] = b
		n++
	}
	out := mergeBins(s.spare[:0], s.bins[:i], tail[:n])
	s.bins, s.spare = out, s.bins[:0]
}

// mergeBins appends to out the bins of a and b, each in key order with no key twice, in key
// order, adding up a key's two counts.
func mergeBins(out, a, b []histBin) []histBin {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i].key < b[j].key:
			out = append(out, a[i])
			i++
		case a[i].key > b[j].key:
			out = append(out, b[j])
			j++
		default:
			out = append(out, histBin{key: a[i].key, n: a[i].n + b[j].n})
			i++
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

// HistogramSnapshot is what a Histogram recorded in one interval. The zero value is an empty
// snapshot, ready for Histogram.Swap or Merge. Copying a snapshot copies references to its bins:
// to keep an independent copy, Merge it into a Reset snapshot.
type HistogramSnapshot struct {
	Count   uint64  // exact number of valid observations; always the sum of the bins
	Sum     float64 // sum of the observations in float64 arithmetic
	Min     float64 // exact smallest observation; meaningless when Count == 0
	Max     float64 // exact largest observation; meaningless when Count == 0
	Invalid uint64  // NaN and ±Inf observations, not recorded

	bins  []histBin // non-empty bins in ascending key (= value) order
	spare []histBin // Merge's output buffer, kept to make Merge allocation-free
}

// histBin is one non-empty bin. key is 0 for the zero bin and ±(1 + octave·histSubs + bin) for
// the others, so that key order is value order.
type histBin struct {
	key int32
	n   uint64
}

// histValue returns the representative value of the bin with the given key.
func histValue(key int32) float64 {
	if key == 0 {
		return 0
	}
	var sign uint64
	if key < 0 {
		key, sign = -key, 1<<63
	}
	i := int(key - 1)
	oct, sub := i/histSubs, i%histSubs
	// value[sub] is in [1, 2): adding to its exponent field scales it by 2^(oct+histMinExp) exactly.
	return math.Float64frombits(math.Float64bits(histMap.value[sub]) + uint64(int64(oct+histMinExp))<<52 | sign)
}

// Reset empties s, keeping its buffers.
func (s *HistogramSnapshot) Reset() {
	s.Count, s.Sum, s.Min, s.Max, s.Invalid = 0, 0, 0, 0, 0
	s.bins = s.bins[:0]
}

// clamp keeps a bin value inside the exact [Min, Max], which can only bring it closer to the
// values it stands for.
func (s *HistogramSnapshot) clamp(v float64) float64 {
	if v < s.Min {
		return s.Min
	}
	if v > s.Max {
		return s.Max
	}
	return v
}

// Quantile returns an estimate of the q-quantile: the value at 0-based rank floor(q·(Count-1)) of
// the observations in ascending order (the lower sample quantile, as DDSketch defines it), within
// 0.95% relative error for 2^-40 <= |v| < 2^64 and clamped into [Min, Max]. q <= 0 returns Min and
// q >= 1 returns Max exactly. It returns NaN when Count == 0 or q is NaN.
func (s *HistogramSnapshot) Quantile(q float64) float64 {
	if s.Count == 0 || q != q {
		return math.NaN()
	}
	if q <= 0 {
		return s.Min
	}
	if q >= 1 {
		return s.Max
	}
	rank := uint64(q * float64(s.Count-1))
	var cum uint64
	for _, b := range s.bins {
		if cum += b.n; cum > rank {
			return s.clamp(histValue(b.key))
		}
	}
	return s.Max // only if Count was changed by hand to exceed the bins
}

// Merge adds o into s: counts, sum, bins, and the extremes. Merging the snapshots of two halves of a
// stream gives the snapshot of the whole (Sum up to float64 rounding). s and o may be the same.
// Merge allocates only when s's buffers must grow.
func (s *HistogramSnapshot) Merge(o *HistogramSnapshot) {
	if o.Count > 0 {
		if s.Count == 0 {
			s.Min, s.Max = o.Min, o.Max
		} else {
			s.Min, s.Max = min(s.Min, o.Min), max(s.Max, o.Max)
		}
	}
	s.Count += o.Count
	s.Sum += o.Sum
	s.Invalid += o.Invalid
	if len(o.bins) == 0 {
		return
	}
	if len(s.bins) == 0 {
		s.bins = append(s.bins, o.bins...)
		return
	}
	a := s.bins
	s.bins, s.spare = mergeBins(s.spare[:0], a, o.bins), a[:0]
}

// Bins calls fn for each non-empty bin in ascending value order, with the bin's representative value
// and count. The value is within 0.95% of every value counted in the bin (for 2^-40 <= |v| < 2^64;
// the zero bin's value is 0) and clamped into [Min, Max]; the counts add up to Count. An exporter
// sends each bin as one weighted sample ("value|d|@rate" with rate 1/count). Bins allocates nothing.
func (s *HistogramSnapshot) Bins(fn func(value float64, count uint64)) {
	for _, b := range s.bins {
		fn(s.clamp(histValue(b.key)), b.n)
	}
}

// numBins returns the number of non-empty bins.
func (s *HistogramSnapshot) numBins() int { return len(s.bins) }
