package benchmarks

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// kind is the metric type a workload records.
type kind struct {
	name   string // benchmark name
	metric string // DogStatsD name
	counts bool   // each recording is one event a receiver can count (not gauges)
}

var (
	counter      = kind{"counter", "bench.requests", true}
	gauge        = kind{"gauge", "bench.inflight", false}
	histogram    = kind{"histogram", "bench.latency", true}
	distribution = kind{"distribution", "bench.size", true}
)

// promCounter is the counter's name for the Prometheus-style clients.
const promCounter = "bench_requests_total"

// shape is a workload's series and concurrency: tags per series, distinct series recorded in
// turn, and whether it runs on one goroutine or RunParallel.
type shape struct {
	tags, series int
	parallel     bool
}

func (s shape) String() string {
	g := "1"
	if s.parallel {
		g = "par"
	}
	return fmt.Sprintf("tags=%d/series=%d/g=%s", s.tags, s.series, g)
}

// shapes are the combinations measured: 0 tags on one series, 3 tags on one series and on
// 10,000, each on 1 goroutine and in parallel. (10,000 series are told apart by a tag, so they
// need tags.)
func shapes(withUntagged bool) []shape {
	var out []shape
	for _, par := range []bool{false, true} {
		if withUntagged {
			out = append(out, shape{0, 1, par})
		}
		out = append(out, shape{3, 1, par}, shape{3, 10_000, par})
	}
	return out
}

// seriesSet is a shape's series, precomputed once for every client so that no run pays for it.
type seriesSet struct {
	tags    [][]string // "key:value" tags per series; nil with 0 tags
	joined  []string   // the tags joined by ',', for the naive client
	labels  []string   // client_golang label names
	values  [][]string // client_golang label values per series
	vmNames []string   // VictoriaMetrics names with labels, of promCounter, per series
}

var seriesCache struct {
	sync.Mutex
	m map[[2]int]*seriesSet
}

// seriesFor returns the series of s, built on first use.
func seriesFor(s shape) *seriesSet {
	seriesCache.Lock()
	defer seriesCache.Unlock()
	key := [2]int{s.tags, s.series}
	if ss := seriesCache.m[key]; ss != nil {
		return ss
	}
	ss := &seriesSet{}
	if s.tags > 0 {
		ss.labels = []string{"env", "service", "route"}[:s.tags]
	}
	for j := range s.series {
		vals := []string{"prod", "checkout", fmt.Sprintf("/api/v1/r%05d", j)}[:s.tags]
		var tags, pairs []string
		for k, v := range vals {
			tags = append(tags, ss.labels[k]+":"+v)
			pairs = append(pairs, fmt.Sprintf("%s=%q", ss.labels[k], v))
		}
		ss.tags = append(ss.tags, tags)
		ss.joined = append(ss.joined, strings.Join(tags, ","))
		ss.values = append(ss.values, vals)
		name := promCounter
		if len(pairs) > 0 {
			name += "{" + strings.Join(pairs, ",") + "}"
		}
		ss.vmNames = append(ss.vmNames, name)
	}
	if seriesCache.m == nil {
		seriesCache.m = map[[2]int]*seriesSet{}
	}
	seriesCache.m[key] = ss
	return ss
}

// value is the i-th recorded value of gauges and histograms: spread over three decades, so
// sketches and buckets see more than one value.
func value(i int) float64 { return float64(i&1023)*0.125 + 0.5 }

// drive calls rec b.N times, on one goroutine or spread over RunParallel's, with the series
// index j going round the n series and i counting the calls. The goroutines start on different
// series, as independent requests would. The call through rec costs the same ~2 ns for every
// by-name client; handles are driven by loops of their own (see handles_test.go), where 2 ns is
// not small.
func drive(b *testing.B, parallel bool, n int, rec func(j, i int)) {
	if !parallel {
		j := 0
		for i := 0; i < b.N; i++ {
			rec(j, i)
			if j++; j == n {
				j = 0
			}
		}
		return
	}
	var g atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		j := int(g.Add(1)-1) * 4999 % n
		for i := 0; pb.Next(); i++ {
			rec(j, i)
			if j++; j == n {
				j = 0
			}
		}
	})
}
