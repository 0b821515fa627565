package netio

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// gate is a handler whose calls wait while it is shut, counting what they were handed.
type gate struct {
	open    chan struct{}
	once    sync.Once
	entered chan struct{}
	got     atomic.Int64
}

func newGate() *gate { return &gate{open: make(chan struct{}), entered: make(chan struct{}, 1)} }

func (g *gate) handle(_ int, ds [][]byte) {
	select {
	case g.entered <- struct{}{}:
	default:
	}
	<-g.open
	g.got.Add(int64(len(ds)))
}

func (g *gate) release() { g.once.Do(func() { close(g.open) }) }

// counter is a handler counting datagrams.
type counter struct{ got atomic.Int64 }

func (c *counter) handle(_ int, ds [][]byte) { c.got.Add(int64(len(ds))) }

// udpSenders dials a from n sockets, so that SO_REUSEPORT's hash of the source port spreads
// them over a Reader's sockets.
func udpSenders(t *testing.T, a Addr, n int) []net.Conn {
	t.Helper()
	var cs []net.Conn
	for range n {
		c, err := net.Dial("udp", a.Address)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		cs = append(cs, c)
	}
	return cs
}

// sendEach writes per datagrams from every sender and returns how many went out.
func sendEach(t *testing.T, cs []net.Conn, per int) int {
	t.Helper()
	sent := 0
	for range per {
		for _, c := range cs {
			if _, err := c.Write([]byte("x:1|c")); err != nil {
				t.Fatalf("write: %v", err)
			}
			sent++
		}
	}
	return sent
}

// closeSealed closes r in the background and returns once Close has sealed r's sockets and
// ended its reading goroutines' waits: a handler held until then leaves the rest to the drain.
func closeSealed(t *testing.T, r *Reader) <-chan error {
	t.Helper()
	sealed := make(chan struct{})
	testHookSealed = func(c *Reader) {
		if c == r {
			close(sealed)
		}
	}
	t.Cleanup(func() { testHookSealed = nil })
	closed := make(chan error, 1)
	go func() { closed <- r.Close() }()
	select {
	case <-sealed:
	case <-time.After(readerTestWait):
		t.Fatal("Close did not seal the sockets")
	}
	return closed
}

// TestReaderCloseDrains: what the kernel holds for a Reader when it closes is read and handed
// over, not thrown away with the socket, and counted in Drained.
func TestReaderCloseDrains(t *testing.T) {
	for _, network := range []string{"udp", "unixgram"} {
		t.Run(network, func(t *testing.T) {
			a := readerLoopback
			if network == "unixgram" {
				a = Addr{Network: "unixgram", Address: filepath.Join(t.TempDir(), "r.sock")}
			}
			g := newGate()
			// One reading goroutine: a second one, idle, would read the backlog itself.
			r, err := ListenReader(a, ReaderConfig{Readers: 1}, g.handle)
			if err != nil {
				t.Fatal(err)
			}
			c, err := net.Dial(network, r.Addr().Address)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// Unix datagram sockets queue only net.unix.max_dgram_qlen datagrams (10 here) before
			// senders block; UDP holds what its receive buffer takes.
			n := 500
			if network == "unixgram" {
				n = 8
			}
			c.Write([]byte("first"))
			<-g.entered // the reading goroutine is held: the rest queues
			for range n - 1 {
				if _, err := c.Write([]byte("x:1|c")); err != nil {
					t.Fatal(err)
				}
			}
			closed := closeSealed(t, r)
			g.release()
			if err := <-closed; err != nil {
				t.Fatal(err)
			}
			st := r.Stats()
			t.Logf("sent %d, handled %d, drained by Close %d, kernel drops %d", n, g.got.Load(), st.Drained, st.KernelDrops)
			if got := uint64(g.got.Load()) + st.KernelDrops; got != uint64(n) {
				t.Errorf("handled %d + kernel drops %d = %d, want %d sent", g.got.Load(), st.KernelDrops, got, n)
			}
			if st.Drained == 0 {
				t.Errorf("Drained 0: Close read nothing the kernel held")
			}
			if _, err := c.Write([]byte("late")); err == nil && network == "unixgram" {
				t.Errorf("a write after Close succeeded")
			}
		})
	}
}

// TestReaderCloseCountsLastDrops: drops that no delivered datagram reported afterwards (so no
// SO_RXQ_OVFL count carried them) are still counted, from the kernel's own count.
func TestReaderCloseCountsLastDrops(t *testing.T) {
	g := newGate()
	r, err := ListenReader(readerLoopback, ReaderConfig{Readers: 1, RecvBuffer: 4096}, g.handle)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("udp", r.Addr().Address)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("first"))
	<-g.entered
	const flood = 2000
	for range flood {
		c.Write([]byte("x:1|c"))
	}
	// Nothing follows the flood: the drops are only in the kernel's count.
	if st := r.Stats(); st.KernelDrops == 0 {
		t.Errorf("Stats during the stall: KernelDrops 0 after %d datagrams into a 4 KiB buffer", flood)
	}
	g.release()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	st := r.Stats()
	t.Logf("sent %d, handled %d, drained %d, kernel drops %d", flood+1, g.got.Load(), st.Drained, st.KernelDrops)
	if got := uint64(g.got.Load()) + st.KernelDrops; got != flood+1 {
		t.Errorf("handled %d + kernel drops %d = %d, want %d sent", g.got.Load(), st.KernelDrops, got, flood+1)
	}
}

// TestReaderHandoverUDP replaces a Reader with a successor of fewer, then more, sockets while
// traffic flows from many source ports, with the first Reader's handler stalled so that its
// sockets hold a backlog at the handover: every datagram sent is handled by one of the Readers
// or counted as a kernel drop, none twice.
func TestReaderHandoverUDP(t *testing.T) {
	for _, tt := range []struct{ from, to int }{{3, 1}, {1, 3}, {2, 2}} {
		t.Run(fmt.Sprintf("%d to %d sockets", tt.from, tt.to), func(t *testing.T) {
			g := newGate()
			old, err := ListenReader(readerLoopback, ReaderConfig{Readers: tt.from}, g.handle)
			if err != nil {
				t.Fatal(err)
			}
			cs := udpSenders(t, old.Addr(), 32)
			sent := sendEach(t, cs, 1)
			<-g.entered
			sent += sendEach(t, cs, 5)
			var next counter
			nr, err := old.Handover(ReaderConfig{Readers: tt.to}, next.handle)
			if err != nil {
				t.Fatal(err)
			}
			defer nr.Close()
			if nr.Addr() != old.Addr() {
				t.Errorf("successor on %v, want %v", nr.Addr(), old.Addr())
			}
			sent += sendEach(t, cs, 20) // both read now, the old Reader's goroutines stay held
			closed := closeSealed(t, old)
			g.release()
			if err := <-closed; err != nil {
				t.Fatal(err)
			}
			sent += sendEach(t, cs, 5) // only the successor is left
			os, ns := old.Stats(), nr.Stats()
			readerEventually(t, "every datagram handled or dropped", func() bool {
				ns = nr.Stats()
				return uint64(g.got.Load()+next.got.Load())+os.KernelDrops+ns.KernelDrops >= uint64(sent)
			})
			time.Sleep(20 * time.Millisecond) // and not one more
			ns = nr.Stats()
			t.Logf("sent %d; old handled %d (drained %d), successor %d; kernel drops %d + %d",
				sent, g.got.Load(), os.Drained, next.got.Load(), os.KernelDrops, ns.KernelDrops)
			if got := uint64(g.got.Load()+next.got.Load()) + os.KernelDrops + ns.KernelDrops; got != uint64(sent) {
				t.Errorf("handled + dropped = %d, want %d sent", got, sent)
			}
			if tt.from > tt.to && os.Drained == 0 {
				t.Errorf("the sockets only the old Reader held were closed without a drain")
			}
			if got := ns.Sockets; got != tt.to {
				t.Errorf("successor has %d sockets, want %d", got, tt.to)
			}
		})
	}
}

// TestReaderHandoverUnixgram: the successor keeps the socket and its file (the same inode), so
// senders connected before the handover go on sending, and what was queued is handled once.
func TestReaderHandoverUnixgram(t *testing.T) {
	a := Addr{Network: "unixgram", Address: filepath.Join(t.TempDir(), "r.sock")}
	g := newGate()
	old, err := ListenReader(a, ReaderConfig{Readers: 1}, g.handle)
	if err != nil {
		t.Fatal(err)
	}
	before, err := os.Lstat(a.Address)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("unixgram", a.Address)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("first"))
	<-g.entered
	for range 5 {
		c.Write([]byte("queued"))
	}
	var next counter
	nr, err := old.Handover(ReaderConfig{Readers: 2, SocketMode: 0o600}, next.handle)
	if err != nil {
		t.Fatal(err)
	}
	g.release()
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	after, err := os.Lstat(a.Address)
	if err != nil {
		t.Fatalf("socket file after the old Reader closed: %v", err)
	}
	// The file is kept (senders that opened it go on), and takes the successor's SocketMode.
	if !os.SameFile(before, after) || after.Mode().Perm() != 0o600 {
		t.Errorf("socket file replaced, or its mode not the successor's 0600: before %v, after %v", before.Mode(), after.Mode())
	}
	for range 3 {
		if _, err := c.Write([]byte("after")); err != nil {
			t.Fatalf("a sender connected before the handover: %v", err)
		}
	}
	readerEventually(t, "all 9 datagrams", func() bool { return g.got.Load()+next.got.Load() == 9 })
	t.Logf("old handled %d, successor %d", g.got.Load(), next.got.Load())
	if err := nr.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(a.Address); !os.IsNotExist(err) {
		t.Errorf("socket file after the successor closed: %v, want it removed", err)
	}
}

// TestReaderHandoverAbandoned: a successor closed before its predecessor gives everything back:
// the predecessor keeps reading every socket, its file, and the drop count.
func TestReaderHandoverAbandoned(t *testing.T) {
	for _, network := range []string{"udp", "unixgram"} {
		t.Run(network, func(t *testing.T) {
			a := readerLoopback
			if network == "unixgram" {
				a = Addr{Network: "unixgram", Address: filepath.Join(t.TempDir(), "r.sock")}
			}
			var first counter
			old := startReader(t, a, ReaderConfig{Readers: 2}, first.handle)
			var next counter
			nr, err := old.Handover(ReaderConfig{Readers: 4}, next.handle)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := old.Handover(ReaderConfig{}, next.handle); err == nil {
				t.Error("a second Handover of the same Reader succeeded")
			}
			if err := nr.Close(); err != nil {
				t.Fatal(err)
			}
			c, err := net.Dial(network, old.Addr().Address)
			if err != nil {
				t.Fatalf("dial after the successor closed: %v", err)
			}
			defer c.Close()
			for range 5 {
				if _, err := c.Write([]byte("x")); err != nil {
					t.Fatal(err)
				}
			}
			readerEventually(t, "the predecessor reading again", func() bool { return first.got.Load() == 5 })
			if next.got.Load() != 0 && network == "unixgram" {
				t.Errorf("closed successor handled %d", next.got.Load())
			}
			// Handed over again, now for good.
			nr, err = old.Handover(ReaderConfig{Readers: 1}, next.handle)
			if err != nil {
				t.Fatalf("Handover after an abandoned one: %v", err)
			}
			defer nr.Close()
		})
	}
}

// TestUnixgramModeFromTheStart: under umask 000, the socket file is created with no more than
// the mode asked for, rather than 0777 until a chmod after bind.
func TestUnixgramModeFromTheStart(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "m.sock")
	c, err := listenUnixgramMode(path, 0o660)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o660 {
		t.Errorf("socket file mode right after bind: got %v, want 0660", got)
	}
}
