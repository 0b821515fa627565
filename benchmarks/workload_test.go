package benchmarks

import (
	"fmt"
	"math/rand"
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

// shape is a workload's series, the order they are visited in, and its concurrency: tags per
// series, distinct series, and whether it runs on one goroutine or RunParallel.
type shape struct {
	tags, series int
	order        order
	parallel     bool
}

// order is how a workload visits its series.
type order uint8

const (
	// roundRobin visits the series in turn, each as often as the others: every call finds a
	// different series from the last, the worst case for caches.
	roundRobin order = iota
	// zipf draws the series from a Zipf distribution (s = 1.1): a few hot series take most calls
	// and most series are cold, as in a service whose routes, customers or hosts are not equally
	// busy. Which series are hot is a fixed random choice, so they are spread over memory.
	zipf
)

func (o order) String() string {
	if o == zipf {
		return "zipf"
	}
	return "rr"
}

func (s shape) String() string {
	g := "1"
	if s.parallel {
		g = "par"
	}
	return fmt.Sprintf("tags=%d/series=%d/order=%s/g=%s", s.tags, s.series, s.order, g)
}

// cardinalities are the series counts measured beside one series: 1,000, 10,000 and 100,000,
// each in both orders.
var cardinalities = []int{1_000, 10_000, 100_000}

// shapes are the combinations measured: 0 tags on one series, 3 tags on one series and on each
// of the cardinalities in both orders, each on 1 goroutine and in parallel. (Many series are
// told apart by a tag, so they need tags.)
func shapes(withUntagged bool) []shape {
	var out []shape
	for _, par := range []bool{false, true} {
		if withUntagged {
			out = append(out, shape{tags: 0, series: 1, parallel: par})
		}
		out = append(out, shape{tags: 3, series: 1, parallel: par})
		for _, n := range cardinalities {
			out = append(out, shape{3, n, roundRobin, par}, shape{3, n, zipf, par})
		}
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

// seqLen is the length of a Zipf visiting sequence: long enough that the cold series of 100,000
// come up, a power of two so that it is indexed by a mask.
const seqLen = 1 << 20

var seqCache struct {
	sync.Mutex
	m map[int][]uint32
}

// zipfSeq returns the visiting sequence of n series in Zipf order, built on first use with a
// fixed seed, so that every client and every run visits the same series in the same order.
func zipfSeq(n int) []uint32 {
	seqCache.Lock()
	defer seqCache.Unlock()
	if s := seqCache.m[n]; s != nil {
		return s
	}
	rng := rand.New(rand.NewSource(int64(n)))
	perm := rng.Perm(n) // rank -> series: the hot series are anywhere in memory
	z := rand.NewZipf(rng, 1.1, 1, uint64(n-1))
	s := make([]uint32, seqLen)
	for i := range s {
		s[i] = uint32(perm[z.Uint64()])
	}
	if seqCache.m == nil {
		seqCache.m = map[int][]uint32{}
	}
	seqCache.m[n] = s
	return s
}

// visits returns the sequence of series indexes sh visits, nil for round-robin.
func visits(sh shape) []uint32 {
	if sh.order != zipf || sh.series <= 1 {
		return nil
	}
	return zipfSeq(sh.series)
}

// start returns the first position of the g-th parallel goroutine: the goroutines start on
// different series (round-robin) or at different places of the sequence (Zipf), as independent
// requests would.
func start(g, n int, seq []uint32) int {
	if seq != nil {
		return g * 0x9E37 % seqLen
	}
	return g * 4999 % n
}

// drive calls rec b.N times, on one goroutine or spread over RunParallel's, with the series
// index j visiting the shape's n series in its order and i counting the calls. The call through
// rec costs the same ~2 ns for every by-name client; handles are driven by loops of their own
// (see handles_test.go), where 2 ns is not small.
func drive(b *testing.B, sh shape, n int, rec func(j, i int)) {
	seq := visits(sh)
	if !sh.parallel {
		if seq != nil {
			for i := 0; i < b.N; i++ {
				rec(int(seq[i&(seqLen-1)]), i)
			}
			return
		}
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
		j := start(int(g.Add(1)-1), n, seq)
		if seq != nil {
			for i := 0; pb.Next(); i++ {
				rec(int(seq[(j+i)&(seqLen-1)]), i)
			}
			return
		}
		for i := 0; pb.Next(); i++ {
			rec(j, i)
			if j++; j == n {
				j = 0
			}
		}
	})
}

// warmRounds is how many times warm records every series.
const warmRounds = 3

// warm records every series warmRounds times, so that the measured loop finds them existing and
// their call sites cached, as in a service that has been running: creating a series is a one-time
// cost, paid again only after idle expiry, and statshard's call cache takes a call site on its
// second miss (the capacity command's cost curve warms up the same way). datadog-go's aggregator
// empties its contexts at the flush that follows, so for it the rounds change nothing. The events
// the receiver read of them are subtracted from its tally (see session.mark).
func warm(n int, rec func(j, i int)) {
	for range warmRounds {
		for j := range n {
			rec(j, 0)
		}
	}
}
