package agent

import (
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/statshard/statshard/internal/peertest"
)

// TestStatsdExporterIntegration sends through real sockets, UDP and a Unix datagram socket, to a
// real prometheus/statsd_exporter and checks what it exposes on /metrics.
func TestStatsdExporterIntegration(t *testing.T) {
	e := peertest.Start(t, peertest.Options{Unixgram: true})
	for _, tc := range []struct{ name, addr string }{
		{"udp", "udp://" + e.UDPAddr},
		{"unixgram", "unixgram://" + e.UnixPath},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := "it_" + tc.name + "."
			r, err := New(Config{
				Interval: 20 * time.Millisecond,
				Prefix:   p,
				Tags:     []string{"env:test", "team:core"},
				Histograms: HistogramConfig{Rules: []HistogramRule{
					{Match: "bk", Mode: HistogramBuckets, Bounds: []float64{1, 10}},
				}},
				Statsd: StatsdConfig{Address: tc.addr},
			})
			if err != nil {
				t.Fatal(err)
			}
			const goroutines, per = 4, 5000
			c := r.Counter("requests", "code:200")
			var wg sync.WaitGroup
			for g := 0; g < goroutines; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < per; i++ {
						c.Inc()
						r.Count("bytes", 3, "env:prod") // own env wins over the global env:test
						if i%100 == 0 {
							// Let interval flushes interleave with recording.
							time.Sleep(time.Millisecond)
						}
					}
				}()
			}
			wg.Wait()
			r.GaugeSet("temperature", 21.5)
			r.GaugeSet("zero", 0)
			h := r.Histogram("latency")
			for i := 1; i <= 100; i++ {
				h.Observe(float64(i))
			}
			for _, v := range []float64{0.5, 5, 50} {
				r.Observe("bk", v)
			}
			d := r.Distribution("size")
			for i := 1; i <= 10; i++ {
				d.Observe(float64(i))
			}
			for i := 0; i < 50; i++ { // a set with 3 distinct members
				r.SetAdd("users", fmt.Sprint("u", i%3))
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			st := r.Stats()
			if st.Statsd.Packets == 0 || st.Statsd.DroppedRefused+st.Statsd.DroppedWouldBlock+st.Statsd.DroppedNoDest+st.Statsd.DroppedOther+st.Statsd.DroppedTooLong != 0 {
				t.Errorf("stats %+v: want packets sent and no drops", st)
			}

			n := "it_" + tc.name + "_"
			type want struct {
				name   string
				labels []string
				v      float64
			}
			wants := []want{
				{n + "requests", []string{"code", "200", "env", "test", "team", "core"}, goroutines * per},
				{n + "bytes", []string{"env", "prod", "team", "core"}, goroutines * per * 3},
				{n + "temperature", []string{"env", "test", "team", "core"}, 21.5},
				{n + "zero", []string{"env", "test", "team", "core"}, 0},
				{n + "latency_count", []string{"env", "test", "team", "core"}, 100},
				{n + "latency_sum", []string{"env", "test", "team", "core"}, 5050},
				{n + "latency_min", []string{"env", "test", "team", "core"}, 1},
				{n + "latency_max", []string{"env", "test", "team", "core"}, 100},
				{n + "bk_bucket", []string{"env", "test", "team", "core", "le", "1"}, 1},
				{n + "bk_bucket", []string{"env", "test", "team", "core", "le", "10"}, 2},
				{n + "bk_bucket", []string{"env", "test", "team", "core", "le", "inf"}, 3},
				{n + "bk_count", []string{"env", "test", "team", "core"}, 3},
				{n + "size_count", []string{"env", "test", "team", "core"}, 10},
				{n + "size_sum", []string{"env", "test", "team", "core"}, 55},
			}
			e.WaitFor(t, 10*time.Second, func(m peertest.Metrics) bool {
				for _, w := range wants {
					if v, ok := m.Get(w.name, w.labels...); !ok || math.Abs(v-w.v) > 1e-9 {
						return false
					}
				}
				return true
			})
			// The median gauge is within the sketch's 1% of the exact 50.
			m := e.Scrape(t)
			if v, ok := m.Get(n+"latency_median", "env", "test", "team", "core"); !ok || math.Abs(v-50) > 0.5 {
				t.Errorf("latency_median = %v (found %v), want 50 within 1%%", v, ok)
			}
			// The global env tag never duplicated the metric's own.
			if _, ok := m.Get(n+"bytes", "env", "test", "team", "core"); ok {
				t.Errorf("bytes was also sent with the global env:test")
			}
		})
	}
}
