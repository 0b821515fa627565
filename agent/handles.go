package agent

import (
	"math"
	"math/rand/v2"

	"github.com/statshard/statshard/shard"
	"github.com/statshard/statshard/wire/pb"
)

// Counter is a handle to a counter series (see the package doc's Handles section). The zero
// value, and a handle made from a name with no valid character, record nothing.
type Counter struct {
	s *shard.Series
	r *Recorder
}

// Add adds n to the counter; n may be negative. The flush sends the sum of the interval as a
// DogStatsD count, and skips intervals where it is zero.
func (c Counter) Add(n int64) {
	if c.s == nil {
		c.r.invalidHandle()
		return
	}
	c.s.Counter.Add(n)
	c.r.after(c.s)
	if st := c.r.live(); st != nil {
		st.counter(c.s, n)
	}
}

// Inc adds 1.
func (c Counter) Inc() { c.Add(1) }

// Gauge is a handle to a gauge series (see the package doc's Handles section). The zero value,
// and a handle made from a name with no valid character, record nothing.
type Gauge struct {
	s *shard.Series
	r *Recorder
}

// Set sets the gauge to v. Setting 0 is a real value and is sent. NaN and ±Inf cannot be sent and
// are counted as invalid values at flush.
func (g Gauge) Set(v float64) {
	if g.s == nil {
		g.r.invalidHandle()
		return
	}
	g.s.Gauge().Set(v)
	g.r.after(g.s)
	if st := g.r.live(); st != nil {
		st.publish(g.s, pb.SetGauge, math.Float64bits(v))
	}
}

// Add adds d (which may be negative) to the gauge.
func (g Gauge) Add(d float64) {
	if g.s == nil {
		g.r.invalidHandle()
		return
	}
	now := g.s.Gauge().Add(d)
	g.r.after(g.s)
	if st := g.r.live(); st != nil {
		st.gaugeAdd(g.s, d, now)
	}
}

// Histogram is a handle to a histogram or distribution series (see the package doc's Handles
// section). The zero value, and a handle made from a name with no valid character, record nothing.
type Histogram struct {
	s *shard.Series
	r *Recorder
}

// Observe records one value. NaN and ±Inf are counted as invalid and not recorded.
func (h Histogram) Observe(v float64) {
	if h.s == nil {
		h.r.invalidHandle()
		return
	}
	h.r.observe(h.s, v)
}

func (r *Recorder) observe(s *shard.Series, v float64) {
	if h := s.Histogram(); h != nil {
		h.Observe(v)
	}
	if b := s.Buckets(); b != nil {
		b.Observe(v)
	}
	if res := s.Reservoir(); res != nil {
		res.Observe(v)
	}
	r.observed(s, v)
}

// observeN records v as one observation standing for n values (a sampled call, see weight).
func (r *Recorder) observeN(s *shard.Series, v float64, n uint32) {
	if h := s.Histogram(); h != nil {
		h.ObserveN(v, uint64(n))
	}
	if b := s.Buckets(); b != nil {
		b.ObserveN(v, uint64(n))
	}
	if res := s.Reservoir(); res != nil {
		res.ObserveN(v, n)
	}
	r.observed(s, v)
}

// observed is what follows every observation: revival, and the stream, which carries the
// observation once whatever its weight (record_histogram has no count).
func (r *Recorder) observed(s *shard.Series, v float64) {
	r.after(s)
	if st := r.live(); st != nil {
		st.publish(s, pb.RecordHistogram, math.Float64bits(v))
	}
}

// Set is a handle to a set series, which counts distinct values per interval (see the package
// doc's Handles section). The zero value, and a handle made from a name with no valid character,
// record nothing.
type Set struct {
	s *shard.Series
	r *Recorder
}

// Add records v as a member of the set. An empty member cannot be sent ("name:|s" is not a
// DogStatsD line) and one longer than a payload could never be: both are dropped and counted
// (Stats.InvalidValues, Stats.Statsd.DroppedTooLong).
func (s Set) Add(v string) {
	if s.s == nil {
		s.r.invalidHandle()
		return
	}
	s.r.setAdd(s.s, v)
}

// setAdd records a set member, refusing what can never be sent before it takes any memory.
func (r *Recorder) setAdd(s *shard.Series, v string) {
	switch {
	case v == "":
		r.exp.invalidValues.Add(1)
		return
	case len(v) > r.cfg.maxPkt:
		r.exp.tooLong.Add(1)
		return
	}
	s.Set().Add(v)
	r.after(s)
}

// invalidHandle counts a recording through a handle made from an invalid name. The zero handle
// belongs to no recorder and counts nothing.
func (r *Recorder) invalidHandle() {
	if r != nil {
		r.invalidNames.Add(1)
	}
}

// countFloat adds v, which may be fractional (a sampled or received count), to a counter: exactly
// in the int64 part when it is an integer float64 holds exactly, else in the float part. A value
// the float part cannot hold (an infinite sum) is dropped alone and counted.
func (r *Recorder) countFloat(s *shard.Series, v float64) {
	if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
		s.Counter.AddShared(int64(v))
	} else if !s.Counter.AddFloat(v) {
		r.exp.invalidValues.Add(1)
		return
	}
	r.after(s)
	if st := r.live(); st != nil {
		st.counterFloat(s, v)
	}
}

// after runs after every recording: a series that expired while a handle held it comes back.
func (r *Recorder) after(s *shard.Series) {
	if s.Dead() {
		r.reg.Revive(s)
	}
}

// live returns the TCP stream when it is on and has a client: the one atomic load that the stream
// costs a recorder when nobody is watching.
func (r *Recorder) live() *stream {
	if st := r.stream; st != nil && st.hub.Active() {
		return st
	}
	return nil
}

// Counter returns a handle to the counter name with tags ("key:value" strings).
func (r *Recorder) Counter(name string, tags ...string) Counter {
	return Counter{r.reg.Lookup(shard.KindCounter, name, tags), r}
}

// Gauge returns a handle to the gauge name with tags.
func (r *Recorder) Gauge(name string, tags ...string) Gauge {
	return Gauge{r.reg.Lookup(shard.KindGauge, name, tags), r}
}

// Histogram returns a handle to the histogram name with tags, exported as configured for its name
// by Config.Histograms.
func (r *Recorder) Histogram(name string, tags ...string) Histogram {
	return Histogram{r.reg.Lookup(shard.KindHistogram, name, tags), r}
}

// Distribution returns a handle to the distribution name with tags, always exported as a DogStatsD
// distribution ("|d") so the receiver aggregates it across hosts.
func (r *Recorder) Distribution(name string, tags ...string) Histogram {
	return Histogram{r.reg.Lookup(shard.KindDistribution, name, tags), r}
}

// Set returns a handle to the set name with tags.
func (r *Recorder) Set(name string, tags ...string) Set {
	return Set{r.reg.Lookup(shard.KindSet, name, tags), r}
}

// Count adds n to the counter name. Like every by-name method, it finds the series without a lock
// or an allocation once it exists; see the package doc's By-name calls section for the rules on
// the strings it is given.
func (r *Recorder) Count(name string, n int64, tags ...string) {
	if s := r.reg.LookupCall(shard.KindCounter, name, tags); s != nil {
		s.Counter.AddShared(n)
		r.after(s)
		if st := r.live(); st != nil {
			st.counter(s, n)
		}
	}
}

// GaugeSet sets the gauge name to v.
func (r *Recorder) GaugeSet(name string, v float64, tags ...string) {
	if s := r.reg.LookupCall(shard.KindGauge, name, tags); s != nil {
		s.Gauge().Set(v)
		r.after(s)
		if st := r.live(); st != nil {
			st.publish(s, pb.SetGauge, math.Float64bits(v))
		}
	}
}

// GaugeAdd adds d to the gauge name.
func (r *Recorder) GaugeAdd(name string, d float64, tags ...string) {
	if s := r.reg.LookupCall(shard.KindGauge, name, tags); s != nil {
		now := s.Gauge().Add(d)
		r.after(s)
		if st := r.live(); st != nil {
			st.gaugeAdd(s, d, now)
		}
	}
}

// Observe records v in the histogram name.
func (r *Recorder) Observe(name string, v float64, tags ...string) {
	if s := r.reg.LookupCall(shard.KindHistogram, name, tags); s != nil {
		r.observe(s, v)
	}
}

// ObserveDistribution records v in the distribution name.
func (r *Recorder) ObserveDistribution(name string, v float64, tags ...string) {
	if s := r.reg.LookupCall(shard.KindDistribution, name, tags); s != nil {
		r.observe(s, v)
	}
}

// SetAdd records v as a member of the set name, with the rules of Set.Add.
func (r *Recorder) SetAdd(name, v string, tags ...string) {
	if s := r.reg.LookupCall(shard.KindSet, name, tags); s != nil {
		r.setAdd(s, v)
	}
}

// CountSampled adds n to the counter name for a sampled fraction rate of the calls, weighted by
// 1/rate (see the package doc's Sampling section).
func (r *Recorder) CountSampled(name string, n int64, rate float64, tags ...string) {
	rate, ok := sample(rate)
	if !ok {
		return
	}
	s := r.reg.LookupCall(shard.KindCounter, name, tags)
	if s == nil {
		return
	}
	if rate == 0 {
		s.Counter.AddShared(n)
		r.after(s)
		if st := r.live(); st != nil {
			st.counter(s, n)
		}
		return
	}
	r.countFloat(s, float64(n)/rate)
}

// ObserveSampled records v in the histogram name for a sampled fraction rate of the calls, each
// kept one weighing 1/rate (see the package doc's Sampling section).
func (r *Recorder) ObserveSampled(name string, v float64, rate float64, tags ...string) {
	r.observeSampled(shard.KindHistogram, name, v, rate, tags)
}

// ObserveDistributionSampled records v in the distribution name for a sampled fraction rate of
// the calls, each kept one weighing 1/rate (see the package doc's Sampling section).
func (r *Recorder) ObserveDistributionSampled(name string, v float64, rate float64, tags ...string) {
	r.observeSampled(shard.KindDistribution, name, v, rate, tags)
}

func (r *Recorder) observeSampled(kind shard.Kind, name string, v, rate float64, tags []string) {
	rate, ok := sample(rate)
	if !ok {
		return
	}
	s := r.reg.LookupCall(kind, name, tags)
	if s == nil {
		return
	}
	r.observeWeighted(s, v, rate)
}

// observeWeighted records an observation sampled at rate (0 means unsampled).
func (r *Recorder) observeWeighted(s *shard.Series, v, rate float64) {
	if rate == 0 {
		r.observe(s, v)
		return
	}
	n, ok := weight(rate)
	if !ok {
		r.exp.invalidValues.Add(1)
		return
	}
	r.observeN(s, v, n)
}

// maxObservationWeight bounds the weight of one observation: the cells count in uint64, but a
// reservoir keeps a uint32 beside each value.
const maxObservationWeight = math.MaxUint32

// weight turns a sample rate in (0, 1) into the integral number of values one observation stands
// for: 1/rate, rounded down or up at random with the probabilities that make its expectation
// 1/rate exactly (stochastic rounding). Rates whose inverse is an integer up to float64's error
// (0.1, 1/3 written as 0.3333333333333333) always give that integer. false means the weight
// passes maxObservationWeight.
func weight(rate float64) (uint32, bool) {
	w := 1 / rate
	if !(w <= maxObservationWeight) {
		return 0, false
	}
	n := math.Floor(w)
	if frac := w - n; frac > 1e-9 {
		if frac > 1-1e-9 {
			n++
		} else if rand.Float64() < frac {
			n++
		}
	}
	return uint32(max(n, 1)), true
}

// sample decides whether to keep a sampled call and normalizes the rate: 0 means unsampled.
func sample(rate float64) (float64, bool) {
	if !(rate > 0 && rate < 1) {
		return 0, true
	}
	// math/rand/v2's top-level functions use the runtime's per-thread generator: no lock, no alloc.
	return rate, rand.Float64() < rate
}
