package otelbridge

import (
	"math"
	"slices"
	"time"

	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// span is one bucket of a histogram: n values between lo and hi, either of which may be infinite.
type span struct {
	lo, hi float64
	n      uint64
	open   int8 // -1: lo is excluded ((lo, hi], explicit and positive exponential buckets); +1: hi is ([lo, hi), negative exponential buckets); 0: neither
}

// point is a weighted observation: n values at v.
type point struct {
	v float64
	n uint64
}

// fit turns a histogram's buckets (spans in ascending order of value) into weighted points, as
// the package doc says: when exact (min and max are the interval's own), min and max once each as
// themselves; every other value at lo + t·(hi−lo) of its bucket, the bounds clamped to [min, max]
// (which bound the interval's values in any case), with one t for all buckets such that the
// points add up to sum. spans' counts are consumed.
func fit(spans []span, sum, lo, hi float64, hasMin, hasMax, exact bool, out []point) []point {
	first, last := -1, -1
	var total uint64
	for i, s := range spans {
		if s.n > 0 {
			if first < 0 {
				first = i
			}
			last = i
			total += s.n
		}
	}
	if total == 0 {
		return out
	}
	if exact && hasMin {
		out = append(out, point{lo, 1})
		spans[first].n--
		sum -= lo
		total--
	}
	if exact && hasMax && total > 0 {
		out = append(out, point{hi, 1})
		spans[last].n--
		sum -= hi
		total--
	}
	if total == 0 {
		return out
	}
	clamp := func(s span) (float64, float64, bool) {
		a, b := s.lo, s.hi
		if hasMin {
			a, b = max(a, lo), max(b, lo)
		}
		if hasMax {
			a, b = min(a, hi), min(b, hi)
		}
		if math.IsInf(a, -1) && math.IsInf(b, 1) {
			return 0, 0, false
		}
		if math.IsInf(a, -1) {
			a = b
		}
		if math.IsInf(b, 1) {
			b = a
		}
		return a, b, true
	}
	var base, width float64
	for _, s := range spans {
		if s.n == 0 {
			continue
		}
		a, b, ok := clamp(s)
		if !ok {
			// One bucket without bounds, and no min or max: all that is known is the average.
			return append(out, point{sum / float64(total), total})
		}
		base += float64(s.n) * a
		width += float64(s.n) * (b - a)
	}
	t := 0.5
	if width > 0 {
		t = min(max((sum-base)/width, 0), 1)
		if math.IsNaN(t) {
			t = 0.5
		}
	}
	for _, s := range spans {
		if s.n == 0 {
			continue
		}
		a, b, _ := clamp(s)
		v := a + t*(b-a)
		switch {
		case s.open < 0 && v <= s.lo:
			v = math.Nextafter(s.lo, math.Inf(1))
		case s.open > 0 && v >= s.hi:
			v = math.Nextafter(s.hi, math.Inf(-1))
		}
		out = append(out, point{v, s.n})
	}
	return out
}

func recordHistogram[N int64 | float64](e *Exporter, scope, name string, d metricdata.Histogram[N]) {
	cum := d.Temporality == metricdata.CumulativeTemporality
	for i := range d.DataPoints {
		p := &d.DataPoints[i]
		s := e.stream(scope, name, p.Attributes)
		counts, sum, exact := p.BucketCounts, float64(p.Sum), true
		if cum {
			counts, sum, exact = histDelta(e, &s.cum, p)
		}
		e.spans = e.spans[:0]
		for j, c := range counts {
			sp := span{lo: math.Inf(-1), hi: math.Inf(1), n: c, open: -1}
			if j > 0 {
				sp.lo = p.Bounds[j-1]
			}
			if j < len(p.Bounds) {
				sp.hi = p.Bounds[j]
			}
			e.spans = append(e.spans, sp)
		}
		lo, hasMin := p.Min.Value()
		hi, hasMax := p.Max.Value()
		e.points = fit(e.spans, sum, float64(lo), float64(hi), hasMin, hasMax, exact, e.points[:0])
		h := s.histogram(e.rec, name)
		for _, pt := range e.points {
			h.ObserveN(pt.v, pt.n)
		}
	}
}

// histDelta returns what a cumulative histogram point added since the stream's previous one, and
// whether its Min and Max are the interval's own (true on the first point and after a restart).
func histDelta[N int64 | float64](e *Exporter, c *cumulative, p *metricdata.HistogramDataPoint[N]) ([]uint64, float64, bool) {
	prev := &c.hist
	restart := !c.seen || !p.StartTime.Equal(c.start) || p.Count < prev.count ||
		!slices.Equal(p.Bounds, prev.bounds) || len(p.BucketCounts) != len(prev.counts)
	if !restart {
		for j, n := range p.BucketCounts {
			if n < prev.counts[j] {
				restart = true
				break
			}
		}
	}
	counts, sum := p.BucketCounts, float64(p.Sum)
	if !restart {
		e.counts = e.counts[:0]
		for j, n := range p.BucketCounts {
			e.counts = append(e.counts, n-prev.counts[j])
		}
		counts, sum = e.counts, sum-prev.sum
	}
	c.seen, c.start = true, p.StartTime
	prev.bounds = append(prev.bounds[:0], p.Bounds...)
	prev.counts = append(prev.counts[:0], p.BucketCounts...)
	prev.count, prev.sum = p.Count, float64(p.Sum)
	return counts, sum, restart
}

// cumulative is a cumulative stream's previous point.
type cumulative struct {
	seen  bool
	start time.Time
	lastI int64   // a Sum[int64]'s value
	lastF float64 // a Sum[float64]'s value
	hist  struct {
		bounds []float64
		counts []uint64
		count  uint64
		sum    float64
	}
	exp *expPrev
}

// sumDelta returns what a cumulative Sum point added since the stream's previous one: the whole
// value on the first point and after a restart (a value below the previous one, or a new
// StartTime).
func sumDelta[N int64 | float64](c *cumulative, p *metricdata.DataPoint[N]) N {
	_, isInt := any(N(0)).(int64)
	last := N(c.lastF)
	if isInt {
		last = N(c.lastI)
	}
	restart := !c.seen || !p.StartTime.Equal(c.start) || p.Value < last
	c.seen, c.start = true, p.StartTime
	c.lastI, c.lastF = int64(p.Value), float64(p.Value)
	if restart {
		return p.Value
	}
	return p.Value - last
}
