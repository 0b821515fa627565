package gometrics_test

import (
	"os"
	"time"

	metrics "github.com/hashicorp/go-metrics"
	"github.com/statshard/statshard/agent"
	"github.com/statshard/statshard/bridge/gometrics"
)

// go-metrics calls through statshard: the key's parts joined with '.', labels as tags. The
// recorder writes its DogStatsD lines to stdout here; in a service it sends them to the Datadog
// Agent or another DogStatsD server.
func Example() {
	rec, err := agent.New(agent.Config{Interval: time.Hour, Statsd: agent.StatsdConfig{Writer: os.Stdout}})
	if err != nil {
		panic(err)
	}
	defer rec.Close()

	cfg := metrics.DefaultConfig("checkout")
	cfg.EnableHostname = false
	cfg.EnableRuntimeMetrics = false
	m, err := metrics.New(cfg, gometrics.NewSink(rec))
	if err != nil {
		panic(err)
	}
	m.IncrCounterWithLabels([]string{"http", "requests"}, 1, []metrics.Label{{Name: "route", Value: "/pay"}})
	m.IncrCounterWithLabels([]string{"http", "requests"}, 2, []metrics.Label{{Name: "route", Value: "/pay"}})

	m.Shutdown() // flushes the recorder
	// Output:
	// checkout.http.requests:3|c|#route:/pay
}
