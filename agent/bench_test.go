package agent

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/statshard/statshard/netio"
	"github.com/statshard/statshard/wire/statsd"
)

// Benchmarks compare each path with a baseline in the same run; see docs/perf.md for figures and
// the exact commands. Recorders here write to io.Discard-like sinks and never flush on their own.

func benchRecorder(b *testing.B, cfg Config) *Recorder {
	b.Helper()
	cfg.Interval = time.Hour
	cfg.Statsd.Writer = discard{}
	r, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close() })
	return r
}

// benchRawAtomicAdd is the baseline of the recording benchmarks: one atomic add per operation.
func benchRawAtomicAdd(b *testing.B) {
	b.ReportAllocs()
	var v atomic.Uint64
	for i := 0; i < b.N; i++ {
		v.Add(1)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func BenchmarkCounterAdd(b *testing.B) {
	b.Run("raw-atomic-add", benchRawAtomicAdd)
	b.Run("handle", func(b *testing.B) {
		b.ReportAllocs()
		c := benchRecorder(b, Config{}).Counter("requests", "env:prod")
		for i := 0; i < b.N; i++ {
			c.Add(1)
		}
	})
}

// naiveMap is the baseline for the by-name path: a key built by concatenation, a sync.Mutex and a
// map[string]*uint64.
type naiveMap struct {
	mu sync.Mutex
	m  map[string]*uint64
}

func (n *naiveMap) count(name string, v int64, tags ...string) {
	key := name + "|" + strings.Join(tags, ",")
	n.mu.Lock()
	p := n.m[key]
	if p == nil {
		p = new(uint64)
		n.m[key] = p
	}
	*p += uint64(v)
	n.mu.Unlock()
}

func BenchmarkCountByName(b *testing.B) {
	b.Run("naive-mutex-map", func(b *testing.B) {
		b.ReportAllocs()
		n := &naiveMap{m: map[string]*uint64{}}
		for i := 0; i < b.N; i++ {
			n.count("http.requests", 1, "env:production", "service:checkout", "region:eu-west-1")
		}
	})
	b.Run("statshard", func(b *testing.B) {
		b.ReportAllocs()
		r := benchRecorder(b, Config{})
		for i := 0; i < b.N; i++ {
			r.Count("http.requests", 1, "env:production", "service:checkout", "region:eu-west-1")
		}
	})
	b.Run("naive-mutex-map-parallel", func(b *testing.B) {
		b.ReportAllocs()
		n := &naiveMap{m: map[string]*uint64{}}
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				n.count("http.requests", 1, "env:production", "service:checkout", "region:eu-west-1")
			}
		})
	})
	b.Run("statshard-parallel", func(b *testing.B) {
		b.ReportAllocs()
		r := benchRecorder(b, Config{})
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r.Count("http.requests", 1, "env:production", "service:checkout", "region:eu-west-1")
			}
		})
	})
}

func BenchmarkHistogramObserve(b *testing.B) {
	b.Run("raw-atomic-add", benchRawAtomicAdd)
	b.Run("handle", func(b *testing.B) {
		b.ReportAllocs()
		h := benchRecorder(b, Config{}).Histogram("latency", "env:prod")
		v := 0.001
		for i := 0; i < b.N; i++ {
			h.Observe(v)
			v += 0.0001
			if v > 10 {
				v = 0.001
			}
		}
	})
	b.Run("handle-parallel", func(b *testing.B) {
		b.ReportAllocs()
		h := benchRecorder(b, Config{}).Histogram("latency", "env:prod")
		b.RunParallel(func(pb *testing.PB) {
			v := 0.001
			for pb.Next() {
				h.Observe(v)
				v += 0.0001
				if v > 10 {
					v = 0.001
				}
			}
		})
	})
}

// BenchmarkFlush measures one flush of n counter series (10k, 100k and 1M), each touched once per
// interval, encoded and written to a discarding writer; the baseline formats the same lines with
// fmt from a plain mutex-guarded map.
func BenchmarkFlush(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		names := make([]string, n)
		for i := range names {
			names[i] = fmt.Sprintf("service.metric.%d", i)
		}
		b.Run(fmt.Sprintf("baseline-mutex-map-fmt/series=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			m := &naiveMap{m: map[string]*uint64{}}
			for _, name := range names {
				m.count(name, 1, "env:prod")
			}
			buf := make([]byte, 0, 64<<10)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m.mu.Lock()
				for k, v := range m.m {
					name, tags, _ := strings.Cut(k, "|")
					buf = fmt.Appendf(buf[:0], "%s:%d|c|#%s", name, *v, tags)
					*v = 0
				}
				m.mu.Unlock()
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "series/s")
		})
		b.Run(fmt.Sprintf("statshard/series=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			r := benchRecorder(b, Config{MaxSeries: -1, Expiry: -1})
			cs := make([]Counter, n)
			for i, name := range names {
				cs[i] = r.Counter(name, "env:prod")
			}
			for _, c := range cs {
				c.Add(1)
			}
			r.Flush() // warm the pool and the packer
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				for _, c := range cs {
					c.Add(1)
				}
				b.StartTimer()
				r.Flush()
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "series/s")
		})
		b.Run(fmt.Sprintf("statshard-udp/series=%d", n), func(b *testing.B) {
			benchFlushUDP(b, names)
		})
		b.Run(fmt.Sprintf("statshard-udp-vs-raw/series=%d", n), func(b *testing.B) {
			benchFlushVsRaw(b, names)
		})
	}
}

// udpRig is a Recorder whose exporter sends to a loopback UDP receiver that drains with a large
// buffer and counts what it gets, with a handle for each of the names' counter series.
type udpRig struct {
	r   *Recorder
	rd  *netio.Reader
	got atomic.Uint64
	cs  []Counter
}

func newUDPRig(b *testing.B, names []string) *udpRig {
	g := &udpRig{}
	rd, err := netio.ListenReader(netio.Addr{Network: "udp", Address: "127.0.0.1:0"},
		netio.ReaderConfig{Readers: 1, RecvBuffer: 64 << 20}, func(_ int, d [][]byte) { g.got.Add(uint64(len(d))) })
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rd.Close() })
	g.rd = rd
	g.r, err = New(Config{Interval: time.Hour, MaxSeries: -1, Expiry: -1, Statsd: StatsdConfig{Address: rd.Addr().String()}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { g.r.Close() })
	g.cs = make([]Counter, len(names))
	for i, name := range names {
		g.cs[i] = g.r.Counter(name, "env:prod")
	}
	g.touch()
	g.r.Flush() // sizes the buffers
	return g
}

// touch records into every series.
func (g *udpRig) touch() {
	for _, c := range g.cs {
		c.Add(1)
	}
}

// received waits up to 2 s for the receiver to get all datagrams and reports the percentage it got.
func (g *udpRig) received(all uint64) float64 {
	for deadline := time.Now().Add(2 * time.Second); g.got.Load() < all && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	return 100 * float64(g.got.Load()) / float64(all)
}

// benchFlushUDP is BenchmarkFlush with the exporter's socket: every series touched, then a flush
// to a loopback UDP receiver that drains with a large buffer, as the capacity command's flush
// section does. Its dgrams/s is what docs/perf.md compares with the raw sendmmsg loop; received% is
// what the receiver got of every datagram sent.
func benchFlushUDP(b *testing.B, names []string) {
	g := newUDPRig(b, names)
	before := g.r.Stats().Statsd.Packets
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		g.touch()
		b.StartTimer()
		g.r.Flush()
	}
	b.StopTimer()
	sent := g.r.Stats().Statsd.Packets - before
	b.ReportMetric(float64(len(names))*float64(b.N)/b.Elapsed().Seconds(), "series/s")
	b.ReportMetric(float64(sent)/b.Elapsed().Seconds(), "dgrams/s")
	b.ReportMetric(g.received(g.r.Stats().Statsd.Packets), "received%")
}

// payloadCapture keeps what a Recorder writes to Statsd.Writer: one payload per Write.
type payloadCapture struct{ payloads [][]byte }

func (c *payloadCapture) Write(p []byte) (int, error) {
	c.payloads = append(c.payloads, bytes.TrimSuffix(bytes.Clone(p), []byte("\n")))
	return len(p), nil
}

// benchFlushVsRaw is benchFlushUDP paired with its ceiling in every iteration: a flush, then the
// same payloads (packed once beforehand) written by the benchmark's goroutine in sendmmsg batches
// of 64 to the same receiver, with no encoding and no sender goroutine. Alternating them makes
// the machine's drift fall on both alike; %raw is the raw loop's time over the flush's, the
// share of the raw sendmmsg loop the capacity command reports.
func benchFlushVsRaw(b *testing.B, names []string) {
	var capture payloadCapture
	c, err := New(Config{Interval: time.Hour, MaxSeries: -1, Expiry: -1,
		Statsd: StatsdConfig{Writer: &capture, MaxPacketSize: statsd.DefaultMaxUDP}})
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range names {
		c.Count(name, 1, "env:prod")
	}
	c.Flush()
	c.Close()

	g := newUDPRig(b, names)
	w, err := netio.NewWriter(g.rd.Addr(), netio.WriterConfig{})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	w.Write(capture.payloads)
	before, rawBefore := g.r.Stats().Statsd.Packets, w.Stats().Datagrams
	var flush, raw time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		g.touch()
		b.StartTimer()
		t0 := time.Now()
		g.r.Flush()
		t1 := time.Now()
		w.Write(capture.payloads)
		raw += time.Since(t1)
		flush += t1.Sub(t0)
	}
	b.StopTimer()
	sent, rawSent := g.r.Stats().Statsd.Packets-before, w.Stats().Datagrams-rawBefore
	if sent != rawSent {
		b.Fatalf("the flushes sent %d datagrams, the raw loop %d", sent, rawSent)
	}
	b.ReportMetric(float64(sent)/flush.Seconds(), "dgrams/s")
	b.ReportMetric(float64(rawSent)/raw.Seconds(), "raw-dgrams/s")
	b.ReportMetric(100*raw.Seconds()/flush.Seconds(), "%raw")
	b.ReportMetric(g.received(g.r.Stats().Statsd.Packets+w.Stats().Datagrams), "received%")
}

// BenchmarkCountSeries counts by name over n series of 3 tags visited in turn, the shape of
// benchmarks' BenchmarkCount without the receiver: the lookup at real cardinality. The baseline
// is one atomic add per call into a slice of n counters visited in the same order, which pays
// the same cache misses on the values but no lookup.
func BenchmarkCountSeries(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		tags := make([][]string, n)
		for j := range tags {
			tags[j] = []string{"env:prod", "service:checkout", fmt.Sprintf("route:/api/v1/r%05d", j)}
		}
		b.Run(fmt.Sprintf("series=%d/raw-atomic-add", n), func(b *testing.B) {
			b.ReportAllocs()
			vs := make([]struct {
				v atomic.Uint64
				_ [56]byte
			}, n)
			j := 0
			for i := 0; i < b.N; i++ {
				vs[j].v.Add(1)
				if j++; j == n {
					j = 0
				}
			}
		})
		b.Run(fmt.Sprintf("series=%d/statshard", n), func(b *testing.B) {
			countRoundRobin(b, benchRecorder(b, Config{}), tags, 2)
		})
	}
}

// countRoundRobin counts by name over tags in turn, after warm untimed rounds over all of them.
func countRoundRobin(b *testing.B, r *Recorder, tags [][]string, warm int) {
	b.ReportAllocs()
	for range warm {
		for _, t := range tags {
			r.Count("bench.requests", 1, t...)
		}
	}
	b.ResetTimer()
	j := 0
	for i := 0; i < b.N; i++ {
		r.Count("bench.requests", 1, tags[j]...)
		if j++; j == len(tags) {
			j = 0
		}
	}
}

// BenchmarkCountFolded is BenchmarkCountSeries past the cardinality cap: 10,000 keys recorded by
// name round-robin into a recorder capped at 5,000 series, so half the samples fold into the
// overflow series. A folded key has no lookup entry; the registry's fold cache keeps it from
// canonicalizing and allocating again at every sample.
func BenchmarkCountFolded(b *testing.B) {
	const n, cap = 10_000, 5_000
	tags := make([][]string, n)
	for j := range tags {
		tags[j] = []string{"env:prod", "service:checkout", fmt.Sprintf("route:/api/v1/r%05d", j)}
	}
	countRoundRobin(b, benchRecorder(b, Config{MaxSeries: cap}), tags, 1)
}
