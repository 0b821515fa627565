package agent

import (
	"math"
	"runtime"
	"runtime/metrics"
	"strings"

	"github.com/statshard/statshard/wire/statsd"
)

// Go runtime metrics (Config.RuntimeMetrics), under the names Datadog's tracer (dd-trace-go)
// sends, so that Datadog's Go runtime dashboards read them unchanged. docs/runtime-metrics.md
// lists every name and what it is computed from.
//
// Everything comes from runtime/metrics, which does not stop the world (runtime.ReadMemStats and
// debug.ReadGCStats, which dd-trace-go reads, do). Two families are sent:
//
//   - the classic names (runtime.go.num_goroutine, runtime.go.mem_stats.*,
//     runtime.go.gc_stats.pause_quantiles.*), each MemStats field computed from the
//     runtime/metrics values the runtime documents as its equivalent;
//   - the runtime.go.metrics.* names of Datadog's runtime/metrics reporter for what MemStats has
//     no field for (scheduler latency, CPU classes, GC cycles, pause histograms): the
//     runtime/metrics name with its leading '/' dropped, ':' made '.' and every other character
//     that is not a letter, digit, '.' or '_' made '_'.
//
// All are gauges. Histograms are sent as gauges of the interval's distribution (what was added to
// the runtime's cumulative histogram since the previous flush, estimated by linear interpolation
// within its buckets) and skipped in an interval that added nothing. Global tags and
// StatsdConfig.ContainerID apply; Prefix does not, so the names stay Datadog's.
//
// Cost: one metrics.Read of about 40 values per flush and one line per value; after the first
// flush, which sizes the buffers, a flush allocates nothing for them (TestRuntimeMetricsAllocs;
// BenchmarkRuntimeMetrics measures the time).

// The runtime/metrics values read on each flush, by index into runtimeStats.samples.
const (
	rmGoroutines = iota
	rmCgoCalls
	rmHeapObjectsBytes
	rmHeapUnused
	rmHeapFree
	rmHeapReleased
	rmHeapStacks
	rmOSStacks
	rmTotalBytes
	rmAllocBytes
	rmAllocObjects
	rmFreeObjects
	rmTinyAllocs
	rmHeapObjects
	rmMSpanInuse
	rmMSpanFree
	rmMCacheInuse
	rmMCacheFree
	rmProfBuckets
	rmMetadataOther
	rmOther
	rmHeapGoal
	rmHeapLive
	rmGCTotal
	rmGCForced
	rmGCAutomatic
	rmCPUGCTotal
	rmCPUGCIdle
	rmCPUTotal
	rmGCPercent
	rmMemLimit
	rmGOMAXPROCS
	rmGCPauses // histogram, seconds
	rmSchedLat // histogram, seconds
	rmFixed    // the CPU classes follow, found at run time
)

var runtimeSampleNames = [rmFixed]string{
	rmGoroutines:       "/sched/goroutines:goroutines",
	rmCgoCalls:         "/cgo/go-to-c-calls:calls",
	rmHeapObjectsBytes: "/memory/classes/heap/objects:bytes",
	rmHeapUnused:       "/memory/classes/heap/unused:bytes",
	rmHeapFree:         "/memory/classes/heap/free:bytes",
	rmHeapReleased:     "/memory/classes/heap/released:bytes",
	rmHeapStacks:       "/memory/classes/heap/stacks:bytes",
	rmOSStacks:         "/memory/classes/os-stacks:bytes",
	rmTotalBytes:       "/memory/classes/total:bytes",
	rmAllocBytes:       "/gc/heap/allocs:bytes",
	rmAllocObjects:     "/gc/heap/allocs:objects",
	rmFreeObjects:      "/gc/heap/frees:objects",
	rmTinyAllocs:       "/gc/heap/tiny/allocs:objects",
	rmHeapObjects:      "/gc/heap/objects:objects",
	rmMSpanInuse:       "/memory/classes/metadata/mspan/inuse:bytes",
	rmMSpanFree:        "/memory/classes/metadata/mspan/free:bytes",
	rmMCacheInuse:      "/memory/classes/metadata/mcache/inuse:bytes",
	rmMCacheFree:       "/memory/classes/metadata/mcache/free:bytes",
	rmProfBuckets:      "/memory/classes/profiling/buckets:bytes",
	rmMetadataOther:    "/memory/classes/metadata/other:bytes",
	rmOther:            "/memory/classes/other:bytes",
	rmHeapGoal:         "/gc/heap/goal:bytes",
	rmHeapLive:         "/gc/heap/live:bytes",
	rmGCTotal:          "/gc/cycles/total:gc-cycles",
	rmGCForced:         "/gc/cycles/forced:gc-cycles",
	rmGCAutomatic:      "/gc/cycles/automatic:gc-cycles",
	rmCPUGCTotal:       "/cpu/classes/gc/total:cpu-seconds",
	rmCPUGCIdle:        "/cpu/classes/gc/mark/idle:cpu-seconds",
	rmCPUTotal:         "/cpu/classes/total:cpu-seconds",
	rmGCPercent:        "/gc/gogc:percent",
	rmMemLimit:         "/gc/gomemlimit:bytes",
	rmGOMAXPROCS:       "/sched/gomaxprocs:threads",
	rmGCPauses:         "/sched/pauses/total/gc:seconds",
	rmSchedLat:         "/sched/latencies:seconds",
}

// runtimeClassic are the classic names that are one MemStats field each: a sum of runtime/metrics
// values (MemStats.HeapSys is heap objects + unused + free + released, and so on).
var runtimeClassic = []struct {
	name string
	sum  []int
}{
	{"runtime.go.num_cgo_call", []int{rmCgoCalls}},
	{"runtime.go.mem_stats.alloc", []int{rmHeapObjectsBytes}},
	{"runtime.go.mem_stats.total_alloc", []int{rmAllocBytes}},
	{"runtime.go.mem_stats.sys", []int{rmTotalBytes}},
	// MemStats counts tiny allocations in both Mallocs and Frees; runtime/metrics apart.
	{"runtime.go.mem_stats.mallocs", []int{rmAllocObjects, rmTinyAllocs}},
	{"runtime.go.mem_stats.frees", []int{rmFreeObjects, rmTinyAllocs}},
	{"runtime.go.mem_stats.heap_alloc", []int{rmHeapObjectsBytes}},
	{"runtime.go.mem_stats.heap_sys", []int{rmHeapObjectsBytes, rmHeapUnused, rmHeapFree, rmHeapReleased}},
	{"runtime.go.mem_stats.heap_idle", []int{rmHeapFree, rmHeapReleased}},
	{"runtime.go.mem_stats.heap_inuse", []int{rmHeapObjectsBytes, rmHeapUnused}},
	{"runtime.go.mem_stats.heap_released", []int{rmHeapReleased}},
	{"runtime.go.mem_stats.heap_objects", []int{rmHeapObjects}},
	{"runtime.go.mem_stats.stack_inuse", []int{rmHeapStacks}},
	{"runtime.go.mem_stats.stack_sys", []int{rmHeapStacks, rmOSStacks}},
	{"runtime.go.mem_stats.m_span_inuse", []int{rmMSpanInuse}},
	{"runtime.go.mem_stats.m_span_sys", []int{rmMSpanInuse, rmMSpanFree}},
	{"runtime.go.mem_stats.m_cache_inuse", []int{rmMCacheInuse}},
	{"runtime.go.mem_stats.m_cache_sys", []int{rmMCacheInuse, rmMCacheFree}},
	{"runtime.go.mem_stats.buck_hash_sys", []int{rmProfBuckets}},
	{"runtime.go.mem_stats.gc_sys", []int{rmMetadataOther}},
	{"runtime.go.mem_stats.other_sys", []int{rmOther}},
	{"runtime.go.mem_stats.next_gc", []int{rmHeapGoal}},
	{"runtime.go.mem_stats.num_gc", []int{rmGCTotal}},
	{"runtime.go.mem_stats.num_forced_gc", []int{rmGCForced}},
}

// runtimeV2 are the runtime.go.metrics.* gauges sent as read.
var runtimeV2 = []int{
	rmGoroutines, rmCgoCalls, rmGCTotal, rmGCForced, rmGCAutomatic, rmHeapGoal, rmHeapLive,
	rmHeapObjectsBytes, rmTotalBytes, rmGCPercent, rmMemLimit, rmGOMAXPROCS,
}

// pauseQuantiles are dd-trace-go's GC pause quantiles (debug.ReadGCStats with five quantiles), in
// nanoseconds as it sends them.
var pauseQuantiles = [...]struct {
	q      float64
	suffix string
}{{0, "min"}, {0.25, "25p"}, {0.5, "50p"}, {0.75, "75p"}, {1, "max"}}

// v2Stats are the gauges Datadog's runtime/metrics reporter sends for a histogram.
var v2Stats = [...]struct {
	q      float64 // -1: the average
	suffix string
}{{-1, ".avg"}, {0, ".min"}, {0.5, ".median"}, {0.95, ".p95"}, {0.99, ".p99"}, {1, ".max"}}

const maxRuntimeQuantiles = max(len(pauseQuantiles), len(v2Stats))

// runtimeStats is the exporter's runtime/metrics state, created by the first flush that sends
// runtime metrics and owned by the flush (exporter.mu).
type runtimeStats struct {
	samples []metrics.Sample
	names   []string // the runtime.go.metrics.* name of each sample
	tags    string   // the global tags, joined once
	hists   [2]runtimeHist
	qs      [maxRuntimeQuantiles]float64 // scratch for quantile results
	want    [maxRuntimeQuantiles]float64 // scratch for the quantiles asked
	// The full names of the histograms' gauges, built once so that a flush allocates nothing.
	pauseNames [len(pauseQuantiles)]string
	v2Names    [2][len(v2Stats)]string
}

// runtimeHist turns one cumulative runtime histogram into the interval's.
type runtimeHist struct {
	sample int
	prev   []uint64 // the cumulative counts at the previous flush
	delta  []uint64
}

func newRuntimeStats(c *resolved) *runtimeStats {
	rt := &runtimeStats{tags: string(statsd.AppendTags(nil, c.global))}
	for _, n := range runtimeSampleNames {
		rt.samples = append(rt.samples, metrics.Sample{Name: n})
	}
	for _, d := range metrics.All() {
		if strings.HasPrefix(d.Name, "/cpu/classes/") && d.Kind == metrics.KindFloat64 {
			rt.samples = append(rt.samples, metrics.Sample{Name: d.Name})
		}
	}
	for _, s := range rt.samples {
		rt.names = append(rt.names, v2Name(s.Name))
	}
	for i, q := range pauseQuantiles {
		rt.pauseNames[i] = "runtime.go.gc_stats.pause_quantiles." + q.suffix
	}
	for h, sample := range [...]int{rmGCPauses, rmSchedLat} {
		rt.hists[h].sample = sample
		for i, st := range v2Stats {
			rt.v2Names[h][i] = rt.names[sample] + st.suffix
		}
	}
	return rt
}

// v2Name is the name Datadog's runtime/metrics reporter gives a runtime/metrics value:
// "/sched/latencies:seconds" is "runtime.go.metrics.sched_latencies.seconds".
func v2Name(runtimeName string) string {
	path, unit, _ := strings.Cut(strings.TrimPrefix(runtimeName, "/"), ":")
	return "runtime.go.metrics." + strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_':
			return r
		}
		return '_'
	}, path+"."+unit)
}

// value returns sample i as a float64, false when this Go version does not have it.
func (rt *runtimeStats) value(i int) (float64, bool) {
	switch v := rt.samples[i].Value; v.Kind() {
	case metrics.KindUint64:
		return float64(v.Uint64()), true
	case metrics.KindFloat64:
		return v.Float64(), true
	}
	return 0, false
}

// emitRuntime reads runtime/metrics and packs the runtime gauges. Called by flush when
// Config.RuntimeMetrics is on.
func (e *exporter) emitRuntime() {
	if e.rt == nil {
		e.rt = newRuntimeStats(e.cfg)
	}
	rt := e.rt
	metrics.Read(rt.samples)

	e.putRuntime("runtime.go.num_cpu", float64(runtime.NumCPU()))
	// What dd-trace-go sends: the user goroutines. /sched/goroutines counts the runtime's too.
	e.putRuntime("runtime.go.num_goroutine", float64(runtime.NumGoroutine()))
	for _, m := range runtimeClassic {
		sum, ok := 0.0, true
		for _, i := range m.sum {
			v, has := rt.value(i)
			sum, ok = sum+v, ok && has
		}
		if ok {
			e.putRuntime(m.name, sum)
		}
	}
	gc, ok1 := rt.value(rmCPUGCTotal)
	idle, ok2 := rt.value(rmCPUGCIdle)
	if total, ok := rt.value(rmCPUTotal); ok && ok1 && ok2 && total > 0 {
		// MemStats.GCCPUFraction: GC CPU time, less the idle mark workers', over the CPU time
		// available since the program started.
		e.putRuntime("runtime.go.mem_stats.gc_cpu_fraction", (gc-idle)/total)
	}
	for _, i := range runtimeV2 {
		if v, ok := rt.value(i); ok {
			e.putRuntime(rt.names[i], v)
		}
	}
	for i := rmFixed; i < len(rt.samples); i++ {
		if v, ok := rt.value(i); ok {
			e.putRuntime(rt.names[i], v)
		}
	}

	for h := range rt.hists {
		rh := &rt.hists[h]
		s := &rt.samples[rh.sample]
		if s.Value.Kind() != metrics.KindFloat64Histogram {
			continue
		}
		hist := s.Value.Float64Histogram()
		if rh.sample == rmGCPauses {
			// The classic pause figures are in nanoseconds. The total is cumulative: sent always.
			e.putRuntime("runtime.go.mem_stats.pause_total_ns", histSum(hist.Buckets, hist.Counts)*1e9)
		}
		if !rh.interval(hist.Counts) {
			continue
		}
		if rh.sample == rmGCPauses {
			for i, q := range pauseQuantiles {
				rt.want[i] = q.q
			}
			histQuantiles(hist.Buckets, rh.delta, rt.want[:len(pauseQuantiles)], rt.qs[:])
			for i := range pauseQuantiles {
				e.putRuntime(rt.pauseNames[i], rt.qs[i]*1e9)
			}
		}
		for i, st := range v2Stats {
			rt.want[i] = max(st.q, 0)
		}
		histQuantiles(hist.Buckets, rh.delta, rt.want[:len(v2Stats)], rt.qs[:])
		var n uint64
		for _, c := range rh.delta {
			n += c
		}
		for i, st := range v2Stats {
			v := rt.qs[i]
			if st.q < 0 {
				v = histSum(hist.Buckets, rh.delta) / float64(n)
			}
			e.putRuntime(rt.v2Names[h][i], v)
		}
	}
}

// interval sets delta to what was added to the cumulative counts since the previous call and
// prev to counts; false when nothing was added.
func (rh *runtimeHist) interval(counts []uint64) bool {
	if len(rh.prev) != len(counts) {
		rh.prev = make([]uint64, len(counts))
		rh.delta = make([]uint64, len(counts))
	}
	added := false
	for i, c := range counts {
		rh.delta[i] = c - rh.prev[i]
		added = added || rh.delta[i] != 0
		rh.prev[i] = c
	}
	return added
}

// histBucket returns the finite range of bucket i of a runtime histogram: an infinite edge is
// replaced by the other edge, as no value can be said to lie past the last finite bound.
func histBucket(bounds []float64, i int) (lo, hi float64) {
	lo, hi = bounds[i], bounds[i+1]
	if math.IsInf(lo, -1) {
		lo = hi
	}
	if math.IsInf(hi, 1) {
		hi = lo
	}
	return lo, hi
}

// histSum estimates the sum of a histogram's values, each at its bucket's midpoint.
func histSum(bounds []float64, counts []uint64) float64 {
	sum := 0.0
	for i, c := range counts {
		if c != 0 {
			lo, hi := histBucket(bounds, i)
			sum += float64(c) * (lo + hi) / 2
		}
	}
	return sum
}

// histQuantiles sets out[j] to the qs[j] quantile (qs ascending, in [0, 1]) of a histogram with
// at least one value, interpolating linearly within the bucket it falls in: quantile 0 is the
// lower edge of the first bucket with a value, 1 the upper edge of the last.
func histQuantiles(bounds []float64, counts []uint64, qs, out []float64) {
	var total uint64
	for _, c := range counts {
		total += c
	}
	j, below := 0, 0.0
	for i, c := range counts {
		if c == 0 {
			continue
		}
		lo, hi := histBucket(bounds, i)
		upto := below + float64(c)
		for j < len(qs) && qs[j]*float64(total) <= upto {
			f := min(max((qs[j]*float64(total)-below)/float64(c), 0), 1)
			out[j] = lo + (hi-lo)*f
			j++
		}
		below = upto
	}
	for ; j < len(qs); j++ { // not reached for qs <= 1: upto ends at total exactly
		out[j] = out[max(j-1, 0)]
	}
}

// putRuntime packs one runtime gauge.
func (e *exporter) putRuntime(name string, v float64) {
	l := &e.line
	*l = statsd.Line{Name: name, Type: statsd.Gauge, Tags: e.rt.tags, Container: e.cfg.Statsd.ContainerID}
	e.putFloat(l, v)
}
