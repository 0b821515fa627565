package netio

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// TestHubEvictsIdleClient: with MaxClients connected and no traffic, nothing is written, so no
// write deadline ever fires; a new connection then takes the slot of the client that has gone
// longest without a completed write, once that is longer than EvictAfter.
func TestHubEvictsIdleClient(t *testing.T) {
	const after = 100 * time.Millisecond
	h := hubStart(t, HubConfig{MaxClients: 2, EvictAfter: after})
	a := hubDial(t, h)
	hubWaitClients(t, h, 1)
	b := hubDial(t, h)
	hubWaitClients(t, h, 2)
	time.Sleep(2 * after) // both idle past EvictAfter, a the longest
	c := hubDial(t, h)
	hubExpectClosed(t, a)
	hubWaitFor(t, "the new client to take the slot", func() bool {
		st := h.Stats()
		return st.Accepted == 3 && st.Clients == 2
	})
	if st := h.Stats(); st.Evicted != 1 || st.Rejected != 0 || st.Disconnected != 1 || st.TimedOut != 0 {
		t.Errorf("Evicted, Rejected, Disconnected, TimedOut: got %d, %d, %d, %d; want 1, 0, 1, 0",
			st.Evicted, st.Rejected, st.Disconnected, st.TimedOut)
	}
	frames, ends := hubBatch(0, 3, hubFixed)
	h.Broadcast(frames, ends)
	for name, conn := range map[string]net.Conn{"b": b, "c": c} {
		if got := hubReadN(t, conn, len(frames)); !bytes.Equal(got, frames) {
			t.Errorf("client %s: got %x, want %x", name, got, frames)
		}
	}
}

// TestHubEvictsOnlyPastEvictAfter: clients written to more recently than EvictAfter keep their
// slots, and the new connection is rejected as before; a negative EvictAfter never evicts.
func TestHubEvictsOnlyPastEvictAfter(t *testing.T) {
	for _, tt := range []struct {
		name  string
		after time.Duration
		idle  time.Duration
	}{
		{"recent", time.Minute, 0},
		{"disabled", -1, 200 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := hubStart(t, HubConfig{MaxClients: 1, EvictAfter: tt.after})
			a := hubDial(t, h)
			hubWaitClients(t, h, 1)
			time.Sleep(tt.idle)
			b := hubDial(t, h)
			hubExpectClosed(t, b)
			if st := h.Stats(); st.Evicted != 0 || st.Rejected != 1 || st.Clients != 1 {
				t.Errorf("Evicted, Rejected, Clients: got %d, %d, %d; want 0, 1, 1", st.Evicted, st.Rejected, st.Clients)
			}
			frames, ends := hubBatch(0, 2, hubFixed)
			h.Broadcast(frames, ends)
			if got := hubReadN(t, a, len(frames)); !bytes.Equal(got, frames) {
				t.Errorf("kept client: got %x, want %x", got, frames)
			}
		})
	}
}

// TestHubEvictAfterCountsWrites: a completed write restarts a client's idle time, so of two idle
// clients the one that completed a write last keeps its slot, although it connected first.
func TestHubEvictAfterCountsWrites(t *testing.T) {
	const after = 150 * time.Millisecond
	h := hubStart(t, HubConfig{MaxClients: 2, EvictAfter: after, WriteTimeout: time.Minute})
	a := hubDial(t, h)
	hubWaitClients(t, h, 1)
	stuck := hubDialSmall(t, h, 4096) // never reads
	hubWaitClients(t, h, 2)
	// 8 MiB: more than the kernel buffers, so the write to stuck cannot complete.
	big, bigEnds := hubBatch(0, 1024, func(int) int { return 8 << 10 })
	h.Broadcast(big, bigEnds)
	hubReadN(t, a, len(big)) // a's write completed
	time.Sleep(2 * after)    // both idle past EvictAfter; stuck's last completed write is older
	c := hubDial(t, h)
	hubWaitFor(t, "the new client to take the stuck client's slot", func() bool {
		st := h.Stats()
		return st.Accepted == 3 && st.Clients == 2 && st.Evicted == 1
	})
	stuck.SetReadDeadline(time.Now().Add(hubWait))
	if _, err := io.Copy(io.Discard, stuck); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("the stuck client was not disconnected: %v", err)
	}
	frames, ends := hubBatch(1024, 3, hubFixed)
	h.Broadcast(frames, ends)
	for name, conn := range map[string]net.Conn{"a": a, "c": c} {
		if got := hubReadN(t, conn, len(frames)); !bytes.Equal(got, frames) {
			t.Errorf("client %s: got %x, want %x", name, got, frames)
		}
	}
}
