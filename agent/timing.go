package agent

import (
	"time"

	"github.com/statshard/statshard/shard"
)

// Timings.
//
// A timing is a series of its own kind (KindTiming), apart from any histogram of the same name:
// its values are milliseconds, as DogStatsD's "ms" type wants them, and it is always sent as
// samples with that type — raw (a uniform sample past HistogramConfig.ReservoirSize, weighted so
// the counts stay exact) or, with HistogramConfig.SketchDistributions, one weighted line per
// sketch bin — whatever HistogramConfig.Mode says. The receiver aggregates it as a timing: the
// Datadog Agent as a histogram (name.avg, name.count, name.median, name.95percentile, name.max),
// statsd_exporter as a summary or histogram in seconds. This is datadog-go's Timing, aggregated
// first.
//
// A histogram stays in the unit its values are recorded in, seconds by convention (DefaultBounds
// are seconds): Histogram.ObserveDuration records seconds on a histogram or distribution and
// milliseconds on a timing, so that no series ever mixes the two.

// Timing records d in the timing name, in milliseconds.
func (r *Recorder) Timing(name string, d time.Duration, tags ...string) {
	if s := r.reg.LookupCall(shard.KindTiming, name, tags); s != nil {
		r.observe(s, milliseconds(d))
	}
}

// TimingSampled records d in the timing name for a sampled fraction rate of the calls, each kept
// one weighing 1/rate (see the package doc's Sampling section): datadog-go's Timing with a rate.
func (r *Recorder) TimingSampled(name string, d time.Duration, rate float64, tags ...string) {
	r.observeSampled(shard.KindTiming, name, milliseconds(d), rate, tags)
}

// Timer returns a handle to the timing name with tags. Its Observe takes milliseconds; its
// ObserveDuration takes a time.Duration.
func (r *Recorder) Timer(name string, tags ...string) Histogram {
	return Histogram{r.reg.Lookup(shard.KindTiming, name, tags), r}
}

// ObserveDuration records d in the series' unit: milliseconds for a timing (Recorder.Timer),
// seconds for a histogram or a distribution.
func (h Histogram) ObserveDuration(d time.Duration) {
	if h.s == nil {
		h.r.invalidHandle()
		return
	}
	if h.s.Kind() == shard.KindTiming {
		h.r.observe(h.s, milliseconds(d))
		return
	}
	h.r.observe(h.s, d.Seconds())
}

// milliseconds is d in milliseconds, to the nanosecond: d.Seconds()*1000 would round twice.
func milliseconds(d time.Duration) float64 {
	ms, ns := d/time.Millisecond, d%time.Millisecond
	return float64(ms) + float64(ns)/1e6
}

// Timing records d in the timing name on the installed recorder.
func Timing(name string, d time.Duration, tags ...string) {
	if r := defaultRecorder.Load(); r != nil {
		r.Timing(name, d, tags...)
	}
}
