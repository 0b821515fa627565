package otelbridge_test

import (
	"context"
	"os"
	"time"

	"github.com/statshard/statshard/agent"
	otelbridge "github.com/statshard/statshard/bridge/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
)

// An OpenTelemetry counter through statshard: the attribute and the resource's service.name
// become tags. The recorder writes its DogStatsD lines to stdout here; in a service it sends them
// to the Datadog Agent or another DogStatsD server.
func Example() {
	ctx := context.Background()
	rec, err := agent.New(agent.Config{Interval: time.Hour, Statsd: agent.StatsdConfig{Writer: os.Stdout}})
	if err != nil {
		panic(err)
	}
	defer rec.Close()

	provider := sdkmetric.NewMeterProvider(
		sdkmetric.WithResource(resource.NewSchemaless(attribute.String("service.name", "checkout"))),
		sdkmetric.WithReader(sdkmetric.NewPeriodicReader(otelbridge.NewExporter(rec))),
	)
	requests, _ := provider.Meter("example").Int64Counter("http.requests")
	requests.Add(ctx, 2, metric.WithAttributes(attribute.String("route", "/pay")))
	requests.Add(ctx, 1, metric.WithAttributes(attribute.String("route", "/pay")))

	// Shutdown collects, exports and flushes the recorder.
	if err := provider.Shutdown(ctx); err != nil {
		panic(err)
	}
	// Output:
	// http.requests:3|c|#route:/pay,service:checkout
}
