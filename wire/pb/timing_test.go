package pb

import (
	"bufio"
	"bytes"
	"testing"

	"google.golang.org/protobuf/encoding/protodelim"
	"google.golang.org/protobuf/proto"

	"github.com/statshard/statshard/proto/eventpb"
)

// BenchmarkAppendMetricFrame compares the encoder with the generated types'
// marshallers on the same event, in one run so the ratios survive a noisy
// machine. The baselines include building the eventpb.Event, as a producer
// using them would on every event.
func BenchmarkAppendMetricFrame(b *testing.B) {
	b.Run("protowire", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 256)
		for b.Loop() {
			buf = AppendMetricFrame(buf[:0], &benchMetric)
		}
		b.SetBytes(int64(len(buf)))
	})
	b.Run("protowire-ValidUTF8", func(b *testing.B) {
		b.ReportAllocs()
		m := benchMetric
		m.ValidUTF8 = true // checked once per series by the caller
		buf := make([]byte, 0, 256)
		for b.Loop() {
			buf = AppendMetricFrame(buf[:0], &m)
		}
		b.SetBytes(int64(len(buf)))
	})
	b.Run("baseline=proto.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		opts := proto.MarshalOptions{Deterministic: true}
		buf := make([]byte, 0, 256)
		for b.Loop() {
			var err error
			buf, err = opts.MarshalAppend(buf[:0], metricEvent(&benchMetric))
			if err != nil {
				b.Fatal(err)
			}
		}
		b.SetBytes(int64(len(buf)))
	})
	b.Run("baseline=proto.Marshal-prebuilt-event", func(b *testing.B) {
		b.ReportAllocs()
		ev := metricEvent(&benchMetric)
		for b.Loop() {
			if _, err := proto.Marshal(ev); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline=protodelim.MarshalTo", func(b *testing.B) {
		b.ReportAllocs()
		var w bytes.Buffer
		for b.Loop() {
			w.Reset()
			if _, err := protodelim.MarshalTo(&w, metricEvent(&benchMetric)); err != nil {
				b.Fatal(err)
			}
		}
		b.SetBytes(int64(w.Len()))
	})
}

func BenchmarkAppendMetadataFrame(b *testing.B) {
	md := Metadata{Name: "http.server.requests", Type: Histogram, Unit: "seconds", HasUnit: true, Description: "time to serve", HasDescription: true}
	b.Run("protowire", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 256)
		for b.Loop() {
			buf = AppendMetadataFrame(buf[:0], &md)
		}
	})
	b.Run("baseline=proto.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		opts := proto.MarshalOptions{Deterministic: true}
		buf := make([]byte, 0, 256)
		for b.Loop() {
			var err error
			if buf, err = opts.MarshalAppend(buf[:0], metadataEvent(&md)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkReadFrame(b *testing.B) {
	const frames = 1024
	var stream []byte
	for range frames {
		stream = AppendMetricFrame(stream, &benchMetric)
	}
	b.Run("ReadFrame", func(b *testing.B) {
		b.ReportAllocs()
		br := bytes.NewReader(stream)
		r := bufio.NewReader(br)
		var frame []byte
		for b.Loop() {
			br.Reset(stream)
			r.Reset(br)
			for range frames {
				var err error
				if frame, err = ReadFrame(r, frame, 0); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.SetBytes(int64(len(stream)))
	})
	b.Run("baseline=protodelim.UnmarshalFrom", func(b *testing.B) {
		b.ReportAllocs()
		br := bytes.NewReader(stream)
		r := bufio.NewReader(br)
		for b.Loop() {
			br.Reset(stream)
			r.Reset(br)
			for range frames {
				if err := protodelim.UnmarshalFrom(r, new(eventpb.Event)); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.SetBytes(int64(len(stream)))
	})
}
