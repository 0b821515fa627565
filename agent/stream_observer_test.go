package agent

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/statshard/statshard/proto/eventpb"
)

// observer folds stream events into the state a metrics-observer client shows: a counter is the
// sum of its increment_counter events, set_counter replacing it; a gauge follows set_gauge,
// increment_gauge and decrement_gauge; a histogram counts its record_histogram events. Series
// are keyed by name and labels, as metrics-observer keys them.
type observer struct {
	counters map[string]uint64
	gauges   map[string]float64
	hists    map[string]int
	meta     map[string]eventpb.Metadata_MetricType
}

func newObserver() *observer {
	return &observer{
		counters: map[string]uint64{},
		gauges:   map[string]float64{},
		hists:    map[string]int{},
		meta:     map[string]eventpb.Metadata_MetricType{},
	}
}

// seriesKey is "name" or "name{k=v,...}" with the labels sorted by key.
func seriesKey(m *eventpb.Metric) string {
	if len(m.GetLabels()) == 0 {
		return m.GetName()
	}
	var kv []string
	for k, v := range m.GetLabels() {
		kv = append(kv, k+"="+v)
	}
	slices.Sort(kv)
	return m.GetName() + "{" + strings.Join(kv, ",") + "}"
}

// apply folds one event; it fails the test on an event the reference client would panic on.
func (o *observer) apply(t *testing.T, ev *eventpb.Event) {
	t.Helper()
	if md := ev.GetMetadata(); md != nil {
		o.meta[md.GetName()] = md.GetMetricType()
		return
	}
	m := ev.GetMetric()
	if m == nil {
		t.Fatalf("event with neither metadata nor metric: %v", ev)
	}
	k := seriesKey(m)
	switch op := m.GetOperation().(type) {
	case *eventpb.Metric_IncrementCounter:
		o.counters[k] += op.IncrementCounter
	case *eventpb.Metric_SetCounter:
		o.counters[k] = op.SetCounter
	case *eventpb.Metric_IncrementGauge:
		o.gauges[k] += op.IncrementGauge
	case *eventpb.Metric_DecrementGauge:
		o.gauges[k] -= op.DecrementGauge
	case *eventpb.Metric_SetGauge:
		o.gauges[k] = op.SetGauge
	case *eventpb.Metric_RecordHistogram:
		o.hists[k]++
	default:
		t.Fatalf("metric %s without an operation: the reference client panics on it", k)
	}
}

// readUntil folds events from c until it has folded a metric event named last, which the caller
// records after everything it wants to see: the stream keeps recording order.
func (o *observer) readUntil(t *testing.T, c *streamClient, last string) {
	t.Helper()
	for {
		ev := c.next()
		o.apply(t, ev)
		if ev.GetMetric().GetName() == last {
			return
		}
	}
}

func (o *observer) String() string {
	return fmt.Sprintf("counters %v gauges %v histograms %v", o.counters, o.gauges, o.hists)
}
