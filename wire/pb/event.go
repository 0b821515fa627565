package pb

import "strconv"

// MetricType is the kind of metric a Metadata event describes. It mirrors the
// proto enum event.proto.Metadata.MetricType. The zero value is Counter.
type MetricType uint8

// Metric types, with the proto enum's numbers.
const (
	Counter   MetricType = 0
	Gauge     MetricType = 1
	Histogram MetricType = 2
)

// Valid reports whether t is one of the defined metric types. The reference
// client panics on an unknown type, so the encoder writes nothing for one.
func (t MetricType) Valid() bool { return t <= Histogram }

// String returns the proto enum name of t, or "MetricType(n)" when invalid.
func (t MetricType) String() string {
	switch t {
	case Counter:
		return "COUNTER"
	case Gauge:
		return "GAUGE"
	case Histogram:
		return "HISTOGRAM"
	}
	return "MetricType(" + strconv.Itoa(int(t)) + ")"
}

// Op is the operation a Metric event carries: one member of the proto oneof
// "operation". The zero value is not an operation: the reference client
// panics on a Metric without one, so the encoder writes nothing for it.
type Op uint8

// Operations. Each maps to proto field number Op+3 (increment_counter = 4 ...
// record_histogram = 9).
const (
	IncrementCounter Op = iota + 1 // adds Metric.Uint to a counter
	SetCounter                     // sets a counter to Metric.Uint
	IncrementGauge                 // adds Metric.Float to a gauge
	DecrementGauge                 // subtracts Metric.Float from a gauge
	SetGauge                       // sets a gauge to Metric.Float
	RecordHistogram                // records Metric.Float in a histogram
)

// Valid reports whether o is one of the defined operations.
func (o Op) Valid() bool { return o >= IncrementCounter && o <= RecordHistogram }

// String returns the proto field name of o, or "Op(n)" when invalid.
func (o Op) String() string {
	switch o {
	case IncrementCounter:
		return "increment_counter"
	case SetCounter:
		return "set_counter"
	case IncrementGauge:
		return "increment_gauge"
	case DecrementGauge:
		return "decrement_gauge"
	case SetGauge:
		return "set_gauge"
	case RecordHistogram:
		return "record_histogram"
	}
	return "Op(" + strconv.Itoa(int(o)) + ")"
}

// isUint reports whether o's value travels in Metric.Uint (a varint field)
// rather than Metric.Float (a fixed64 field).
func (o Op) isUint() bool { return o == IncrementCounter || o == SetCounter }

// Label is one key/value pair of a Metric, an entry of the proto map
// "labels". The zero value is a label with an empty key and value, which the
// encoder writes like any other.
type Label struct {
	Key, Value string
}

// Metric is one metric event to encode. The zero value is not encodable: set
// Op (and Name; an empty name is written as absent, like proto3 does).
//
// Labels must be sorted by Key with no duplicate keys: the encoder relies on
// that for byte-stable output matching deterministic proto marshalling, and
// does not sort them itself because sorting a caller's slice on every
// event is work the caller can do once per series (see SortLabels).
type Metric struct {
	// Name is the metric name.
	Name string
	// Seconds and Nanos are the event time, as in google.protobuf.Timestamp
	// (Nanos in [0, 1e9) for a valid timestamp; the encoder does not check).
	// The timestamp field is always written, even when both are zero,
	// because the reference exporter always sets it and a non-nil zero
	// Timestamp is what proto.Marshal writes as an empty message.
	Seconds int64
	Nanos   int32
	// Labels are the metric's labels, sorted by Key, keys unique.
	Labels []Label
	// Op is the operation; it selects which value field is written.
	Op Op
	// Uint is the value for IncrementCounter and SetCounter.
	Uint uint64
	// Float is the value for IncrementGauge, DecrementGauge, SetGauge and
	// RecordHistogram. NaN and infinities are written bit for bit.
	Float float64
	// ValidUTF8 promises that Name and every label key and value are valid
	// UTF-8, so the encoder skips checking them. Left false, the encoder
	// checks every string of every event and replaces invalid bytes (see
	// AppendMetric), which is about a third of its CPU time for a typical
	// event. A series's strings do not change, so a caller can check them
	// once, when the series is created (utf8.ValidString, or
	// strings.ToValidUTF8 to repair them), and set this on each of its
	// events. Set for strings that are not valid UTF-8, it makes events
	// that decoders reject.
	ValidUTF8 bool
}

// Metadata describes a metric by name: its type, unit and description. The
// zero value is a valid event: a Counter with an empty name, no unit and no
// description.
type Metadata struct {
	// Name is the metric name the metadata applies to.
	Name string
	// Type is the metric type.
	Type MetricType
	// Unit is written when HasUnit is set, even if empty: the proto field is
	// a oneof, whose presence is meaningful.
	Unit    string
	HasUnit bool
	// Description is written when HasDescription is set, even if empty.
	Description    string
	HasDescription bool
}
