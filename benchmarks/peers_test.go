// The peer benchmarks put statshard and the clients a Go service would otherwise use on the
// same workloads, as sub-benchmarks of one benchmark function per workload, so that
//
//	go test -run '^$' -bench . -benchmem -count 6 . > peers.txt
//	benchstat -col /client peers.txt
//
// compares them side by side. Sub-benchmarks are named
// Benchmark<Workload>/tags=<n>/series=<n>/order=<rr|zipf>/g=<1|par>/client=<name>;
// RESULTS-peers.md has the figures. Without -benchtime, TestMain sets 500 ms (defaultBenchTime).
//
// Method. Every run starts a fresh client, records every series once (the warm-up: the series
// exist, as in a service that has been running) and flushes, untimed; then the measured loop
// visits the series in the shape's order (round-robin or Zipf, see workload_test.go). ns/op and
// allocs/op cover the recording loop only.
// cpu-ns/op is the process's CPU time (getrusage: every thread) from the start of the loop until
// the client has flushed and closed, or for pull clients been scraped once, divided by b.N. It
// charges each client for the work it defers to its own goroutines (datadog-go's sender and
// aggregator, statshard's flush), which ns/op on the calling goroutine does not see.
//
// Push clients send to a loopback UDP socket in a child process (receiver_test.go), so that
// receiving costs the benchmark process nothing; it has an 8 MiB buffer and a raised priority so
// that what is lost is lost by the client. After the client has closed, the run waits until the
// receiver has read everything (a sentinel datagram, then 10 ms of quiet) and reports:
//   - dgrams: datagrams received, the warm-up's included;
//   - rx-drops: datagrams the receiver's kernel dropped on a full buffer;
//   - client-drops: datagrams the client says it dropped (statshard's Stats, datadog-go's
//     telemetry TotalPayloadsDropped, the naive client's failed writes);
//   - delivered%, where recordings can be counted (not gauges): the events the received lines
//     stand for, less those the receiver had read by the end of the warm-up, ÷ b.N × 100. An aggregated "m:500|c" stands for 500 increments, a sampled line for
//     1/rate of them (see tally.represented). Pull clients report it from their one scrape.
//
// So a client that drops data cannot look fast without showing it.
package benchmarks

import (
	"testing"
)

// BenchmarkCounterHandle increments a counter obtained once per series: statshard's Counter
// handle, client_golang's CounterVec.WithLabelValues, VictoriaMetrics' Set.NewCounter.
func BenchmarkCounterHandle(b *testing.B) {
	for _, sh := range shapes(true) {
		b.Run(sh.String()+"/client=statshard", func(b *testing.B) { benchStatshardHandles(b, sh, seriesFor(sh)) })
		b.Run(sh.String()+"/client=prometheus", func(b *testing.B) { benchPrometheus(b, sh, seriesFor(sh)) })
		b.Run(sh.String()+"/client=victoriametrics", func(b *testing.B) { benchVictoriaMetrics(b, sh, seriesFor(sh)) })
	}
}

// BenchmarkCount adds 1 to a counter by name and tags.
func BenchmarkCount(b *testing.B) { benchByName(b, counter, shapes(true)) }

// BenchmarkGauge sets a gauge by name and tags.
func BenchmarkGauge(b *testing.B) { benchByName(b, gauge, shapes(false)) }

// BenchmarkHistogram records a value in a histogram by name and tags (statshard: its default
// summary mode; datadog-go: "|h").
func BenchmarkHistogram(b *testing.B) { benchByName(b, histogram, shapes(false)) }

// BenchmarkDistribution records a value in a distribution by name and tags ("|d").
func BenchmarkDistribution(b *testing.B) { benchByName(b, distribution, shapes(false)) }

func benchByName(b *testing.B, k kind, shs []shape) {
	for _, sh := range shs {
		for _, p := range pushersFor(k) {
			b.Run(sh.String()+"/client="+p.name, func(b *testing.B) {
				ss := seriesFor(sh)
				n := len(ss.tags)
				s := openSession(b, k.metric)
				c, err := p.open(s.addr, k, ss)
				if err != nil {
					b.Fatal(err)
				}
				warm(n, c.rec)
				c.flush()
				warmed := s.mark(b)
				var res rxResult
				var drops uint64
				measure(b, func() { drive(b, sh, n, c.rec) }, func() {
					if drops, err = c.stop(); err != nil {
						b.Error(err)
					}
					res = s.close(b)
				})
				res.events -= warmed // the warm-up's, as the receiver read them
				reportPush(b, k, res, drops)
			})
		}
	}
}

// measure runs loop with the timer on, then finish (flush and close, or scrape) with it off, and
// reports the process CPU time of both per op.
func measure(b *testing.B, loop, finish func()) {
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, ok0 := processCPU()
	loop()
	b.StopTimer()
	finish()
	cpu1, ok1 := processCPU()
	if ok0 && ok1 {
		b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
	}
}

// reportPush reports what reached the receiver, and what the client says it dropped.
func reportPush(b *testing.B, k kind, r rxResult, clientDrops uint64) {
	b.ReportMetric(float64(r.dgrams), "dgrams")
	b.ReportMetric(float64(r.drops), "rx-drops")
	b.ReportMetric(float64(clientDrops), "client-drops")
	if k.counts {
		b.ReportMetric(r.events/float64(b.N)*100, "delivered%")
	}
}

// reportPull reports what a pull client's scrape showed of the b.N increments.
func reportPull(b *testing.B, scraped float64) {
	b.ReportMetric(scraped/float64(b.N)*100, "delivered%")
}
