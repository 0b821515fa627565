package agent

import (
	"math"
	"math/rand/v2"

	"github.com/statshard/statshard/shard"
	"github.com/statshard/statshard/wire/pb"
)

// Handles point straight at their series' cells: recording is one or a few atomic operations, no
// lock and no allocation. They are small values, safe to copy and to use from many goroutines. A
// handle made from an invalid name (no valid character) is a no-op; so is the zero value.
//
// Performance tip: create handles once (at startup or in a struct field) for hot paths; the by-name
// methods cost a hash of the name and tags on every call.

// Counter is a handle to a counter series.
type Counter struct {
	s *shard.Series
	r *Recorder
}

// Add adds n to the counter; n may be negative. The flush sends the sum of the interval as a
// DogStatsD count, and skips intervals where it is zero.
func (c Counter) Add(n int64) {
	if c.s == nil {
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

// Gauge is a handle to a gauge series.
type Gauge struct {
	s *shard.Series
	r *Recorder
}

// Set sets the gauge to v. Setting 0 is a real value and is sent. NaN and ±Inf cannot be sent and
// are counted as invalid values at flush.
func (g Gauge) Set(v float64) {
	if g.s == nil {
		return
	}
	g.s.Gauge.Set(v)
	g.r.after(g.s)
	if st := g.r.live(); st != nil {
		st.publish(g.s, pb.SetGauge, math.Float64bits(v))
	}
}

// Add adds d (which may be negative) to the gauge.
func (g Gauge) Add(d float64) {
	if g.s == nil {
		return
	}
	now := g.s.Gauge.Add(d)
	g.r.after(g.s)
	if st := g.r.live(); st != nil {
		st.gaugeAdd(g.s, d, now)
	}
}

// Histogram is a handle to a histogram or distribution series.
type Histogram struct {
	s *shard.Series
	r *Recorder
}

// Observe records one value. NaN and ±Inf are counted as invalid and not recorded.
func (h Histogram) Observe(v float64) {
	if h.s == nil {
		return
	}
	h.r.observe(h.s, v)
}

func (r *Recorder) observe(s *shard.Series, v float64) {
	if s.Histogram != nil {
		s.Histogram.Observe(v)
	}
	if s.Buckets != nil {
		s.Buckets.Observe(v)
	}
	if s.Reservoir != nil {
		s.Reservoir.Observe(v)
	}
	r.after(s)
	if st := r.live(); st != nil {
		st.publish(s, pb.RecordHistogram, math.Float64bits(v))
	}
}

// Set is a handle to a set series, which counts distinct values per interval.
type Set struct {
	s *shard.Series
	r *Recorder
}

// Add records v as a member of the set.
func (s Set) Add(v string) {
	if s.s == nil {
		return
	}
	s.s.Set.Add(v)
	s.r.after(s.s)
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
	return Counter{r.reg.Lookup(shard.KindCounter, name, 0, tags), r}
}

// Gauge returns a handle to the gauge name with tags.
func (r *Recorder) Gauge(name string, tags ...string) Gauge {
	return Gauge{r.reg.Lookup(shard.KindGauge, name, 0, tags), r}
}

// Histogram returns a handle to the histogram name with tags, exported as configured for its name
// by Config.Histograms.
func (r *Recorder) Histogram(name string, tags ...string) Histogram {
	return Histogram{r.reg.Lookup(shard.KindHistogram, name, 0, tags), r}
}

// Distribution returns a handle to the distribution name with tags, always exported as a DogStatsD
// distribution ("|d") so the receiver aggregates it across hosts.
func (r *Recorder) Distribution(name string, tags ...string) Histogram {
	return Histogram{r.reg.Lookup(shard.KindDistribution, name, 0, tags), r}
}

// Set returns a handle to the set name with tags.
func (r *Recorder) Set(name string, tags ...string) Set {
	return Set{r.reg.Lookup(shard.KindSet, name, 0, tags), r}
}

// The by-name methods find the series without a lock or an allocation once it exists. Called
// again with the same strings (literals, or strings kept in variables), they find it by the
// strings' identity (see shard.Registry.LookupCall) without hashing their bytes; strings built
// anew on each call are hashed with xxhash instead. Never pass strings that alias memory you
// modify later (unsafe.String over a reused buffer). The first use
// of a spelling canonicalizes it: names and tags are made Datadog-compliant (see wire/statsd),
// global tags merged and tags sorted, so any tag order reaches the same series. A name with no
// valid character is dropped and counted in Stats.InvalidNames.

// Count adds n to the counter name.
func (r *Recorder) Count(name string, n int64, tags ...string) {
	if s := r.reg.LookupCall(shard.KindCounter, name, 0, tags); s != nil {
		s.Counter.AddShared(n)
		r.after(s)
		if st := r.live(); st != nil {
			st.counter(s, n)
		}
	}
}

// GaugeSet sets the gauge name to v.
func (r *Recorder) GaugeSet(name string, v float64, tags ...string) {
	if s := r.reg.LookupCall(shard.KindGauge, name, 0, tags); s != nil {
		s.Gauge.Set(v)
		r.after(s)
		if st := r.live(); st != nil {
			st.publish(s, pb.SetGauge, math.Float64bits(v))
		}
	}
}

// GaugeAdd adds d to the gauge name.
func (r *Recorder) GaugeAdd(name string, d float64, tags ...string) {
	if s := r.reg.LookupCall(shard.KindGauge, name, 0, tags); s != nil {
		now := s.Gauge.Add(d)
		r.after(s)
		if st := r.live(); st != nil {
			st.gaugeAdd(s, d, now)
		}
	}
}

// Observe records v in the histogram name.
func (r *Recorder) Observe(name string, v float64, tags ...string) {
	if s := r.reg.LookupCall(shard.KindHistogram, name, 0, tags); s != nil {
		r.observe(s, v)
	}
}

// ObserveDistribution records v in the distribution name.
func (r *Recorder) ObserveDistribution(name string, v float64, tags ...string) {
	if s := r.reg.LookupCall(shard.KindDistribution, name, 0, tags); s != nil {
		r.observe(s, v)
	}
}

// SetAdd records v as a member of the set name.
func (r *Recorder) SetAdd(name, v string, tags ...string) {
	if s := r.reg.LookupCall(shard.KindSet, name, 0, tags); s != nil {
		s.Set.Add(v)
		r.after(s)
	}
}

// The sampled methods keep a call with probability rate (0 < rate < 1) and send what they keep
// with "|@rate", so the receiver scales it back: like datadog-go's rate argument, they trade
// precision for less work. A rate outside (0, 1) records every call, unsampled. Sampled and
// unsampled values of one metric are separate series, since one line carries one rate.

// CountSampled adds n to the counter name for a sampled fraction rate of the calls.
func (r *Recorder) CountSampled(name string, n int64, rate float64, tags ...string) {
	if rate, ok := sample(rate); ok {
		if s := r.reg.LookupCall(shard.KindCounter, name, rate, tags); s != nil {
			s.Counter.AddShared(n)
			r.after(s)
			if st := r.live(); st != nil {
				st.counter(s, n)
			}
		}
	}
}

// ObserveSampled records v in the histogram name for a sampled fraction rate of the calls.
func (r *Recorder) ObserveSampled(name string, v float64, rate float64, tags ...string) {
	if rate, ok := sample(rate); ok {
		if s := r.reg.LookupCall(shard.KindHistogram, name, rate, tags); s != nil {
			r.observe(s, v)
		}
	}
}

// ObserveDistributionSampled records v in the distribution name for a sampled fraction rate of
// the calls.
func (r *Recorder) ObserveDistributionSampled(name string, v float64, rate float64, tags ...string) {
	if rate, ok := sample(rate); ok {
		if s := r.reg.LookupCall(shard.KindDistribution, name, rate, tags); s != nil {
			r.observe(s, v)
		}
	}
}

// sample decides whether to keep a sampled call and normalizes the rate: 0 means unsampled.
func sample(rate float64) (float64, bool) {
	if !(rate > 0 && rate < 1) {
		return 0, true
	}
	// math/rand/v2's top-level functions use the runtime's per-thread generator: no lock, no alloc.
	return rate, rand.Float64() < rate
}
