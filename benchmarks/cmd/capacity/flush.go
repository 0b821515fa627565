package main

import (
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/statshard/statshard/agent"
	"github.com/statshard/statshard/netio"
)

// flushResult is how long a Recorder took to flush n touched counter series to a real UDP
// receiver, and how many datagrams and syscalls that took.
type flushResult struct {
	Series    int
	Created   int           // series actually created (fewer when creation ran out of time)
	Create    time.Duration // creating the series with handles
	Times     []time.Duration
	Datagrams uint64 // per flush
	Lines     uint64 // per flush
	Syscalls  uint64 // per flush
	Received  uint64 // datagrams the receiver got, over all timed flushes
	Sent      uint64 // datagrams sent, over all timed flushes
	Heap      uint64 // live heap with the series created, bytes
}

// Median returns the median flush time.
func (f flushResult) Median() time.Duration {
	if len(f.Times) == 0 {
		return 0
	}
	t := slices.Clone(f.Times)
	slices.Sort(t)
	return t[len(t)/2]
}

// DatagramsPerSecond is the flush's sending rate, datagrams over the median flush time.
func (f flushResult) DatagramsPerSecond() float64 {
	m := f.Median()
	if m <= 0 {
		return 0
	}
	return float64(f.Datagrams) / m.Seconds()
}

// measureFlush creates n counter series with handles, then repeatedly touches every one and
// times rec.Flush() to a loopback UDP receiver that drains with a large buffer. The first flush
// sizes the exporter's buffer and is not timed. Rounds stop after budget or 5 timed flushes, with
// at least one; creating the series stops at createBudget, so a slow machine cannot hang the run.
func measureFlush(n int, budget, createBudget time.Duration) (flushResult, error) {
	res := flushResult{Series: n}
	var got atomic.Uint64
	rd, err := netio.ListenReader(netio.Addr{Network: "udp", Address: "127.0.0.1:0"},
		netio.ReaderConfig{Readers: 1, RecvBuffer: 64 << 20}, func(_ int, d [][]byte) { got.Add(uint64(len(d))) })
	if err != nil {
		return res, fmt.Errorf("capacity: flush receiver: %w", err)
	}
	defer rd.Close()
	rec, err := agent.New(agent.Config{
		Interval:  time.Hour, // only our Flush calls flush
		MaxSeries: -1,
		Expiry:    -1,
		Statsd:    agent.StatsdConfig{Address: rd.Addr().String()},
	})
	if err != nil {
		return res, err
	}
	defer rec.Close()

	start := time.Now()
	handles := make([]agent.Counter, 0, n)
	for i := 0; i < n; i++ {
		if i%65536 == 0 && time.Since(start) > createBudget {
			break
		}
		handles = append(handles, rec.Counter("capacity.flush", "id:"+strconv.Itoa(i)))
	}
	res.Create = time.Since(start)
	res.Created = len(handles)
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	res.Heap = ms.HeapAlloc

	touch := func() {
		for _, h := range handles {
			h.Add(1)
		}
	}
	touch()
	rec.Flush() // sizes the exporter's buffer
	waitStable(got.Load, 20*time.Millisecond, 2*time.Second)

	roundsStart := time.Now()
	for len(res.Times) < 5 && (len(res.Times) == 0 || time.Since(roundsStart) < budget) {
		touch()
		before, got0 := rec.Stats(), got.Load()
		t0 := time.Now()
		rec.Flush()
		res.Times = append(res.Times, time.Since(t0))
		after := rec.Stats()
		res.Datagrams = after.Statsd.Packets - before.Statsd.Packets
		res.Lines = after.Statsd.Lines - before.Statsd.Lines
		res.Syscalls = after.Statsd.Syscalls - before.Statsd.Syscalls
		res.Sent += res.Datagrams
		last, _ := waitStable(got.Load, 20*time.Millisecond, 2*time.Second)
		res.Received += last - got0
	}
	runtime.KeepAlive(handles)
	return res, nil
}

// waitStable polls get until its value has not changed for quiet, or until limit has passed, and
// returns the last value and when it last changed.
func waitStable(get func() uint64, quiet, limit time.Duration) (uint64, time.Time) {
	start := time.Now()
	last, changed := get(), time.Now()
	for time.Since(changed) < quiet && time.Since(start) < limit {
		time.Sleep(quiet / 10)
		if v := get(); v != last {
			last, changed = v, time.Now()
		}
	}
	return last, changed
}
