package pb

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

var metadataCases = []struct {
	name string
	md   Metadata
}{
	{"zero value", Metadata{}},
	{"counter, no unit, no description", Metadata{Name: "requests", Type: Counter}},
	{"gauge", Metadata{Name: "queue.depth", Type: Gauge}},
	{"histogram", Metadata{Name: "latency", Type: Histogram}},
	{"unit present", Metadata{Name: "latency", Type: Histogram, Unit: "seconds", HasUnit: true}},
	{"unit empty but present", Metadata{Name: "latency", Type: Histogram, HasUnit: true}},
	{"unit set but absent", Metadata{Name: "latency", Type: Histogram, Unit: "seconds"}},
	{"description present", Metadata{Name: "n", Type: Gauge, Description: "items waiting", HasDescription: true}},
	{"description empty but present", Metadata{Name: "n", Type: Gauge, HasDescription: true}},
	{"description set but absent", Metadata{Name: "n", Type: Gauge, Description: "ignored"}},
	{"both present", Metadata{Name: "n", Type: Counter, Unit: "bytes", HasUnit: true, Description: "sent", HasDescription: true}},
	{"both empty but present", Metadata{Name: "n", Type: Counter, HasUnit: true, HasDescription: true}},
	{"unicode", Metadata{Name: "größe", Type: Gauge, Unit: "µs", HasUnit: true, Description: "説明 🚀", HasDescription: true}},
	{"long description", Metadata{Name: "n", Type: Gauge, Description: string(bytes.Repeat([]byte("d"), 20000)), HasDescription: true}},
}

func TestAppendMetadataMatchesDeterministicMarshal(t *testing.T) {
	for _, tc := range metadataCases {
		t.Run(tc.name, func(t *testing.T) {
			want := marshalDeterministic(t, metadataEvent(&tc.md))
			if got := AppendMetadata(nil, &tc.md); !bytes.Equal(got, want) {
				t.Errorf("AppendMetadata:\ngot  %x\nwant %x", got, want)
			}
			wantFrame := protowire.AppendBytes(nil, want)
			if got := AppendMetadataFrame(nil, &tc.md); !bytes.Equal(got, wantFrame) {
				t.Errorf("AppendMetadataFrame:\ngot  %x\nwant %x", got, wantFrame)
			}
		})
	}
}

func TestAppendMetadataInvalidTypeAppendsNothing(t *testing.T) {
	for _, typ := range []MetricType{Histogram + 1, 255} {
		md := Metadata{Name: "n", Type: typ}
		if got := AppendMetadata([]byte("keep"), &md); string(got) != "keep" {
			t.Errorf("AppendMetadata with Type %d: got %q, want %q", typ, got, "keep")
		}
		if got := AppendMetadataFrame([]byte("keep"), &md); string(got) != "keep" {
			t.Errorf("AppendMetadataFrame with Type %d: got %q, want %q", typ, got, "keep")
		}
	}
}

func TestMetricTypeStringAndValid(t *testing.T) {
	for _, tc := range []struct {
		typ   MetricType
		str   string
		valid bool
	}{
		{Counter, "COUNTER", true},
		{Gauge, "GAUGE", true},
		{Histogram, "HISTOGRAM", true},
		{3, "MetricType(3)", false},
	} {
		if got := tc.typ.String(); got != tc.str {
			t.Errorf("MetricType(%d).String() = %q, want %q", uint8(tc.typ), got, tc.str)
		}
		if got := tc.typ.Valid(); got != tc.valid {
			t.Errorf("MetricType(%d).Valid() = %v, want %v", uint8(tc.typ), got, tc.valid)
		}
	}
}
