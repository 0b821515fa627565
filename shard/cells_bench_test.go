package shard

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync/atomic"
	"testing"
)

// Run: go test -run XXX -bench . -benchmem -count 10 ./shard/ | benchstat -
//
// Every Observe benchmark has a raw-atomic-add sub-benchmark (one atomic.AddUint64 on one word,
// alone and from every P) so the ratio can be read from one run on a noisy machine.

// histBenchValues are latency-like values (lognormal seconds, about 1µs .. 1s) indexed by i&1023, so
// observations spread over many bins and chunks as they would in a service.
var histBenchValues = histSeq(1024, 99, func(r *rand.Rand) float64 { return math.Exp(r.NormFloat64()*2 - 7) })

// histBenchObserve runs the baseline and fn, alone and in parallel.
func histBenchObserve(b *testing.B, fn func(v float64)) {
	var word uint64
	b.Run("raw-atomic-add", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			atomic.AddUint64(&word, 1)
		}
	})
	b.Run("observe", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			fn(histBenchValues[i&1023])
			i++
		}
	})
	b.Run("raw-atomic-add-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				atomic.AddUint64(&word, 1)
			}
		})
	})
	b.Run("observe-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := rand.IntN(1024)
			for pb.Next() {
				fn(histBenchValues[i&1023])
				i++
			}
		})
	})
}

func BenchmarkHistogramObserve(b *testing.B) {
	var h Histogram
	histBenchObserve(b, h.Observe)
}

func BenchmarkBucketsObserve(b *testing.B) {
	bk, err := NewBuckets([]float64{0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5})
	if err != nil {
		b.Fatal(err)
	}
	histBenchObserve(b, bk.Observe)
}

func BenchmarkReservoirObserve(b *testing.B) {
	var r Reservoir
	histBenchObserve(b, r.Observe)
}

// BenchmarkHistogramMapping compares Histogram.Observe against the same cell with the plain
// "top 6 mantissa bits" mapping (histLinear, below): 64 linear bins per octave, no table load, 60%
// more memory. The table mapping was kept because it costs nothing measurable.
func BenchmarkHistogramMapping(b *testing.B) {
	var h Histogram
	var l histLinear
	for _, tt := range []struct {
		name string
		fn   func(float64)
	}{{"table-40", h.Observe}, {"linear-64", l.Observe}} {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				tt.fn(histBenchValues[i&1023])
				i++
			}
		})
	}
}

// histLinear is Histogram.Observe with the bin taken from the top 6 mantissa bits, for
// BenchmarkHistogramMapping only.
type histLinear struct {
	sides   [2]atomic.Pointer[[histOctaves]atomic.Pointer[[64]atomic.Uint64]]
	touched [2][histTouchWords]atomic.Uint64
	min     atomic.Uint64
	max     atomic.Uint64
	sum     atomic.Uint64
	zero    atomic.Uint64
	invalid atomic.Uint64
}

func (h *histLinear) Observe(v float64) {
	b := math.Float64bits(v)
	exp := int(b>>52) & 0x7ff
	if exp == 0x7ff {
		h.invalid.Add(1)
		return
	}
	if v < math.Float64frombits(h.min.Load()^histPosInf) {
		h.min.Store(math.Float64bits(v) ^ histPosInf) // a CAS loop in the real thing; rare here
	}
	if v > math.Float64frombits(h.max.Load()^histNegInf) {
		h.max.Store(math.Float64bits(v) ^ histNegInf)
	}
	for {
		old := h.sum.Load()
		if h.sum.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			break
		}
	}
	oct := exp - (1023 + histMinExp)
	if oct < 0 {
		h.zero.Add(1)
		return
	}
	sub := int(b>>46) & 63
	if oct >= histOctaves {
		oct, sub = histOctaves-1, 63
	}
	sign := b >> 63
	sd := h.sides[sign].Load()
	if sd == nil {
		h.sides[sign].CompareAndSwap(nil, new([histOctaves]atomic.Pointer[[64]atomic.Uint64]))
		sd = h.sides[sign].Load()
	}
	c := sd[oct].Load()
	if c == nil {
		sd[oct].CompareAndSwap(nil, new([64]atomic.Uint64))
		c = sd[oct].Load()
	}
	c[sub].Add(1)
	w, bit := &h.touched[sign][oct>>6], uint64(1)<<(oct&63)
	if w.Load()&bit == 0 {
		w.Or(bit)
	}
}

// BenchmarkBucketsSearch compares sort.SearchFloat64s, which Buckets uses, with a linear scan, for
// two value patterns spread evenly over the buckets.
func BenchmarkBucketsSearch(b *testing.B) {
	for _, nb := range []int{10, 16, 24} {
		bounds := make([]float64, nb)
		for i := range bounds {
			bounds[i] = float64(i + 1)
		}
		r := rand.New(rand.NewPCG(1, 2))
		random, stride := make([]float64, 1024), make([]float64, 1024)
		for i := range random {
			random[i] = r.Float64() * float64(nb+1)
			stride[i] = float64(i*7919%(1000*(nb+1))) / 1000
		}
		for _, vs := range []struct {
			name string
			vs   []float64
		}{{"random", random}, {"stride", stride}} {
			for _, tt := range []struct {
				name string
				fn   func([]float64, float64) int
			}{{"linear", bktLinearSearch}, {"sort.SearchFloat64s", sort.SearchFloat64s}} {
				b.Run(fmt.Sprintf("%d-bounds/%s/%s", nb, vs.name, tt.name), func(b *testing.B) {
					sink, i := 0, 0
					for b.Loop() {
						sink += tt.fn(bounds, vs.vs[i&1023])
						i++
					}
					if sink < 0 {
						b.Fatal("unreachable: keeps sink alive")
					}
				})
			}
		}
	}
}

// bktLinearSearch is the linear alternative BenchmarkBucketsSearch measures.
func bktLinearSearch(bounds []float64, v float64) int {
	i := 0
	for i < len(bounds) && v > bounds[i] {
		i++
	}
	return i
}

// BenchmarkHistogramSwap is the flush's cost per series: Swap after 1024 observations spread over
// about 20 octaves, and Swap of an idle histogram whose chunks are allocated.
func BenchmarkHistogramSwap(b *testing.B) {
	var h Histogram
	var s HistogramSnapshot
	b.Run("busy", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			for _, v := range histBenchValues {
				h.Observe(v)
			}
			b.StartTimer()
			h.Swap(&s)
		}
		b.ReportMetric(float64(s.numBins()), "bins")
	})
	b.Run("idle", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h.Swap(&s)
		}
	})
}

// BenchmarkHistogramQuantile is one quantile of a snapshot of histBenchValues.
func BenchmarkHistogramQuantile(b *testing.B) {
	var h Histogram
	for _, v := range histBenchValues {
		h.Observe(v)
	}
	var s HistogramSnapshot
	h.Swap(&s)
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Quantile(0.99)
	}
}

// BenchmarkHistogramSeries is Observe across many histograms at once, as at high cardinality:
// series histograms visited in turn, values spread as the peer benchmarks spread them (the i-th
// observation overall records (i mod 1024)/8 + 0.5, so each series sees its own few dozen distinct
// values), and every histogram swapped after obs observations of each, the flush's work included
// in the time. The ns/op is per observation.
func BenchmarkHistogramSeries(b *testing.B) {
	for _, c := range []struct{ series, obs int }{{1000, 4000}, {10000, 400}, {100000, 12}} {
		b.Run(fmt.Sprintf("series=%d/obs=%d", c.series, c.obs), func(b *testing.B) {
			hs := make([]Histogram, c.series)
			var s HistogramSnapshot
			interval := c.series * c.obs
			i := 0
			for b.Loop() {
				hs[i%c.series].Observe(float64(i&1023)*0.125 + 0.5)
				if i++; i%interval == 0 {
					for j := range hs {
						hs[j].Swap(&s)
					}
				}
			}
		})
	}
}

// BenchmarkLookupWarm is the agent's intake pattern: lookups by hash in batches of 16 keys, each
// batch warmed first or not, over series that all exist, visited in a shuffled order.
func BenchmarkLookupWarm(b *testing.B) {
	for _, series := range []int{1_000, 100_000} {
		r := New(Config{MaxSeries: -1}, testCanon)
		type key struct {
			name string
			tags []string
			h    uint64
		}
		keys := make([]key, series)
		for i := range keys {
			k := key{name: "svc.requests", tags: []string{"env:prod", fmt.Sprintf("route:/api/v%d", i), "code:200"}}
			k.h = HashKey("", KindCounter, k.name, k.tags)
			r.LookupHashed(k.h, "", KindCounter, k.name, k.tags)
			keys[i] = k
		}
		rand.New(rand.NewPCG(1, 2)).Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
		for _, warm := range []bool{false, true} {
			b.Run(fmt.Sprintf("series=%d/warm=%v", series, warm), func(b *testing.B) {
				var hs [16]uint64
				for i := 0; i < b.N; i += len(hs) {
					batch := keys[i%len(keys):][:min(len(hs), len(keys)-i%len(keys))]
					if warm {
						for j, k := range batch {
							hs[j] = k.h
						}
						r.Warm(hs[:len(batch)])
					}
					for _, k := range batch {
						r.LookupHashed(k.h, "", KindCounter, k.name, k.tags).Counter.Add(1)
					}
				}
			})
		}
	}
}
