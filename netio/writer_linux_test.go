package netio

import (
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestWriterBatching proves the sendmmsg path: 1000 datagrams arrive whole and in order, in
// about 1000/BatchSize system calls instead of 1000.
func TestWriterBatching(t *testing.T) {
	l := listenUDP(t, "udp4", "127.0.0.1:0")
	want := payloads(1000, 1000)
	got := make(chan [][]byte, 1)
	go func() { got <- recv(t, l, len(want), 2*time.Second) }()

	const batch = 64
	w, err := NewWriter(udpAddr(l), WriterConfig{BatchSize: batch, SendBuffer: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if n := w.Write(want); n != len(want) {
		t.Fatalf("Write returned %d, want %d (%+v)", n, len(want), w.Stats())
	}
	equalDatagrams(t, <-got, want)

	st := w.Stats()
	t.Logf("%d datagrams in %d syscalls", st.Datagrams, st.Syscalls)
	minCalls := uint64((len(want) + batch - 1) / batch)
	if st.Syscalls < minCalls || st.Syscalls > minCalls+4 {
		t.Errorf("got %d syscalls for %d datagrams, want %d to %d", st.Syscalls, len(want), minCalls, minCalls+4)
	}
	if st.Datagrams != 1000 || st.Bytes != 1000*1000 || st.Dropped != 0 {
		t.Errorf("got %+v, want Datagrams 1000, Bytes 1e6, Dropped 0", st)
	}
	// The kernel doubles SO_SNDBUF for its bookkeeping; at least the requested size must be set.
	if got := sndbuf(t, w); got < 1<<20 {
		t.Errorf("got SO_SNDBUF %d, want >= %d", got, 1<<20)
	}
}

func sndbuf(t *testing.T, w *Writer) int {
	t.Helper()
	raw, err := w.conn.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	var serr error
	raw.Control(func(fd uintptr) { n, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF) })
	if serr != nil {
		t.Fatal(serr)
	}
	return n
}

func TestWriterZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	l := listenUDP(t, "udp4", "127.0.0.1:0")
	w, err := NewWriter(udpAddr(l), WriterConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ps := payloads(64, 1400)
	w.Write(ps) // connects
	before := w.Stats().Datagrams
	// Nobody reads the listener: once its buffer is full the kernel drops there, which the
	// sender cannot see, so every Write still sends all 64.
	allocs := testing.AllocsPerRun(100, func() { w.Write(ps) })
	if allocs != 0 {
		t.Errorf("got %v allocations per Write, want 0", allocs)
	}
	if sent := w.Stats().Datagrams - before; sent < 100*64 {
		t.Errorf("got %d datagrams sent during the measurement, want >= %d", sent, 100*64)
	}
}

// TestWriterSlowReceiver fills a unixgram receiver that does not read (net.unix.max_dgram_qlen
// is 10 here): Write waits WriteTimeout, drops the rest as WouldBlock, and recovers once the
// receiver drains.
func TestWriterSlowReceiver(t *testing.T) {
	path := sockPath(t)
	l := listenUnixgram(t, path)
	const timeout = 50 * time.Millisecond
	w, err := NewWriter(Addr{Network: "unixgram", Address: path}, WriterConfig{WriteTimeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	want := payloads(100, 100)
	start := time.Now()
	sent := w.Write(want)
	elapsed := time.Since(start)
	if elapsed > time.Second || elapsed < timeout*8/10 {
		t.Errorf("Write to a full receiver took %v; want about %v (the write timeout)", elapsed, timeout)
	}
	st := w.Stats()
	checkConserved(t, st, 100)
	if st.WouldBlock == 0 || st.Dropped != st.WouldBlock || int(st.Datagrams) != sent {
		t.Errorf("got %+v (Write returned %d); want WouldBlock > 0 as the only drops", st, sent)
	}

	equalDatagrams(t, recv(t, l, sent+1, 100*time.Millisecond), want[:sent])
	more := payloads(5, 20)
	if got := w.Write(more); got != 5 {
		t.Fatalf("Write after the receiver drained returned %d, want 5 (%+v)", got, w.Stats())
	}
	equalDatagrams(t, recv(t, l, 5, 2*time.Second), more)
}

// TestWriterCloseReleasesSocket checks that Close closes the socket's file descriptor. It
// follows the socket by inode, so sockets other tests open or close meanwhile cannot confuse it.
func TestWriterCloseReleasesSocket(t *testing.T) {
	l := listenUDP(t, "udp4", "127.0.0.1:0")
	w, err := NewWriter(udpAddr(l), WriterConfig{})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(payloads(1, 10))
	var fd int
	var st unix.Stat_t
	raw, err := w.conn.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	raw.Control(func(f uintptr) { fd = int(f); err = unix.Fstat(fd, &st) })
	if err != nil {
		t.Fatal(err)
	}
	link := fmt.Sprintf("/proc/self/fd/%d", fd)
	want := fmt.Sprintf("socket:[%d]", st.Ino)
	if got, err := os.Readlink(link); err != nil || got != want {
		t.Skipf("cannot follow fds through /proc: %s -> %q, %v; want %q", link, got, err, want)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got, err := os.Readlink(link); err == nil && got == want {
		t.Errorf("fd %d is still %s after Close", fd, got)
	}
}

// fakeRaw stands in for a socket's RawConn: it runs the callback, lets it ask for three waits for
// writability, then reports the write deadline as passed.
type fakeRaw struct{ syscall.RawConn }

func (fakeRaw) Write(f func(uintptr) bool) error {
	for range 3 {
		if f(0) {
			return nil
		}
	}
	return os.ErrDeadlineExceeded
}

// kernel models sendmmsg: it sends messages in order until one fails; a failure on the first
// message is the call's error, a later one is hidden behind the count sent so far.
type kernel struct {
	perCall int                                           // most messages one call sends; 0 means all, <0 none
	fail    func(payload byte, attempt int) syscall.Errno // error for a payload's nth attempt (1-based)
	tries   map[byte]int
}

func (k *kernel) sendmmsg(msgs []unix.Mmsghdr) (int, syscall.Errno) {
	if k.perCall < 0 {
		return 0, 0
	}
	n := 0
	for _, m := range msgs {
		if k.perCall > 0 && n == k.perCall {
			break
		}
		p := unsafe.Slice(m.Hdr.Iov.Base, m.Hdr.Iov.Len)[0]
		k.tries[p]++
		if e := k.fail(p, k.tries[p]); e != 0 {
			if n == 0 {
				return -1, e
			}
			break
		}
		n++
	}
	return n, 0
}

func TestSenderErrors(t *testing.T) {
	ok := func(byte, int) syscall.Errno { return 0 }
	on := func(target byte, e syscall.Errno, times int) func(byte, int) syscall.Errno {
		return func(p byte, attempt int) syscall.Errno {
			if p == target && attempt <= times {
				return e
			}
			return 0
		}
	}
	tests := []struct {
		name     string
		unixgram bool
		k        kernel
		want     tally
		wantGone bool
	}{
		{name: "all sent", k: kernel{fail: ok},
			want: tally{datagrams: 10, syscalls: 3}},
		{name: "partial sends continue", k: kernel{perCall: 3, fail: ok},
			want: tally{datagrams: 10, syscalls: 4}},
		{name: "refused once is retried", k: kernel{fail: on('e', syscall.ECONNREFUSED, 1)},
			want: tally{datagrams: 10, syscalls: 4, unreachable: 1}},
		{name: "refused twice is dropped", k: kernel{fail: on('e', syscall.ECONNREFUSED, 99)},
			want: tally{datagrams: 9, syscalls: 5, drops: drops(refused, 1), unreachable: 2}},
		{name: "too large", k: kernel{fail: on('a', syscall.EMSGSIZE, 99)},
			want: tally{datagrams: 9, syscalls: 4, drops: drops(tooLarge, 1)}},
		{name: "enobufs", k: kernel{fail: on('j', syscall.ENOBUFS, 99)},
			want: tally{datagrams: 9, syscalls: 4, drops: drops(wouldBlock, 1)}},
		{name: "persistent error drops everything once", k: kernel{fail: func(byte, int) syscall.Errno { return syscall.EPERM }},
			want: tally{syscalls: 10, drops: drops(other, 10)}},
		{name: "persistent refusal cannot spin", k: kernel{fail: func(byte, int) syscall.Errno { return syscall.ECONNREFUSED }},
			want: tally{syscalls: 20, drops: drops(refused, 10), unreachable: 20}},
		{name: "full buffer until the deadline", k: kernel{fail: func(byte, int) syscall.Errno { return syscall.EAGAIN }},
			want: tally{syscalls: 3, drops: drops(wouldBlock, 10)}},
		{name: "full buffer midway", k: kernel{fail: on('g', syscall.EAGAIN, 99)},
			want: tally{datagrams: 6, syscalls: 5, drops: drops(wouldBlock, 4)}},
		{name: "unix receiver gone", unixgram: true, k: kernel{fail: on('f', syscall.ECONNREFUSED, 99)},
			want: tally{datagrams: 5, syscalls: 3, drops: drops(noDestination, 5)}, wantGone: true},
		{name: "sent nothing, said nothing", k: kernel{perCall: -1, fail: ok},
			want: tally{syscalls: 10, drops: drops(other, 10)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s sender
			s.init(4, tt.unixgram)
			s.raw = fakeRaw{}
			k := tt.k
			k.tries = map[byte]int{}
			s.testSendmmsg = k.sendmmsg
			var ps [][]byte
			for c := byte('a'); c <= 'j'; c++ {
				ps = append(ps, []byte{c})
			}
			var got tally
			gone := s.write(ps, &got)
			failed := got.unreachable > 0 || got.drops != [numReasons]uint64{}
			if failed != (got.cause != nil) {
				t.Errorf("cause %v after a write with drops %v, unreachable %d: want it set exactly when something failed", got.cause, got.drops, got.unreachable)
			}
			got.cause = nil // Writer.Err's; compared apart above
			want := tt.want
			want.bytes = want.datagrams // one-byte payloads
			if got != want || gone != tt.wantGone {
				t.Errorf("got %+v gone=%v, want %+v gone=%v", got, gone, want, tt.wantGone)
			}
			for i, iov := range s.iovs {
				if iov.Base != nil {
					t.Fatalf("iovec %d still points at a caller's payload after write", i)
				}
			}
		})
	}
}

func drops(r reason, n uint64) (d [numReasons]uint64) {
	d[r] = n
	return d
}
