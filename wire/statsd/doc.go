// Package statsd speaks the DogStatsD line protocol: append-style encoders
// for metric lines, the Datadog rules for metric names and tags, and a
// Packer that lays lines out so they can be sent as full datagrams without
// copying.
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
// The package does no I/O and starts no goroutines. Functions are safe for
// concurrent use; a Packer is not, so give each flushing goroutine its own.
package statsd
