package otelbridge_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/statshard/statshard/agent"
	otelbridge "github.com/statshard/statshard/bridge/otel"
	"github.com/statshard/statshard/internal/peertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
)

// The end-to-end tests run the OpenTelemetry SDK, the exporter, a statshard recorder and a real
// statsd_exporter (internal/peertest: the core module's internal package, importable here because
// this module's path is under github.com/statshard/statshard). They skip without the binary
// unless STATSHARD_REQUIRE_PEERS=1.

var res = resource.NewSchemaless(
	attribute.String("service.name", "checkout"),
	attribute.String("service.version", "1.2"),
	attribute.String("deployment.environment.name", "test"),
)

// resLabels are the labels the resource becomes at statsd_exporter.
var resLabels = []string{"service", "checkout", "version", "1.2", "env", "test"}

func labels(kv ...string) []string { return append(kv, resLabels...) }

func newRecorder(t *testing.T, addr string, cfg agent.Config) *agent.Recorder {
	t.Helper()
	cfg.Interval = time.Hour // the test flushes
	cfg.Statsd.Address = "udp://" + addr
	rec, err := agent.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Close() })
	return rec
}

type want struct {
	name   string
	labels []string
	v      float64
}

func waitFor(t *testing.T, e *peertest.StatsdExporter, wants []want) {
	t.Helper()
	e.WaitFor(t, 10*time.Second, func(m peertest.Metrics) bool {
		for _, w := range wants {
			if v, ok := m.Get(w.name, w.labels...); !ok || math.Abs(v-w.v) > 1e-9*math.Max(1, math.Abs(w.v)) {
				return false
			}
		}
		return true
	})
}

// TestEndToEnd: every instrument kind, through the SDK with the exporter's default (delta)
// temporality, reads back exactly at statsd_exporter.
func TestEndToEnd(t *testing.T) {
	pe := peertest.Start(t, peertest.Options{})
	ctx := context.Background()
	rec := newRecorder(t, pe.UDPAddr, agent.Config{Histograms: agent.HistogramConfig{Rules: []agent.HistogramRule{
		{Match: "otel.latency", Mode: agent.HistogramBuckets, Bounds: []float64{0.1, 1, 10}},
	}}})
	mp := sdkmetric.NewMeterProvider(
		sdkmetric.WithResource(res),
		sdkmetric.WithReader(sdkmetric.NewPeriodicReader(otelbridge.NewExporter(rec), sdkmetric.WithInterval(time.Hour))),
		sdkmetric.WithView(sdkmetric.NewView(sdkmetric.Instrument{Name: "otel.sizes"},
			sdkmetric.Stream{Aggregation: sdkmetric.AggregationBase2ExponentialHistogram{MaxSize: 160, MaxScale: 20}})),
	)
	defer mp.Shutdown(ctx)
	m := mp.Meter("e2e")

	pay := metric.WithAttributes(attribute.String("route", "/pay"))
	requests, _ := m.Int64Counter("otel.requests")
	bytes, _ := m.Float64Counter("otel.bytes")
	queue, _ := m.Int64UpDownCounter("otel.queue")
	temp, _ := m.Float64Gauge("otel.temp")
	latency, _ := m.Float64Histogram("otel.latency", metric.WithExplicitBucketBoundaries(0.1, 1, 10))
	sizes, _ := m.Float64Histogram("otel.sizes")
	ticks := 10
	if _, err := m.Int64ObservableCounter("otel.ticks", metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
		o.Observe(int64(ticks))
		return nil
	})); err != nil {
		t.Fatal(err)
	}

	requests.Add(ctx, 3, pay)
	requests.Add(ctx, 4, pay)
	bytes.Add(ctx, 0.5)
	bytes.Add(ctx, 1.5)
	queue.Add(ctx, 5)
	queue.Add(ctx, -8)
	temp.Record(ctx, 21.5)
	for _, v := range []float64{0.05, 0.5, 0.5, 5, 50} {
		latency.Record(ctx, v)
	}
	for _, v := range []float64{1, 2, 3, 100, 1000} {
		sizes.Record(ctx, v)
	}
	if err := mp.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	// A second interval: deltas add up at the receiver, the observable counter's cumulative 25 is
	// its total, and the up-down counter's gauge is its new total.
	requests.Add(ctx, 2, pay)
	bytes.Add(ctx, 2)
	queue.Add(ctx, 1)
	ticks = 25
	if err := mp.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, pe, []want{
		{"otel_requests", labels("route", "/pay"), 9},
		{"otel_bytes", labels(), 4},
		{"otel_queue", labels(), -2},
		{"otel_temp", labels(), 21.5},
		{"otel_ticks", labels(), 25},
		{"otel_latency_bucket", labels("le", "0.1"), 1},
		{"otel_latency_bucket", labels("le", "1"), 3},
		{"otel_latency_bucket", labels("le", "10"), 4},
		{"otel_latency_bucket", labels("le", "inf"), 5},
		{"otel_latency_count", labels(), 5},
		{"otel_latency_sum", labels(), 56.05},
		{"otel_sizes_count", labels(), 5},
		{"otel_sizes_sum", labels(), 1106},
	})
}

// TestEndToEndCumulative: with cumulative temporality (as a producer or a cumulative reader
// configuration gives), the receiver still reads the true totals, not the sum of totals.
func TestEndToEndCumulative(t *testing.T) {
	pe := peertest.Start(t, peertest.Options{})
	ctx := context.Background()
	rec := newRecorder(t, pe.UDPAddr, agent.Config{})
	exp := otelbridge.NewExporter(rec, otelbridge.WithTemporalitySelector(sdkmetric.CumulativeTemporalitySelector))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res),
		sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(time.Hour))))
	defer mp.Shutdown(ctx)
	m := mp.Meter("e2e")
	c, _ := m.Int64Counter("otel.cumulative")
	h, _ := m.Float64Histogram("otel.cumulative_latency")
	for _, round := range [][]float64{{5, 20}, {2}, {30, 40, 1}} {
		for _, v := range round {
			c.Add(ctx, int64(v))
			h.Record(ctx, v)
		}
		if err := mp.ForceFlush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, pe, []want{
		{"otel_cumulative", labels(), 98},
		{"otel_cumulative_latency_count", labels(), 6},
	})
}
