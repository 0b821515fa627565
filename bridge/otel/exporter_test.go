package otelbridge

import (
	"bytes"
	"context"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/statshard/statshard/agent"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
)

// sink collects the lines a recorder writes to Statsd.Writer.
type sink struct {
	mu    sync.Mutex
	lines []string
}

func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range strings.Split(string(bytes.TrimSuffix(p, []byte("\n"))), "\n") {
		if l != "" {
			s.lines = append(s.lines, l)
		}
	}
	return len(p), nil
}

// take returns the lines received since the last take, sorted.
func (s *sink) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.lines
	s.lines = nil
	slices.Sort(l)
	return l
}

func newRecorder(t *testing.T, cfg agent.Config) (*agent.Recorder, *sink) {
	t.Helper()
	s := &sink{}
	cfg.Statsd.Writer = s
	cfg.Interval = time.Hour
	rec, err := agent.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Close() })
	return rec, s
}

// export exports one metric and flushes, returning the lines sent.
func export(t *testing.T, e *Exporter, s *sink, ms ...metricdata.Metrics) []string {
	t.Helper()
	rm := &metricdata.ResourceMetrics{Resource: resource.Empty(),
		ScopeMetrics: []metricdata.ScopeMetrics{{Metrics: ms}}}
	if err := e.Export(context.Background(), rm); err != nil {
		t.Fatalf("Export: %v", err)
	}
	if err := e.ForceFlush(context.Background()); err != nil {
		t.Fatalf("ForceFlush: %v", err)
	}
	return s.take()
}

func assertLines(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s:\ngot  %q\nwant %q", what, got, want)
	}
}

var kv = attribute.NewSet(attribute.String("k", "v"))

func sum[N int64 | float64](temp metricdata.Temporality, mono bool, start time.Time, v N) metricdata.Metrics {
	return metricdata.Metrics{Name: "s", Data: metricdata.Sum[N]{
		Temporality: temp, IsMonotonic: mono,
		DataPoints: []metricdata.DataPoint[N]{{Attributes: kv, StartTime: start, Value: v}},
	}}
}

func TestDeltaSumIsCounted(t *testing.T) {
	rec, s := newRecorder(t, agent.Config{})
	e := NewExporter(rec)
	assertLines(t, "int", export(t, e, s, sum[int64](metricdata.DeltaTemporality, true, time.Time{}, 5)), "s:5|c|#k:v")
	// Fractions are carried, not truncated: 0.75 + 0.75 sends 1, then 0.5 more sends 1 again.
	assertLines(t, "float", export(t, e, s, sum(metricdata.DeltaTemporality, true, time.Time{}, 0.75),
		sum(metricdata.DeltaTemporality, true, time.Time{}, 0.75)), "s:1|c|#k:v")
	assertLines(t, "carry", export(t, e, s, sum(metricdata.DeltaTemporality, true, time.Time{}, 0.5)), "s:1|c|#k:v")
}

// TestCumulativeSumBecomesDeltas: increases are counted, a drop is a restart, so is a new
// StartTime, and the first point counts whole.
func TestCumulativeSumBecomesDeltas(t *testing.T) {
	rec, s := newRecorder(t, agent.Config{})
	e := NewExporter(rec)
	t0, t1 := time.Unix(100, 0), time.Unix(200, 0)
	for _, c := range []struct {
		start time.Time
		v     int64
		want  []string
	}{
		{t0, 10, []string{"s:10|c|#k:v"}},
		{t0, 15, []string{"s:5|c|#k:v"}},
		{t0, 15, nil},
		{t0, 3, []string{"s:3|c|#k:v"}}, // below the last: the process restarted
		{t0, 7, []string{"s:4|c|#k:v"}},
		{t1, 20, []string{"s:20|c|#k:v"}}, // new start time: restarted
	} {
		assertLines(t, "cumulative "+strconv.FormatInt(c.v, 10), export(t, e, s, sum(metricdata.CumulativeTemporality, true, c.start, c.v)), c.want...)
	}
	// Float cumulative sums too, per stream: another attribute set is another stream.
	other := metricdata.Metrics{Name: "s", Data: metricdata.Sum[float64]{
		Temporality: metricdata.CumulativeTemporality, IsMonotonic: true,
		DataPoints: []metricdata.DataPoint[float64]{{Attributes: attribute.NewSet(attribute.Int("n", 2)), StartTime: t0, Value: 2.5}},
	}}
	assertLines(t, "float stream", export(t, e, s, other), "s:2|c|#n:2")
	other.Data.(metricdata.Sum[float64]).DataPoints[0].Value = 4
	assertLines(t, "float stream again", export(t, e, s, other), "s:2|c|#n:2") // 1.5 + the 0.5 carried
}

func TestNonMonotonicSumAndGaugeAreGauges(t *testing.T) {
	rec, s := newRecorder(t, agent.Config{})
	e := NewExporter(rec)
	assertLines(t, "cumulative up-down", export(t, e, s, sum[int64](metricdata.CumulativeTemporality, false, time.Time{}, -4)),
		"s:0|g|#k:v", "s:-4|g|#k:v")
	assertLines(t, "delta up-down adds", export(t, e, s, sum(metricdata.DeltaTemporality, false, time.Time{}, 6.5)), "s:2.5|g|#k:v")
	g := metricdata.Metrics{Name: "g", Data: metricdata.Gauge[float64]{DataPoints: []metricdata.DataPoint[float64]{{Value: 1.25}}}}
	gi := metricdata.Metrics{Name: "gi", Data: metricdata.Gauge[int64]{DataPoints: []metricdata.DataPoint[int64]{{Value: 7}}}}
	assertLines(t, "gauges", export(t, e, s, g, gi), "g:1.25|g", "gi:7|g")
}

// hist is an explicit-bucket histogram of values, as the SDK aggregates it.
func hist(bounds []float64, temp metricdata.Temporality, values ...float64) metricdata.Metrics {
	p := metricdata.HistogramDataPoint[float64]{Bounds: bounds, BucketCounts: make([]uint64, len(bounds)+1),
		Min: metricdata.NewExtrema(slices.Min(values)), Max: metricdata.NewExtrema(slices.Max(values))}
	for _, v := range values {
		i, _ := slices.BinarySearch(bounds, v) // bucket i holds (bounds[i-1], bounds[i]]
		p.BucketCounts[i]++
		p.Count++
		p.Sum += v
	}
	return metricdata.Metrics{Name: "h", Data: metricdata.Histogram[float64]{Temporality: temp,
		DataPoints: []metricdata.HistogramDataPoint[float64]{p}}}
}

// lineValues returns the value of each line by the line's text before the value.
func lineValues(t *testing.T, lines []string) map[string]float64 {
	t.Helper()
	m := map[string]float64{}
	for _, l := range lines {
		name, rest, _ := strings.Cut(l, ":")
		v, _, _ := strings.Cut(rest, "|")
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		m[name] += f
	}
	return m
}

// TestHistogramSummaryIsExact: a summary's count, sum, avg, min and max are the histogram's.
func TestHistogramSummaryIsExact(t *testing.T) {
	rec, s := newRecorder(t, agent.Config{})
	e := NewExporter(rec)
	got := lineValues(t, export(t, e, s, hist([]float64{1, 10, 100}, metricdata.DeltaTemporality, 2, 3, 7, 50, 500, 0.5)))
	for name, want := range map[string]float64{"h.count": 6, "h.sum": 562.5, "h.avg": 562.5 / 6, "h.min": 0.5, "h.max": 500} {
		if math.Abs(got[name]-want) > 1e-9*want {
			t.Errorf("%s = %v, want %v", name, got[name], want)
		}
	}
}

// TestHistogramBucketsWithSameBounds: in buckets mode with the instrument's bounds, a receiver
// reads the instrument's cumulative bucket counts, values on a bound included.
func TestHistogramBucketsWithSameBounds(t *testing.T) {
	bounds := []float64{1, 10, 100}
	rec, s := newRecorder(t, agent.Config{Histograms: agent.HistogramConfig{
		Rules: []agent.HistogramRule{{Match: "h", Mode: agent.HistogramBuckets, Bounds: bounds}}}})
	e := NewExporter(rec)
	lines := export(t, e, s, hist(bounds, metricdata.DeltaTemporality, 1, 1, 2, 10, 10, 11, 99.5, 100, 1000))
	assertLines(t, "buckets", dropSum(lines),
		"h.bucket:2|c|#le:1", "h.bucket:5|c|#le:10", "h.bucket:8|c|#le:100", "h.bucket:9|c|#le:inf", "h.count:9|c")
	if v := lineValues(t, lines)["h.sum"]; math.Abs(v-1234.5) > 1e-9 {
		t.Errorf("h.sum %v, want 1234.5", v)
	}
}

// TestCumulativeHistogramBecomesDeltas: each export's counts are the increase; a count below
// the previous one restarts.
func TestCumulativeHistogramBecomesDeltas(t *testing.T) {
	bounds := []float64{1, 10}
	rec, s := newRecorder(t, agent.Config{Histograms: agent.HistogramConfig{Mode: agent.HistogramBuckets, Bounds: bounds}})
	e := NewExporter(rec)
	cum := metricdata.CumulativeTemporality
	assertLines(t, "first", dropSum(export(t, e, s, hist(bounds, cum, 0.5, 5))),
		"h.bucket:1|c|#le:1", "h.bucket:2|c|#le:10", "h.bucket:2|c|#le:inf", "h.count:2|c")
	lines := export(t, e, s, hist(bounds, cum, 0.5, 5, 5, 50))
	assertLines(t, "second", dropSum(lines), "h.bucket:1|c|#le:10", "h.bucket:2|c|#le:inf", "h.count:2|c")
	if v := lineValues(t, lines)["h.sum"]; math.Abs(v-55) > 1e-9 {
		t.Errorf("second h.sum %v, want 55", v)
	}
	assertLines(t, "restart", dropSum(export(t, e, s, hist(bounds, cum, 20))), "h.bucket:1|c|#le:inf", "h.count:1|c")
}

func dropSum(lines []string) []string {
	return slices.DeleteFunc(slices.Clone(lines), func(l string) bool { return strings.HasPrefix(l, "h.sum") })
}

// expHist is an exponential histogram with the given buckets at scale.
func expHist(temp metricdata.Temporality, scale int32, zero uint64, pos metricdata.ExponentialBucket, sum, lo, hi float64) metricdata.Metrics {
	var n uint64 = zero
	for _, c := range pos.Counts {
		n += c
	}
	return metricdata.Metrics{Name: "x", Data: metricdata.ExponentialHistogram[float64]{Temporality: temp,
		DataPoints: []metricdata.ExponentialHistogramDataPoint[float64]{{
			Count: n, Sum: sum, Scale: scale, ZeroCount: zero, PositiveBucket: pos,
			Min: metricdata.NewExtrema(lo), Max: metricdata.NewExtrema(hi),
		}}}}
}

// distribution returns a distribution's lines as value -> weight, the weight as statsd_exporter
// reads a rate (int(1/rate)).
func distribution(t *testing.T, lines []string) map[float64]uint64 {
	t.Helper()
	m := map[float64]uint64{}
	for _, l := range lines {
		fields := strings.Split(l, "|")
		_, v, _ := strings.Cut(fields[0], ":")
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || fields[1] != "d" {
			t.Fatalf("line %q: not a distribution value", l)
		}
		w := uint64(1)
		if len(fields) > 2 && strings.HasPrefix(fields[2], "@") {
			r, _ := strconv.ParseFloat(fields[2][1:], 64)
			w = uint64(1 / r)
		}
		m[f] += w
	}
	return m
}

// TestExponentialIsAWeightedDistribution: each bucket is sent as one weighted value within it,
// min and max as themselves, weights adding up to the count and values to the sum.
func TestExponentialIsAWeightedDistribution(t *testing.T) {
	rec, s := newRecorder(t, agent.Config{})
	e := NewExporter(rec)
	// Scale 0: bucket i holds (2^i, 2^(i+1)]. Values 0 0 | 1.5 | 3 3.5 | 5 (x 1000) 7.
	pos := metricdata.ExponentialBucket{Offset: 0, Counts: []uint64{1, 2, 1001}}
	total := 1.5 + 3 + 3.5 + 5000 + 7
	d := distribution(t, export(t, e, s, expHist(metricdata.DeltaTemporality, 0, 2, pos, total, 0, 7)))
	var n uint64
	var sum float64
	for v, w := range d {
		n += w
		sum += v * float64(w)
		if !(v == 0 || (v > 1 && v <= 8)) {
			t.Errorf("value %v outside every bucket", v)
		}
	}
	if n != 1006 || math.Abs(sum-total) > 1e-9*total {
		t.Errorf("weights add up to %d and values to %v, want 1006 and %v (%v)", n, sum, total, d)
	}
	if d[0] != 2 || d[7] < 1 {
		t.Errorf("zero bucket weighs %d (want 2), max 7 weighs %d (want at least 1): %v", d[0], d[7], d)
	}
}

// TestCumulativeExponentialDownscale: when the SDK lowers a cumulative stream's scale, the
// previous counts are merged to the new scale before they are subtracted.
func TestCumulativeExponentialDownscale(t *testing.T) {
	rec, s := newRecorder(t, agent.Config{})
	e := NewExporter(rec)
	cum := metricdata.CumulativeTemporality
	// Scale 1: bucket i holds (2^(i/2), 2^((i+1)/2)]; 1.2 is in bucket 0, 1.6 in bucket 1.
	export(t, e, s, expHist(cum, 1, 0, metricdata.ExponentialBucket{Offset: 0, Counts: []uint64{1, 1}}, 2.8, 1.2, 1.6))
	// Then 3 at scale 0 (bucket 1: (2, 4]); the old two merge into scale 0's bucket 0.
	d := distribution(t, export(t, e, s, expHist(cum, 0, 0, metricdata.ExponentialBucket{Offset: 0, Counts: []uint64{2, 1}}, 5.8, 1.2, 3)))
	if len(d) != 1 || d[3] != 1 {
		t.Errorf("second interval %v, want one value 3", d)
	}
}

func TestTags(t *testing.T) {
	rec, s := newRecorder(t, agent.Config{})
	e := NewExporter(rec)
	res := resource.NewSchemaless(attribute.String("service.name", "checkout"), attribute.String("service.version", "1.2"),
		attribute.String("deployment.environment.name", "prod"), attribute.String("host.name", "h1"))
	attrs := attribute.NewSet(attribute.String("route", "/pay"), attribute.Int("code", 200), attribute.Bool("ok", true))
	own := attribute.NewSet(attribute.String("env", "canary"))
	rm := &metricdata.ResourceMetrics{Resource: res, ScopeMetrics: []metricdata.ScopeMetrics{{Metrics: []metricdata.Metrics{
		{Name: "a", Data: metricdata.Gauge[int64]{DataPoints: []metricdata.DataPoint[int64]{{Attributes: attrs, Value: 1}}}},
		{Name: "b", Data: metricdata.Gauge[int64]{DataPoints: []metricdata.DataPoint[int64]{{Attributes: own, Value: 2}}}},
	}}}}
	if err := e.Export(context.Background(), rm); err != nil {
		t.Fatal(err)
	}
	rec.Flush()
	assertLines(t, "tags", s.take(),
		"a:1|g|#code:200,env:prod,ok:true,route:/pay,service:checkout,version:1.2",
		"b:2|g|#env:canary,service:checkout,version:1.2")
}

// TestFlushRespectsDeadline: ForceFlush and Shutdown return when their context is done, even
// while the recorder's flush is blocked; Export fails after Shutdown.
func TestFlushRespectsDeadline(t *testing.T) {
	release := make(chan struct{})
	w := writerFunc(func(p []byte) (int, error) { <-release; return len(p), nil })
	rec, err := agent.New(agent.Config{Interval: time.Hour, Statsd: agent.StatsdConfig{Writer: w}})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	e := NewExporter(rec)
	rec.GaugeSet("g", 1) // something to write, so the flush blocks
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := e.ForceFlush(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ForceFlush = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("ForceFlush took %v past its 50 ms deadline", d)
	}
	close(release)
	if err := e.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown = %v", err)
	}
	if err := e.Export(context.Background(), &metricdata.ResourceMetrics{Resource: resource.Empty()}); !errors.Is(err, sdkmetric.ErrExporterShutdown) {
		t.Errorf("Export after Shutdown = %v, want ErrExporterShutdown", err)
	}
	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	if err := e.ForceFlush(done); !errors.Is(err, context.Canceled) {
		t.Errorf("ForceFlush(canceled) = %v, want context.Canceled", err)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestUnsupportedIsReportedOnce(t *testing.T) {
	rec, s := newRecorder(t, agent.Config{})
	e := NewExporter(rec)
	rm := &metricdata.ResourceMetrics{Resource: resource.Empty(), ScopeMetrics: []metricdata.ScopeMetrics{{Metrics: []metricdata.Metrics{
		{Name: "q", Data: metricdata.Summary{}},
		{Name: "g", Data: metricdata.Gauge[int64]{DataPoints: []metricdata.DataPoint[int64]{{Value: 1}}}},
	}}}}
	if err := e.Export(context.Background(), rm); err == nil || !strings.Contains(err.Error(), "q (metricdata.Summary)") {
		t.Errorf("Export = %v, want an error naming q", err)
	}
	if err := e.Export(context.Background(), rm); err != nil {
		t.Errorf("second Export = %v, want nil (reported once)", err)
	}
	rec.Flush()
	assertLines(t, "the rest", s.take(), "g:1|g")
}

func TestTemporality(t *testing.T) {
	e := NewExporter(nil)
	for k, want := range map[sdkmetric.InstrumentKind]metricdata.Temporality{
		sdkmetric.InstrumentKindCounter:                 metricdata.DeltaTemporality,
		sdkmetric.InstrumentKindObservableCounter:       metricdata.DeltaTemporality,
		sdkmetric.InstrumentKindHistogram:               metricdata.DeltaTemporality,
		sdkmetric.InstrumentKindUpDownCounter:           metricdata.CumulativeTemporality,
		sdkmetric.InstrumentKindObservableUpDownCounter: metricdata.CumulativeTemporality,
		sdkmetric.InstrumentKindGauge:                   metricdata.CumulativeTemporality,
	} {
		if got := e.Temporality(k); got != want {
			t.Errorf("Temporality(%v) = %v, want %v", k, got, want)
		}
	}
}

// TestFit: the points of every histogram shape stay in their buckets, weigh the count and add up
// to the sum.
func TestFit(t *testing.T) {
	inf := math.Inf(1)
	for _, c := range []struct {
		name           string
		spans          []span
		sum, lo, hi    float64
		hasMin, hasMax bool
		exact          bool
		sumExact       bool // false: no points in the buckets can add up to sum (infinite buckets, no min or max)
	}{
		{"min and max", []span{{-inf, 1, 1, -1}, {1, 10, 3, -1}, {10, inf, 1, -1}}, 0.5 + 2 + 3 + 9 + 40, 0.5, 40, true, true, true, true},
		{"no min or max", []span{{-inf, 1, 1, -1}, {1, 10, 3, -1}, {10, inf, 1, -1}}, 0.5 + 2 + 3 + 9 + 40, 0, 0, false, false, true, false},
		{"cumulative bounds only", []span{{1, 10, 3, -1}}, 12, 1.5, 9, true, true, false, true},
		{"all just above a lower bound", []span{{1, 10, 2, -1}}, 2, 0, 0, false, false, true, true},
		{"one unbounded bucket", []span{{-inf, inf, 4, 0}}, 10, 0, 0, false, false, true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			orig := slices.Clone(c.spans)
			pts := fit(c.spans, c.sum, c.lo, c.hi, c.hasMin, c.hasMax, c.exact, nil)
			var n, want uint64
			var total float64
			for _, s := range orig {
				want += s.n
			}
			for _, p := range pts {
				n += p.n
				total += p.v * float64(p.n)
				in := false
				for _, s := range orig {
					in = in || (s.n > 0 && p.v > s.lo && p.v <= s.hi) || (s.open == 0 && p.v >= s.lo && p.v <= s.hi)
				}
				if !in {
					t.Errorf("point %v outside every nonempty bucket", p.v)
				}
			}
			if n != want {
				t.Errorf("points weigh %d, want %d", n, want)
			}
			if c.sumExact && math.Abs(total-c.sum) > 1e-9*c.sum {
				t.Errorf("points add up to %v, want %v (%v)", total, c.sum, pts)
			}
		})
	}
}

// TestSameNameTwoKinds: two instruments of different kinds with one name and attribute set in
// one scope (the SDK warns, and exports both) are both recorded.
func TestSameNameTwoKinds(t *testing.T) {
	rec, s := newRecorder(t, agent.Config{})
	e := NewExporter(rec)
	g := metricdata.Metrics{Name: "s", Data: metricdata.Gauge[int64]{DataPoints: []metricdata.DataPoint[int64]{{Attributes: kv, Value: 4}}}}
	assertLines(t, "both", export(t, e, s, g, sum[int64](metricdata.DeltaTemporality, true, time.Time{}, 2)), "s:4|g|#k:v", "s:2|c|#k:v")
}
