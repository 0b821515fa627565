package netio

import (
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const readerTestWait = 5 * time.Second

var readerLoopback = Addr{Network: "udp", Address: "127.0.0.1:0"}

func startReader(t testing.TB, a Addr, cfg ReaderConfig, h Handler) *Reader {
	t.Helper()
	r, err := ListenReader(a, cfg, h)
	if err != nil {
		t.Fatalf("ListenReader(%v): %v", a, err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// readerEventually fails the test unless cond holds within readerTestWait.
func readerEventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	if !waitFor(readerTestWait, cond) {
		t.Fatalf("timed out waiting for %s", what)
	}
}

func sockopt(t *testing.T, c net.PacketConn, opt int) int {
	t.Helper()
	raw, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var serr error
	if err := raw.Control(func(fd uintptr) { v, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, opt) }); err != nil {
		t.Fatal(err)
	}
	if serr != nil {
		t.Fatal(serr)
	}
	return v
}

func procInt(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("cannot read %s: %v", path, err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return n
}

func TestReaderConfigDefaults(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	tests := []struct {
		name     string
		in       ReaderConfig
		unixgram bool
		want     ReaderConfig
	}{
		{"zero udp", ReaderConfig{}, false, ReaderConfig{Readers: procs, RecvBuffer: 8 << 20, BatchSize: 64, MaxDatagram: 65535, SocketMode: 0o660}},
		{"zero unixgram", ReaderConfig{}, true, ReaderConfig{Readers: procs, RecvBuffer: 8 << 20, BatchSize: 64, MaxDatagram: 65536, SocketMode: 0o660}},
		{"set", ReaderConfig{Readers: 3, RecvBuffer: 1 << 20, BatchSize: 8, MaxDatagram: 1500, SocketMode: 0o600}, true,
			ReaderConfig{Readers: 3, RecvBuffer: 1 << 20, BatchSize: 8, MaxDatagram: 1500, SocketMode: 0o600}},
		{"negative", ReaderConfig{Readers: -1, RecvBuffer: -1, BatchSize: -1, MaxDatagram: -1}, false,
			ReaderConfig{Readers: procs, RecvBuffer: -1, BatchSize: 64, MaxDatagram: 65535, SocketMode: 0o660}},
		{"huge batch", ReaderConfig{Readers: 1, BatchSize: 5000}, false, ReaderConfig{Readers: 1, RecvBuffer: 8 << 20, BatchSize: 1024, MaxDatagram: 65535, SocketMode: 0o660}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.withDefaults(tt.unixgram); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestReaderReusePort checks that Readers 4 binds four sockets to one port and that traffic
// from many source ports is spread over them, each socket served by its own goroutine.
func TestReaderReusePort(t *testing.T) {
	const readers, clients, each = 4, 64, 4
	var perReader [readers]atomic.Int64
	var total atomic.Int64
	r := startReader(t, readerLoopback, ReaderConfig{Readers: readers}, func(reader int, ds [][]byte) {
		perReader[reader].Add(int64(len(ds)))
		total.Add(int64(len(ds)))
	})
	st := r.Stats()
	if st.Sockets != readers || len(r.socks) != readers {
		t.Fatalf("got %d sockets, want %d", st.Sockets, readers)
	}
	for i, s := range r.socks {
		if got, want := s.conn.LocalAddr().String(), r.Addr().Address; got != want {
			t.Errorf("socket %d bound to %s, want %s", i, got, want)
		}
		if sockopt(t, s.conn, unix.SO_REUSEPORT) != 1 {
			t.Errorf("socket %d: SO_REUSEPORT not set", i)
		}
		if r.workers[i].sock != s {
			t.Errorf("reader %d does not read socket %d", i, i)
		}
	}
	for range clients {
		c, err := net.Dial("udp", r.Addr().Address)
		if err != nil {
			t.Fatal(err)
		}
		for range each {
			if _, err := c.Write([]byte("x:1|c")); err != nil {
				t.Fatal(err)
			}
		}
		c.Close()
	}
	readerEventually(t, "all datagrams", func() bool { return total.Load() >= clients*each })
	busy := 0
	var counts []int64
	for i := range perReader {
		n := perReader[i].Load()
		counts = append(counts, n)
		if n > 0 {
			busy++
		}
	}
	t.Logf("datagrams per socket: %v", counts)
	if busy < 2 {
		t.Errorf("got traffic on %d of %d sockets (%v), want at least 2", busy, readers, counts)
	}
	if st := r.Stats(); st.Datagrams != clients*each {
		t.Errorf("got Datagrams %d, want %d", st.Datagrams, clients*each)
	}
}

// TestReaderPortInUse: a port bound by anyone, even a Reader with SO_REUSEPORT sockets of the
// same user, is refused rather than shared; once free, a fixed port binds all sockets.
func TestReaderPortInUse(t *testing.T) {
	nop := func(int, [][]byte) {}
	first, err := ListenReader(readerLoopback, ReaderConfig{Readers: 2}, nop)
	if err != nil {
		t.Fatal(err)
	}
	taken := first.Addr()
	for _, readers := range []int{1, 2} {
		r, err := ListenReader(taken, ReaderConfig{Readers: readers}, nop)
		if err == nil {
			r.Close()
			t.Errorf("Readers %d: got a second Reader on %v, want an error", readers, taken)
		} else if !strings.Contains(err.Error(), "address already in use") {
			t.Errorf("Readers %d: got %v, want \"address already in use\"", readers, err)
		}
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	r := startReader(t, taken, ReaderConfig{Readers: 3}, nop)
	if st := r.Stats(); st.Sockets != 3 || r.Addr() != taken {
		t.Errorf("got %d sockets on %v, want 3 on %v", st.Sockets, r.Addr(), taken)
	}
}

func TestReaderIPv6(t *testing.T) {
	if c, err := net.ListenPacket("udp6", "[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	} else {
		c.Close()
	}
	var got atomic.Int64
	r := startReader(t, Addr{Network: "udp6", Address: "[::1]:0"}, ReaderConfig{Readers: 2}, func(_ int, ds [][]byte) {
		for _, d := range ds {
			if string(d) == "v6:1|c" {
				got.Add(1)
			}
		}
	})
	if !strings.HasPrefix(r.Addr().Address, "[::1]:") || r.Stats().Sockets != 2 {
		t.Fatalf("got %v with %d sockets, want [::1]:port with 2", r.Addr(), r.Stats().Sockets)
	}
	c, err := net.Dial("udp6", r.Addr().Address)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("v6:1|c"))
	readerEventually(t, "the IPv6 datagram", func() bool { return got.Load() == 1 })
}

func TestReaderRecvBuffer(t *testing.T) {
	rmemMax := procInt(t, "/proc/sys/net/core/rmem_max")
	rmemDefault := procInt(t, "/proc/sys/net/core/rmem_default")
	root := os.Geteuid() == 0
	tests := []struct {
		name string
		ask  int
		// want is what getsockopt should report: Linux doubles what it grants.
		want int
	}{
		{"default 8MiB", 0, 2 * (8 << 20)},
		{"1MiB", 1 << 20, 2 * (1 << 20)},
		{"OS default", -1, rmemDefault},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if tt.ask >= 0 && !root {
				// Without CAP_NET_ADMIN the kernel caps the request at rmem_max.
				want = 2 * min(want/2, rmemMax)
			}
			r := startReader(t, readerLoopback, ReaderConfig{Readers: 2, RecvBuffer: tt.ask}, func(int, [][]byte) {})
			st := r.Stats()
			if st.RecvBuffer != want {
				t.Errorf("got RecvBuffer %d, want %d (root %v, rmem_max %d)", st.RecvBuffer, want, root, rmemMax)
			}
			for i, s := range r.socks {
				if got := sockopt(t, s.conn, unix.SO_RCVBUF); got != st.RecvBuffer {
					t.Errorf("socket %d: getsockopt SO_RCVBUF %d, Stats %d", i, got, st.RecvBuffer)
				}
				if sockopt(t, s.conn, unix.SO_RXQ_OVFL) != 1 {
					t.Errorf("socket %d: SO_RXQ_OVFL not set", i)
				}
			}
		})
	}
}

// TestReaderKernelDrops floods a socket with a tiny buffer while its only reader is held in the
// handler, then lets it drain, and checks that every datagram the kernel accepted from the
// sender is accounted for: received or counted in KernelDrops.
func TestReaderKernelDrops(t *testing.T) {
	const flood = 2000
	gate := make(chan struct{})
	entered := make(chan struct{}, 1)
	var received atomic.Int64
	var lastMarker atomic.Int64 // n of the latest "marker n" handled
	r := startReader(t, readerLoopback, ReaderConfig{Readers: 1, RecvBuffer: 4096}, func(_ int, ds [][]byte) {
		select {
		case entered <- struct{}{}:
			<-gate // only the first call waits
		default:
		}
		received.Add(int64(len(ds)))
		for _, d := range ds {
			if n, ok := strings.CutPrefix(string(d), "marker "); ok {
				if i, err := strconv.Atoi(n); err == nil {
					lastMarker.Store(int64(i))
				}
			}
		}
	})
	c, err := net.Dial("udp", r.Addr().Address)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sent := 0
	write := func(p string) {
		t.Helper()
		if _, err := c.Write([]byte(p)); err != nil {
			t.Fatalf("write: %v", err)
		}
		sent++
	}
	write("first")
	select {
	case <-entered:
	case <-time.After(readerTestWait):
		t.Fatal("handler not called")
	}
	p := strings.Repeat("f", 500)
	for range flood {
		write(p)
	}
	close(gate)
	// The kernel reports its drop count with the next datagram it queues, so numbered markers
	// follow the flood until the last one sent has been handled: every datagram before it was
	// then handled or dropped, and the drops were reported with it. A marker may itself be dropped
	// (the backlog not read yet) or be slow to arrive (a busy reader); the next one covers both,
	// where waiting for any marker would leave a later one in flight, or dropped unreported.
	readerEventually(t, "a marker after the flood", func() bool {
		n := sent
		write("marker " + strconv.Itoa(n))
		return waitFor(100*time.Millisecond, func() bool { return lastMarker.Load() == int64(n) })
	})
	st := r.Stats()
	t.Logf("sent %d, received %d, kernel drops %d, RecvBuffer %d", sent, received.Load(), st.KernelDrops, st.RecvBuffer)
	if st.KernelDrops == 0 {
		t.Fatalf("got KernelDrops 0 after flooding a %d-byte buffer with %d datagrams, want > 0", st.RecvBuffer, flood)
	}
	if got, want := st.KernelDrops, uint64(sent)-uint64(received.Load()); got != want {
		t.Errorf("got KernelDrops %d, want sent %d - received %d = %d", got, sent, received.Load(), want)
	}
	if st.Datagrams != uint64(received.Load()) {
		t.Errorf("got Datagrams %d, want %d handled", st.Datagrams, received.Load())
	}
}

func TestReaderObserveDrops(t *testing.T) {
	tests := []struct {
		name string
		seen []uint32
		want uint64
	}{
		{"none", nil, 0},
		{"rising", []uint32{3, 10, 10, 42}, 42},
		{"out of order", []uint32{10, 7, 12, 11}, 12},
		{"wrap", []uint32{1<<31 - 10, 1<<31 + 100, 1<<32 - 2, 3}, 1<<32 + 3},
		{"wrap twice", []uint32{1 << 30, 1 << 31, 3 << 30, 0, 1 << 30, 1 << 31, 3 << 30, 5}, 2<<32 + 5},
		{"stale after wrap", []uint32{1<<31 - 1, 1<<32 - 5, 4, 1<<32 - 3}, 1<<32 + 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s socketShare
			for _, v := range tt.seen {
				s.observeDrops(v)
			}
			if got := s.drops.Load(); got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}

// cmsg builds one control message in the kernel's layout.
func cmsg(level, typ int32, data []byte) []byte {
	b := make([]byte, unix.CmsgSpace(len(data)))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = level, typ
	h.SetLen(unix.CmsgLen(len(data)))
	copy(b[unix.CmsgLen(0):], data)
	return b
}

func TestRxqOverflow(t *testing.T) {
	count := []byte{0x2a, 0x01, 0, 0} // 298, little-endian
	other := cmsg(unix.SOL_SOCKET, unix.SO_TIMESTAMP, make([]byte, 16))
	short := cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, count)
	(*unix.Cmsghdr)(unsafe.Pointer(&short[0])).SetLen(unix.CmsgLen(0) + 2)
	tests := []struct {
		name   string
		oob    []byte
		want   uint32
		wantOK bool
	}{
		{"empty", nil, 0, false},
		{"count", cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, count), 298, true},
		{"after another", append(other, cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, count)...), 298, true},
		{"other only", other, 0, false},
		{"other level", cmsg(unix.IPPROTO_IP, unix.SO_RXQ_OVFL, count), 0, false},
		{"short data", short, 0, false},
		{"cut off", cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, count)[:unix.CmsgLen(0)+2], 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := rxqOverflow(tt.oob)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("got %d, %v; want %d, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func readerCountFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count file descriptors: %v", err)
	}
	return len(ents)
}

// settledGoroutines waits, for at most readerTestWait, until goroutines left by earlier tests
// have ended, so that they neither mask a leak nor fake one, and returns the count.
func settledGoroutines() int {
	n := runtime.NumGoroutine()
	for end := time.Now().Add(readerTestWait); time.Now().Before(end); {
		time.Sleep(20 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m >= n {
			return m
		}
		n = m
	}
	return n
}

// TestReaderCloseReleases checks that Close, even with a handler call in progress and traffic
// flowing, ends every goroutine and closes every socket it opened.
func TestReaderCloseReleases(t *testing.T) {
	for _, network := range []string{"udp", "unixgram"} {
		t.Run(network, func(t *testing.T) {
			a := readerLoopback
			if network == "unixgram" {
				a = Addr{Network: "unixgram", Address: filepath.Join(t.TempDir(), "r.sock")}
			}
			goroutines, fds := settledGoroutines(), readerCountFDs(t)
			var got atomic.Int64
			r, err := ListenReader(a, ReaderConfig{Readers: 4}, func(_ int, ds [][]byte) {
				got.Add(int64(len(ds)))
				time.Sleep(time.Millisecond) // a handler call is likely in progress at Close
			})
			if err != nil {
				t.Fatal(err)
			}
			if n := runtime.NumGoroutine(); n < goroutines+4 {
				t.Errorf("got %d goroutines while running, want at least %d", n, goroutines+4)
			}
			c, err := net.Dial(network, r.Addr().Address)
			if err != nil {
				t.Fatal(err)
			}
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 100000; i++ {
					select {
					case <-stop:
						return
					default:
					}
					c.Write([]byte("x:1|c")) // errors once the reader is gone are expected
				}
			}()
			readerEventually(t, "traffic", func() bool { return got.Load() > 10 })
			if err := r.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			close(stop)
			wg.Wait()
			c.Close()
			if n := readerCountFDs(t); n != fds {
				t.Errorf("got %d open files after Close, want %d as before", n, fds)
			}
			if !waitFor(readerTestWait, func() bool { return runtime.NumGoroutine() <= goroutines }) {
				buf := make([]byte, 1<<20)
				t.Errorf("got %d goroutines after Close, want <= %d\n%s", runtime.NumGoroutine(), goroutines, buf[:runtime.Stack(buf, true)])
			}
		})
	}
}

// TestReaderZeroAllocs proves that receiving a batch allocates nothing, sender included: each
// run sends 64 datagrams with a Writer and waits until the Reader has handed them over.
func TestReaderZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	for _, network := range []string{"udp", "unixgram"} {
		t.Run(network, func(t *testing.T) {
			a := readerLoopback
			if network == "unixgram" {
				a = Addr{Network: "unixgram", Address: filepath.Join(t.TempDir(), "r.sock")}
			}
			var got atomic.Int64
			r := startReader(t, a, ReaderConfig{Readers: 2}, func(_ int, ds [][]byte) { got.Add(int64(len(ds))) })
			w, err := NewWriter(r.Addr(), WriterConfig{})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			ps := payloads(64, 1432)
			var want int64
			cycle := func() {
				want += int64(w.Write(ps))
				for end := time.Now().Add(readerTestWait); got.Load() < want && time.Now().Before(end); {
					runtime.Gosched()
				}
			}
			cycle() // connects the Writer
			allocs := testing.AllocsPerRun(50, cycle)
			st := r.Stats()
			if got.Load() != want || st.Datagrams != uint64(want) {
				t.Fatalf("received %d (Stats %d) of %d datagrams: %+v", got.Load(), st.Datagrams, want, st)
			}
			t.Logf("%d datagrams in %d syscalls", st.Datagrams, st.Syscalls)
			if allocs != 0 {
				t.Errorf("got %v allocations per 64-datagram send+receive, want 0", allocs)
			}
		})
	}
}

// TestReaderErrorBackoff: an fd that is not a socket makes every recvmmsg fail (ENOTSOCK). The
// goroutine counts each failure, pauses longer after each instead of spinning, and still ends
// when the Reader closes.
func TestReaderErrorBackoff(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "notsock")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	raw, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.ListenPacket("udp", "127.0.0.1:0") // only for init; its fd is swapped out
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := &Reader{handler: func(int, [][]byte) {}}
	w := &readerWorker{r: r, sock: &readerSocket{conn: c}}
	if err := w.recv.init(c, ReaderConfig{BatchSize: 4, MaxDatagram: 16}); err != nil {
		t.Fatal(err)
	}
	w.recv.raw = raw
	r.workers = []*readerWorker{w}
	r.wg.Add(1)
	go w.run()
	const run = 300 * time.Millisecond
	time.Sleep(run)
	r.closing.Store(true)
	r.wg.Wait()
	// Pauses of 1, 2, 4, ... 64, then 100 ms: about 8 errors in 300 ms; a spinning loop would
	// make millions.
	st := r.Stats()
	// The last call fails because of Close, which is not an error to count.
	if st.Errors < 3 || st.Errors > 20 || st.Syscalls != st.Errors+1 {
		t.Errorf("got Errors %d, Syscalls %d in %v; want 3 to 20 errors and one more syscall", st.Errors, st.Syscalls, run)
	}
	_, _, err = w.recv.receive()
	if err == nil || !strings.Contains(err.Error(), syscall.ENOTSOCK.Error()) || !strings.HasPrefix(err.Error(), "netio: recvmmsg: ") {
		t.Errorf("got error %v, want \"netio: recvmmsg: \" and ENOTSOCK", err)
	}
}
