package netio

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// streamPeer is a Unix stream socket receiver written with the standard library only, reading
// frames as the Datadog Agent's stream socket does: a 4-byte little-endian length, then the
// payload.
type streamPeer struct {
	l      *net.UnixListener
	mu     sync.Mutex
	open   []net.Conn
	frames [][]byte
	conns  int
	cut    int // connections that ended inside a frame
	wg     sync.WaitGroup
	// hold, when set, keeps each connection open without reading it until released. It never
	// changes after start; released closes it once.
	hold     chan struct{}
	released sync.Once
	// discard reads and drops everything into one buffer, allocating nothing per read.
	discard bool
}

// What a streamPeer does with its connections.
const (
	peerRead    = iota // read frames
	peerHold           // read nothing until released (or closed)
	peerDiscard        // read and drop bytes
)

func startStreamPeer(t *testing.T, path string, mode int) *streamPeer {
	t.Helper()
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatalf("listen unix %s: %v", path, err)
	}
	p := &streamPeer{l: l, discard: mode == peerDiscard}
	if mode == peerHold {
		p.hold = make(chan struct{})
	}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *streamPeer) accept() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.conns++
		p.open = append(p.open, c)
		p.mu.Unlock()
		p.wg.Add(1)
		go p.read(c)
	}
}

func (p *streamPeer) read(c net.Conn) {
	defer p.wg.Done()
	defer c.Close()
	if p.hold != nil {
		<-p.hold
	}
	if p.discard {
		buf := make([]byte, 64<<10)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	}
	r := bufio.NewReader(c)
	var hdr [FrameHeader]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if !errors.Is(err, io.EOF) {
				p.mu.Lock()
				p.cut++
				p.mu.Unlock()
			}
			return
		}
		b := make([]byte, binary.LittleEndian.Uint32(hdr[:]))
		if _, err := io.ReadFull(r, b); err != nil {
			p.mu.Lock()
			p.cut++
			p.mu.Unlock()
			return
		}
		p.mu.Lock()
		p.frames = append(p.frames, b)
		p.mu.Unlock()
	}
}

// release lets held connections be read.
func (p *streamPeer) release() {
	if p.hold != nil {
		p.released.Do(func() { close(p.hold) })
	}
}

// close closes the listener (the socket file goes with it) and every connection, as a receiver
// that exits does, and waits for the reading goroutines. A held connection is read to its end
// first: what the sender wrote before that is in the socket buffer and counts.
func (p *streamPeer) close() {
	p.l.Close()
	if p.hold != nil {
		p.release()
		time.Sleep(50 * time.Millisecond) // let the readers drain what is buffered
	}
	p.mu.Lock()
	for _, c := range p.open {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *streamPeer) got() (frames [][]byte, conns, cut int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([][]byte(nil), p.frames...), p.conns, p.cut
}

func newStreamWriter(t *testing.T, path string, cfg WriterConfig) *Writer {
	t.Helper()
	a, err := ParseAddr("unixstream://" + path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(a, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func TestStreamWriterFrames(t *testing.T) {
	path := sockPath(t)
	p := startStreamPeer(t, path, peerRead)
	w := newStreamWriter(t, path, WriterConfig{})
	// Small payloads, then enough to need a second chunk, then one larger than a chunk.
	want := append(payloads(3, 10), payloads(40, 8192)...)
	want = append(want, payloads(1, streamChunk+100)...)
	if got := w.Write(want); got != len(want) {
		t.Fatalf("Write returned %d, want %d", got, len(want))
	}
	waitFor(5*time.Second, func() bool { f, _, _ := p.got(); return len(f) == len(want) })
	frames, conns, cut := p.got()
	equalDatagrams(t, frames, want)
	if conns != 1 || cut != 0 {
		t.Errorf("peer saw %d connections, %d cut frames; want 1, 0", conns, cut)
	}
	st := w.Stats()
	checkConserved(t, st, uint64(len(want)))
	var bytes uint64
	for _, b := range want {
		bytes += uint64(len(b))
	}
	// 3×10 + 40×8196 bytes fill the first chunk only partly: 31 frames of 8196 fit in 256 KiB,
	// so the writes are [3 small + 31], [9], [the big one].
	if st.Bytes != bytes || st.Reconnects != 1 || st.Syscalls != 3 {
		t.Errorf("got %+v; want Bytes %d (prefixes left out), Reconnects 1, Syscalls 3", st, bytes)
	}
}

// TestStreamWriterBackoff covers a receiver that starts after the Writer: counted drops, no
// redial within the backoff, delivery once it passes.
func TestStreamWriterBackoff(t *testing.T) {
	path := sockPath(t)
	w := newStreamWriter(t, path, WriterConfig{})
	w.stream.min = 50 * time.Millisecond
	start := time.Now()
	if got := w.Write(payloads(3, 10)); got != 0 {
		t.Fatalf("Write with no receiver returned %d, want 0", got)
	}
	p := startStreamPeer(t, path, peerRead)
	w.Write(payloads(2, 10)) // within the backoff: no dial, however quick the listener was
	if time.Since(start) < 40*time.Millisecond {
		if st := w.Stats(); st.NoDestination != 5 || st.Reconnects != 0 {
			t.Errorf("within the backoff: got %+v, want NoDestination 5, Reconnects 0", st)
		}
	}
	var sent int
	if !waitFor(5*time.Second, func() bool { sent += w.Write(payloads(1, 10)); return sent > 0 }) {
		t.Fatalf("never delivered once the receiver listened: %+v", w.Stats())
	}
	st := w.Stats()
	if st.Reconnects != 1 || st.Datagrams != 1 {
		t.Errorf("got %+v, want one connection and one frame sent", st)
	}
	waitFor(5*time.Second, func() bool { f, _, _ := p.got(); return len(f) == 1 })
	if f, _, _ := p.got(); len(f) != 1 {
		t.Errorf("peer got %d frames, want 1", len(f))
	}
}

// TestStreamWriterReceiverRestart: the receiver goes away and comes back at the same path; the
// Writer counts what it could not send and reconnects to the new one.
func TestStreamWriterReceiverRestart(t *testing.T) {
	path := sockPath(t)
	p1 := startStreamPeer(t, path, peerRead)
	w := newStreamWriter(t, path, WriterConfig{})
	w.stream.min = time.Millisecond
	if got := w.Write(payloads(2, 10)); got != 2 {
		t.Fatalf("Write returned %d, want 2", got)
	}
	waitFor(5*time.Second, func() bool { f, _, _ := p1.got(); return len(f) == 2 })
	p1.close()
	// Writes to the dead connection fail (EPIPE) or find no listener: either way counted.
	var written uint64 = 2
	if !waitFor(5*time.Second, func() bool { w.Write(payloads(1, 10)); written++; return w.Stats().NoDestination > 0 }) {
		t.Fatalf("no drop counted after the receiver went away: %+v", w.Stats())
	}
	p2 := startStreamPeer(t, path, peerRead)
	if !waitFor(5*time.Second, func() bool { n := w.Write(payloads(1, 10)); written++; return n == 1 }) {
		t.Fatalf("never reconnected to the new receiver: %+v", w.Stats())
	}
	st := w.Stats()
	checkConserved(t, st, written)
	if st.Reconnects != 2 {
		t.Errorf("Reconnects %d, want 2", st.Reconnects)
	}
	waitFor(5*time.Second, func() bool { f, _, _ := p2.got(); return len(f) >= 1 })
	f1, _, _ := p1.got()
	f2, _, _ := p2.got()
	if uint64(len(f1)+len(f2)) != st.Datagrams {
		t.Errorf("receivers got %d+%d frames, Writer counts %d sent", len(f1), len(f2), st.Datagrams)
	}
}

// TestStreamWriterTimeout: a receiver that does not read fills the socket; the Writer waits
// WriteTimeout, drops the rest as WouldBlock and closes the connection, and every frame it counts
// as sent reaches the receiver whole.
func TestStreamWriterTimeout(t *testing.T) {
	path := sockPath(t)
	p := startStreamPeer(t, path, peerHold)
	w := newStreamWriter(t, path, WriterConfig{WriteTimeout: 50 * time.Millisecond, SendBuffer: 16 << 10})
	const n = 256
	start := time.Now()
	sent := w.Write(payloads(n, 32<<10)) // 8 MiB: more than any unix socket buffer holds
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Write took %v with a 50ms WriteTimeout", d)
	}
	st := w.Stats()
	checkConserved(t, st, n)
	if sent == n || st.WouldBlock == 0 || st.WouldBlock+uint64(sent) != n {
		t.Fatalf("sent %d of %d; got %+v, want the rest counted as WouldBlock", sent, n, st)
	}
	// The Writer closed the connection, so once released the peer reads to its end, and close
	// waits for that.
	p.close()
	if f, _, _ := p.got(); len(f) != sent {
		t.Errorf("peer got %d whole frames, Writer counts %d sent", len(f), sent)
	}
}

func TestStreamWriterClosed(t *testing.T) {
	path := sockPath(t)
	startStreamPeer(t, path, peerRead)
	w := newStreamWriter(t, path, WriterConfig{})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := w.Write(payloads(2, 10)); got != 0 {
		t.Errorf("Write after Close returned %d, want 0", got)
	}
	if st := w.Stats(); st.NoDestination != 2 {
		t.Errorf("got %+v, want NoDestination 2", st)
	}
}

// TestStreamWriterAllocs: a steady flush to a connected stream socket allocates nothing.
func TestStreamWriterAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	path := sockPath(t)
	// A discarding peer: AllocsPerRun counts every goroutine's allocations.
	startStreamPeer(t, path, peerDiscard)
	w := newStreamWriter(t, path, WriterConfig{})
	ps := payloads(16, 1000)
	w.Write(ps)
	if got := testing.AllocsPerRun(50, func() { w.Write(ps) }); got != 0 {
		t.Errorf("Write allocates %v times per call, want 0", got)
	}
}
