package gometrics

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	metrics "github.com/hashicorp/go-metrics"
	"github.com/statshard/statshard/agent"
)

// lines collects the lines a recorder writes to Statsd.Writer.
type lines struct {
	mu sync.Mutex
	l  []string
}

func (s *lines) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range strings.Split(string(bytes.TrimSuffix(p, []byte("\n"))), "\n") {
		if l != "" {
			s.l = append(s.l, l)
		}
	}
	return len(p), nil
}

func (s *lines) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.l
	s.l = nil
	slices.Sort(l)
	return l
}

func newSink(t *testing.T, cfg agent.Config) (*Sink, *lines) {
	t.Helper()
	out := &lines{}
	cfg.Interval = time.Hour
	cfg.Statsd.Writer = out
	rec, err := agent.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Close() })
	return NewSink(rec), out
}

func assertLines(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s:\ngot  %q\nwant %q", what, got, want)
	}
}

func TestMapping(t *testing.T) {
	s, out := newSink(t, agent.Config{Histograms: agent.HistogramConfig{Quantiles: []float64{}}})
	pay := []metrics.Label{{Name: "route", Value: "/pay"}, {Name: "canary", Value: ""}, {Name: "a:b", Value: "c:d"}}
	s.IncrCounterWithLabels([]string{"api", "requests"}, 1, pay)
	s.IncrCounterWithLabels([]string{"api", "requests"}, 2, pay)
	s.IncrCounter([]string{"api", "bytes"}, 0.75)
	s.IncrCounter([]string{"api", "bytes"}, 0.75)
	s.SetGauge([]string{"queue"}, 3)
	s.SetGauge([]string{"queue"}, 4.5)
	s.SetGaugeWithLabels([]string{"queue"}, 2, []metrics.Label{{Name: "q", Value: "mail"}})
	s.SetPrecisionGauge([]string{"precise"}, 0.1)
	s.SetPrecisionGaugeWithLabels([]string{"precise"}, 0.2, []metrics.Label{{Name: "k", Value: "v"}})
	s.EmitKey([]string{"emitted"}, 7)
	s.AddSample([]string{"rpc", "ms"}, 10)
	s.AddSampleWithLabels([]string{"rpc", "ms"}, 30, []metrics.Label{{Name: "k", Value: "v"}})
	s.AddSample([]string{"rpc", "ms"}, 20)
	s.Shutdown()
	assertLines(t, "lines", out.take(),
		"api.requests:3|c|#a_b:c:d,canary,route:/pay",
		"api.bytes:1|c", // 1.5: the fraction is carried to the next flush
		"queue:4.5|g", "queue:2|g|#q:mail",
		"precise:0.1|g", "precise:0.2|g|#k:v",
		"emitted:7|g",
		"rpc.ms.count:2|c", "rpc.ms.sum:30|g", "rpc.ms.avg:15|g", "rpc.ms.min:10|g", "rpc.ms.max:20|g",
		"rpc.ms.count:1|c|#k:v", "rpc.ms.sum:30|g|#k:v", "rpc.ms.avg:30|g|#k:v", "rpc.ms.min:30|g|#k:v", "rpc.ms.max:30|g|#k:v",
	)
	s.IncrCounter([]string{"api", "bytes"}, 0.5)
	s.Shutdown()
	assertLines(t, "carried fraction", out.take(), "api.bytes:1|c")
}

// TestKeysDoNotCollide: keys and labels that join alike are still different series in the cache
// (the recorder then sanitizes names alike if they are alike: a.b and a + b are one series).
func TestKeysDoNotCollide(t *testing.T) {
	s, out := newSink(t, agent.Config{})
	s.IncrCounterWithLabels([]string{"x"}, 1, []metrics.Label{{Name: "k", Value: "v"}})
	s.IncrCounterWithLabels([]string{"x"}, 2, []metrics.Label{{Name: "kv", Value: ""}})
	s.SetGauge([]string{"x"}, 5) // another kind, same key
	s.Shutdown()
	assertLines(t, "lines", out.take(), "x:1|c|#k:v", "x:2|c|#kv", "x:5|g")
}

// TestNoAllocs: a call for a series seen before allocates nothing.
func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	s, _ := newSink(t, agent.Config{})
	key := []string{"api", "requests"}
	labels := []metrics.Label{{Name: "route", Value: "/pay"}, {Name: "code", Value: "200"}}
	for name, f := range map[string]func(){
		"IncrCounterWithLabels": func() { s.IncrCounterWithLabels(key, 1, labels) },
		"SetGaugeWithLabels":    func() { s.SetGaugeWithLabels(key, 1, labels) },
		"AddSampleWithLabels":   func() { s.AddSampleWithLabels(key, 1.5, labels) },
		"SetPrecisionGauge":     func() { s.SetPrecisionGauge(key, 1) },
	} {
		f()
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations per call, want 0", name, n)
		}
	}
}

// TestPastTheCache: series past the cache's bound still record, exactly.
func TestPastTheCache(t *testing.T) {
	if testing.Short() {
		t.Skip("creates 70,000 series")
	}
	s, out := newSink(t, agent.Config{})
	const n = numShards*maxShardEntries + 4000
	for round := range 2 {
		for i := range n {
			s.IncrCounter([]string{"c" + strconv.Itoa(i)}, float32(round+1))
		}
	}
	cached := 0
	for i := range s.shards {
		cached += len(*s.shards[i].m.Load()) + len(s.shards[i].pending)
	}
	if cached > numShards*maxShardEntries {
		t.Errorf("%d series cached, bound %d", cached, numShards*maxShardEntries)
	}
	s.Shutdown()
	got := out.take()
	if len(got) != n {
		t.Fatalf("%d lines, want %d", len(got), n)
	}
	for _, l := range got {
		if !strings.HasSuffix(l, ":3|c") {
			t.Fatalf("line %q, want a count of 3", l)
		}
	}
}
