package otelbridge

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/statshard/statshard/agent"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
)

// Exporter is an OpenTelemetry SDK metric exporter that records into a statshard recorder (see
// the package doc for the mapping). Create one with NewExporter and give it to
// sdkmetric.NewPeriodicReader; the zero value is not usable.
type Exporter struct {
	rec         *agent.Recorder
	temporality sdkmetric.TemporalitySelector
	aggregation sdkmetric.AggregationSelector

	mu       sync.Mutex // serializes Export against Shutdown; guards what follows
	shutdown bool
	gen      uint64 // exports so far
	streams  map[streamKey]*stream
	res      attribute.Distinct // the resource resTags was built from
	resTags  []string
	unsup    map[string]bool // metrics of an unsupported aggregation, reported once each
	spans    []span          // scratch: one histogram's buckets
	points   []point         // scratch: the weighted observations they become
	counts   []uint64        // scratch: a cumulative histogram's delta
}

// Option configures an Exporter.
type Option func(*Exporter)

// WithTemporalitySelector replaces the temporality the exporter asks the SDK for (by default
// sdkmetric.DeltaTemporalitySelector). Cumulative data is converted to deltas either way.
func WithTemporalitySelector(s sdkmetric.TemporalitySelector) Option {
	return func(e *Exporter) { e.temporality = s }
}

// WithAggregationSelector replaces the aggregation the exporter asks the SDK for (by default
// sdkmetric.DefaultAggregationSelector), e.g. to make every histogram exponential:
//
//	otelbridge.WithAggregationSelector(func(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
//		if k == sdkmetric.InstrumentKindHistogram {
//			return sdkmetric.AggregationBase2ExponentialHistogram{MaxSize: 160, MaxScale: 20}
//		}
//		return sdkmetric.DefaultAggregationSelector(k)
//	})
func WithAggregationSelector(s sdkmetric.AggregationSelector) Option {
	return func(e *Exporter) { e.aggregation = s }
}

// NewExporter returns an exporter recording into rec. rec stays the caller's: Shutdown flushes it
// but does not close it.
func NewExporter(rec *agent.Recorder, opts ...Option) *Exporter {
	e := &Exporter{
		rec:         rec,
		temporality: sdkmetric.DeltaTemporalitySelector,
		aggregation: sdkmetric.DefaultAggregationSelector,
		streams:     map[streamKey]*stream{},
		unsup:       map[string]bool{},
	}
	for _, o := range opts {
		o(e)
	}
	return e
}

var _ sdkmetric.Exporter = (*Exporter)(nil)

// Temporality returns the temporality of an instrument kind: delta for counters and histograms,
// cumulative for up-down counters and gauges, unless WithTemporalitySelector says otherwise.
func (e *Exporter) Temporality(k sdkmetric.InstrumentKind) metricdata.Temporality {
	return e.temporality(k)
}

// Aggregation returns the aggregation of an instrument kind: the SDK's default (explicit bucket
// histograms), unless WithAggregationSelector says otherwise.
func (e *Exporter) Aggregation(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	return e.aggregation(k)
}

// Export records rm into the recorder. It does not wait for a flush (see the package doc). It
// returns ctx's error when ctx is done before it starts, sdkmetric.ErrExporterShutdown after
// Shutdown, and an error naming the metrics of aggregations it cannot map (their first export
// only), having recorded the rest.
func (e *Exporter) Export(ctx context.Context, rm *metricdata.ResourceMetrics) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.shutdown {
		return sdkmetric.ErrExporterShutdown
	}
	e.gen++
	e.resourceTags(rm.Resource)
	var unsupported []string
	for i := range rm.ScopeMetrics {
		sm := &rm.ScopeMetrics[i]
		for j := range sm.Metrics {
			m := &sm.Metrics[j]
			if !e.record(sm.Scope.Name, m) && !e.unsup[m.Name] {
				e.unsup[m.Name] = true
				unsupported = append(unsupported, fmt.Sprintf("%s (%T)", m.Name, m.Data))
			}
		}
	}
	e.sweep()
	if len(unsupported) > 0 {
		return fmt.Errorf("otelbridge: unsupported aggregation, not exported: %s", strings.Join(unsupported, ", "))
	}
	return nil
}

// ForceFlush flushes the recorder, so that everything exported so far is sent. It returns ctx's
// error if ctx is done first; the flush then still completes in the background (it is bounded by
// the recorder's StatsdConfig.WriteTimeout).
func (e *Exporter) ForceFlush(ctx context.Context) error {
	return e.flush(ctx)
}

// Shutdown makes later Exports fail with sdkmetric.ErrExporterShutdown and flushes the recorder
// like ForceFlush. It does not close the recorder, which stays the caller's.
func (e *Exporter) Shutdown(ctx context.Context) error {
	e.mu.Lock() // waits for an Export in progress, whose data the flush then includes
	e.shutdown = true
	e.streams = nil
	e.mu.Unlock()
	return e.flush(ctx)
}

func (e *Exporter) flush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.rec.Flush()
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("otelbridge: flush: %w", ctx.Err())
	}
}

// resourceTags sets resTags from the resource when it changed.
func (e *Exporter) resourceTags(r *resource.Resource) {
	if r.Equivalent() == e.res && e.gen > 1 {
		return
	}
	e.res = r.Equivalent()
	e.resTags = e.resTags[:0]
	set := r.Set()
	env, ok := set.Value("deployment.environment.name")
	if !ok {
		env, _ = set.Value("deployment.environment") // the name before semantic conventions 1.27
	}
	service, _ := set.Value("service.name")
	version, _ := set.Value("service.version")
	for _, t := range [...]struct {
		key string
		v   attribute.Value
	}{{"env", env}, {"service", service}, {"version", version}} {
		if v := t.v.String(); v != "" {
			e.resTags = append(e.resTags, t.key+":"+v)
		}
	}
	// Tags and handles made for the previous resource are stale.
	for _, s := range e.streams {
		s.tags, s.h = nil, handles{}
	}
}

// streamKey identifies a stream: an instrument's data points with one attribute set.
type streamKey struct {
	scope, name string
	attrs       attribute.Distinct
}

// stream is what the exporter keeps per stream: its tags, built once, a handle to its statshard
// series, so that recording a point is a few atomic operations and no lookup, and for cumulative
// data the previous value.
type stream struct {
	tags []string
	h    handles
	seen uint64 // the export that last saw it
	cum  cumulative
}

// handles are a stream's statshard handle, made on first use. A stream is one instrument, so one
// kind of handle is made; kind guards against two instruments of different kinds that share a
// name and attributes in one scope, which the SDK warns about but exports.
type handles struct {
	kind    uint8 // 0: none made yet
	counter agent.Counter
	gauge   agent.Gauge
	hist    agent.Histogram
}

const (
	handleCounter = 1 + iota
	handleGauge
	handleHistogram
	handleDistribution
)

func (s *stream) counter(rec *agent.Recorder, name string) agent.Counter {
	if s.h.kind != handleCounter {
		s.h = handles{kind: handleCounter, counter: rec.Counter(name, s.tags...)}
	}
	return s.h.counter
}

func (s *stream) gauge(rec *agent.Recorder, name string) agent.Gauge {
	if s.h.kind != handleGauge {
		s.h = handles{kind: handleGauge, gauge: rec.Gauge(name, s.tags...)}
	}
	return s.h.gauge
}

func (s *stream) histogram(rec *agent.Recorder, name string) agent.Histogram {
	if s.h.kind != handleHistogram {
		s.h = handles{kind: handleHistogram, hist: rec.Histogram(name, s.tags...)}
	}
	return s.h.hist
}

func (s *stream) distribution(rec *agent.Recorder, name string) agent.Histogram {
	if s.h.kind != handleDistribution {
		s.h = handles{kind: handleDistribution, hist: rec.Distribution(name, s.tags...)}
	}
	return s.h.hist
}

// staleAfter is how many exports a stream may be absent from before its state is dropped. The SDK
// reports every cumulative stream in every export, so an absent one is gone; a delta stream only
// loses its tags, built again when it comes back.
const staleAfter = 16

func (e *Exporter) sweep() {
	if e.gen%staleAfter != 0 {
		return
	}
	for k, s := range e.streams {
		if e.gen-s.seen > staleAfter {
			delete(e.streams, k)
		}
	}
}

// stream returns the state of a stream, with its tags: the attributes as "key:value", then the
// resource's tags whose key no attribute has.
func (e *Exporter) stream(scope, name string, attrs attribute.Set) *stream {
	k := streamKey{scope, name, attrs.Equivalent()}
	s := e.streams[k]
	if s == nil {
		s = &stream{}
		e.streams[k] = s
	}
	s.seen = e.gen
	if s.tags == nil {
		s.tags = make([]string, 0, attrs.Len()+len(e.resTags))
		for it := attrs.Iter(); it.Next(); {
			kv := it.Attribute()
			s.tags = append(s.tags, string(kv.Key)+":"+kv.Value.String())
		}
		for _, t := range e.resTags {
			key, _, _ := strings.Cut(t, ":")
			if !attrs.HasValue(attribute.Key(key)) {
				s.tags = append(s.tags, t)
			}
		}
	}
	return s
}

// record records one metric; false for an aggregation it cannot map.
func (e *Exporter) record(scope string, m *metricdata.Metrics) bool {
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		recordSum(e, scope, m.Name, d)
	case metricdata.Sum[float64]:
		recordSum(e, scope, m.Name, d)
	case metricdata.Gauge[int64]:
		for i := range d.DataPoints {
			p := &d.DataPoints[i]
			e.stream(scope, m.Name, p.Attributes).gauge(e.rec, m.Name).Set(float64(p.Value))
		}
	case metricdata.Gauge[float64]:
		for i := range d.DataPoints {
			p := &d.DataPoints[i]
			e.stream(scope, m.Name, p.Attributes).gauge(e.rec, m.Name).Set(p.Value)
		}
	case metricdata.Histogram[int64]:
		recordHistogram(e, scope, m.Name, d)
	case metricdata.Histogram[float64]:
		recordHistogram(e, scope, m.Name, d)
	case metricdata.ExponentialHistogram[int64]:
		recordExponential(e, scope, m.Name, d)
	case metricdata.ExponentialHistogram[float64]:
		recordExponential(e, scope, m.Name, d)
	default:
		return false
	}
	return true
}

func recordSum[N int64 | float64](e *Exporter, scope, name string, d metricdata.Sum[N]) {
	cum := d.Temporality == metricdata.CumulativeTemporality
	for i := range d.DataPoints {
		p := &d.DataPoints[i]
		s := e.stream(scope, name, p.Attributes)
		switch {
		case !d.IsMonotonic && cum:
			s.gauge(e.rec, name).Set(float64(p.Value))
		case !d.IsMonotonic:
			s.gauge(e.rec, name).Add(float64(p.Value))
		default:
			v := p.Value
			if cum {
				v = sumDelta(&s.cum, p)
			}
			if v == 0 {
				continue
			}
			if n := int64(v); N(n) == v {
				s.counter(e.rec, name).Add(n)
			} else {
				s.counter(e.rec, name).AddFloat(float64(v))
			}
		}
	}
}
