package eventpb

import (
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// TestDescriptorMatchesReference pins the schema to metrics-rs's
// metrics-observer event.proto: full names, field numbers, kinds and oneof
// membership are what both ends of the stream must agree on.
func TestDescriptorMatchesReference(t *testing.T) {
	fd := File_event_proto
	if got, want := fd.Path(), "event.proto"; got != want {
		t.Errorf("file path: got %q, want %q", got, want)
	}
	if got, want := fd.Package(), protoreflect.FullName("event.proto"); got != want {
		t.Errorf("package: got %q, want %q", got, want)
	}
	if got, want := fd.Syntax(), protoreflect.Proto3; got != want {
		t.Errorf("syntax: got %v, want %v", got, want)
	}

	type field struct {
		name  protoreflect.Name
		num   protoreflect.FieldNumber
		kind  protoreflect.Kind
		oneof protoreflect.Name // "" when not in a oneof
	}
	for _, tc := range []struct {
		msg    protoreflect.MessageDescriptor
		full   protoreflect.FullName
		fields []field
	}{
		{(&Metadata{}).ProtoReflect().Descriptor(), "event.proto.Metadata", []field{
			{"name", 1, protoreflect.StringKind, ""},
			{"metric_type", 2, protoreflect.EnumKind, ""},
			{"unit_value", 3, protoreflect.StringKind, "unit"},
			{"description_value", 4, protoreflect.StringKind, "description"},
		}},
		{(&Metric{}).ProtoReflect().Descriptor(), "event.proto.Metric", []field{
			{"name", 1, protoreflect.StringKind, ""},
			{"timestamp", 2, protoreflect.MessageKind, ""},
			{"labels", 3, protoreflect.MessageKind, ""},
			{"increment_counter", 4, protoreflect.Uint64Kind, "operation"},
			{"set_counter", 5, protoreflect.Uint64Kind, "operation"},
			{"increment_gauge", 6, protoreflect.DoubleKind, "operation"},
			{"decrement_gauge", 7, protoreflect.DoubleKind, "operation"},
			{"set_gauge", 8, protoreflect.DoubleKind, "operation"},
			{"record_histogram", 9, protoreflect.DoubleKind, "operation"},
		}},
		{(&Event{}).ProtoReflect().Descriptor(), "event.proto.Event", []field{
			{"metadata", 1, protoreflect.MessageKind, "event"},
			{"metric", 2, protoreflect.MessageKind, "event"},
		}},
	} {
		if tc.msg.FullName() != tc.full {
			t.Errorf("message: got %q, want %q", tc.msg.FullName(), tc.full)
		}
		if got, want := tc.msg.Fields().Len(), len(tc.fields); got != want {
			t.Errorf("%s: got %d fields, want %d", tc.full, got, want)
		}
		for i, want := range tc.fields {
			if i >= tc.msg.Fields().Len() {
				break
			}
			f := tc.msg.Fields().Get(i) // declaration order
			var oneof protoreflect.Name
			if o := f.ContainingOneof(); o != nil {
				oneof = o.Name()
			}
			got := field{f.Name(), f.Number(), f.Kind(), oneof}
			if got != want {
				t.Errorf("%s field %d: got %+v, want %+v", tc.full, i, got, want)
			}
		}
	}

	labels := (&Metric{}).ProtoReflect().Descriptor().Fields().ByName("labels")
	if !labels.IsMap() || labels.MapKey().Kind() != protoreflect.StringKind || labels.MapValue().Kind() != protoreflect.StringKind {
		t.Errorf("labels: got %v, want map<string, string>", labels)
	}
	if got, want := (&Metric{}).ProtoReflect().Descriptor().Fields().ByName("timestamp").Message().FullName(), protoreflect.FullName("google.protobuf.Timestamp"); got != want {
		t.Errorf("timestamp type: got %q, want %q", got, want)
	}

	enum := Metadata_COUNTER.Descriptor()
	if got, want := enum.FullName(), protoreflect.FullName("event.proto.Metadata.MetricType"); got != want {
		t.Errorf("enum: got %q, want %q", got, want)
	}
	for i, name := range []protoreflect.Name{"COUNTER", "GAUGE", "HISTOGRAM"} {
		v := enum.Values().Get(i)
		if v.Name() != name || v.Number() != protoreflect.EnumNumber(i) {
			t.Errorf("enum value %d: got %s = %d, want %s = %d", i, v.Name(), v.Number(), name, i)
		}
	}
}
