package agent

import (
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// TestFlushBatchesSyscalls proves the flush's payloads leave in far fewer send syscalls than
// datagrams (sendmmsg), counted by the writer itself, and that every datagram arrives.
func TestFlushBatchesSyscalls(t *testing.T) {
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	pc.SetReadBuffer(8 << 20)
	var got atomic.Int64
	go func() {
		buf := make([]byte, 65536)
		for {
			if _, err := pc.Read(buf); err != nil {
				return
			}
			got.Add(1)
		}
	}()
	r, err := New(Config{Interval: time.Hour, Statsd: StatsdConfig{Address: "udp://" + pc.LocalAddr().String()}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i := 0; i < 10000; i++ {
		r.Count(fmt.Sprintf("batch.metric.%d", i), 1, "env:test")
	}
	r.Flush()
	st := r.Stats()
	if st.Statsd.Packets < 100 {
		t.Fatalf("only %d packets for 10000 lines", st.Statsd.Packets)
	}
	if st.Statsd.Syscalls*8 > st.Statsd.Packets {
		t.Errorf("%d syscalls for %d datagrams: want at least 8 datagrams per syscall", st.Statsd.Syscalls, st.Statsd.Packets)
	}
	deadline := time.Now().Add(5 * time.Second)
	for got.Load() < int64(st.Statsd.Packets) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got.Load() != int64(st.Statsd.Packets) {
		t.Errorf("receiver got %d datagrams, writer sent %d", got.Load(), st.Statsd.Packets)
	}
	t.Logf("%d lines in %d datagrams with %d syscalls", st.Statsd.Lines, st.Statsd.Packets, st.Statsd.Syscalls)
}
