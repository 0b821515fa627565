package pb

import (
	"testing"
)

// benchMetric is the typical stream event: a counter with three labels.
var benchMetric = Metric{
	Name:    "http.server.requests",
	Seconds: 1700000000, Nanos: 123456789,
	Labels: []Label{{"code", "200"}, {"method", "GET"}, {"route", "/api/v1/users"}},
	Op:     IncrementCounter, Uint: 1,
}

func TestAppendAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	hist := benchMetric
	hist.Op, hist.Float = RecordHistogram, 0.25
	bad := benchMetric
	bad.Labels = []Label{{"code", "2\xff0"}, {"method", "GET"}, {"route", "/api"}}
	trusted := benchMetric
	trusted.ValidUTF8 = true
	md := Metadata{Name: "http.server.requests", Type: Histogram, Unit: "seconds", HasUnit: true, Description: "time to serve", HasDescription: true}
	buf := make([]byte, 0, 512)
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"AppendMetricFrame, 3 labels", func() { buf = AppendMetricFrame(buf[:0], &benchMetric) }},
		{"AppendMetric, 3 labels", func() { buf = AppendMetric(buf[:0], &benchMetric) }},
		{"AppendMetricFrame, ValidUTF8", func() { buf = AppendMetricFrame(buf[:0], &trusted) }},
		{"AppendMetricFrame, histogram", func() { buf = AppendMetricFrame(buf[:0], &hist) }},
		{"AppendMetricFrame, invalid UTF-8 label", func() { buf = AppendMetricFrame(buf[:0], &bad) }},
		{"AppendMetadataFrame", func() { buf = AppendMetadataFrame(buf[:0], &md) }},
		{"AppendMetadata", func() { buf = AppendMetadata(buf[:0], &md) }},
	} {
		if got := testing.AllocsPerRun(1000, tc.f); got != 0 {
			t.Errorf("%s: got %v allocs per run, want 0", tc.name, got)
		}
	}
	if len(buf) == 0 {
		t.Error("got an empty buffer, want the last event encoded")
	}
}
