package main

import (
	"runtime"
	"strconv"
	"time"

	"github.com/statshard/statshard/agent"
)

// memResult is the live heap one series of a kind costs.
type memResult struct {
	Kind     string
	Series   int
	Bytes    float64 // per series
	Recorder uint64  // heap of an empty Recorder, before any series
}

// measureMemory creates n series of each kind in a fresh Recorder and divides the growth of the
// live heap (runtime.GC, then HeapAlloc) by n. Tag strings are made per series and then dropped,
// so what the registry keeps of them counts and the rest does not.
func measureMemory(n int) ([]memResult, error) {
	kinds := []struct {
		name string
		make func(r *agent.Recorder, tag string)
	}{
		{"counter", func(r *agent.Recorder, tag string) { r.Counter("capacity.mem", tag).Add(1) }},
		{"gauge", func(r *agent.Recorder, tag string) { r.Gauge("capacity.mem", tag).Set(1) }},
		{"histogram (5 values)", func(r *agent.Recorder, tag string) {
			h := r.Histogram("capacity.mem", tag)
			for _, v := range [...]float64{0.001, 0.01, 0.02, 0.1, 1.5} {
				h.Observe(v)
			}
		}},
		{"set (3 members)", func(r *agent.Recorder, tag string) {
			s := r.Set("capacity.mem", tag)
			s.Add("alice")
			s.Add("bob")
			s.Add("carol")
		}},
	}
	var out []memResult
	for _, k := range kinds {
		h0 := liveHeap()
		rec, err := agent.New(agent.Config{Interval: time.Hour, MaxSeries: -1, Expiry: -1,
			Statsd: agent.StatsdConfig{Address: "off"}})
		if err != nil {
			return nil, err
		}
		h1 := liveHeap()
		for i := 0; i < n; i++ {
			k.make(rec, "id:"+strconv.Itoa(i))
		}
		h2 := liveHeap()
		runtime.KeepAlive(rec)
		rec.Close()
		out = append(out, memResult{Kind: k.name, Series: n,
			Bytes: (float64(h2) - float64(h1)) / float64(n), Recorder: h1 - min(h0, h1)})
	}
	return out, nil
}

// liveHeap returns the heap in use after a full collection.
func liveHeap() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
