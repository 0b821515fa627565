package pb

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/statshard/statshard/proto/eventpb"
)

// Fuzz labels travel as one string: key\nvalue\nkey\nvalue...
const labelSep = "\n"

func joinLabels(ls []Label) string {
	var parts []string
	for _, l := range ls {
		parts = append(parts, l.Key, l.Value)
	}
	return strings.Join(parts, labelSep)
}

// splitLabels parses joinLabels's format, then sorts and de-duplicates the
// labels (keeping the last value of a key, as a proto map does), which
// the encoder requires of its callers.
func splitLabels(s string) []Label {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, labelSep)
	var ls []Label
	for i := 0; i+1 < len(parts); i += 2 {
		ls = append(ls, Label{parts[i], parts[i+1]})
	}
	SortLabels(ls) // stable: the last of equal keys stays last
	out := ls[:0]
	for _, l := range ls {
		if len(out) > 0 && out[len(out)-1].Key == l.Key {
			out[len(out)-1] = l
			continue
		}
		out = append(out, l)
	}
	return out
}

func FuzzMetricRoundTrip(f *testing.F) {
	for _, tc := range metricCases {
		m := tc.m
		f.Add(m.Name, joinLabels(m.Labels), uint8(m.Op), m.Uint, m.Float, m.Seconds, m.Nanos, false)
	}
	f.Add("bad\xff", "k\xfe\nv\xc0", uint8(SetGauge), uint64(0), 1.0, int64(1), int32(0), false)
	f.Add("dup", "k\n1\nk\n2", uint8(IncrementCounter), uint64(1), 0.0, int64(0), int32(0), true)
	f.Add("", "", uint8(0), uint64(0), 0.0, int64(0), int32(0), false)
	f.Fuzz(func(t *testing.T, name, labels string, op uint8, u uint64, fl float64, sec int64, nsec int32, trusted bool) {
		m := Metric{Name: name, Seconds: sec, Nanos: nsec, Labels: splitLabels(labels), Op: Op(op % 8), Uint: u, Float: fl}
		// ValidUTF8 is a promise the caller may only make for valid strings.
		m.ValidUTF8 = trusted && allUTF8(&m)
		got := AppendMetric(nil, &m)
		if !m.Op.Valid() {
			if len(got) != 0 {
				t.Fatalf("invalid Op %d: got %x, want nothing", m.Op, got)
			}
			return
		}
		if frame := AppendMetricFrame(nil, &m); !bytes.Equal(frame, protowire.AppendBytes(nil, got)) {
			t.Fatalf("frame: got %x, want uvarint(len) ‖ %x", frame, got)
		}

		var ev eventpb.Event
		if err := proto.Unmarshal(got, &ev); err != nil {
			t.Fatalf("unmarshal %x: %v", got, err)
		}
		checkDecodedMetric(t, &m, ev.GetMetric())

		if !allUTF8(&m) {
			return // proto.Marshal refuses invalid UTF-8; the decoded check covers it
		}
		if want := marshalDeterministic(t, metricEvent(&m)); !bytes.Equal(got, want) {
			t.Fatalf("got  %x\nwant %x", got, want)
		}
	})
}

func allUTF8(m *Metric) bool {
	if !utf8.ValidString(m.Name) {
		return false
	}
	for _, l := range m.Labels {
		if !utf8.ValidString(l.Key) || !utf8.ValidString(l.Value) {
			return false
		}
	}
	return true
}

// checkDecodedMetric compares a decoded metric with what was encoded, with
// strings sanitized as the encoder does and floats compared bit for bit (so
// NaN equals the same NaN).
func checkDecodedMetric(t *testing.T, m *Metric, got *eventpb.Metric) {
	t.Helper()
	clean := func(s string) string { return strings.ToValidUTF8(s, replacement) }
	if got == nil {
		t.Fatal("got no metric in the event")
	}
	if got.GetName() != clean(m.Name) {
		t.Errorf("name: got %q, want %q", got.GetName(), clean(m.Name))
	}
	if ts := got.GetTimestamp(); ts == nil || ts.Seconds != m.Seconds || ts.Nanos != m.Nanos {
		t.Errorf("timestamp: got %v, want %d s %d ns", ts, m.Seconds, m.Nanos)
	}
	wantLabels := map[string]string{}
	for _, l := range m.Labels {
		wantLabels[clean(l.Key)] = clean(l.Value)
	}
	if len(got.GetLabels()) != len(wantLabels) {
		t.Errorf("labels: got %v, want %v", got.GetLabels(), wantLabels)
	}
	for k, v := range wantLabels {
		if gv, ok := got.GetLabels()[k]; !ok || gv != v {
			t.Errorf("label %q: got %q (present %v), want %q", k, gv, ok, v)
		}
	}
	var gotU uint64
	var gotF float64
	var gotOp Op
	switch op := got.GetOperation().(type) {
	case *eventpb.Metric_IncrementCounter:
		gotOp, gotU = IncrementCounter, op.IncrementCounter
	case *eventpb.Metric_SetCounter:
		gotOp, gotU = SetCounter, op.SetCounter
	case *eventpb.Metric_IncrementGauge:
		gotOp, gotF = IncrementGauge, op.IncrementGauge
	case *eventpb.Metric_DecrementGauge:
		gotOp, gotF = DecrementGauge, op.DecrementGauge
	case *eventpb.Metric_SetGauge:
		gotOp, gotF = SetGauge, op.SetGauge
	case *eventpb.Metric_RecordHistogram:
		gotOp, gotF = RecordHistogram, op.RecordHistogram
	}
	if gotOp != m.Op {
		t.Fatalf("operation: got %v, want %v", gotOp, m.Op)
	}
	if m.Op.isUint() && gotU != m.Uint {
		t.Errorf("%v: got %d, want %d", m.Op, gotU, m.Uint)
	}
	if !m.Op.isUint() && math.Float64bits(gotF) != math.Float64bits(m.Float) {
		t.Errorf("%v: got %v, want %v", m.Op, gotF, m.Float)
	}
}

func FuzzMetadataRoundTrip(f *testing.F) {
	for _, tc := range metadataCases {
		md := tc.md
		f.Add(md.Name, uint8(md.Type), md.Unit, md.HasUnit, md.Description, md.HasDescription)
	}
	f.Add("n\xff", uint8(3), "\xc0", true, "", true)
	f.Fuzz(func(t *testing.T, name string, typ uint8, unit string, hasUnit bool, desc string, hasDesc bool) {
		md := Metadata{Name: name, Type: MetricType(typ % 4), Unit: unit, HasUnit: hasUnit, Description: desc, HasDescription: hasDesc}
		got := AppendMetadata(nil, &md)
		if !md.Type.Valid() {
			if len(got) != 0 {
				t.Fatalf("invalid Type %d: got %x, want nothing", md.Type, got)
			}
			return
		}
		clean := func(s string) string { return strings.ToValidUTF8(s, replacement) }
		want := Metadata{Name: clean(name), Type: md.Type, Unit: clean(unit), HasUnit: hasUnit, Description: clean(desc), HasDescription: hasDesc}
		if wantB := marshalDeterministic(t, metadataEvent(&want)); !bytes.Equal(got, wantB) {
			t.Fatalf("got  %x\nwant %x", got, wantB)
		}
		if frame := AppendMetadataFrame(nil, &md); !bytes.Equal(frame, protowire.AppendBytes(nil, got)) {
			t.Fatalf("frame: got %x, want uvarint(len) ‖ %x", frame, got)
		}
	})
}

func FuzzReadFrame(f *testing.F) {
	buf, _, _ := stream(f)
	f.Add(buf, uint16(0))
	f.Add(buf[:len(buf)/2], uint16(64))
	f.Add([]byte("\x03abc\x00\x01"), uint16(3))
	f.Add([]byte("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"), uint16(10))
	f.Add([]byte("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"), uint16(10))
	f.Add([]byte("\x81\x00x"), uint16(1))
	f.Add([]byte{}, uint16(1))
	f.Fuzz(func(t *testing.T, data []byte, limit uint16) {
		effective := int(limit)
		if effective == 0 {
			effective = DefaultMaxFrame
		}
		r := bufio.NewReader(bytes.NewReader(data))
		rest := data // what protowire says the stream holds, for comparison
		var frame []byte
		for i := 0; i <= len(data); i++ { // each frame consumes at least one byte
			var err error
			frame, err = ReadFrame(r, frame, int(limit))
			if len(frame) > effective {
				t.Fatalf("got a %d-byte frame, limit %d", len(frame), effective)
			}
			want, n := protowire.ConsumeBytes(rest)
			if err == nil {
				if n < 0 || !bytes.Equal(frame, want) {
					t.Fatalf("frame %d: got %x, protowire.ConsumeBytes gives %x (n=%d)", i, frame, want, n)
				}
				rest = rest[n:]
				continue
			}
			switch {
			case err == io.EOF:
				if len(rest) != 0 {
					t.Fatalf("io.EOF with %d bytes left", len(rest))
				}
			case err == io.ErrUnexpectedEOF, errors.Is(err, ErrBadLength):
				if n >= 0 {
					t.Fatalf("error %v, but protowire reads a %d-byte frame", err, len(want))
				}
			case errors.Is(err, ErrFrameTooLarge):
				if l, _ := protowire.ConsumeVarint(rest); l <= uint64(effective) {
					t.Fatalf("error %v for length %d, limit %d", err, l, effective)
				}
			default:
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		t.Fatalf("no error after %d frames from %d bytes", len(data)+1, len(data))
	})
}
