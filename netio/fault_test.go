package netio

import (
	"context"
	"errors"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"
)

// TestFaultDNSDownThenMoves follows a statsd server through DNS faults: the name does not
// resolve at first, then resolves; the server at that address dies, and the name moves to where
// it restarted. TestWriterReresolve covers a plain change of address and
// TestWriterResolveFailureKeepsAddress a lookup failing after a success; this covers recovering
// from a name that never resolved (the resolver goroutine must hand the address to Write) and
// the refusals of a dead old address before the move.
func TestFaultDNSDownThenMoves(t *testing.T) {
	l1, l2, port := listenPair(t)
	var answer atomic.Pointer[netip.Addr] // nil: the DNS server fails
	lookup := func(ctx context.Context, network, host string) ([]netip.Addr, error) {
		if a := answer.Load(); a != nil {
			return []netip.Addr{*a}, nil
		}
		return nil, errors.New("SERVFAIL")
	}
	w, err := newWriter(Addr{Network: "udp", Address: "statsd.test:" + itoa(port)},
		WriterConfig{ResolveInterval: 10 * time.Millisecond, WriteTimeout: 200 * time.Millisecond}, lookup)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var written uint64
	write := func(ps [][]byte) int {
		t.Helper()
		written += uint64(len(ps))
		start := time.Now()
		n := w.Write(ps)
		if d := time.Since(start); d > time.Second {
			t.Fatalf("Write took %v, want under 1s (WriteTimeout 200ms)", d)
		}
		return n
	}

	// DNS down: nothing to send to, counted as such.
	if got := write(payloads(3, 20)); got != 0 {
		t.Errorf("Write with DNS down returned %d, want 0", got)
	}
	if st := w.Stats(); st.NoDestination != 3 || st.Dropped != 3 || st.ResolveErrors == 0 || st.Reconnects != 0 {
		t.Fatalf("DNS down: got %+v; want NoDestination 3, Dropped 3, ResolveErrors > 0, Reconnects 0", st)
	}

	// DNS answers: the resolver goroutine finds the address and a later Write connects to it.
	a1 := netip.MustParseAddr("127.0.0.1")
	answer.Store(&a1)
	if !waitFor(3*time.Second, func() bool { return write([][]byte{[]byte("first")}) == 1 }) {
		t.Fatalf("no Write succeeded within 3s of DNS answering: %+v", w.Stats())
	}
	equalDatagrams(t, recv(t, l1, 1, 2*time.Second), [][]byte{[]byte("first")})
	up := w.Stats()
	if up.Reconnects != 1 || up.Datagrams != 1 || up.Dropped != up.NoDestination {
		t.Errorf("DNS answered: got %+v; want Reconnects 1, Datagrams 1, every drop NoDestination", up)
	}

	// The server at that address dies. The kernel's refusals are retried or counted as Refused,
	// never as anything else, and every Write still returns promptly.
	l1.Close()
	for range 3 {
		write(payloads(10, 20))
	}
	dead := w.Stats()
	if dead.NoDestination != up.NoDestination || dead.Dropped != dead.Refused+dead.NoDestination {
		t.Errorf("old address dead: got %+v; want only Refused drops since %+v", dead, up)
	}
	checkConserved(t, dead, written)
	t.Logf("old address dead, 30 datagrams: Datagrams +%d, Refused +%d", dead.Datagrams-up.Datagrams, dead.Refused-up.Refused)

	// The name moves to where the server restarted: data arrives there.
	a2 := netip.MustParseAddr("127.0.0.2")
	answer.Store(&a2)
	ok := waitFor(3*time.Second, func() bool {
		write([][]byte{[]byte("second")})
		return len(recv(t, l2, 1, 20*time.Millisecond)) == 1
	})
	if !ok {
		t.Fatalf("nothing reached the new address within 3s of the name moving: %+v", w.Stats())
	}
	st := w.Stats()
	if st.Reconnects != 2 || st.Dropped != st.Refused+st.NoDestination || st.NoDestination != up.NoDestination {
		t.Errorf("moved: got %+v; want Reconnects 2 and no new drops but Refused", st)
	}
	checkConserved(t, st, written)
}
