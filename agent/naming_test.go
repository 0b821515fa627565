package agent

import (
	"strconv"
	"strings"
	"testing"
)

func TestNamingDatadog(t *testing.T) {
	r, s := newTestRecorder(t, Config{Histograms: HistogramConfig{Naming: NamingDatadog}})
	h := r.Histogram("http.latency", "route:/pay")
	for i := 1; i <= 100; i++ {
		h.Observe(float64(i))
	}
	r.Flush()
	// The Datadog Agent's default histogram lines, and no others.
	got := s.take()
	want := map[string]float64{".count": 100, ".avg": 50.5, ".max": 100, ".median": 50, ".95percentile": 95}
	if len(got) != len(want) {
		t.Fatalf("lines %q, want exactly %d", got, len(want))
	}
	for _, l := range got {
		name, rest, _ := strings.Cut(l, ":")
		suffix := strings.TrimPrefix(name, "http.latency")
		v, ok := want[suffix]
		if !ok {
			t.Errorf("unexpected line %q", l)
			continue
		}
		typ := "|g|"
		if suffix == ".count" {
			typ = "|c|"
		}
		if !strings.Contains(rest, typ+"#route:/pay") {
			t.Errorf("line %q, want type %s", l, typ)
		}
		val := parseLineValue(t, rest)
		if d := val - v; d > v*0.01 || d < -v*0.01 { // quantiles within the sketch's 1%
			t.Errorf("%s = %v, want %v", suffix, val, v)
		}
	}
}

func TestNamingDatadogQuantiles(t *testing.T) {
	r, s := newTestRecorder(t, Config{Histograms: HistogramConfig{
		Naming:    NamingDatadog,
		Quantiles: []float64{0.05, 0.9, 0.99, 0.999},
		Rules:     []HistogramRule{{Match: "other.*", Mode: HistogramSummary, Quantiles: []float64{0.5}}},
	}})
	r.Observe("lat", 1)
	r.Observe("other.lat", 1)
	r.Flush()
	assertLines(t, s.take(), []string{
		"lat.count:1|c", "lat.avg:1|g", "lat.max:1|g",
		"lat.5percentile:1|g", "lat.90percentile:1|g", "lat.99percentile:1|g", "lat.999percentile:1|g",
		"other.lat.count:1|c", "other.lat.avg:1|g", "other.lat.max:1|g", "other.lat.median:1|g",
	})
}

func TestDatadogSuffix(t *testing.T) {
	for q, want := range map[float64]string{
		0: ".0percentile", 0.05: ".5percentile", 0.5: ".median", 0.75: ".75percentile", 0.9: ".90percentile",
		0.95: ".95percentile", 0.99: ".99percentile", 0.999: ".999percentile", 0.9999: ".9999percentile", 1: ".100percentile",
	} {
		if got := datadogSuffix(q); got != want {
			t.Errorf("datadogSuffix(%v) = %q, want %q", q, got, want)
		}
	}
}

// TestNamingDatadogLongName: the name limit counts the longest Datadog suffix.
func TestNamingDatadogLongName(t *testing.T) {
	r, s := newTestRecorder(t, Config{Histograms: HistogramConfig{Naming: NamingDatadog}})
	r.Observe(strings.Repeat("n", 300), 1)
	r.Flush()
	for _, l := range s.take() {
		if name, _, _ := strings.Cut(l, ":"); len(name) > 200 {
			t.Errorf("name of %d bytes on the wire, want at most 200: %q", len(name), l)
		}
	}
}

func TestNamingInvalid(t *testing.T) {
	if err := CheckConfig(Config{Histograms: HistogramConfig{Naming: 7}}); err == nil {
		t.Error("unknown naming accepted")
	}
}

func parseLineValue(t *testing.T, rest string) float64 {
	t.Helper()
	v, _, _ := strings.Cut(rest, "|")
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		t.Fatalf("value %q: %v", v, err)
	}
	return f
}
