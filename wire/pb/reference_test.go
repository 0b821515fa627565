package pb

import (
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/statshard/statshard/proto/eventpb"
)

// The reference for every encoding test is the generated eventpb types
// marshalled deterministically (map entries sorted by key), which is what
// the encoder promises to reproduce byte for byte.

// metricEvent builds the eventpb.Event equivalent of m.
func metricEvent(m *Metric) *eventpb.Event {
	pm := &eventpb.Metric{
		Name:      m.Name,
		Timestamp: &timestamppb.Timestamp{Seconds: m.Seconds, Nanos: m.Nanos},
	}
	if len(m.Labels) > 0 {
		pm.Labels = make(map[string]string, len(m.Labels))
		for _, l := range m.Labels {
			pm.Labels[l.Key] = l.Value
		}
	}
	switch m.Op {
	case IncrementCounter:
		pm.Operation = &eventpb.Metric_IncrementCounter{IncrementCounter: m.Uint}
	case SetCounter:
		pm.Operation = &eventpb.Metric_SetCounter{SetCounter: m.Uint}
	case IncrementGauge:
		pm.Operation = &eventpb.Metric_IncrementGauge{IncrementGauge: m.Float}
	case DecrementGauge:
		pm.Operation = &eventpb.Metric_DecrementGauge{DecrementGauge: m.Float}
	case SetGauge:
		pm.Operation = &eventpb.Metric_SetGauge{SetGauge: m.Float}
	case RecordHistogram:
		pm.Operation = &eventpb.Metric_RecordHistogram{RecordHistogram: m.Float}
	}
	return &eventpb.Event{Event: &eventpb.Event_Metric{Metric: pm}}
}

// metadataEvent builds the eventpb.Event equivalent of md.
func metadataEvent(md *Metadata) *eventpb.Event {
	pm := &eventpb.Metadata{
		Name:       md.Name,
		MetricType: eventpb.Metadata_MetricType(md.Type),
	}
	if md.HasUnit {
		pm.Unit = &eventpb.Metadata_UnitValue{UnitValue: md.Unit}
	}
	if md.HasDescription {
		pm.Description = &eventpb.Metadata_DescriptionValue{DescriptionValue: md.Description}
	}
	return &eventpb.Event{Event: &eventpb.Event_Metadata{Metadata: pm}}
}

// marshalDeterministic is the reference encoder.
func marshalDeterministic(t testing.TB, ev *eventpb.Event) []byte {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(ev)
	if err != nil {
		t.Fatalf("reference marshal of %v: %v", ev, err)
	}
	return b
}
