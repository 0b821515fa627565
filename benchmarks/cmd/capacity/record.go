package main

import (
	"runtime"
	"sync/atomic"
	"time"

	"github.com/statshard/statshard/agent"
)

// opRate is how fast one recording operation ran in a tight loop on one goroutine.
type opRate struct {
	Name   string
	Ops    uint64
	Wall   time.Duration
	CPU    time.Duration // process CPU time over the loop (getrusage)
	Allocs uint64        // heap allocations over the loop, all goroutines
}

func (o opRate) PerSecond() float64 { return float64(o.Ops) / o.Wall.Seconds() }

// PerCPUSecond is the rate one core sustains: the loop's operations over the CPU time the whole
// process spent meanwhile (the recorder's own goroutines included).
func (o opRate) PerCPUSecond() float64 {
	if o.CPU <= 0 {
		return 0
	}
	return float64(o.Ops) / o.CPU.Seconds()
}

// loop calls run(i, chunk), which must perform operations i to i+chunk-1 in a loop of its own,
// until d has passed, and measures it. Time is read, and run called through a func value, once per
// chunk, so neither costs anything next to the operations.
func loop(name string, d time.Duration, chunk int, run func(i, n int)) opRate {
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	cpu0 := selfCPU()
	start := time.Now()
	var n uint64
	for i := 0; time.Since(start) < d; i += chunk {
		run(i, chunk)
		n += uint64(chunk)
	}
	wall := time.Since(start)
	cpu := selfCPU() - cpu0
	runtime.ReadMemStats(&ms1)
	return opRate{Name: name, Ops: n, Wall: wall, CPU: cpu, Allocs: ms1.Mallocs - ms0.Mallocs}
}

// measureRecording times the recording paths of a Recorder on one goroutine for d each, after
// a raw atomic add, the most any counter can do on this core.
func measureRecording(d time.Duration) ([]opRate, error) {
	rec, err := agent.New(agent.Config{
		Interval: time.Hour, // no flush during the loops
		Statsd:   agent.StatsdConfig{Address: "off"},
	})
	if err != nil {
		return nil, err
	}
	defer rec.Close()

	var raw atomic.Uint64
	counter := rec.Counter("svc.requests", "env:prod", "route:/api", "code:200")
	hist := rec.Histogram("svc.latency", "env:prod", "route:/api")
	var values [1024]float64 // spread over the sketch's bins, as real latencies are
	for i := range values {
		values[i] = 0.0005 * float64(1+i*i%997)
	}
	out := []opRate{
		loop("raw atomic.AddUint64 (ceiling)", d, 1<<16, func(_, n int) {
			for range n {
				raw.Add(1)
			}
		}),
		loop("Counter.Add (handle)", d, 1<<16, func(_, n int) {
			for range n {
				counter.Add(1)
			}
		}),
		loop("Count by name, 3 tags", d, 1<<12, func(_, n int) {
			for range n {
				rec.Count("svc.requests", 1, "env:prod", "route:/api", "code:200")
			}
		}),
		loop("Histogram.Observe (handle)", d, 1<<14, func(i, n int) {
			for j := i; j < i+n; j++ {
				hist.Observe(values[j&1023])
			}
		}),
	}
	runtime.KeepAlive(raw.Load())
	return out, nil
}
