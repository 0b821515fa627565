package pb

import (
	"bytes"
	"math"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// metricCases covers every operation (zero values included: oneof members
// are written even when zero), label shapes, unicode, extreme values and
// timestamps.
var metricCases = []struct {
	name string
	m    Metric
}{
	{"increment counter", Metric{Name: "requests", Seconds: 1700000000, Nanos: 123456789, Op: IncrementCounter, Uint: 1}},
	{"increment counter zero", Metric{Name: "requests", Seconds: 1, Op: IncrementCounter}},
	{"set counter", Metric{Name: "total", Seconds: 1, Op: SetCounter, Uint: 42}},
	{"set counter zero", Metric{Name: "total", Seconds: 1, Op: SetCounter}},
	{"set counter max uint64", Metric{Name: "total", Seconds: 1, Op: SetCounter, Uint: math.MaxUint64}},
	{"increment gauge", Metric{Name: "g", Seconds: 1, Op: IncrementGauge, Float: 1.5}},
	{"increment gauge zero", Metric{Name: "g", Seconds: 1, Op: IncrementGauge}},
	{"decrement gauge", Metric{Name: "g", Seconds: 1, Op: DecrementGauge, Float: 0.25}},
	{"decrement gauge zero", Metric{Name: "g", Seconds: 1, Op: DecrementGauge}},
	{"set gauge negative", Metric{Name: "g", Seconds: 1, Op: SetGauge, Float: -273.15}},
	{"set gauge zero", Metric{Name: "g", Seconds: 1, Op: SetGauge}},
	{"set gauge negative zero", Metric{Name: "g", Seconds: 1, Op: SetGauge, Float: math.Copysign(0, -1)}},
	{"set gauge NaN", Metric{Name: "g", Seconds: 1, Op: SetGauge, Float: math.NaN()}},
	{"set gauge +Inf", Metric{Name: "g", Seconds: 1, Op: SetGauge, Float: math.Inf(1)}},
	{"set gauge -Inf", Metric{Name: "g", Seconds: 1, Op: SetGauge, Float: math.Inf(-1)}},
	{"set gauge max float", Metric{Name: "g", Seconds: 1, Op: SetGauge, Float: math.MaxFloat64}},
	{"set gauge smallest denormal", Metric{Name: "g", Seconds: 1, Op: SetGauge, Float: math.SmallestNonzeroFloat64}},
	{"record histogram", Metric{Name: "latency", Seconds: 1, Op: RecordHistogram, Float: 0.003}},
	{"record histogram zero", Metric{Name: "latency", Seconds: 1, Op: RecordHistogram}},
	{"record histogram negative", Metric{Name: "latency", Seconds: 1, Op: RecordHistogram, Float: -1e300}},
	{"timestamp zero", Metric{Name: "t", Op: IncrementCounter, Uint: 1}},
	{"timestamp nanos only", Metric{Name: "t", Nanos: 999999999, Op: IncrementCounter, Uint: 1}},
	{"timestamp negative seconds", Metric{Name: "t", Seconds: -62135596800, Op: IncrementCounter, Uint: 1}},
	{"timestamp negative nanos", Metric{Name: "t", Seconds: 5, Nanos: -1, Op: IncrementCounter, Uint: 1}},
	{"timestamp max seconds", Metric{Name: "t", Seconds: math.MaxInt64, Nanos: math.MaxInt32, Op: IncrementCounter, Uint: 1}},
	{"empty name", Metric{Seconds: 1, Op: IncrementCounter, Uint: 1}},
	{"no labels, nil", Metric{Name: "n", Seconds: 1, Labels: nil, Op: IncrementCounter, Uint: 1}},
	{"no labels, empty", Metric{Name: "n", Seconds: 1, Labels: []Label{}, Op: IncrementCounter, Uint: 1}},
	{"one label", Metric{Name: "n", Seconds: 1, Labels: []Label{{"env", "prod"}}, Op: IncrementCounter, Uint: 1}},
	{"three labels sorted", Metric{Name: "http.requests", Seconds: 1700000000, Nanos: 5,
		Labels: []Label{{"code", "200"}, {"method", "GET"}, {"route", "/api/v1/users"}}, Op: IncrementCounter, Uint: 3}},
	{"empty label value", Metric{Name: "n", Seconds: 1, Labels: []Label{{"a", ""}, {"b", "x"}}, Op: SetGauge, Float: 1}},
	{"empty label key", Metric{Name: "n", Seconds: 1, Labels: []Label{{"", "v"}, {"k", "v"}}, Op: SetGauge, Float: 1}},
	{"empty label key and value", Metric{Name: "n", Seconds: 1, Labels: []Label{{"", ""}}, Op: SetGauge, Float: 1}},
	{"unicode", Metric{Name: "température.°C", Seconds: 1,
		Labels: []Label{{"città", "Zürich"}, {"emoji", "🚀📈"}, {"日本", "東京"}}, Op: RecordHistogram, Float: 21.5}},
	{"long name needs two-byte length", Metric{Name: string(bytes.Repeat([]byte("n"), 300)), Seconds: 1,
		Labels: []Label{{"k", string(bytes.Repeat([]byte("v"), 200))}}, Op: IncrementCounter, Uint: 1}},
	{"many labels", Metric{Name: "n", Seconds: 1, Labels: []Label{
		{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}, {"e", "5"}, {"f", "6"}, {"g", "7"}, {"h", "8"},
		{"i", "9"}, {"j", "10"}, {"k", "11"}, {"l", "12"}, {"m", "13"}, {"n", "14"}}, Op: IncrementCounter, Uint: 1}},
}

func TestAppendMetricMatchesDeterministicMarshal(t *testing.T) {
	for _, tc := range metricCases {
		t.Run(tc.name, func(t *testing.T) {
			want := marshalDeterministic(t, metricEvent(&tc.m))
			got := AppendMetric(nil, &tc.m)
			if !bytes.Equal(got, want) {
				t.Errorf("got  %x\nwant %x", got, want)
			}
		})
	}
}

func TestAppendMetricFrameIsLengthPrefixedMessage(t *testing.T) {
	for _, tc := range metricCases {
		t.Run(tc.name, func(t *testing.T) {
			msg := marshalDeterministic(t, metricEvent(&tc.m))
			want := protowire.AppendBytes(nil, msg)
			got := AppendMetricFrame(nil, &tc.m)
			if !bytes.Equal(got, want) {
				t.Errorf("got  %x\nwant %x", got, want)
			}
		})
	}
}

func TestAppendMetricKeepsPrefix(t *testing.T) {
	m := metricCases[0].m
	prefix := []byte("existing bytes")
	for _, tc := range []struct {
		name   string
		append func([]byte, *Metric) []byte
		want   []byte
	}{
		{"AppendMetric", AppendMetric, AppendMetric(nil, &m)},
		{"AppendMetricFrame", AppendMetricFrame, AppendMetricFrame(nil, &m)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Both a full buffer (forcing growth) and one with spare capacity.
			for _, dst := range [][]byte{
				append([]byte(nil), prefix...),
				append(make([]byte, 0, 256), prefix...),
			} {
				got := tc.append(dst, &m)
				if !bytes.Equal(got[:len(prefix)], prefix) {
					t.Errorf("prefix: got %q, want %q", got[:len(prefix)], prefix)
				}
				if !bytes.Equal(got[len(prefix):], tc.want) {
					t.Errorf("appended: got %x, want %x", got[len(prefix):], tc.want)
				}
			}
		})
	}
}

func TestAppendMetricInvalidOpAppendsNothing(t *testing.T) {
	for _, op := range []Op{0, RecordHistogram + 1, 255} {
		m := Metric{Name: "n", Seconds: 1, Op: op, Uint: 1}
		dst := []byte("keep")
		if got := AppendMetric(dst, &m); string(got) != "keep" {
			t.Errorf("AppendMetric with Op %d: got %q, want %q", op, got, "keep")
		}
		if got := AppendMetricFrame(dst, &m); string(got) != "keep" {
			t.Errorf("AppendMetricFrame with Op %d: got %q, want %q", op, got, "keep")
		}
	}
}

func TestOpStringAndValid(t *testing.T) {
	for _, tc := range []struct {
		op    Op
		str   string
		valid bool
	}{
		{0, "Op(0)", false},
		{IncrementCounter, "increment_counter", true},
		{SetCounter, "set_counter", true},
		{IncrementGauge, "increment_gauge", true},
		{DecrementGauge, "decrement_gauge", true},
		{SetGauge, "set_gauge", true},
		{RecordHistogram, "record_histogram", true},
		{7, "Op(7)", false},
	} {
		if got := tc.op.String(); got != tc.str {
			t.Errorf("Op(%d).String() = %q, want %q", uint8(tc.op), got, tc.str)
		}
		if got := tc.op.Valid(); got != tc.valid {
			t.Errorf("Op(%d).Valid() = %v, want %v", uint8(tc.op), got, tc.valid)
		}
	}
}
