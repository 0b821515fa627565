package agent

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/statshard/statshard/internal/peertest"
)

func TestTiming(t *testing.T) {
	r, s := newTestRecorder(t, Config{Tags: []string{"env:prod"}})
	r.Timing("db.query", 12500*time.Microsecond, "db:users")
	r.Timing("db.query", 3*time.Millisecond, "db:users")
	tm := r.Timer("rpc")
	tm.ObserveDuration(1500 * time.Microsecond)
	tm.Observe(7) // a timer's Observe takes milliseconds
	// A histogram and a timing of one name are two series: one in seconds, one in ms.
	h := r.Histogram("rpc")
	h.ObserveDuration(250 * time.Millisecond)
	r.Flush()
	assertLines(t, s.take(), []string{
		"db.query:12.5|ms|#db:users,env:prod",
		"db.query:3|ms|#db:users,env:prod",
		"rpc:1.5|ms|#env:prod",
		"rpc:7|ms|#env:prod",
		"rpc.count:1|c|#env:prod",
		"rpc.sum:0.25|g|#env:prod",
		"rpc.avg:0.25|g|#env:prod",
		"rpc.min:0.25|g|#env:prod",
		"rpc.max:0.25|g|#env:prod",
		"rpc.median:0.25|g|#env:prod",
		"rpc.p90:0.25|g|#env:prod",
		"rpc.p95:0.25|g|#env:prod",
		"rpc.p99:0.25|g|#env:prod",
		"rpc.p999:0.25|g|#env:prod",
	})
	// A distribution's ObserveDuration is seconds too.
	r.Distribution("size").ObserveDuration(2 * time.Second)
	Install(r)
	Timing("pkg.level", time.Millisecond)
	Install(nil)
	r.Flush()
	assertLines(t, s.take(), []string{"pkg.level:1|ms|#env:prod", "size:2|d|#env:prod"})
}

func TestTimingModes(t *testing.T) {
	// Whatever HistogramConfig.Mode says, a timing goes as ms samples; sampled ones carry their
	// rate, and SketchDistributions sends bins.
	r, s := newTestRecorder(t, Config{Histograms: HistogramConfig{Mode: HistogramBuckets}})
	for range 100 {
		r.TimingSampled("sampled", 4*time.Millisecond, 0.5)
	}
	r.Flush()
	for _, l := range s.take() {
		if l != "sampled:4|ms|@0.5" {
			t.Fatalf("sampled timing line %q, want sampled:4|ms|@0.5", l)
		}
	}
	r2, s2 := newTestRecorder(t, Config{Histograms: HistogramConfig{SketchDistributions: true}})
	for range 10 {
		r2.Timing("sk", 10*time.Millisecond)
	}
	r2.Flush()
	got := s2.take()
	if len(got) != 1 || !strings.HasPrefix(got[0], "sk:") || !strings.HasSuffix(got[0], "|ms|@0.1") {
		t.Errorf("sketched timing lines %q, want one bin with rate 0.1", got)
	}
}

func TestMilliseconds(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want float64
	}{
		{time.Nanosecond, 1e-6},
		{1500 * time.Microsecond, 1.5},
		{time.Hour, 3.6e6},
		{-2 * time.Millisecond, -2},
		{math.MaxInt64, 9223372036854.775807},
	} {
		if got := milliseconds(tt.d); got != tt.want {
			t.Errorf("milliseconds(%v) = %v, want %v", tt.d, got, tt.want)
		}
	}
}

func TestTimingAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	r, _ := newTestRecorder(t, Config{})
	tm := r.Timer("t")
	h := r.Histogram("h")
	r.Timing("byname", time.Millisecond, "a:b")
	for name, fn := range map[string]func(){
		"Timing":                    func() { r.Timing("byname", time.Millisecond, "a:b") },
		"Timer.ObserveDuration":     func() { tm.ObserveDuration(time.Millisecond) },
		"Histogram.ObserveDuration": func() { h.ObserveDuration(time.Millisecond) },
	} {
		if got := testing.AllocsPerRun(1000, fn); got != 0 {
			t.Errorf("%s: %v allocs/op, want 0", name, got)
		}
	}
}

// TestTimingStatsdExporter: statsd_exporter reads "ms" as a timer and exports it in seconds,
// which is what a timing is for.
func TestTimingStatsdExporter(t *testing.T) {
	e := peertest.Start(t, peertest.Options{})
	r, err := New(Config{Interval: time.Hour, Statsd: StatsdConfig{Address: "udp://" + e.UDPAddr}})
	if err != nil {
		t.Fatal(err)
	}
	for range 4 {
		r.Timing("tm.query", 250*time.Millisecond, "db:users")
	}
	r.Close()
	e.WaitFor(t, 10*time.Second, func(m peertest.Metrics) bool {
		sum, _ := m.Get("tm_query_sum", "db", "users")
		n, _ := m.Get("tm_query_count", "db", "users")
		return math.Abs(sum-1) < 1e-9 && n == 4
	})
}
