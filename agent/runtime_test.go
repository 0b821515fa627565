package agent

import (
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// runtimeLines flushes r and returns its runtime gauges by name, failing on any other line.
func runtimeLines(t *testing.T, r *Recorder, s *sink) map[string]float64 {
	t.Helper()
	r.Flush()
	got := map[string]float64{}
	for _, l := range s.take() {
		name, rest, _ := strings.Cut(l, ":")
		v, typ, _ := strings.Cut(rest, "|")
		if !strings.HasPrefix(name, "runtime.go.") || !strings.HasPrefix(typ, "g") {
			t.Fatalf("line %q is not a runtime gauge", l)
		}
		if _, dup := got[name]; dup {
			t.Fatalf("%s sent twice in one flush", name)
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		got[name] = f
	}
	return got
}

// busy makes the interval have GC pauses and scheduling latencies to report.
func busy() {
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { time.Sleep(time.Millisecond) })
	}
	wg.Wait()
	runtime.GC()
}

func TestRuntimeMetricsOff(t *testing.T) {
	r, s := newTestRecorder(t, Config{})
	busy()
	r.Flush()
	assertLines(t, s.take(), nil)
}

// docNames returns the metric names of docs/runtime-metrics.md's table (its first column).
func docNames(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../docs/runtime-metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "| `runtime.go.") {
			continue
		}
		cell := strings.TrimSpace(strings.Split(line, "|")[1])
		names = append(names, strings.Trim(cell, "`"))
	}
	return names
}

// TestRuntimeMetricsSendsTheDocumentedNames: a flush after a GC sends exactly the names
// docs/runtime-metrics.md lists (the CPU classes as the one pattern row), with global tags and
// the container ID, without the prefix.
func TestRuntimeMetricsSendsTheDocumentedNames(t *testing.T) {
	r, s := newTestRecorder(t, Config{RuntimeMetrics: true, Prefix: "app.", Tags: []string{"env:test"},
		Statsd: StatsdConfig{ContainerID: "abc"}})
	busy()
	r.Flush()
	lines := s.take()
	for _, l := range lines {
		if !strings.HasSuffix(l, "|g|#env:test|c:abc") {
			t.Errorf("line %q: want a gauge tagged env:test with container abc", l)
		}
	}
	busy()
	got := runtimeLines(t, r, s)
	want := map[string]bool{}
	for _, n := range docNames(t) {
		if n == "runtime.go.metrics.cpu_classes_*.cpu_seconds" {
			continue
		}
		want[n] = true
	}
	if len(want) < 50 {
		t.Fatalf("docs/runtime-metrics.md lists %d names; the table was not found", len(want))
	}
	cpu := 0
	for n := range got {
		if strings.HasPrefix(n, "runtime.go.metrics.cpu_classes_") && strings.HasSuffix(n, ".cpu_seconds") {
			cpu++
			continue
		}
		if !want[n] {
			t.Errorf("%s is sent but not in docs/runtime-metrics.md", n)
		}
	}
	for n := range want {
		if _, ok := got[n]; !ok {
			t.Errorf("%s is in docs/runtime-metrics.md but was not sent", n)
		}
	}
	if cpu < 5 {
		t.Errorf("%d CPU classes sent, want every /cpu/classes/ value (11 on Go 1.26)", cpu)
	}
}

// TestRuntimeMetricsValues checks the values against what the runtime says elsewhere: MemStats,
// NumGoroutine, NumCPU; and that histogram gauges are ordered and in range.
func TestRuntimeMetricsValues(t *testing.T) {
	r, s := newTestRecorder(t, Config{RuntimeMetrics: true})
	busy()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	got := runtimeLines(t, r, s)

	if v := got["runtime.go.num_cpu"]; v != float64(runtime.NumCPU()) {
		t.Errorf("num_cpu %v, want %d", v, runtime.NumCPU())
	}
	if v, n := got["runtime.go.num_goroutine"], float64(runtime.NumGoroutine()); math.Abs(v-n) > 5 {
		t.Errorf("num_goroutine %v, want about %v", v, n)
	}
	// Fields that move slowly: within 10% of MemStats read just before.
	for _, c := range []struct {
		name string
		ms   uint64
	}{
		{"sys", ms.Sys}, {"heap_sys", ms.HeapSys}, {"stack_sys", ms.StackSys}, {"m_span_sys", ms.MSpanSys},
		{"m_cache_sys", ms.MCacheSys}, {"gc_sys", ms.GCSys}, {"next_gc", ms.NextGC}, {"heap_inuse", ms.HeapInuse},
	} {
		v := got["runtime.go.mem_stats."+c.name]
		if math.Abs(v-float64(c.ms)) > 0.1*float64(c.ms) {
			t.Errorf("mem_stats.%s %v, MemStats says %d", c.name, v, c.ms)
		}
	}
	// Counters that only grow: at least what MemStats said before.
	for _, c := range []struct {
		name string
		ms   uint64
	}{{"num_gc", uint64(ms.NumGC)}, {"total_alloc", ms.TotalAlloc}, {"mallocs", ms.Mallocs}, {"frees", ms.Frees}} {
		if v := got["runtime.go.mem_stats."+c.name]; v < float64(c.ms) {
			t.Errorf("mem_stats.%s %v, below MemStats' %d", c.name, v, c.ms)
		}
	}
	if f := got["runtime.go.mem_stats.gc_cpu_fraction"]; !(f >= 0 && f < 1) {
		t.Errorf("gc_cpu_fraction %v, want in [0, 1)", f)
	}
	var qs []float64
	for _, q := range pauseQuantiles {
		qs = append(qs, got["runtime.go.gc_stats.pause_quantiles."+q.suffix])
	}
	if !slices.IsSorted(qs) || qs[0] <= 0 || qs[4] > 1e9 {
		t.Errorf("pause quantiles %v ns: want ascending, above 0 and below 1 s", qs)
	}
	lat := "runtime.go.metrics.sched_latencies.seconds"
	ordered := []float64{got[lat+".min"], got[lat+".median"], got[lat+".p95"], got[lat+".p99"], got[lat+".max"]}
	if !slices.IsSorted(ordered) || got[lat+".avg"] < ordered[0] || got[lat+".avg"] > ordered[4] {
		t.Errorf("scheduler latency min, median, p95, p99, max %v and avg %v: want ordered", ordered, got[lat+".avg"])
	}

	// An interval with no GC sends no pause quantiles, but still the cumulative pause total.
	got = runtimeLines(t, r, s)
	if _, ok := got["runtime.go.gc_stats.pause_quantiles.max"]; ok && got["runtime.go.mem_stats.num_gc"] == float64(ms.NumGC+1) {
		t.Error("pause quantiles sent for an interval without GC")
	}
	if _, ok := got["runtime.go.mem_stats.pause_total_ns"]; !ok {
		t.Error("pause_total_ns not sent")
	}
}

func TestHistQuantiles(t *testing.T) {
	inf := math.Inf(1)
	bounds := []float64{math.Inf(-1), 1, 2, 4, inf}
	for _, c := range []struct {
		name   string
		counts []uint64
		qs     []float64
		want   []float64
		sum    float64
	}{
		{"one bucket", []uint64{0, 4, 0, 0}, []float64{0, 0.25, 0.5, 1}, []float64{1, 1.25, 1.5, 2}, 6},
		{"two buckets", []uint64{0, 1, 3, 0}, []float64{0, 0.25, 0.5, 1}, []float64{1, 2, 2 + 2.0/3, 4}, 1.5 + 9},
		{"infinite edges", []uint64{2, 0, 0, 2}, []float64{0, 0.5, 1}, []float64{1, 1, 4}, 2 + 8},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := make([]float64, len(c.qs))
			histQuantiles(bounds, c.counts, c.qs, out)
			for i := range out {
				if math.Abs(out[i]-c.want[i]) > 1e-12 {
					t.Errorf("quantile %v: got %v, want %v", c.qs[i], out[i], c.want[i])
				}
			}
			if got := histSum(bounds, c.counts); got != c.sum {
				t.Errorf("sum: got %v, want %v", got, c.sum)
			}
		})
	}
}

func TestV2Name(t *testing.T) {
	for in, want := range map[string]string{
		"/sched/latencies:seconds":                "runtime.go.metrics.sched_latencies.seconds",
		"/cpu/classes/gc/mark/assist:cpu-seconds": "runtime.go.metrics.cpu_classes_gc_mark_assist.cpu_seconds",
		"/gc/cycles/total:gc-cycles":              "runtime.go.metrics.gc_cycles_total.gc_cycles",
	} {
		if got := v2Name(in); got != want {
			t.Errorf("v2Name(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRuntimeMetricsAllocs: after the first flush, which sizes the buffers, a flush with runtime
// metrics allocates nothing.
func TestRuntimeMetricsAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	r, err := New(Config{RuntimeMetrics: true, Interval: time.Hour, Statsd: StatsdConfig{Writer: io.Discard}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	busy()
	r.Flush()
	// runtime.GC allocates nothing, and gives every flush GC pauses and scheduling latencies (of
	// the GC's workers) to report, so that the histogram paths are measured too.
	if n := testing.AllocsPerRun(20, func() { runtime.GC(); r.Flush() }); n > 0 {
		t.Errorf("%v allocations per flush with runtime metrics, want 0", n)
	}
}

// BenchmarkRuntimeMetrics is the cost of a flush of nothing but runtime metrics, against a flush
// of nothing with them off.
func BenchmarkRuntimeMetrics(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			r, err := New(Config{RuntimeMetrics: on, Interval: time.Hour, Statsd: StatsdConfig{Writer: io.Discard}})
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			r.Flush()
			b.ReportAllocs()
			for b.Loop() {
				r.Flush()
			}
		})
	}
}
