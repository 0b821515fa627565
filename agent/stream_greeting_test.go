package agent

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestStreamGreetingMemoryBounded: 64 clients that connect to a recorder with 50,000 series and
// never read would each pin a ~7 MB snapshot greeting. Clients connecting together share one
// encoding, and the snapshots held at once stay within TCPConfig.SnapshotBudget: clients past it
// get the metadata and the live stream without a snapshot, counted in TCPSnapshotsSkipped.
func TestStreamGreetingMemoryBounded(t *testing.T) {
	const (
		series  = 50000
		clients = 64
		budget  = 32 << 20
		slack   = 8 << 20 // the clients' own buffers and goroutines, and measurement noise
	)
	r := newStreamRecorder(t, TCPConfig{Snapshot: true, SnapshotBudget: budget, MaxClients: clients, WriteTimeout: time.Minute})
	r.Describe("greeting.test", Description{Kind: KindCounter, Text: "a counter with many series"})
	pad := "pad:" + strings.Repeat("x", 80) // ~140-byte frames: 7 MB per snapshot
	for i := 0; i < series; i++ {
		r.Count("greeting.test", 1, fmt.Sprintf("id:%d", i), pad)
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc

	for i := 0; i < clients; i++ {
		dialStream(t, r, smallRcvbuf) // never read
	}
	st := r.stream
	waitFor(t, "every client greeted", func() bool {
		return st.snapServed.Load()+st.snapSkipped.Load() == clients
	})
	runtime.GC()
	runtime.ReadMemStats(&ms)
	held := int64(ms.HeapAlloc) - int64(base)
	served, skipped := st.snapServed.Load(), r.Stats().TCP.SnapshotsSkipped
	t.Logf("%d clients: heap +%.1f MiB; %d snapshots served from %d encodings, %d skipped",
		clients, float64(held)/(1<<20), served, st.snapBuilds.Load(), skipped)
	if held > budget+slack {
		t.Errorf("greetings hold %.1f MiB of heap, want at most SnapshotBudget %d MiB + %d MiB",
			float64(held)/(1<<20), budget>>20, slack>>20)
	}
	if served == 0 {
		t.Errorf("no client got a snapshot, want at least the first")
	}
	if served+skipped != clients {
		t.Errorf("served %d + skipped %d snapshots, want %d", served, skipped, clients)
	}
}
