package netio

import (
	"net"
	"testing"
)

// hubDiscard reads c until it fails, throwing the bytes away, without allocating per read.
func hubDiscard(c net.Conn) {
	buf := make([]byte, 64<<10)
	for {
		if _, err := c.Read(buf); err != nil {
			return
		}
	}
}

// TestHubBroadcastAllocs measures Broadcast with live clients. AllocsPerRun counts every
// goroutine's allocations, so the writers' wake-ups are measured too.
func TestHubBroadcastAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	h := hubStart(t, HubConfig{})
	for range 2 {
		go hubDiscard(hubDial(t, h))
	}
	hubWaitClients(t, h, 2)
	frames, ends := hubBatch(0, 64, hubFixed)
	for range 2000 { // let the rings and the writers' buffers reach their steady size
		h.Broadcast(frames, ends)
	}
	if got := testing.AllocsPerRun(2000, func() { h.Broadcast(frames, ends) }); got != 0 {
		t.Errorf("Broadcast: got %v allocs per call, want 0", got)
	}
}

// TestHubFlushAllocs measures one writer wake-up on its own: take what is queued, build the
// vector, set the deadline, writev.
func TestHubFlushAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer ln.Close()
	peer, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer peer.Close()
	go hubDiscard(peer)
	conn, err := ln.Accept()
	if err != nil {
		t.Fatalf("accept: %v", err)
	}
	defer conn.Close()

	h := &Hub{cfg: HubConfig{WriteTimeout: hubWait}}
	c := newHubClient(h, conn)
	a, aEnds := hubBatch(0, 64, hubFixed)
	b, bEnds := hubBatch(64, 64, hubVaried)
	wake := func() {
		c.enqueue(a, aEnds, 1024)
		c.enqueue(b, bEnds, 1024)
		c.take()
		if !c.flush() {
			t.Fatalf("flush failed")
		}
	}
	wake()
	if got := testing.AllocsPerRun(1000, wake); got != 0 {
		t.Errorf("writer wake-up: got %v allocs, want 0", got)
	}
	const wakeups = 1 + 1 + 1000 // ours, AllocsPerRun's warm-up, the measured runs
	if st := h.snapshot(0); st.Writes != wakeups || st.Frames != 128*wakeups {
		t.Errorf("Writes, Frames: got %d, %d; want one write of 128 frames per wake-up (%d, %d)",
			st.Writes, st.Frames, wakeups, 128*wakeups)
	}
}
