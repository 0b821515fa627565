package otelbridge

import (
	"math"

	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

func recordExponential[N int64 | float64](e *Exporter, scope, name string, d metricdata.ExponentialHistogram[N]) {
	cum := d.Temporality == metricdata.CumulativeTemporality
	for i := range d.DataPoints {
		p := &d.DataPoints[i]
		s := e.stream(scope, name, p.Attributes)
		b := expBuckets{scale: p.Scale, zero: p.ZeroCount, pos: p.PositiveBucket, neg: p.NegativeBucket}
		sum, exact := float64(p.Sum), true
		if cum {
			b, sum, exact = expDelta(&s.cum, p)
		}
		e.spans = b.spans(p.ZeroThreshold, e.spans[:0])
		lo, hasMin := p.Min.Value()
		hi, hasMax := p.Max.Value()
		e.points = fit(e.spans, sum, float64(lo), float64(hi), hasMin, hasMax, exact, e.points[:0])
		h := s.distribution(e.rec, name)
		for _, pt := range e.points {
			h.ObserveN(pt.v, pt.n)
		}
	}
}

// expBuckets are an exponential histogram's counts.
type expBuckets struct {
	scale    int32
	zero     uint64
	pos, neg metricdata.ExponentialBucket
}

// spans appends the buckets in ascending order of value: the negative ones from the largest
// index down, the zero bucket, the positive ones. Bucket i of a sign holds the magnitudes in
// (base^i, base^(i+1)], base = 2^(2^-scale).
func (b *expBuckets) spans(zeroThreshold float64, out []span) []span {
	bound := func(i int32) float64 { return math.Exp2(float64(i) * math.Exp2(-float64(b.scale))) }
	for j := len(b.neg.Counts) - 1; j >= 0; j-- {
		i := b.neg.Offset + int32(j)
		out = append(out, span{lo: -bound(i + 1), hi: -bound(i), n: b.neg.Counts[j], open: +1})
	}
	out = append(out, span{lo: -zeroThreshold, hi: zeroThreshold, n: b.zero})
	for j, n := range b.pos.Counts {
		i := b.pos.Offset + int32(j)
		out = append(out, span{lo: bound(i), hi: bound(i + 1), n: n, open: -1})
	}
	return out
}

// expPrev is a cumulative exponential histogram's previous point.
type expPrev struct {
	scale    int32
	zero     uint64
	count    uint64
	sum      float64
	pos, neg map[int32]uint64 // bucket index -> count
}

// expDelta returns what a cumulative exponential histogram point added since the stream's
// previous one, and whether Min and Max are the interval's own (true on the first point and after
// a restart). The SDK may lower the scale of a cumulative stream as its range grows; the previous
// counts are then merged to the new scale (2^(old-new) buckets into one) before subtracting. A
// higher scale, a count that went down or a new StartTime is a restart.
func expDelta[N int64 | float64](c *cumulative, p *metricdata.ExponentialHistogramDataPoint[N]) (expBuckets, float64, bool) {
	cur := expBuckets{scale: p.Scale, zero: p.ZeroCount, pos: p.PositiveBucket, neg: p.NegativeBucket}
	prev := c.exp
	restart := prev == nil || !c.seen || !p.StartTime.Equal(c.start) || p.Scale > prev.scale ||
		p.Count < prev.count || p.ZeroCount < prev.zero
	var delta expBuckets
	if !restart {
		delta = expBuckets{scale: p.Scale, zero: p.ZeroCount - prev.zero}
		var okPos, okNeg bool
		delta.pos, okPos = subBuckets(p.PositiveBucket, prev.pos, prev.scale-p.Scale)
		delta.neg, okNeg = subBuckets(p.NegativeBucket, prev.neg, prev.scale-p.Scale)
		restart = !okPos || !okNeg
	}
	c.seen, c.start = true, p.StartTime
	c.exp = &expPrev{scale: p.Scale, zero: p.ZeroCount, count: p.Count, sum: float64(p.Sum),
		pos: bucketMap(p.PositiveBucket), neg: bucketMap(p.NegativeBucket)}
	if restart {
		return cur, float64(p.Sum), true
	}
	return delta, float64(p.Sum) - prev.sum, false
}

func bucketMap(b metricdata.ExponentialBucket) map[int32]uint64 {
	m := make(map[int32]uint64, len(b.Counts))
	for j, n := range b.Counts {
		if n != 0 {
			m[b.Offset+int32(j)] = n
		}
	}
	return m
}

// subBuckets returns cur minus prev, prev's indexes shifted down by shift (merged to cur's
// scale); false when some count of prev is not in cur.
func subBuckets(cur metricdata.ExponentialBucket, prev map[int32]uint64, shift int32) (metricdata.ExponentialBucket, bool) {
	merged := make(map[int32]uint64, len(prev))
	for i, n := range prev {
		merged[i>>shift] += n // >> on a negative index rounds down, as the bucket index does
	}
	out := metricdata.ExponentialBucket{Offset: cur.Offset, Counts: make([]uint64, len(cur.Counts))}
	for j, n := range cur.Counts {
		i := cur.Offset + int32(j)
		if merged[i] > n {
			return out, false
		}
		out.Counts[j] = n - merged[i]
		delete(merged, i)
	}
	return out, len(merged) == 0
}
