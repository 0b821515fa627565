package agent

import (
	"math"

	"github.com/statshard/statshard/shard"
)

// The methods in this file record values that were aggregated before they reached the recorder:
// a bucket of a histogram another library kept, a counter delta that is not a whole number. They
// are what bridges from other metrics APIs (OpenTelemetry, go-metrics) are built on; services
// recording their own values want the methods of handles.go.

// CountFloat adds v, which may be fractional, to the counter name. Fractions are carried from one
// flush to the next, so the counter is still sent as whole numbers whose running total is within
// 1 of the exact one. NaN, ±Inf and a sum that would be infinite are counted as invalid values.
func (r *Recorder) CountFloat(name string, v float64, tags ...string) {
	if s := r.reg.LookupCall(shard.KindCounter, name, tags); s != nil {
		r.countFloat(s, v)
	}
}

// ObserveN records v in the histogram name as n values equal to v, exactly, with no sampling:
// a summary's .count and a bucket's count grow by n, and a distribution sends v with the weight
// n (see HistogramConfig.ReservoirSize). n == 0 records nothing. It costs what one Observe costs
// whatever n is (plus one more cell update per 2^32 values).
func (r *Recorder) ObserveN(name string, v float64, n uint64, tags ...string) {
	if n == 0 {
		return
	}
	if s := r.reg.LookupCall(shard.KindHistogram, name, tags); s != nil {
		r.observeMany(s, v, n)
	}
}

// ObserveDistributionN records v in the distribution name as n values equal to v, like ObserveN.
func (r *Recorder) ObserveDistributionN(name string, v float64, n uint64, tags ...string) {
	if n == 0 {
		return
	}
	if s := r.reg.LookupCall(shard.KindDistribution, name, tags); s != nil {
		r.observeMany(s, v, n)
	}
}

// observeMany records v as n values, in steps of what a reservoir keeps beside a value (uint32).
func (r *Recorder) observeMany(s *shard.Series, v float64, n uint64) {
	for n > 0 {
		w := min(n, math.MaxUint32)
		r.observeN(s, v, uint32(w))
		n -= w
	}
}

// AddFloat adds v, which may be fractional, to the counter, like Recorder.CountFloat.
func (c Counter) AddFloat(v float64) {
	if c.s == nil {
		c.r.invalidHandle()
		return
	}
	c.r.countFloat(c.s, v)
}

// ObserveN records v as n values equal to v, like Recorder.ObserveN (for a handle from
// Recorder.Distribution, like Recorder.ObserveDistributionN).
func (h Histogram) ObserveN(v float64, n uint64) {
	if n == 0 {
		return
	}
	if h.s == nil {
		h.r.invalidHandle()
		return
	}
	h.r.observeMany(h.s, v, n)
}
