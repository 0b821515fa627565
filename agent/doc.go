// Package agent is statshard's public API: a Recorder that records counters, gauges, histograms,
// distributions and sets with near-zero overhead and exports their aggregates to a DogStatsD
// server on an interval.
//
// Recording goes into xxhash-sharded lock-free storage (package shard). A handle points straight
// at its series, so recording through it is one or a few atomic operations and allocates nothing;
// the by-name methods hash the name and tags on each call and still allocate nothing for a series
// seen before. Tags are "key:value" strings, as in datadog-go.
//
//	rec, err := agent.New(agent.Config{
//		Tags:   []string{"service:checkout"},
//		Statsd: agent.StatsdConfig{Address: "udp://127.0.0.1:8125"},
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer rec.Close() // flushes what is pending
//
//	requests := rec.Counter("http.requests", "route:/pay") // a handle: keep it
//	requests.Inc()
//	rec.Observe("http.latency", 0.012, "route:/pay")          // by name
//
// Every Config.Interval (10 s by default) the recorder snapshots and resets every series with
// atomic swaps, encodes DogStatsD lines, packs them into payloads of at most MaxPacketSize bytes
// and sends them with as few syscalls as the platform allows (sendmmsg on Linux). Counters are
// sent as the interval's delta, gauges when set, histograms as a summary, cumulative buckets or
// distributions (HistogramConfig), sets as their distinct members.
//
// Nothing is lost silently: every value that cannot be recorded or sent is counted by reason in
// Stats, and with Config.Telemetry those counters are sent too, as "statshard.*" metrics.
//
// Names and tags are made Datadog-compliant rather than rejected: invalid characters become '_',
// tags are lowercased, and over-long ones truncated (see package wire/statsd for the rules). Only a
// name with no valid character at all is dropped (counted as Stats.InvalidNames).
//
// All Recorder methods and handles are safe for concurrent use.
package agent
