// Command capacity answers an operator's question — how many metrics, series and stream clients
// can one core take? — with one bounded run on the machine at hand, and writes the answer as a
// Markdown report and an SVG chart.
//
// The command lives in the benchmarks module (benchmarks/go.mod), not in the library's, so from
// the repository root run it with -C (or cd into benchmarks):
//
//	go -C benchmarks run ./cmd/capacity            # full run, under 5 minutes
//	go -C benchmarks run ./cmd/capacity -quick     # under a minute, for CI
//	go -C benchmarks run ./cmd/capacity -only curve   # the cost curve alone, about 2 minutes
//	(cd benchmarks && go run ./cmd/capacity -out /tmp/cap -duration 5s)
//
// `go run ./benchmarks/cmd/capacity` from the root fails ("main module does not contain
// package"), because the root directory's go.mod is the library's; a go.work using both modules
// would make it work, but the repository has none on purpose.
//
// It measures, all over loopback and each loop bounded in count and time:
//
//   - Kernel ceilings: a raw sendmmsg loop and a raw recvmmsg loop (netio) on 1432-byte datagrams
//     of tagged counter lines, and a raw TCP write loop to the stream's clients. Every other figure
//     is also shown as a fraction of one of these.
//   - Recording: counter handle Add, by-name Count with 3 tags and histogram Observe in a tight loop
//     on one goroutine, as operations per second and per CPU-second (getrusage), against a raw
//     atomic add.
//   - Memory per series by kind (counter, gauge, histogram, set): live heap growth over 100k series.
//   - Flush: time, datagrams per sendmmsg and datagrams/s for 1k, 10k, 100k and 1M counter series
//     (1M skipped with -quick) to a real loopback UDP receiver; the project's bar is 80 % of the
//     sendmmsg ceiling.
//   - TCP stream: delivered events/s per client and p50/p99 lag for 1, 8 and 64 clients, and the
//     stream's drops.
//   - Agent intake: the agent binary (built from this tree, or -agent) at stepped rates until loss
//     passes 0.1 %, its CPU (/proc/<pid>/stat) and RSS at each step, lines per CPU-second; the same
//     against prometheus/statsd_exporter when its binary is found ($STATSD_EXPORTER, PATH,
//     $GOPATH/bin or ~/go/bin; skipped and said so otherwise), and the ratio of the two (the
//     project claims ≥ 5×).
//   - Cost curve: CPU-ns per by-name counter recording (3 tags, series visited round-robin, flush
//     and close included) at 1 to 1M series for statshard (MaxSeries -1) and datadog-go v5 with
//     client-side aggregation (the faster of its basic and extended modes), median of 3 runs, and
//     statshard's growth from 1k to 1M series (goal ≤ 3×); -quick measures 1, 1k and 100k once.
//     It adds about 2 minutes to a full run.
//
// The tables go to stdout, progress to stderr, and the report to OUT/capacity.md,
// OUT/capacity.svg and OUT/costcurve.svg (default: out/ in the benchmarks module). The exit status is non-zero only when
// a measurement could not be made; a missed bar is a finding, not an error. Linux only: it reads
// /proc.
package main
