package main

import (
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync/atomic"
	"time"

	"github.com/DataDog/datadog-go/v5/statsd"
	"github.com/statshard/statshard/agent"
	"github.com/statshard/statshard/netio"
)

// curveMetric is the counter every point of the cost curve records, by name, with 3 tags.
const curveMetric = "capacity.curve"

// curveInterval is how often both clients flush during a timed loop: datadog-go's default
// aggregation flush interval, given to statshard too so that both do the same send work.
const curveInterval = 2 * time.Second

// curveSample is one timed loop of one client at one series count.
type curveSample struct {
	Ops       int           // recordings made
	Wall      time.Duration // from the start of the loop to the end of Close
	CPU       time.Duration // process CPU (getrusage, all threads) over the same span, until the receiver was idle
	Datagrams uint64        // datagrams the receiver got from the loop and the flush on close
}

// NsPerOp is the sample's CPU-ns per recording; 0 without operations.
func (s curveSample) NsPerOp() float64 {
	if s.Ops <= 0 {
		return 0
	}
	return float64(s.CPU.Nanoseconds()) / float64(s.Ops)
}

// curveMode is one client configuration measured on the curve.
type curveMode struct {
	Name string // "statshard", "agg", "ext"
	open func(addr string) (curveClient, error)
}

// curveClient is an open client, recorded to by name.
type curveClient struct {
	// chunk records n counts, visiting the series of tags round-robin from index j, and returns
	// the index to go on from. It is a loop of its own, so the call through a func value costs
	// nothing next to the recordings.
	chunk func(tags [][]string, j, n int) int
	flush func() // sends what is pending now
	close func() error
}

// curveModes are statshard (agent.New with MaxSeries -1, flushing every curveInterval) and
// datadog-go v5 with client-side aggregation ("agg") and with extended client-side aggregation
// ("ext"), each otherwise at its defaults, all sending to addr over UDP.
func curveModes() []curveMode {
	dd := func(opt statsd.Option) func(string) (curveClient, error) {
		return func(addr string) (curveClient, error) {
			c, err := statsd.New(addr, opt)
			if err != nil {
				return curveClient{}, err
			}
			return curveClient{
				chunk: func(tags [][]string, j, n int) int {
					for range n {
						_ = c.Count(curveMetric, 1, tags[j], 1) // as an application would: it counts its drops itself
						if j++; j == len(tags) {
							j = 0
						}
					}
					return j
				},
				flush: func() { _ = c.Flush() },
				close: c.Close,
			}, nil
		}
	}
	return []curveMode{
		{"statshard", func(addr string) (curveClient, error) {
			r, err := agent.New(agent.Config{
				Interval:  curveInterval,
				MaxSeries: -1, // the default cap (100,000) would fold the larger points into overflow series
				Statsd:    agent.StatsdConfig{Address: "udp://" + addr},
				Logger:    slog.New(slog.DiscardHandler),
			})
			if err != nil {
				return curveClient{}, err
			}
			return curveClient{
				chunk: func(tags [][]string, j, n int) int {
					for range n {
						r.Count(curveMetric, 1, tags[j]...)
						if j++; j == len(tags) {
							j = 0
						}
					}
					return j
				},
				flush: r.Flush,
				close: r.Close,
			}, nil
		}},
		{"agg", dd(statsd.WithClientSideAggregation())},
		{"ext", dd(statsd.WithExtendedClientSideAggregation())},
	}
}

// curveTags returns the tags of n series: "env:prod", "service:checkout" and
// "route:/api/v1/rNNNNN", the shape of the peer benchmarks (benchmarks/workload_test.go).
func curveTags(n int) [][]string {
	tags := make([][]string, n)
	for j := range tags {
		tags[j] = []string{"env:prod", "service:checkout", fmt.Sprintf("route:/api/v1/r%05d", j)}
	}
	return tags
}

// curveOps is how many recordings a point of n series makes: 5 rounds of its series, and at
// least least.
func curveOps(n, least int) int { return max(least, 5*n) }

// curveResult is every sample of one series count, by mode name.
type curveResult struct {
	Series  int
	Samples map[string][]curveSample
}

// measureCurve measures every series count of sizes with every mode, runs times each, the modes
// taking turns within each run so that the machine's noise spreads over all of them. Each sample
// makes curveOps(n, least) recordings or as many as budget allows; creating its series stops with
// an error after createBudget.
func measureCurve(sizes []int, runs, least int, budget, createBudget time.Duration, progress func(string, ...any)) ([]curveResult, error) {
	var got atomic.Uint64
	rd, err := netio.ListenReader(netio.Addr{Network: "udp", Address: "127.0.0.1:0"},
		netio.ReaderConfig{Readers: 1, RecvBuffer: 64 << 20}, func(_ int, d [][]byte) { got.Add(uint64(len(d))) })
	if err != nil {
		return nil, fmt.Errorf("capacity: curve receiver: %w", err)
	}
	defer rd.Close()
	addr := rd.Addr().Address // host:port, as datadog-go takes it

	var out []curveResult
	for _, n := range sizes {
		progress("cost curve: %d series, %d run(s) of %d recordings per client", n, runs, curveOps(n, least))
		tags := curveTags(n)
		res := curveResult{Series: n, Samples: map[string][]curveSample{}}
		for range runs {
			for _, m := range curveModes() {
				s, err := curveRun(m, addr, tags, curveOps(n, least), budget, createBudget, got.Load)
				if err != nil {
					return out, fmt.Errorf("capacity: cost curve, %s at %d series: %w", m.Name, n, err)
				}
				res.Samples[m.Name] = append(res.Samples[m.Name], s)
			}
		}
		out = append(out, res)
	}
	return out, nil
}

// curveWarmRounds is how many times curveRun records every series before it times anything, as a
// service that has been running has: the first round creates the series; statshard's call cache
// takes a spelling on its second miss, and starts empty each time it grows with the series (the
// last time halfway through the first round at 1M series), so it holds every spelling after the
// third. With one round, the timed part at 1M series, which the time budget cuts at one or two
// rounds, measured mostly those first misses (xxhash lookups and cache entries made) rather than
// the steady cost. datadog-go's aggregator empties its contexts at each flush, so its warm rounds
// only create them before the flush below empties them again, as in a service.
const curveWarmRounds = 3

// curveRun opens a client of mode m, creates every series of tags and records each
// curveWarmRounds times in all, flushes and lets the receiver go idle, then times ops round-robin
// recordings (fewer if budget runs out) through the client's Close, and waits for the receiver to
// be idle again before it reads the CPU time.
func curveRun(m curveMode, addr string, tags [][]string, ops int, budget, createBudget time.Duration, got func() uint64) (curveSample, error) {
	c, err := m.open(addr)
	if err != nil {
		return curveSample{}, err
	}
	closed := false
	defer func() {
		if !closed {
			_ = c.close()
		}
	}()
	start := time.Now()
	const chunk = 1 << 14
	for range curveWarmRounds {
		for j := 0; j < len(tags); j += chunk {
			if time.Since(start) > createBudget {
				return curveSample{}, fmt.Errorf("creating %d series took more than %s", len(tags), createBudget)
			}
			c.chunk(tags, j, min(chunk, len(tags)-j))
		}
	}
	c.flush()
	waitStable(got, 20*time.Millisecond, 2*time.Second)
	runtime.GC()

	got0, cpu0, t0 := got(), selfCPU(), time.Now()
	var s curveSample
	j := 0
	for s.Ops < ops && (s.Ops == 0 || time.Since(t0) < budget) {
		n := min(chunk, ops-s.Ops)
		j = c.chunk(tags, j, n)
		s.Ops += n
	}
	closed = true
	if err := c.close(); err != nil {
		return curveSample{}, err
	}
	s.Wall = time.Since(t0)
	last, _ := waitStable(got, 20*time.Millisecond, 2*time.Second)
	s.CPU = selfCPU() - cpu0
	s.Datagrams = last - got0
	runtime.GC()
	return s, nil
}

// curvePoint is one series count on the curve: the median CPU-ns per recording of statshard and
// of datadog-go's faster mode there.
type curvePoint struct {
	Series      int
	Statshard   float64 // median CPU-ns per recording
	Datadog     float64 // median CPU-ns per recording of datadog-go's faster mode
	DatadogMode string  // that mode, "agg" or "ext"
	Runs        int     // samples per median
	Ops         int     // fewest recordings in any of the point's samples
	Wanted      int     // recordings each sample was to make
}

// Ratio is datadog-go's cost over statshard's: how many times cheaper statshard records.
func (p curvePoint) Ratio() float64 {
	if p.Statshard <= 0 {
		return 0
	}
	return p.Datadog / p.Statshard
}

// curvePoints reduces results to medians, choosing for each series count the datadog-go mode
// with the lower median ("agg" on a tie). least is the curveOps minimum the results were made
// with.
func curvePoints(results []curveResult, least int) []curvePoint {
	var out []curvePoint
	for _, r := range results {
		p := curvePoint{Series: r.Series, Statshard: medianNs(r.Samples["statshard"]), Runs: len(r.Samples["statshard"]),
			Wanted: curveOps(r.Series, least), Ops: -1}
		for _, mode := range []string{"agg", "ext"} {
			ss, ok := r.Samples[mode]
			if !ok {
				continue
			}
			if v := medianNs(ss); p.DatadogMode == "" || v < p.Datadog {
				p.Datadog, p.DatadogMode = v, mode
			}
		}
		for _, ss := range r.Samples {
			for _, s := range ss {
				if p.Ops < 0 || s.Ops < p.Ops {
					p.Ops = s.Ops
				}
			}
		}
		out = append(out, p)
	}
	return out
}

// medianNs returns the median CPU-ns per recording of ss (the mean of the middle two for an even
// count), 0 for none.
func medianNs(ss []curveSample) float64 {
	v := make([]float64, len(ss))
	for i, s := range ss {
		v[i] = s.NsPerOp()
	}
	return median(v)
}

// median returns the median of v (the mean of the middle two for an even count), 0 for none.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// growth returns statshard's cost at to series over its cost at from series, and false when
// either point is missing or from's cost is not positive.
func growth(points []curvePoint, from, to int) (float64, bool) {
	var a, b float64
	var okA, okB bool
	for _, p := range points {
		switch p.Series {
		case from:
			a, okA = p.Statshard, true
		case to:
			b, okB = p.Statshard, true
		}
	}
	if !okA || !okB || a <= 0 {
		return 0, false
	}
	return b / a, true
}
