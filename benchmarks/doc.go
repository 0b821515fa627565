// Package benchmarks compares statshard with the metrics clients users would otherwise pick, on
// the same workloads in the same run, and hosts the capacity command (cmd/capacity).
//
// It is its own Go module, so the peers it measures (datadog-go, client_golang,
// VictoriaMetrics/metrics) never enter the library's go.mod. See docs/perf.md for the figures and
// the commands that produced them.
package benchmarks
