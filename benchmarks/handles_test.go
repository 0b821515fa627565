package benchmarks

import (
	"bytes"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/statshard/statshard/agent"
)

// The handle path: a counter obtained once per series, then incremented. Each client has its own
// loop rather than a shared one taking a func, because an indirect call (~2 ns) would be as large
// as the increment being measured. The series index wraps by comparison: i%n is a division, again
// as slow as the increment. In Zipf order the loop reads the index from the shape's sequence.

// benchStatshardHandles increments statshard Counter handles; they are exported like the by-name
// counters, so the run ends with a flush to the receiver.
func benchStatshardHandles(b *testing.B, sh shape, ss *seriesSet) {
	s := openSession(b, counter.metric)
	r, err := agent.New(statshardConfig(s.addr))
	if err != nil {
		b.Fatal(err)
	}
	hs := make([]agent.Counter, len(ss.tags))
	for j := range hs {
		hs[j] = r.Counter(counter.metric, ss.tags[j]...)
	}
	n := len(hs)
	var res rxResult
	var drops uint64
	measure(b, func() {
		seq := visits(sh)
		if !sh.parallel {
			if seq != nil {
				for i := 0; i < b.N; i++ {
					hs[seq[i&(seqLen-1)]].Inc()
				}
				return
			}
			j := 0
			for i := 0; i < b.N; i++ {
				hs[j].Inc()
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
				for ; pb.Next(); j++ {
					hs[seq[j&(seqLen-1)]].Inc()
				}
				return
			}
			for pb.Next() {
				hs[j].Inc()
				if j++; j == n {
					j = 0
				}
			}
		})
	}, func() {
		if drops, err = statshardStop(r)(); err != nil {
			b.Error(err)
		}
		res = s.close(b)
	})
	reportPush(b, counter, res, drops)
}

// benchPrometheus increments client_golang counters from CounterVec.WithLabelValues, called
// once per series. The run ends with one scrape, the pull model's counterpart of a flush.
func benchPrometheus(b *testing.B, sh shape, ss *seriesSet) {
	reg := prometheus.NewRegistry()
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{Name: promCounter, Help: "Requests."}, ss.labels)
	reg.MustRegister(vec)
	hs := make([]prometheus.Counter, len(ss.values))
	for j := range hs {
		hs[j] = vec.WithLabelValues(ss.values[j]...)
	}
	n := len(hs)
	var scraped float64
	measure(b, func() {
		seq := visits(sh)
		if !sh.parallel {
			if seq != nil {
				for i := 0; i < b.N; i++ {
					hs[seq[i&(seqLen-1)]].Inc()
				}
				return
			}
			j := 0
			for i := 0; i < b.N; i++ {
				hs[j].Inc()
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
				for ; pb.Next(); j++ {
					hs[seq[j&(seqLen-1)]].Inc()
				}
				return
			}
			for pb.Next() {
				hs[j].Inc()
				if j++; j == n {
					j = 0
				}
			}
		})
	}, func() {
		w := httptest.NewRecorder()
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
		scraped = expositionSum(w.Body.Bytes(), promCounter)
	})
	reportPull(b, scraped)
}

// benchVictoriaMetrics increments VictoriaMetrics counters made once per series by
// Set.NewCounter with the labels in the name. The run ends with one WritePrometheus.
func benchVictoriaMetrics(b *testing.B, sh shape, ss *seriesSet) {
	set := metrics.NewSet()
	hs := make([]*metrics.Counter, len(ss.vmNames))
	for j := range hs {
		hs[j] = set.NewCounter(ss.vmNames[j])
	}
	n := len(hs)
	var scraped float64
	measure(b, func() {
		seq := visits(sh)
		if !sh.parallel {
			if seq != nil {
				for i := 0; i < b.N; i++ {
					hs[seq[i&(seqLen-1)]].Inc()
				}
				return
			}
			j := 0
			for i := 0; i < b.N; i++ {
				hs[j].Inc()
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
				for ; pb.Next(); j++ {
					hs[seq[j&(seqLen-1)]].Inc()
				}
				return
			}
			for pb.Next() {
				hs[j].Inc()
				if j++; j == n {
					j = 0
				}
			}
		})
	}, func() {
		var buf bytes.Buffer
		set.WritePrometheus(&buf)
		scraped = expositionSum(buf.Bytes(), promCounter)
	})
	reportPull(b, scraped)
}
