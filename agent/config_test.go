package agent

import (
	"strings"
	"testing"
)

func TestMatcherPrecedence(t *testing.T) {
	m, err := newMatcher(HistogramConfig{
		Mode: HistogramSummary,
		Rules: []HistogramRule{
			{Match: "*.latency", Mode: HistogramDistribution},
			{Match: "http.*", Mode: HistogramBuckets},
			{Match: "http.server.*", Mode: HistogramSummary},
			{Match: "http.server.latency", Mode: HistogramDistribution},
			{Match: "*.server.latency.ms", Mode: HistogramBuckets},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		want HistogramMode
	}{
		{"http.server.latency", HistogramDistribution},      // exact beats every pattern
		{"http.server.size", HistogramSummary},              // longest prefix wins
		{"http.client.size", HistogramBuckets},              // shorter prefix
		{"http.client.latency", HistogramBuckets},           // a prefix beats a suffix
		{"db.latency", HistogramDistribution},               // suffix
		{"db.server.latency.ms", HistogramBuckets},          // longest suffix
		{"db.size", HistogramSummary},                       // default
		{"http", HistogramSummary},                          // "http.*" needs the dot
		{"grpc.server.latency.ms", HistogramBuckets},        // suffix
		{"x.latency.extra", HistogramSummary},               // suffix must end the name
		{"http.server.latency.ms", HistogramSummary},        // prefix http.server.* beats the suffix rule
		{"http.server.latency.ms.x", HistogramSummary},      // prefix
		{"db.server.latency", HistogramDistribution},        // suffix *.latency
		{"http.server.latency.total", HistogramSummary},     // prefix, not exact
		{"HTTP.server.latency", HistogramDistribution},      // case-sensitive: only the suffix matches
		{"other.server.latency.ms.x", HistogramSummary},     // nothing matches
		{"a.latency", HistogramDistribution},                // shortest suffix match
		{"latency", HistogramSummary},                       // "*.latency" needs the dot
		{"http.*", HistogramBuckets},                        // a literal star is just a character
		{"http.server.", HistogramSummary},                  // empty remainder still matches the prefix
		{"http.serverx", HistogramBuckets},                  // "http.server.*" needs the dot
		{"zz.server.latency.ms", HistogramBuckets},          // suffix
		{"zz.latency.ms", HistogramSummary},                 // no rule
		{"http.server.latency.msx", HistogramSummary},       // prefix
		{"http.client.server.latency.ms", HistogramBuckets}, // prefix http.* beats the longer suffix
	}
	for _, tt := range tests {
		if got := m.plan(tt.name).mode; got != tt.want {
			t.Errorf("plan(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestQuantileSuffix(t *testing.T) {
	tests := []struct {
		q    float64
		want string
	}{
		{0, ".p0"}, {0.5, ".median"}, {0.9, ".p90"}, {0.95, ".p95"}, {0.99, ".p99"},
		{0.999, ".p999"}, {1, ".p100"}, {0.05, ".p05"}, {0.07, ".p07"}, {0.75, ".p75"}, {0.9999, ".p9999"},
	}
	for _, tt := range tests {
		if got := quantileSuffix(tt.q); got != tt.want {
			t.Errorf("quantileSuffix(%v) = %q, want %q", tt.q, got, tt.want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"negative interval", Config{Interval: -1}, "negative Interval"},
		{"bad prefix", Config{Prefix: "9|"}, "Prefix"},
		{"bad global tag", Config{Tags: []string{"!!!"}}, "global tag"},
		{"bad address", Config{Statsd: StatsdConfig{Address: "tcp://x:1"}}, "Statsd.Address"},
		{"quantile out of range", Config{Histograms: HistogramConfig{Quantiles: []float64{1.5}}}, "outside [0, 1]"},
		{"duplicate quantile", Config{Histograms: HistogramConfig{Quantiles: []float64{0.5, 0.5}}}, "twice"},
		{"bounds not ascending", Config{Histograms: HistogramConfig{Bounds: []float64{1, 1}}}, "ascending"},
		{"empty rule", Config{Histograms: HistogramConfig{Rules: []HistogramRule{{Match: "*"}}}}, "empty pattern"},
		{"bad rule bounds", Config{Histograms: HistogramConfig{Rules: []HistogramRule{{Match: "a", Mode: HistogramBuckets, Bounds: []float64{2, 1}}}}}, `rule "a"`},
		{"unknown mode", Config{Histograms: HistogramConfig{Mode: 9}}, "unknown histogram mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(tt.cfg)
			if err == nil {
				r.Close()
				t.Fatalf("New succeeded, want an error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "agent: ") {
				t.Errorf("error %q, want it to start with \"agent: \" and contain %q", err, tt.want)
			}
		})
	}
}

func TestHistogramModes(t *testing.T) {
	r, s := newTestRecorder(t, Config{Histograms: HistogramConfig{
		Rules: []HistogramRule{
			{Match: "b.*", Mode: HistogramBuckets, Bounds: []float64{1, 2.5}},
			{Match: "d.*", Mode: HistogramDistribution},
		},
	}})
	for _, v := range []float64{0.5, 1, 2, 3} {
		r.Observe("b.x", v, "k:v")
		r.Observe("d.x", v)
	}
	r.ObserveSampled("b.s", 1, 0.5) // kept or not at random; if kept, it counts for 2
	r.Flush()
	lines := s.take()
	lines = strings.Split(strings.Join(lines, "\n"), "\n")
	var kept []string
	for _, l := range lines {
		if !strings.HasPrefix(l, "b.s") {
			kept = append(kept, l)
		} else if strings.Contains(l, "|@") || (strings.Contains(l, "|c") && !strings.Contains(l, ":2|c")) {
			// A sampled value is recorded with its weight: counts are already 2, no rate is sent.
			t.Errorf("sampled line %q: want a count of 2 and no rate", l)
		}
	}
	assertLines(t, kept, []string{
		"b.x.bucket:2|c|#k:v,le:1",
		"b.x.bucket:3|c|#k:v,le:2.5",
		"b.x.bucket:4|c|#k:v,le:inf",
		"b.x.count:4|c|#k:v",
		"b.x.sum:6.5|g|#k:v",
		"d.x:0.5|d",
		"d.x:1|d",
		"d.x:2|d",
		"d.x:3|d",
	})
}

func TestDistributionReservoirAndSketch(t *testing.T) {
	// Past the reservoir, a uniform sample is sent with the rate that keeps totals unbiased.
	r, s := newTestRecorder(t, Config{Histograms: HistogramConfig{ReservoirSize: 10}})
	d := r.Distribution("d")
	for i := 0; i < 40; i++ {
		d.Observe(float64(i))
	}
	r.Flush()
	lines := s.take()
	if len(lines) != 10 {
		t.Fatalf("got %d lines, want 10: %q", len(lines), lines)
	}
	for _, l := range lines {
		if !strings.HasSuffix(l, "|d|@0.25") {
			t.Errorf("line %q, want rate @0.25 (10 kept of 40)", l)
		}
	}

	// Sketch mode: one weighted line per bin however many values.
	r2, s2 := newTestRecorder(t, Config{Histograms: HistogramConfig{SketchDistributions: true}})
	d2 := r2.Distribution("d")
	for i := 0; i < 1000; i++ {
		d2.Observe(5)
	}
	d2.Observe(100)
	r2.Flush()
	lines = s2.take()
	if len(lines) != 2 {
		t.Fatalf("got %q, want 2 weighted lines", lines)
	}
	// Sorted: "d:5.0..." (1000 values of 5) then "d:99.8..." (the one 100, within 1%).
	if !strings.HasSuffix(lines[0], "|d|@0.001") || !strings.HasPrefix(lines[0], "d:5.0") {
		t.Errorf("line %q, want d:5.0xx|d|@0.001", lines[0])
	}
	if !strings.HasSuffix(lines[1], "|d") || !(strings.HasPrefix(lines[1], "d:99.") || strings.HasPrefix(lines[1], "d:100")) {
		t.Errorf("line %q, want d:~100|d (weight 1, no rate)", lines[1])
	}
}
