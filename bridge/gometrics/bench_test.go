package gometrics_test

import (
	"bytes"
	"math"
	"net"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	metrics "github.com/hashicorp/go-metrics"
	"github.com/hashicorp/go-metrics/datadog"
	"github.com/statshard/statshard/agent"
	"github.com/statshard/statshard/bridge/gometrics"
)

// receiver is a loopback UDP DogStatsD receiver that tallies what arrives for one metric: the
// values a counter line ("name:3|c", and a summary's "name.count:3|c") stands for, one per
// timing/histogram/distribution line ("name:12|ms"), each weighted by 1/rate, and the last
// gauge value. It runs on a thread of its own whose CPU time it reports, so that the benchmark
// can leave the receiving out of the sender's CPU time.
type receiver struct {
	conn   net.PacketConn
	metric string
	events atomic.Uint64 // values represented, x1000 to keep fractions of weighted lines
	gauge  atomic.Uint64 // float64 bits of the last gauge value
	cpu    time.Duration // the receiving thread's CPU time, set when done is closed
	done   chan struct{}
}

func startReceiver(tb testing.TB, metric string) *receiver {
	tb.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	if uc, ok := conn.(*net.UDPConn); ok {
		uc.SetReadBuffer(4 << 20) // what is lost, the sender lost
	}
	r := &receiver{conn: conn, metric: metric, done: make(chan struct{})}
	go r.run()
	return r
}

func (r *receiver) run() {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start, _ := threadCPU()
	buf := make([]byte, 65536)
	for {
		n, _, err := r.conn.ReadFrom(buf)
		if err != nil {
			break
		}
		for line := range bytes.SplitSeq(buf[:n], []byte("\n")) {
			r.tally(line)
		}
	}
	end, _ := threadCPU()
	r.cpu = end - start
	close(r.done)
}

func (r *receiver) tally(line []byte) {
	name, rest, ok := bytes.Cut(line, []byte(":"))
	if !ok {
		return
	}
	isCount := string(name) == r.metric+".count"
	if string(name) != r.metric && !isCount {
		return
	}
	fields := bytes.Split(rest, []byte("|"))
	if len(fields) < 2 {
		return
	}
	v, err := strconv.ParseFloat(string(fields[0]), 64)
	if err != nil {
		return
	}
	w := 1.0
	for _, f := range fields[2:] {
		if len(f) > 1 && f[0] == '@' {
			if rate, err := strconv.ParseFloat(string(f[1:]), 64); err == nil && rate > 0 {
				w = 1 / rate
			}
		}
	}
	switch typ := string(fields[1]); {
	case typ == "c":
		r.events.Add(uint64(math.Round(v * w * 1000)))
	case typ == "g" && !isCount:
		r.gauge.Store(math.Float64bits(v))
		r.events.Add(1000)
	case typ == "ms" || typ == "h" || typ == "d":
		r.events.Add(uint64(math.Round(w * 1000)))
	}
}

// close stops the receiver and returns the CPU time its thread used.
func (r *receiver) close() time.Duration {
	r.conn.Close()
	<-r.done
	return r.cpu
}

// client is one of the sinks compared, with how to shut it down (which flushes what it holds).
type client struct {
	sink     metrics.MetricSink
	shutdown func()
}

func statshardClient(b *testing.B, addr string) client {
	rec, err := agent.New(agent.Config{Statsd: agent.StatsdConfig{Address: "udp://" + addr}})
	if err != nil {
		b.Fatal(err)
	}
	s := gometrics.NewSink(rec)
	return client{s, func() { s.Shutdown(); rec.Close() }}
}

func dogstatsdClient(b *testing.B, addr string) client {
	s, err := datadog.NewDogStatsdSink(addr, "")
	if err != nil {
		b.Fatal(err)
	}
	return client{s, s.Shutdown}
}

// BenchmarkSink compares the sink with go-metrics' own DogStatsD sink (datadog.DogStatsdSink,
// datadog-go v4 underneath) in the same run, as process CPU-ns per call (every goroutine, the
// clients' flush and send included; the receiving thread excluded) with everything delivered to a
// loopback receiver: each run ends with the sink's Shutdown and waits until the receiver has
// tallied every call, and fails if it does not within 10 s.
func BenchmarkSink(b *testing.B) {
	key := []string{"api", "requests"}
	labels := []metrics.Label{{Name: "route", Value: "/pay"}, {Name: "code", Value: "200"}, {Name: "env", Value: "prod"}}
	workloads := []struct {
		name     string
		call     func(s metrics.MetricSink, i int)
		parallel bool
	}{
		{"IncrCounter", func(s metrics.MetricSink, i int) { s.IncrCounterWithLabels(key, 1, labels) }, false},
		{"IncrCounter/parallel", func(s metrics.MetricSink, i int) { s.IncrCounterWithLabels(key, 1, labels) }, true},
		{"AddSample", func(s metrics.MetricSink, i int) { s.AddSampleWithLabels(key, float32(i%1000), labels) }, false},
		{"SetGauge", func(s metrics.MetricSink, i int) { s.SetGaugeWithLabels(key, float32(i), labels) }, false},
	}
	for _, w := range workloads {
		for _, c := range []struct {
			name string
			make func(*testing.B, string) client
		}{{"statshard", statshardClient}, {"dogstatsd", dogstatsdClient}} {
			b.Run(w.name+"/"+c.name, func(b *testing.B) {
				rx := startReceiver(b, "api.requests")
				cl := c.make(b, rx.conn.LocalAddr().String())
				cpu0, cpuOK := processCPU()
				b.ResetTimer()
				if w.parallel {
					var seq atomic.Int64
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							w.call(cl.sink, int(seq.Add(1)))
						}
					})
				} else {
					for i := range b.N {
						w.call(cl.sink, i)
					}
				}
				cl.shutdown()
				delivered := waitDelivered(rx, w.name, b.N)
				b.StopTimer()
				cpu1, _ := processCPU()
				rxCPU := rx.close()
				if !delivered {
					b.Fatalf("%s: the receiver got %.3f of %d calls within 10 s (last gauge %v)",
						c.name, float64(rx.events.Load())/1000, b.N, math.Float64frombits(rx.gauge.Load()))
				}
				if cpuOK {
					b.ReportMetric(float64(cpu1-cpu0-rxCPU)/float64(b.N), "CPU-ns/op")
				}
			})
		}
	}
}

// waitDelivered waits until the receiver has everything: every call for counters and samples,
// the last value for gauges.
func waitDelivered(rx *receiver, workload string, n int) bool {
	deadline := time.Now().Add(10 * time.Second)
	for {
		if workload == "SetGauge" {
			if math.Float64frombits(rx.gauge.Load()) == float64(float32(n-1)) {
				return true
			}
		} else if rx.events.Load() >= uint64(n)*1000 {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
}
