package statsd

import (
	"testing"
	"time"
)

// BenchmarkPacker measures encoding plus packing, one line per op, as a
// flush does. The baseline encodes each line into a scratch buffer and
// copies it into a fresh payload buffer per datagram, the usual way.
func BenchmarkPacker(b *testing.B) {
	const perFlush = 10000 // lines between Resets, like one flush
	l := Line{Name: benchName, Type: Counter, Tags: benchTags}
	report := func(b *testing.B, start time.Time) {
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "lines/s")
	}
	b.Run("packer", func(b *testing.B) {
		b.ReportAllocs()
		var p Packer
		p.Reset(make([]byte, 0, perFlush*64))
		payloads := make([][]byte, 0, perFlush)
		start := time.Now()
		for i := range b.N {
			if i%perFlush == 0 {
				payloads = p.Payloads(payloads[:0])
				p.Reset(p.Bytes())
			}
			buf := p.Begin()
			buf = AppendInt(buf, &l, int64(i))
			p.End(buf)
		}
		payloads = p.Payloads(payloads[:0])
		report(b, start)
		_ = payloads
	})
	b.Run("copy", func(b *testing.B) {
		b.ReportAllocs()
		scratch := make([]byte, 0, 256)
		var payloads [][]byte
		var cur []byte
		start := time.Now()
		for i := range b.N {
			if i%perFlush == 0 {
				payloads = payloads[:0]
			}
			scratch = AppendInt(scratch[:0], &l, int64(i))
			if len(cur) > 0 && len(cur)+1+len(scratch) > DefaultMaxUDP {
				payloads = append(payloads, cur)
				cur = nil
			}
			if cur == nil {
				cur = make([]byte, 0, DefaultMaxUDP)
			} else {
				cur = append(cur, '\n')
			}
			cur = append(cur, scratch...)
		}
		report(b, start)
		_ = payloads
	})
}
