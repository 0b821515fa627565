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
	// Bursts are the raw loop's times for as many datagrams as a flush sends (the ceiling's
	// payloads, cycled), each written after a timed flush once the receiver was quiet again, so
	// from the same idle state: what the kernel alone takes for a burst of that size.
	Bursts []time.Duration
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
	return rate(f.Datagrams, f.Times)
}

// BurstRate is the raw loop's rate over bursts of a flush's size, datagrams over the median burst.
func (f flushResult) BurstRate() float64 { return rate(f.Datagrams, f.Bursts) }

// rate is n over the median of ts, per second; 0 without any.
func rate(n uint64, ts []time.Duration) float64 {
	if len(ts) == 0 {
		return 0
	}
	t := slices.Clone(ts)
	slices.Sort(t)
	if m := t[len(t)/2]; m > 0 {
		return float64(n) / m.Seconds()
	}
	return 0
}

// measureFlush creates n counter series with handles, then repeatedly touches every one and
// times rec.Flush() to a loopback UDP receiver that drains with a large buffer, and after each
// timed flush a raw burst of as many of l's datagrams to the same receiver. The first flush
// sizes the exporter's buffer and is not timed. Rounds stop after budget or 5 timed flushes, with
// at least one; creating the series stops at createBudget, so a slow machine cannot hang the run.
func measureFlush(l load, n int, budget, createBudget time.Duration) (flushResult, error) {
	res := flushResult{Series: n}
	var got atomic.Uint64
	rd, err := netio.ListenReader(netio.Addr{Network: "udp", Address: "127.0.0.1:0"},
		netio.ReaderConfig{Readers: 1, RecvBuffer: 64 << 20}, func(_ int, d [][]byte) { got.Add(uint64(len(d))) })
	if err != nil {
		return res, fmt.Errorf("capacity: flush receiver: %w", err)
	}
	defer rd.Close()
	raw, err := netio.NewWriter(rd.Addr(), netio.WriterConfig{SendBuffer: 4 << 20})
	if err != nil {
		return res, fmt.Errorf("capacity: flush's raw burst sender: %w", err)
	}
	defer raw.Close()
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

		burst := make([][]byte, res.Datagrams)
		for i := range burst {
			burst[i] = l.payloads[i%len(l.payloads)]
		}
		t0 = time.Now()
		raw.Write(burst)
		res.Bursts = append(res.Bursts, time.Since(t0))
		waitStable(got.Load, 20*time.Millisecond, 2*time.Second)
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
