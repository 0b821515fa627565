package otelbridge_test

import (
	"context"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/statshard/statshard/agent"
	otelbridge "github.com/statshard/statshard/bridge/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

const benchSeries = 10_000

// benchData is one export of benchSeries delta series of one kind, as the SDK hands it over.
func benchData(kind string) *metricdata.ResourceMetrics {
	var data metricdata.Aggregation
	attrs := func(i int) attribute.Set {
		return attribute.NewSet(attribute.String("route", "/r"+strconv.Itoa(i)), attribute.Int("code", 200))
	}
	now := time.Now()
	switch kind {
	case "counter":
		pts := make([]metricdata.DataPoint[int64], benchSeries)
		for i := range pts {
			pts[i] = metricdata.DataPoint[int64]{Attributes: attrs(i), StartTime: now, Time: now, Value: int64(i%7 + 1)}
		}
		data = metricdata.Sum[int64]{Temporality: metricdata.DeltaTemporality, IsMonotonic: true, DataPoints: pts}
	case "histogram":
		bounds := []float64{0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000}
		pts := make([]metricdata.HistogramDataPoint[float64], benchSeries)
		for i := range pts {
			counts := make([]uint64, len(bounds)+1)
			counts[3], counts[4] = 2, 1
			pts[i] = metricdata.HistogramDataPoint[float64]{Attributes: attrs(i), StartTime: now, Time: now,
				Count: 3, Bounds: bounds, BucketCounts: counts, Sum: 100,
				Min: metricdata.NewExtrema(20.0), Max: metricdata.NewExtrema(45.0)}
		}
		data = metricdata.Histogram[float64]{Temporality: metricdata.DeltaTemporality, DataPoints: pts}
	}
	return &metricdata.ResourceMetrics{Resource: res, ScopeMetrics: []metricdata.ScopeMetrics{{
		Metrics: []metricdata.Metrics{{Name: "bench." + kind, Data: data}},
	}}}
}

// BenchmarkExport is one Export of 10,000 series, statshard's exporter (recording into a
// recorder that does not send) against the SDK's stdout exporter writing JSON to io.Discard, in
// the same run: a sanity figure for the cost of the bridge per collection, not a claim that the
// two do the same work.
func BenchmarkExport(b *testing.B) {
	ctx := context.Background()
	for _, kind := range []string{"counter", "histogram"} {
		rm := benchData(kind)
		b.Run(kind+"/statshard", func(b *testing.B) {
			rec, err := agent.New(agent.Config{Interval: time.Hour, Statsd: agent.StatsdConfig{Address: "off"}})
			if err != nil {
				b.Fatal(err)
			}
			defer rec.Close()
			exp := otelbridge.NewExporter(rec)
			run(b, ctx, exp, rm)
		})
		b.Run(kind+"/stdoutmetric", func(b *testing.B) {
			exp, err := stdoutmetric.New(stdoutmetric.WithWriter(io.Discard))
			if err != nil {
				b.Fatal(err)
			}
			run(b, ctx, exp, rm)
		})
	}
}

func run(b *testing.B, ctx context.Context, exp sdkmetric.Exporter, rm *metricdata.ResourceMetrics) {
	if err := exp.Export(ctx, rm); err != nil { // the first export creates the series
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := exp.Export(ctx, rm); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchSeries, "ns/series")
}
