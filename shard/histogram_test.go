package shard

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

// histQuantiles are the quantiles every distribution is checked at.
var histQuantiles = []float64{0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999}

// histTolerance is the documented error bound (0.95%, within the project's 1%) plus float64
// rounding in the check itself. It does not follow histMaxRelErr, so loosening that fails tests.
const histTolerance = 0.0095 + 1e-12

// histRelErr returns |got-want|/|want|, or |got| when want is 0.
func histRelErr(got, want float64) float64 {
	if want == 0 {
		return math.Abs(got)
	}
	return math.Abs(got-want) / math.Abs(want)
}

// histExactQuantile is the definition Quantile documents: rank floor(q·(n-1)) of the sorted values.
func histExactQuantile(sorted []float64, q float64) float64 {
	return sorted[uint64(q*float64(len(sorted)-1))]
}

// histSnap observes vs into a fresh Histogram and returns its snapshot.
func histSnap(t testing.TB, vs []float64) *HistogramSnapshot {
	t.Helper()
	var h Histogram
	for _, v := range vs {
		h.Observe(v)
	}
	s := new(HistogramSnapshot)
	h.Swap(s)
	return s
}

func histSeq(n int, seed uint64, gen func(r *rand.Rand) float64) []float64 {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	vs := make([]float64, n)
	for i := range vs {
		vs[i] = gen(r)
	}
	return vs
}

func TestHistogramMappingBound(t *testing.T) {
	m := &histMap
	if m.lower[0] != 1 || m.lower[histSubs] != 2 {
		t.Fatalf("bins cover [%v, %v), want [1, 2)", m.lower[0], m.lower[histSubs])
	}
	worst := 0.0
	for i := range histSubs {
		lo, hi, v := m.lower[i], m.lower[i+1], m.value[i]
		if !(lo < v && v < hi) {
			t.Fatalf("bin %d: value %v outside [%v, %v)", i, v, lo, hi)
		}
		worst = max(worst, (v-lo)/lo, (hi-v)/hi)
	}
	if worst > histMaxRelErr || worst >= 0.01 {
		t.Fatalf("worst relative error of a bin value %.5f%%, want <= %.2f%%", worst*100, histMaxRelErr*100)
	}
	t.Logf("%d bins per octave, worst relative error %.4f%%", histSubs, worst*100)
	for f := range 1 << histFineBits {
		x := 1 + float64(f)/(1<<histFineBits)
		if b := m.sub[f]; !(m.lower[b] <= x && x < m.lower[b+1]) {
			t.Fatalf("fine slot %d (%v) maps to bin %d = [%v, %v)", f, x, b, m.lower[b], m.lower[b+1])
		}
	}
}

// TestHistogramBinValue checks every value's bin end to end, including the bin edges and both
// signs: one value, one bin, and the bin's value within the bound.
func TestHistogramBinValue(t *testing.T) {
	vs := histSeq(20000, 1, func(r *rand.Rand) float64 {
		v := math.Ldexp(1+r.Float64(), r.IntN(histOctaves)+histMinExp)
		if r.IntN(2) == 0 {
			v = -v
		}
		return v
	})
	for i := range histOctaves {
		for _, l := range histMap.lower {
			vs = append(vs, math.Ldexp(l, i+histMinExp), -math.Ldexp(l, i+histMinExp))
			vs = append(vs, math.Nextafter(math.Ldexp(l, i+histMinExp), 0))
		}
	}
	var h Histogram
	var s HistogramSnapshot
	for _, v := range vs {
		h.Observe(v)
		h.Swap(&s)
		if s.numBins() != 1 || s.Count != 1 {
			t.Fatalf("Observe(%v): got %d bins, count %d, want 1, 1", v, s.numBins(), s.Count)
		}
		got := histValue(s.bins[0].key)
		if e := histRelErr(got, v); e > histTolerance && math.Abs(v) >= math.Ldexp(1, histMinExp) {
			t.Fatalf("Observe(%v): bin value %v, relative error %.4f%%", v, got, e*100)
		}
		if s.Min != v || s.Max != v || s.Quantile(0.5) != v {
			t.Fatalf("Observe(%v): min %v max %v median %v, want all %v", v, s.Min, s.Max, s.Quantile(0.5), v)
		}
	}
}

func TestHistogramQuantile(t *testing.T) {
	const n = 100_000
	tests := []struct {
		name string
		vs   []float64
	}{
		{"uniform", histSeq(n, 2, func(r *rand.Rand) float64 { return r.Float64() * 1000 })},
		{"exponential", histSeq(n, 3, func(r *rand.Rand) float64 { return r.ExpFloat64() * 0.02 })},
		{"lognormal", histSeq(n, 4, func(r *rand.Rand) float64 { return math.Exp(r.NormFloat64()*2 - 7) })},
		{"1e-6..1e9", histSeq(n, 5, func(r *rand.Rand) float64 { return math.Pow(10, r.Float64()*15-6) })},
		{"negative", histSeq(n, 6, func(r *rand.Rand) float64 { return -math.Exp(r.NormFloat64() * 3) })},
		{"mixed-signs", histSeq(n, 7, func(r *rand.Rand) float64 { return r.NormFloat64() * 100 })},
		{"mixed-zeros", histSeq(n, 8, func(r *rand.Rand) float64 {
			if r.IntN(4) == 0 {
				return 0
			}
			return (r.Float64() - 0.3) * 1e4
		})},
		{"integers", histSeq(n, 9, func(r *rand.Rand) float64 { return float64(r.IntN(2000) - 500) })},
		{"constant", histSeq(n, 10, func(*rand.Rand) float64 { return 42.42 })},
		{"single", []float64{3.7e-5}},
		{"huge-and-tiny", histSeq(n, 11, func(r *rand.Rand) float64 { return math.Ldexp(1+r.Float64(), r.IntN(100)-38) })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := histSnap(t, tt.vs)
			sorted := slices.Clone(tt.vs)
			sort.Float64s(sorted)
			var sum float64
			for _, v := range tt.vs {
				sum += v
			}
			if s.Count != uint64(len(tt.vs)) {
				t.Errorf("Count: got %d, want %d", s.Count, len(tt.vs))
			}
			if s.Sum != sum {
				t.Errorf("Sum: got %v, want %v", s.Sum, sum)
			}
			if s.Min != sorted[0] || s.Max != sorted[len(sorted)-1] {
				t.Errorf("Min, Max: got %v, %v, want %v, %v", s.Min, s.Max, sorted[0], sorted[len(sorted)-1])
			}
			if got := s.Quantile(0); got != sorted[0] {
				t.Errorf("Quantile(0): got %v, want %v", got, sorted[0])
			}
			if got := s.Quantile(1); got != sorted[len(sorted)-1] {
				t.Errorf("Quantile(1): got %v, want %v", got, sorted[len(sorted)-1])
			}
			for _, q := range histQuantiles {
				want := histExactQuantile(sorted, q)
				got := s.Quantile(q)
				if e := histRelErr(got, want); e > histTolerance {
					t.Errorf("Quantile(%v): got %v, want %v (relative error %.4f%%)", q, got, want, e*100)
				}
			}
			var prev float64
			var total uint64
			first := true
			s.Bins(func(v float64, c uint64) {
				if !first && !(v > prev) {
					t.Errorf("Bins: value %v after %v, want ascending", v, prev)
				}
				if v < s.Min || v > s.Max || c == 0 {
					t.Errorf("Bins: value %v count %d, want a count > 0 and a value in [%v, %v]", v, c, s.Min, s.Max)
				}
				first, prev, total = false, v, total+c
			})
			if total != s.Count {
				t.Errorf("Bins: counts add up to %d, want %d", total, s.Count)
			}
		})
	}
}

func TestHistogramEdgeCases(t *testing.T) {
	var empty HistogramSnapshot
	if got := empty.Quantile(0.5); !math.IsNaN(got) {
		t.Errorf("empty Quantile(0.5): got %v, want NaN", got)
	}
	s := histSnap(t, []float64{1, 2, 3, 4})
	tests := []struct {
		q, want float64
	}{
		{-1, 1}, {0, 1}, {0.3, 1}, {0.34, 2}, {0.5, 2}, {0.66, 2}, {0.67, 3}, {0.99, 3}, {1, 4}, {2, 4}, {math.Inf(1), 4},
	}
	for _, tt := range tests {
		got := s.Quantile(tt.q)
		if e := histRelErr(got, tt.want); e > histTolerance || (tt.q <= 0 || tt.q >= 1) && got != tt.want {
			t.Errorf("Quantile(%v) of 1,2,3,4: got %v, want %v", tt.q, got, tt.want)
		}
	}
	if got := s.Quantile(math.NaN()); !math.IsNaN(got) {
		t.Errorf("Quantile(NaN): got %v, want NaN", got)
	}

	// Values outside the mapped range: exact extremes, bins in order.
	tiny, huge := math.SmallestNonzeroFloat64, math.MaxFloat64
	s = histSnap(t, []float64{-huge, -1e-300, 0, math.Copysign(0, -1), tiny, 1e-13, 1, 1e30, huge})
	if s.Count != 9 || s.Min != -huge || s.Max != huge {
		t.Errorf("out of range: got count %d min %v max %v, want 9, %v, %v", s.Count, s.Min, s.Max, -huge, huge)
	}
	if got, want := s.numBins(), 4; got != want {
		t.Errorf("out of range: got %d bins, want %d (-edge, zero, 1, +edge)", got, want)
	}
	if got := s.Quantile(0.5); got != 0 {
		t.Errorf("out of range: median got %v, want 0 (the zero bin)", got)
	}
}

func TestHistogramInvalid(t *testing.T) {
	var h Histogram
	h.Observe(math.NaN())
	h.Observe(math.Inf(1))
	h.ObserveN(math.Inf(-1), 5)
	h.ObserveN(1, 0)
	h.ObserveN(math.NaN(), 0)
	h.Observe(2)
	var s HistogramSnapshot
	h.Swap(&s)
	if s.Invalid != 7 || s.Count != 1 || s.Sum != 2 || s.Min != 2 || s.Max != 2 {
		t.Errorf("got invalid %d count %d sum %v min %v max %v, want 7, 1, 2, 2, 2", s.Invalid, s.Count, s.Sum, s.Min, s.Max)
	}
	h.Swap(&s)
	if s.Invalid != 0 || s.Count != 0 || s.Sum != 0 || s.numBins() != 0 {
		t.Errorf("second Swap: got invalid %d count %d sum %v bins %d, want all 0", s.Invalid, s.Count, s.Sum, s.numBins())
	}
}

func TestHistogramObserveN(t *testing.T) {
	vs := histSeq(2000, 12, func(r *rand.Rand) float64 { return float64(r.IntN(10000)-3000) / 8 })
	var a, b Histogram
	for i, v := range vs {
		n := uint64(i%7 + 1)
		a.ObserveN(v, n)
		for range n {
			b.Observe(v)
		}
	}
	var sa, sb HistogramSnapshot
	a.Swap(&sa)
	b.Swap(&sb)
	histEqual(t, &sa, &sb)
	if sa.Sum != sb.Sum {
		t.Errorf("Sum: got %v, want %v", sa.Sum, sb.Sum)
	}
}

// histEqual fails unless got and want have the same counts, extremes and bins.
func histEqual(t *testing.T, got, want *HistogramSnapshot) {
	t.Helper()
	if got.Count != want.Count || got.Min != want.Min || got.Max != want.Max || got.Invalid != want.Invalid {
		t.Errorf("got count %d min %v max %v invalid %d, want %d, %v, %v, %d",
			got.Count, got.Min, got.Max, got.Invalid, want.Count, want.Min, want.Max, want.Invalid)
	}
	if !slices.Equal(got.bins, want.bins) {
		t.Errorf("got %d bins, want %d; first difference at %d", len(got.bins), len(want.bins), histFirstDiff(got.bins, want.bins))
	}
	for _, q := range histQuantiles {
		if g, w := got.Quantile(q), want.Quantile(q); g != w {
			t.Errorf("Quantile(%v): got %v, want %v", q, g, w)
		}
	}
}

func histFirstDiff(a, b []histBin) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestHistogramMerge(t *testing.T) {
	vs := histSeq(100_000, 13, func(r *rand.Rand) float64 {
		return math.Round(r.NormFloat64()*1e4) + float64(r.IntN(3))*1e6
	})
	vs = append(vs, math.NaN(), 0, 1e-20)
	whole := histSnap(t, vs)
	for _, split := range []int{0, 1, len(vs) / 3, len(vs) - 1, len(vs)} {
		t.Run(fmt.Sprint(split), func(t *testing.T) {
			var m HistogramSnapshot
			m.Merge(histSnap(t, vs[:split]))
			m.Merge(histSnap(t, vs[split:]))
			histEqual(t, &m, whole)
			if m.Sum != whole.Sum {
				t.Errorf("Sum: got %v, want %v (integer values add exactly)", m.Sum, whole.Sum)
			}
		})
	}
	t.Run("self", func(t *testing.T) {
		var dbl HistogramSnapshot
		dbl.Merge(whole)
		dbl.Merge(whole)
		self := histSnap(t, vs)
		self.Merge(self)
		histEqual(t, self, &dbl)
	})
}

func TestHistogramSwapReuses(t *testing.T) {
	var h Histogram
	var s HistogramSnapshot
	for i := range 3 {
		for v := 1.0; v < 1e6; v *= 1.1 {
			h.Observe(v)
		}
		mem := h.memBytes()
		h.Swap(&s)
		if s.Count != 145 {
			t.Fatalf("round %d: got count %d, want 145", i, s.Count)
		}
		if got := h.memBytes(); got != mem {
			t.Fatalf("round %d: Swap changed memory from %d to %d bytes, want chunks kept", i, mem, got)
		}
	}
	h.Swap(&s)
	if s.Count != 0 || s.numBins() != 0 || s.Sum != 0 || s.Min != 0 || s.Max != 0 {
		t.Errorf("idle Swap: got count %d bins %d sum %v min %v max %v, want zeros", s.Count, s.numBins(), s.Sum, s.Min, s.Max)
	}
}

// noInline takes every inline word of h for bins no test observes (the negative top octave), so
// that what h observes next goes to its chunks.
func noInline(h *Histogram) {
	for i := range h.inline {
		h.inline[i].Store(inlineKey(1, histOctaves-1, i) << histCountBits)
	}
}

// chunksOnly keeps h counting in its chunks: noInline again after every Swap, which frees the
// words.
func chunksOnly(h *Histogram, s *HistogramSnapshot) {
	h.Swap(s)
	noInline(h)
}

// TestHistogramInlineRounds: interval after interval, whether its bins fit the inline words or
// spill past them, a histogram's snapshot is exactly what one counting only in chunks reports,
// and it allocates its chunk table only when they do not fit.
func TestHistogramInlineRounds(t *testing.T) {
	for _, c := range []struct {
		distinct int
		chunks   bool
	}{
		{histInline - 1, false},
		{histInline, false},
		{histInline + 1, true},
		{1000, true},
	} {
		var h, chunked Histogram
		var a, b HistogramSnapshot
		noInline(&chunked)
		for round := range 5 {
			// Values change from one interval to the next and repeat within one, with weights,
			// so that the words are freed and taken again every interval.
			for i := range 3 * c.distinct {
				v := float64(round*c.distinct+i%c.distinct) + 0.5
				h.ObserveN(v, uint64(i%3+1))
				chunked.ObserveN(v, uint64(i%3+1))
			}
			h.Swap(&a)
			chunksOnly(&chunked, &b)
			histCheckSnap(t, &a)
			if !slices.Equal(a.bins, b.bins) || a.Count != b.Count || a.Sum != b.Sum {
				t.Fatalf("%d distinct, round %d: bins %v (%d) count %d, chunks only %v (%d) count %d",
					c.distinct, round, head(a.bins), len(a.bins), a.Count, head(b.bins), len(b.bins), b.Count)
			}
		}
		if got := h.sides[0].Load() != nil; got != c.chunks {
			t.Errorf("%d distinct bins an interval: chunk table allocated %v, want %v", c.distinct, got, c.chunks)
		}
	}
}

// TestHistogramIdleSwap: a Swap after an interval that took no inline word does not read the
// words, and one racing the take of a word (taken before the Swap, flagged after it) leaves the
// count for the next Swap rather than losing it.
func TestHistogramIdleSwap(t *testing.T) {
	var h Histogram
	var s HistogramSnapshot
	h.Observe(1.5)
	h.Swap(&s)
	if s.Count != 1 || h.words.Load() != 0 {
		t.Fatalf("count %d, flags %b after the Swap; want 1, 0", s.Count, h.words.Load())
	}
	// The racing observer's compare-and-swap on a free word, then this Swap, then its flag.
	h.inline[0].Store(inlineKey(0, 41, 3)<<histCountBits | 3)
	h.Swap(&s)
	if s.Count != 0 {
		t.Errorf("unflagged word: count %d in the Swap, want 0 (left for the next one)", s.Count)
	}
	h.words.Or(inlineUsed)
	h.Swap(&s)
	if s.Count != 3 || s.numBins() != 1 || h.inline[0].Load() != 0 {
		t.Errorf("after the flag: count %d in %d bins, word %#x; want 3 in 1, a free word", s.Count, s.numBins(), h.inline[0].Load())
	}
	// A bin in two words (an observation racing a Swap took a second one) is one bin of both counts.
	key := inlineKey(0, 41, 3)
	h.inline[0].Store(key<<histCountBits | 2)
	h.inline[1].Store(inlineKey(0, 42, 0)<<histCountBits | 1)
	h.inline[2].Store(key<<histCountBits | 5)
	h.words.Or(inlineUsed)
	h.Swap(&s)
	if s.Count != 8 || s.numBins() != 2 || s.bins[0] != (histBin{key: binKey(key), n: 7}) {
		t.Errorf("a bin in two words: count %d in bins %v, want 8 in 2, the first of 7", s.Count, s.bins)
	}
}

// TestHistogramInline: the first histInline distinct bins are counted without chunks, and a
// histogram whose values spill past them, or whose inline counts near their limit, reports
// exactly what one counting only in chunks reports.
func TestHistogramInline(t *testing.T) {
	var few Histogram
	for _, v := range []float64{0.001, 0.01, 0.02, 0.1, 1.5, 1.5, -3} {
		few.Observe(v)
	}
	if few.sides[0].Load() != nil || few.sides[1].Load() != nil {
		t.Error("a histogram of 6 distinct bins allocated a chunk table")
	}
	for _, vs := range [][]float64{
		{0.001, 0.01, 0.02, 0.1, 1.5, 1.5, -3},
		histSeq(10_000, 21, func(r *rand.Rand) float64 { return math.Exp(r.NormFloat64()*3) - 2 }),
	} {
		var mixed, chunked Histogram
		noInline(&chunked)
		for _, v := range vs {
			mixed.Observe(v)
			chunked.Observe(v)
		}
		var a, b HistogramSnapshot
		mixed.Swap(&a)
		chunksOnly(&chunked, &b)
		if !slices.Equal(a.bins, b.bins) || a.Count != b.Count {
			t.Errorf("%d values: inline bins %v, chunks only %v", len(vs), head(a.bins), head(b.bins))
		}
	}
	// A word near its limit sends the bin's next counts to its chunk; Swap adds both.
	var h Histogram
	h.Observe(2)
	h.inline[0].Add(histInlineMax - 2)
	h.ObserveN(2, 5)
	h.Observe(2)
	var s HistogramSnapshot
	h.Swap(&s)
	if s.numBins() != 1 || s.Count != histInlineMax-1+5+1 {
		t.Errorf("near-full word: %d bins, count %d, want 1 bin of %d", s.numBins(), s.Count, uint64(histInlineMax+5))
	}
	h.Observe(2)
	h.Swap(&s)
	if s.Count != 1 {
		t.Errorf("after the Swap: count %d, want 1", s.Count)
	}
	// Each interval's first bins are counted inline, not the histogram's first ever: a series
	// whose few values change from one interval to the next never needs a chunk.
	var moving Histogram
	for i := range 50 {
		for j := range 5 {
			moving.Observe(math.Ldexp(1+float64(j)*0.2, i%30))
		}
		moving.Swap(&s)
		if s.Count != 5 || s.numBins() != 5 {
			t.Fatalf("interval %d: %d values in %d bins, want 5 in 5", i, s.Count, s.numBins())
		}
	}
	if moving.sides[0].Load() != nil {
		t.Error("a histogram of 5 distinct values an interval allocated chunks over 50 intervals")
	}
}

func head(bs []histBin) []histBin { return bs[:min(len(bs), 6)] }

// TestHistogramTouched checks the bookkeeping that lets Swap skip quiet chunks: one bit per
// octave that recorded something, cleared by Swap.
func TestHistogramTouched(t *testing.T) {
	touched := func(h *Histogram, sign int) (n int) {
		t.Helper()
		if sd := h.sides[sign].Load(); sd != nil {
			for i := range sd.touched {
				n += bits.OnesCount64(sd.touched[i].Load())
			}
		}
		return n
	}
	var h Histogram
	noInline(&h)
	for _, v := range []float64{1, 1.5, 3, 1e6, 1e6, -2e-9, 0} {
		h.Observe(v)
	}
	if p, n := touched(&h, 0), touched(&h, 1); p != 3 || n != 1 {
		t.Fatalf("after Observe: got %d positive and %d negative octaves touched, want 3 and 1", p, n)
	}
	var s HistogramSnapshot
	h.Swap(&s)
	if p, n := touched(&h, 0), touched(&h, 1); p != 0 || n != 0 {
		t.Fatalf("after Swap: got %d positive and %d negative octaves touched, want 0 and 0", p, n)
	}
	h.Observe(1e6)
	h.Swap(&s)
	if s.Count != 1 || s.numBins() != 1 {
		t.Fatalf("second interval: got count %d in %d bins, want 1 in 1", s.Count, s.numBins())
	}
}

// TestHistogramConcurrent checks that every count lands in exactly one snapshot while writers race
// a Swap loop: the merged snapshots equal a serial histogram of the same values.
func TestHistogramConcurrent(t *testing.T) {
	// 2,001 distinct values spill past the inline words every interval; 13 stay in them, so that
	// Swaps race observations there.
	for _, span := range []int{1000, 6} {
		t.Run(fmt.Sprintf("values=%d", 2*span+1), func(t *testing.T) { histConcurrent(t, span) })
	}
}

func histConcurrent(t *testing.T, span int) {
	const writers, perWriter = 8, 100_000
	var h Histogram
	var done atomic.Bool
	var merged HistogramSnapshot
	var swaps int
	swapped := make(chan struct{})
	go func() {
		defer close(swapped)
		var s HistogramSnapshot
		deadline := time.Now().Add(20 * time.Second)
		for !done.Load() && time.Now().Before(deadline) {
			h.Swap(&s)
			histCheckSnap(t, &s)
			merged.Merge(&s)
			swaps++
		}
	}()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 14))
			for range perWriter {
				v := float64(r.IntN(2*span+1) - span)
				h.ObserveN(v, uint64(r.IntN(3)+1))
			}
		})
	}
	wg.Wait()
	done.Store(true)
	<-swapped
	var s HistogramSnapshot
	h.Swap(&s)
	merged.Merge(&s)

	// The same values, serially.
	var ref Histogram
	for w := range writers {
		r := rand.New(rand.NewPCG(uint64(w), 14))
		for range perWriter {
			v := float64(r.IntN(2*span+1) - span)
			ref.ObserveN(v, uint64(r.IntN(3)+1))
		}
	}
	var want HistogramSnapshot
	ref.Swap(&want)
	t.Logf("%d swaps", swaps)
	if merged.Count != want.Count || !slices.Equal(merged.bins, want.bins) {
		t.Errorf("merged snapshots: got count %d, %d bins, want %d, %d bins", merged.Count, len(merged.bins), want.Count, len(want.bins))
	}
	if merged.Sum != want.Sum {
		t.Errorf("merged snapshots: got sum %v, want %v", merged.Sum, want.Sum)
	}
}

// histCheckSnap checks the invariants every snapshot keeps, torn or not.
func histCheckSnap(t *testing.T, s *HistogramSnapshot) {
	var c uint64
	for i, b := range s.bins {
		if i > 0 && b.key <= s.bins[i-1].key {
			t.Errorf("bins out of order: key %d after %d", b.key, s.bins[i-1].key)
		}
		c += b.n
	}
	if c != s.Count {
		t.Errorf("bins add up to %d, want Count %d", c, s.Count)
	}
	if s.Count > 0 && !(s.Min <= s.Max) {
		t.Errorf("count %d with min %v > max %v", s.Count, s.Min, s.Max)
	}
}

// TestHistogramFirstTouchRace has many goroutines hit the same fresh chunk at once, so the
// chunk and side publication races are exercised.
func TestHistogramFirstTouchRace(t *testing.T) {
	const g, rounds = 8, 200
	for round := range rounds {
		var h Histogram
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range g {
			wg.Go(func() {
				<-start
				v := float64(round + 1)
				if i%2 == 1 {
					v = -v
				}
				h.Observe(v)
				h.Observe(v * 1e6)
			})
		}
		close(start)
		wg.Wait()
		var s HistogramSnapshot
		h.Swap(&s)
		if s.Count != 2*g || s.numBins() != 4 {
			t.Fatalf("round %d: got count %d in %d bins, want %d in 4", round, s.Count, s.numBins(), 2*g)
		}
	}
}

func TestHistogramMemory(t *testing.T) {
	if s := unsafe.Sizeof(Histogram{}); s > histStructBytes {
		t.Errorf("Histogram is %d bytes, histMaxBytes assumes <= %d", s, histStructBytes)
	}
	if s := unsafe.Sizeof(histSide{}); s > histSideBytes {
		t.Errorf("histSide is %d bytes, histMaxBytes assumes <= %d", s, histSideBytes)
	}
	if s := unsafe.Sizeof(histChunk{}); s != histChunkBytes {
		t.Errorf("histChunk is %d bytes, histMaxBytes assumes %d", s, histChunkBytes)
	}

	// Every bin of both signs, zero and the edges.
	var all []float64
	for i := range histOctaves {
		for _, v := range histMap.value {
			all = append(all, math.Ldexp(v, i+histMinExp), -math.Ldexp(v, i+histMinExp))
		}
	}
	all = append(all, 0, 1e-300, math.MaxFloat64, -math.MaxFloat64)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	runtime.ReadMemStats(&after)
	overhead := after.TotalAlloc - before.TotalAlloc // what ReadMemStats itself allocates
	runtime.ReadMemStats(&before)
	h := new(Histogram)
	for _, v := range all {
		h.Observe(v)
	}
	runtime.ReadMemStats(&after)
	if got := h.memBytes(); got != histMaxBytes {
		t.Errorf("full range: memBytes %d, want histMaxBytes %d", got, histMaxBytes)
	}
	if got := after.TotalAlloc - before.TotalAlloc - overhead; got > histMaxBytes {
		t.Errorf("full range: heap allocated %d bytes, want <= histMaxBytes %d", got, histMaxBytes)
	}
	var s HistogramSnapshot
	h.Swap(&s)
	if got, want := s.numBins(), 2*histOctaves*histSubs+1; got != want {
		t.Errorf("full range: got %d bins, want %d", got, want)
	}

	// A latency histogram in seconds over 6 decades, 1µs .. 1s.
	lat := new(Histogram)
	for _, v := range histSeq(100_000, 15, func(r *rand.Rand) float64 { return math.Pow(10, -6+6*r.Float64()) }) {
		lat.Observe(v)
	}
	const want = histStructBytes + histSideBytes + 20*histChunkBytes // 1e-6 .. 1 is in octaves 2^-20 .. 2^-1
	if got := lat.memBytes(); got != want {
		t.Errorf("6-decade latency: memBytes %d, want %d", got, want)
	}
	t.Logf("full range %d bytes, 6-decade latency %d bytes", h.memBytes(), lat.memBytes())
}

func TestHistogramAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	vs := histSeq(1024, 16, func(r *rand.Rand) float64 { return math.Exp(r.NormFloat64()*2) - 3 })
	var h Histogram
	var s, m HistogramSnapshot
	for _, v := range vs {
		h.Observe(v)
	}
	h.Swap(&s)
	m.Merge(&s)
	m.Merge(&s)
	i := 0
	tests := []struct {
		name string
		fn   func()
	}{
		{"Observe", func() { h.Observe(vs[i&1023]); i++ }},
		{"ObserveN", func() { h.ObserveN(vs[i&1023], 3); i++ }},
		{"Swap", func() {
			for _, v := range vs {
				h.Observe(v)
			}
			h.Swap(&s)
		}},
		{"Merge", func() { m.Merge(&s) }},
		{"Quantile", func() { _ = s.Quantile(0.99) }},
		{"Bins", func() {
			var sum float64
			s.Bins(func(v float64, c uint64) { sum += v * float64(c) })
		}},
	}
	for _, tt := range tests {
		if got := testing.AllocsPerRun(100, tt.fn); got != 0 {
			t.Errorf("%s: got %v allocs per run, want 0", tt.name, got)
		}
	}
}

func ExampleHistogram() {
	var h Histogram
	for i := 1; i <= 1000; i++ {
		h.Observe(float64(i) / 1000) // 1ms .. 1s
	}
	var s HistogramSnapshot
	h.Swap(&s) // s now holds the interval; h is empty again
	fmt.Println(s.Count, s.Sum, s.Min, s.Max)
	fmt.Printf("p50 %.3f p99 %.3f\n", s.Quantile(0.5), s.Quantile(0.99))
	// Output:
	// 1000 500.5 0.001 1
	// p50 0.504 p99 0.983
}

func ExampleHistogramSnapshot_Bins() {
	var h Histogram
	h.ObserveN(0.25, 3) // e.g. one value sent with sample rate 1/3
	h.Observe(7)
	h.Observe(7)
	var s HistogramSnapshot
	h.Swap(&s)
	s.Bins(func(v float64, n uint64) {
		fmt.Printf("%.3g x%d\n", v, n) // within 0.95% of the values in the bin
	})
	// Output:
	// 0.252 x3
	// 7 x2
}
