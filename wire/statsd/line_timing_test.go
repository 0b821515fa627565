package statsd

import (
	"fmt"
	"testing"
)

// A typical line: a 20-byte name and three tags.
const (
	benchName = "http.server.requests"
	benchTags = "env:prod,service:api,code:200"
)

func BenchmarkAppendInt(b *testing.B) {
	l := Line{Name: benchName, Type: Counter, Tags: benchTags}
	buf := make([]byte, 0, 256)
	b.Run("statsd", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			buf = AppendInt(buf[:0], &l, int64(i))
		}
	})
	b.Run("fmt.Appendf", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			buf = fmt.Appendf(buf[:0], "%s:%d|%s|#%s", l.Name, int64(i), l.Type.String(), l.Tags)
		}
	})
}

func BenchmarkAppendFloat(b *testing.B) {
	l := Line{Name: benchName, Type: Gauge, Tags: benchTags}
	values := [...]float64{0.25, 1234.5678, 42, 3.1415926535, 1e-3, 99.9, 7, 0.001953125}
	buf := make([]byte, 0, 256)
	b.Run("statsd", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			buf = AppendFloat(buf[:0], &l, values[i%len(values)])
		}
	})
	b.Run("fmt.Appendf", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			buf = fmt.Appendf(buf[:0], "%s:%v|%s|#%s", l.Name, values[i%len(values)], l.Type.String(), l.Tags)
		}
	})
}
