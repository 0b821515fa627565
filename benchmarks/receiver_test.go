package benchmarks

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The receiver is a child process (this test binary, re-executed with receiverEnv set) that
// opens one loopback UDP socket per benchmark run and tallies what reaches it. A child, not a
// goroutine: its CPU stays out of the benchmark's process CPU time, and it is scheduled by the
// kernel rather than waiting for one of the two Ps that a RunParallel benchmark keeps busy.
//
// Protocol, one line each way per request, over the child's stdin and stdout:
//
//	open <metric>  ->  ok <host:port>
//	close          ->  ok <dgrams> <lines> <bytes> <events> <drops>
const receiverEnv = "STATSHARD_BENCH_RECEIVER"

// rcvBuf is the receiver's socket buffer: large, so that what is lost is lost by the client.
const rcvBuf = 8 << 20

// sentinel is the one-byte datagram the parent sends after the client has closed: when the child
// reads it, everything queued before it has been read.
const sentinel = 0

// mark is the one-byte datagram the parent sends after the client's warm-up: the child then
// reports the events read so far (session.mark), which the run subtracts from its tally.
const mark = 1

// rxResult is what one receiver session saw.
type rxResult struct {
	dgrams, lines, bytes uint64
	events               float64 // events the watched metric's lines stand for (see represented)
	drops                uint64  // datagrams the kernel dropped on the receiver's full socket buffer
}

// receiverProc is the parent's handle on the child.
type receiverProc struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

var rx struct {
	sync.Mutex // held from open to close: one session at a time
	p          *receiverProc
	err        error
}

func startReceiverProc() (*receiverProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("benchmarks: receiver: %w", err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), receiverEnv+"=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("benchmarks: receiver: %w", err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("benchmarks: receiver: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("benchmarks: receiver: %w", err)
	}
	return &receiverProc{cmd: cmd, in: in, out: bufio.NewReader(out)}, nil
}

// stopReceiverProc closes the child's stdin, on which it exits, and waits for it.
func stopReceiverProc() {
	rx.Lock()
	defer rx.Unlock()
	if rx.p != nil {
		rx.p.in.Close()
		rx.p.cmd.Wait()
		rx.p = nil
	}
}

func (p *receiverProc) request(req string) ([]string, error) {
	if _, err := io.WriteString(p.in, req+"\n"); err != nil {
		return nil, fmt.Errorf("benchmarks: receiver: %w", err)
	}
	line, err := p.out.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("benchmarks: receiver: %w", err)
	}
	f := strings.Fields(line)
	if len(f) == 0 || f[0] != "ok" {
		return nil, fmt.Errorf("benchmarks: receiver: %s", strings.TrimSpace(line))
	}
	return f[1:], nil
}

// session is one receiving socket, for one benchmark run.
type session struct {
	addr   string // host:port to send to
	p      *receiverProc
	closed bool
}

// openSession opens a receiving socket that watches metric. The caller must close it.
func openSession(tb testing.TB, metric string) *session {
	tb.Helper()
	rx.Lock()
	if rx.p == nil && rx.err == nil {
		rx.p, rx.err = startReceiverProc()
	}
	if rx.err != nil {
		rx.Unlock()
		tb.Fatal(rx.err)
	}
	f, err := rx.p.request("open " + metric)
	if err != nil {
		rx.Unlock()
		tb.Fatal(err)
	}
	s := &session{addr: f[0], p: rx.p}
	// A run that fails before close must not leave the next one waiting for the lock.
	tb.Cleanup(func() {
		if !s.closed {
			s.close(tb)
		}
	})
	return s
}

// mark tells the receiver that the client's warm-up has been sent and flushed, and returns the
// events it has read of it: what the run subtracts from its tally, rather than the events the
// warm-up should stand for, so that a client that dropped some of its warm-up is not charged with
// dropping that much of the measured loop.
func (s *session) mark(tb testing.TB) float64 {
	tb.Helper()
	f := s.signal(tb, mark, "mark", 1)
	ev, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		tb.Fatal(err)
	}
	return ev
}

// close marks the end of the client's output, waits until the receiver has read all of it, and
// returns the tally. Call it after the client has flushed and closed.
func (s *session) close(tb testing.TB) rxResult {
	tb.Helper()
	s.closed = true
	defer rx.Unlock()
	f := s.signal(tb, sentinel, "close", 5)
	var r rxResult
	r.dgrams, _ = strconv.ParseUint(f[0], 10, 64)
	r.lines, _ = strconv.ParseUint(f[1], 10, 64)
	r.bytes, _ = strconv.ParseUint(f[2], 10, 64)
	r.events, _ = strconv.ParseFloat(f[3], 64)
	r.drops, _ = strconv.ParseUint(f[4], 10, 64)
	return r
}

// signal sends the one-byte datagram b after what the client sent, then makes req and returns
// its reply's fields, which must be n.
func (s *session) signal(tb testing.TB, b byte, req string, n int) []string {
	tb.Helper()
	if c, err := net.Dial("udp", s.addr); err == nil {
		c.Write([]byte{b})
		c.Close()
	}
	f, err := s.p.request(req)
	if err != nil {
		tb.Fatal(err)
	}
	if len(f) != n {
		tb.Fatalf("benchmarks: receiver: %s: got %d fields, want %d: %q", req, len(f), n, f)
	}
	return f
}

// serveReceiver is the child's main loop; it returns when in ends.
func serveReceiver(in io.Reader, out io.Writer) int {
	sc := bufio.NewScanner(in)
	var cur *sink
	reply := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "open" && cur == nil:
			s, err := listenSink(f[1])
			if err != nil {
				reply("err %v", err)
				continue
			}
			cur = s
			reply("ok %s", s.conn.LocalAddr())
		case len(f) == 1 && f[0] == "mark" && cur != nil:
			reply("ok %g", cur.markEvents())
		case len(f) == 1 && f[0] == "close" && cur != nil:
			r := cur.finish()
			cur = nil
			reply("ok %d %d %d %g %d", r.dgrams, r.lines, r.bytes, r.events, r.drops)
		default:
			reply("err unexpected request %q", sc.Text())
		}
	}
	return 0
}

// sink is the child's side of a session: a socket and the goroutine that reads it.
type sink struct {
	conn     *net.UDPConn
	mu       sync.Mutex // guards t while the reader runs, for markEvents
	t        tally      // the reader's until done is closed
	read     atomic.Uint64
	sentinel atomic.Bool
	marked   atomic.Bool // a mark datagram was read since the last markEvents
	done     chan struct{}
}

func listenSink(metric string) (*sink, error) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("benchmarks: receiver: %w", err)
	}
	// Past net.core.rmem_max only root may go (SO_RCVBUFFORCE); otherwise take what is allowed.
	if forceReadBuffer(c, rcvBuf) != nil {
		c.SetReadBuffer(rcvBuf)
	}
	s := &sink{conn: c, t: newTally(metric), done: make(chan struct{})}
	go s.run()
	return s, nil
}

func (s *sink) run() {
	defer close(s.done)
	r, err := newBatchReader(s.conn, 128, 9<<10)
	if err != nil {
		return
	}
	each := func(p []byte) {
		if len(p) == 1 && p[0] == sentinel {
			s.sentinel.Store(true)
			return
		}
		if len(p) == 1 && p[0] == mark {
			s.marked.Store(true)
			return
		}
		s.mu.Lock()
		s.t.datagram(p)
		s.mu.Unlock()
		s.read.Add(1)
	}
	for {
		if err := r.read(each); errors.Is(err, net.ErrClosed) {
			return
		}
		// Other errors (none expected on a UDP socket) are skipped: the next read may succeed.
	}
}

// markEvents waits until the client's datagrams sent before a mark have been read, as finish does
// for the sentinel (the mark read and 10 ms of quiet, or 100 ms of quiet should the mark have been
// dropped; at most 5 s), and returns the events read so far.
func (s *sink) markEvents() float64 {
	s.quiet(&s.marked)
	s.marked.Store(false)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.t.events
}

// quiet waits until seen is set and 10 ms have passed without a datagram, or 100 ms without one,
// at most 5 s.
func (s *sink) quiet(seen *atomic.Bool) {
	start, prev := time.Now(), s.read.Load()
	quietSince := start
	for time.Since(start) < 5*time.Second {
		time.Sleep(10 * time.Millisecond)
		cur := s.read.Load()
		if cur != prev {
			prev, quietSince = cur, time.Now()
			continue
		}
		if quiet := time.Since(quietSince); seen.Load() && quiet >= 10*time.Millisecond || quiet >= 100*time.Millisecond {
			return
		}
	}
}

// finish waits until everything the client sent has been read, then closes the socket. That is
// when the sentinel has been read and 10 ms have passed without a datagram (loopback delivery can
// lag the sender by a softirq on another CPU), or, should the sentinel itself have been dropped
// on a full buffer, 100 ms without one; at most 5 s.
func (s *sink) finish() rxResult {
	s.quiet(&s.sentinel)
	drops, _ := udpDrops(s.conn.LocalAddr().(*net.UDPAddr).Port)
	s.conn.Close()
	<-s.done
	return rxResult{dgrams: s.t.dgrams, lines: s.t.lines, bytes: s.t.bytes, events: s.t.events, drops: drops}
}
