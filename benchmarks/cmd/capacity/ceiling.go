package main

import (
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/statshard/statshard/netio"
)

// udpCeiling is one raw datagram loop: what the kernel allows on this machine, with no encoding
// or parsing, for the same 1432-byte payloads the other measurements use.
type udpCeiling struct {
	Sent      sent
	Syscalls  uint64 // send syscalls (sendmmsg)
	Received  uint64 // datagrams the counting receiver got
	RecvWall  time.Duration
	RecvDrops uint64 // kernel drops at the receiver (SO_RXQ_OVFL)
	LinesPer  float64
}

// SendRate is datagrams/s the sender handed the kernel.
func (c udpCeiling) SendRate() float64 { return float64(c.Sent.Datagrams) / c.Sent.Wall.Seconds() }

// RecvRate is datagrams/s the receiver got.
func (c udpCeiling) RecvRate() float64 {
	if c.RecvWall <= 0 {
		return 0
	}
	return float64(c.Received) / c.RecvWall.Seconds()
}

// udpLoop blasts l at a netio.Reader on one goroutine whose handler only counts, for d, with a
// netio.Writer sending sendmmsg batches of 64 as fast as it can.
func udpLoop(l load, d time.Duration, recvBuffer int) (udpCeiling, error) {
	c := udpCeiling{LinesPer: l.linesPer()}
	var got atomic.Uint64
	rd, err := netio.ListenReader(netio.Addr{Network: "udp", Address: "127.0.0.1:0"},
		netio.ReaderConfig{Readers: 1, RecvBuffer: recvBuffer}, func(_ int, dg [][]byte) { got.Add(uint64(len(dg))) })
	if err != nil {
		return c, fmt.Errorf("capacity: ceiling receiver: %w", err)
	}
	defer rd.Close()
	w, err := netio.NewWriter(rd.Addr(), netio.WriterConfig{SendBuffer: 4 << 20})
	if err != nil {
		return c, fmt.Errorf("capacity: ceiling sender: %w", err)
	}
	defer w.Close()
	start := time.Now()
	c.Sent = send(w, l, 0, d, nil)
	c.Received, _ = waitStable(got.Load, 20*time.Millisecond, 2*time.Second)
	// The receiver ran from start until it had taken the last datagram; the quiet wait is not
	// part of it, and the sender's wall time is a lower bound of it.
	c.RecvWall = max(c.Sent.Wall, time.Since(start)-20*time.Millisecond)
	c.Syscalls = w.Stats().Syscalls
	// The kernel reports drops with the next datagram it delivers: send one to learn them.
	w.Write(l.payloads[:1])
	waitStable(got.Load, 10*time.Millisecond, 200*time.Millisecond)
	c.RecvDrops = rd.Stats().KernelDrops
	return c, nil
}

// ceilings are the kernel's limits on this machine, each the median of its runs.
type ceilings struct {
	Send, Recv udpCeiling
	Runs       int
}

// measureCeilings runs the raw sendmmsg loop (into a receiver with a big buffer, so the receiver
// is not what limits it) and the raw recvmmsg loop (with the agent's default 8 MiB buffer and one
// reader, the agent's setting in the intake steps) runs times each, and keeps the median run of
// each.
func measureCeilings(l load, d time.Duration, runs int) (ceilings, error) {
	var sends, recvs []udpCeiling
	for range runs {
		s, err := udpLoop(l, d, 64<<20)
		if err != nil {
			return ceilings{}, err
		}
		sends = append(sends, s)
		r, err := udpLoop(l, d, 8<<20)
		if err != nil {
			return ceilings{}, err
		}
		recvs = append(recvs, r)
	}
	slices.SortFunc(sends, func(a, b udpCeiling) int { return cmpFloat(a.SendRate(), b.SendRate()) })
	slices.SortFunc(recvs, func(a, b udpCeiling) int { return cmpFloat(a.RecvRate(), b.RecvRate()) })
	return ceilings{Send: sends[len(sends)/2], Recv: recvs[len(recvs)/2], Runs: runs}, nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
