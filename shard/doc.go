// Package shard is statshard's series registry: it maps a metric (kind, name, tag set, and a
// namespace such as a container ID) to the value cells that record it, with lock-free lookups on
// the hot path. A sample rate is not part of a series: cells take weights (ObserveN).
//
// It is the storage of package agent, which is what applications use; it is public so that its
// layout and guarantees can be read and tested on their own.
//
// A series is found by the 64-bit xxhash of the name and tags exactly as the caller passed them; the
// hash picks one of many cache-line-padded shards and a slot in that shard's open-addressing table,
// and the full key is compared on every hit, so hash collisions are harmless. A miss takes the slow
// path once per distinct spelling: the registry's owner canonicalizes the key (sanitizing, sorting
// tags, adding global tags), so "a:1","b:2" and "b:2","a:1" share one series.
//
// A caller with many keys at hand, such as the agent's intake with a batch of lines, hashes them
// (HashKey), lets Warm bring into the caches what their lookups will read, with the misses of
// all of them in flight at once, and then looks each up with LookupHashed. An owner that keeps
// data about each series makes the registry's series itself (Config.NewSeries), each the first
// field of a struct of its own, so that both are one allocation.
//
// Value cells (Counter, Gauge, Histogram, Buckets, Reservoir, Set) record with atomic operations or a
// tiny critical section and are snapshot-and-reset by the flush with atomic swaps: under concurrent
// writers no update is lost and none is counted twice.
//
// Flush walks every live series, lets the caller snapshot it, and expires series that were idle for
// Config.Expiry flushes. Past Config.MaxSeries, new keys fold into one overflow series per metric
// name and every fold is counted. A folded key gets no lookup entry, but a bounded fold cache
// (MaxFoldedKeys) remembers it, so that its later samples neither canonicalize nor allocate.
//
// # The recording contract
//
// A series held across flushes (a handle) keeps working after expiry only if whoever records into
// it keeps this rule: after every recording, if Series.Dead reports true, call Registry.Revive.
// Checking after recording, not before, closes the race with expiry. A recording into a dead
// series that is not revived is never flushed. Package agent keeps the rule on every path; code
// that records into a Registry of its own must keep it too, as the example below does.
//
// The shard package knows no wire format. All methods are safe for concurrent use unless a comment
// says otherwise.
//
//	r := shard.New(shard.Config{MaxSeries: 10000}, canon)
//	s := r.Lookup(shard.KindCounter, "requests", []string{"env:prod"})
//	s.Counter.Add(1)
//	if s.Dead() {
//		r.Revive(s)
//	}
package shard
