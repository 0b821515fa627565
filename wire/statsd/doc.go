// Package statsd speaks the DogStatsD line protocol: append-style encoders
// for metric lines, events and service checks (AppendEvent,
// AppendServiceCheck, with the protocol's escapes), the Datadog rules for metric names and tags, a Packer
// that lays lines out so they can be sent as full datagrams without copying,
// and a zero-allocation Parser for every DogStatsD form (metrics with
// multi-values, rates, tags, container IDs, timestamps, external data and
// cardinality; events; service checks).
//
// A flush encodes each series straight into a Packer's buffer, then hands
// the payloads to a batched datagram writer:
//
//	line := statsd.Line{Name: "http.requests", Type: statsd.Counter, Tags: "env:prod,code:200"}
//	var p statsd.Packer // Max 0 means DefaultMaxUDP
//	p.Reset(buf[:0])
//	b := p.Begin()
//	b = statsd.AppendInt(b, &line, 5)
//	p.End(b)
//	payloads := p.Payloads(nil) // "http.requests:5|c|#env:prod,code:200"
//
// Names and tags are written verbatim, so sanitize them once, when a series
// is created, with SanitizeName and SanitizeTag; the encoders never check
// them again.
//
// On the receiving side, a Parser returns a Sample whose strings alias the
// parsed line (no copy, no allocation): they are valid only until the
// datagram buffer is reused, so copy what you keep.
//
//	var p statsd.Parser
//	statsd.SplitLines(datagram, func(line []byte) {
//		kind, s, err := p.Parse(line)
//		if err != nil {
//			count(statsd.Reason(err)) // "bad_value", "bad_type", ...
//			return
//		}
//		if kind == statsd.KindMetric {
//			s.Values(func(v float64, relative bool) { record(s.Name, s.Tags, v) })
//		}
//	})
//
// The package does no I/O and starts no goroutines. Functions are safe for
// concurrent use; a Packer or a Parser is not, so give each goroutine its own.
package statsd
