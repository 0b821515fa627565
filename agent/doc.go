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
// Timings (Timing, Timer) are sent as DogStatsD "ms" samples in milliseconds; events and service
// checks (Event, ServiceCheck) are queued and sent at the next flush, each in a datagram of its
// own. With an empty StatsdConfig.Address a recorder reads the destination, global tags and origin
// detection from the Datadog environment variables, as datadog-go does (see Config.NoEnv and the
// README's "Configuration from the environment"); docs/datadog-go.md maps datadog-go's API onto
// this one.
//
// Nothing is lost silently: every value that cannot be recorded or sent is counted by reason in
// Stats, and with Config.Telemetry those counters are sent too, as "statshard.*" metrics.
//
// Names and tags are made Datadog-compliant rather than rejected: invalid characters become '_',
// tags are lowercased, and over-long ones truncated (see package wire/statsd for the rules). Only a
// name with no valid character at all is dropped (counted as Stats.InvalidNames).
//
// All Recorder methods and handles are safe for concurrent use.
//
// # Handles
//
// Counter, Gauge, Histogram and Set are handles: they point straight at their series' cells, so
// recording is one or a few atomic operations, no lock and no allocation. They are small values,
// safe to copy and to use from many goroutines. A handle keeps working after its series expires
// for idleness (the series comes back). A handle made from a name with no valid character records
// nothing and counts every recording in Stats.InvalidNames; the zero value records nothing.
//
// Performance tip: create handles once (at startup, or in a struct field) for hot paths; the
// by-name methods cost a lookup of the name and tags on every call.
//
// # By-name calls
//
// Count, GaugeSet, GaugeAdd, Observe, ObserveDistribution, SetAdd and the sampled methods find the
// series without a lock or an allocation once it exists. Called again with the same strings
// (literals, or strings kept in variables), they find it by the strings' identity, without hashing
// their bytes; strings built anew on each call are hashed instead. The first use of a spelling
// canonicalizes it: names and tags are made Datadog-compliant (package wire/statsd), global tags
// merged and tags sorted, so any tag order reaches the same series.
//
// Never pass strings that alias memory you modify later (unsafe.String over a reused buffer): a
// string is identified by its address, and a changed string behind the same address would reach
// the series of its old bytes.
//
// # Sampling
//
// The sampled methods (CountSampled, ObserveSampled, ObserveDistributionSampled) keep a call with
// probability rate (0 < rate < 1) and record what they keep weighted by 1/rate, so the aggregates
// stand for every call: like datadog-go's rate argument, they trade precision for less work. A
// rate outside (0, 1) records every call, unweighted. A rate is a weight on the value, never part
// of the series: sampled and unsampled calls of one metric go to one series, and a summary's
// .count, .sum and quantiles count both. A counter adds n/rate exactly (fractions are carried to
// the next flush, so counters are sent as integers); an observation counts as an integral number
// of values, 1/rate rounded up or down at random so that its expected weight is exactly 1/rate. A
// rate so small that the weight passes 2^32 is counted as an invalid value.
package agent
