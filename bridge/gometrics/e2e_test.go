package gometrics_test

import (
	"math"
	"testing"
	"time"

	metrics "github.com/hashicorp/go-metrics"
	"github.com/statshard/statshard/agent"
	"github.com/statshard/statshard/bridge/gometrics"
	"github.com/statshard/statshard/internal/peertest"
)

// TestEndToEnd: go-metrics → the sink → a statshard recorder → a real statsd_exporter
// (internal/peertest, the core module's internal package, importable here because this module's
// path is under github.com/statshard/statshard; it skips without the binary unless
// STATSHARD_REQUIRE_PEERS=1). Every value reads back exactly.
func TestEndToEnd(t *testing.T) {
	pe := peertest.Start(t, peertest.Options{})
	rec, err := agent.New(agent.Config{
		Interval:   time.Hour, // Shutdown flushes
		Statsd:     agent.StatsdConfig{Address: "udp://" + pe.UDPAddr},
		Histograms: agent.HistogramConfig{Rules: []agent.HistogramRule{{Match: "svc.rpc.*", Mode: agent.HistogramBuckets, Bounds: []float64{10, 100}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	cfg := metrics.DefaultConfig("svc")
	cfg.EnableHostname = false
	cfg.EnableRuntimeMetrics = false // its collector goroutine would outlive the test
	m, err := metrics.New(cfg, gometrics.NewSink(rec))
	if err != nil {
		t.Fatal(err)
	}
	pay := []metrics.Label{{Name: "route", Value: "/pay"}}
	m.IncrCounterWithLabels([]string{"requests"}, 2, pay)
	m.IncrCounterWithLabels([]string{"requests"}, 3, pay)
	m.IncrCounter([]string{"bytes"}, 1.5)
	m.IncrCounter([]string{"bytes"}, 2.5)
	m.SetGaugeWithLabels([]string{"queue", "depth"}, 7, []metrics.Label{{Name: "queue", Value: "mail"}})
	m.SetPrecisionGauge([]string{"ratio"}, 0.1)
	m.SetGauge([]string{"temp"}, -3.5)
	for _, v := range []float32{5, 50, 50, 500} {
		m.AddSample([]string{"rpc", "latency"}, v)
	}
	m.Shutdown() // go-metrics calls the sink's Shutdown: the recorder flushes
	pe.WaitFor(t, 10*time.Second, func(got peertest.Metrics) bool {
		for _, w := range []struct {
			name   string
			labels []string
			v      float64
		}{
			{"svc_requests", []string{"route", "/pay"}, 5},
			{"svc_bytes", nil, 4},
			{"svc_queue_depth", []string{"queue", "mail"}, 7},
			{"svc_ratio", nil, 0.1},
			{"svc_temp", nil, -3.5},
			{"svc_rpc_latency_bucket", []string{"le", "10"}, 1},
			{"svc_rpc_latency_bucket", []string{"le", "100"}, 3},
			{"svc_rpc_latency_bucket", []string{"le", "inf"}, 4},
			{"svc_rpc_latency_count", nil, 4},
			{"svc_rpc_latency_sum", nil, 605},
		} {
			if v, ok := got.Get(w.name, w.labels...); !ok || math.Abs(v-w.v) > 1e-9 {
				return false
			}
		}
		return true
	})
}
