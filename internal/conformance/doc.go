// Package conformance holds statshard's conformance suite: tests, and nothing else, that drive the
// library and the built agent against real DogStatsD receivers (prometheus/statsd_exporter v0.31.0
// and telegraf v1.37.2's statsd input, both run by internal/peertest) and assert the exact values
// those receivers read back.
//
// What it covers:
//
//   - the library, agent.New over UDP and over a unix datagram socket: every kind (counter, gauge,
//     histogram in summary, buckets and distribution modes, distribution with raw samples, its
//     reservoir overflowing, SketchDistributions, sets) and every option (Prefix, global Tags with
//     a metric's own tag winning, MultiValue, ResendGauges, Timestamps, sample rates, MaxSeries
//     overflow), plus its DogStatsD intake (Recorder.Listen);
//   - the agent binary (go build ./cmd/agent, once per run) fed DogStatsD over UDP and unixgram;
//   - the trust issue's classes, each a subtest named after it: negative gauges, mixed sample
//     rates on one metric, overflow series names and rules, gauges resent twice, names over 200
//     bytes, sketch and reservoir weights, int64 counter overflow, unrepresentable counter sums,
//     signed gauges at the agent's intake, bad timestamped lines and sample rates, empty set
//     members, fractional counters.
//
// Every sender under test sends to a tee, a loopback socket of the same network that records each
// datagram and forwards it unchanged to the receivers, so one recording reaches both receivers
// (sampled values included) and the wire itself can be asserted on where no receiver can show a
// property (a line sent twice, a name's length). Before reading back, the test sends a marker
// through the same path and waits for each receiver to show it: receivers apply datagrams in order,
// so the values read after the marker are final, and a wrong value fails at once rather than after a
// timeout.
//
// Where a receiver cannot represent something the test asserts what the receiver does instead and
// logs it, naming the limitation; nothing is skipped silently. The limitations found are listed in
// docs/reliability.md ("Conformance against real receivers").
//
// Run it with the receivers installed as .ci/run installs them:
//
//	go test -count=1 ./internal/conformance/
//
// With STATSHARD_REQUIRE_PEERS=1 a missing receiver fails the run instead of skipping it.
package conformance
