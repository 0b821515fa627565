package netio_test

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/statshard/statshard/netio"
)

// readerWait bounds every wait in these tests for traffic on loopback.
const readerWait = 5 * time.Second

func ExampleListenReader() {
	got := make(chan string, 16)
	r, err := netio.ListenReader(netio.Addr{Network: "udp", Address: "127.0.0.1:0"}, netio.ReaderConfig{Readers: 1},
		func(_ int, datagrams [][]byte) {
			for _, d := range datagrams {
				got <- string(d) // string(d) copies: d is reused once the handler returns
			}
		})
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := net.Dial("udp", r.Addr().Address) // a service sending DogStatsD
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	c.Write([]byte("requests:1|c|#route:/home\nrequests:3|c|#route:/api"))
	c.Write([]byte("latency:12|ms"))
	for range 2 {
		select {
		case s := <-got:
			fmt.Printf("%q\n", s)
		case <-time.After(readerWait):
			fmt.Println("timed out")
		}
	}
	r.Close()
	st := r.Stats()
	fmt.Println("datagrams", st.Datagrams, "truncated", st.Truncated, "panics", st.Panics)
	// Output:
	// "requests:1|c|#route:/home\nrequests:3|c|#route:/api"
	// "latency:12|ms"
	// datagrams 2 truncated 0 panics 0
}

// listenReader starts a Reader on a and closes it when the test ends.
func listenReader(t *testing.T, a netio.Addr, cfg netio.ReaderConfig, h netio.Handler) *netio.Reader {
	t.Helper()
	r, err := netio.ListenReader(a, cfg, h)
	if err != nil {
		t.Fatalf("ListenReader(%v): %v", a, err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

var loopback = netio.Addr{Network: "udp", Address: "127.0.0.1:0"}

// dial connects a plain socket to a Reader's address.
func dial(t *testing.T, a netio.Addr) net.Conn {
	t.Helper()
	network := a.Network
	if network != "unixgram" {
		network = "udp"
	}
	c, err := net.Dial(network, a.Address)
	if err != nil {
		t.Fatalf("dial %v: %v", a, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func send(t *testing.T, c net.Conn, ds ...string) {
	t.Helper()
	for _, d := range ds {
		if _, err := c.Write([]byte(d)); err != nil {
			t.Fatalf("write %d bytes: %v", len(d), err)
		}
	}
}

// eventually fails the test unless cond holds within readerWait.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(readerWait); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// collector is a Handler that copies what it gets.
type collector struct {
	mu  sync.Mutex
	got []string
}

func (c *collector) handle(_ int, ds [][]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range ds {
		c.got = append(c.got, string(d))
	}
}

func (c *collector) datagrams() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.got...)
}

func (c *collector) waitN(t *testing.T, n int) []string {
	t.Helper()
	eventually(t, fmt.Sprintf("%d datagrams", n), func() bool { return len(c.datagrams()) >= n })
	return c.datagrams()
}

// numbered returns datagram i of a test stream: its index, then a pattern that depends on it,
// size bytes in all (size >= 7).
func numbered(i, size int) []byte {
	p := make([]byte, size)
	copy(p, fmt.Sprintf("%06d:", i))
	for j := 7; j < size; j++ {
		p[j] = byte('a' + (i*7+j)%26)
	}
	return p
}

// TestReaderUDP sends 10,000 datagrams through a Writer to a Reader with two goroutines and
// checks that each arrives once, whole, and that the reader batched its system calls.
func TestReaderUDP(t *testing.T) {
	const n, size = 10000, 200
	want := make([][]byte, n)
	for i := range want {
		want[i] = numbered(i, size+i%50)
	}
	var (
		mu      sync.Mutex
		seen    = make([]int, n)
		bad     []string
		got     atomic.Int64
		readers [2]atomic.Int64
	)
	r := listenReader(t, loopback, netio.ReaderConfig{Readers: 2}, func(reader int, ds [][]byte) {
		mu.Lock()
		for _, d := range ds {
			i, err := strconv.Atoi(string(d[:min(6, len(d))]))
			switch {
			case err != nil || i < 0 || i >= n:
				bad = append(bad, fmt.Sprintf("unnumbered datagram %q", d[:min(len(d), 16)]))
			case !bytes.Equal(d, want[i]):
				bad = append(bad, fmt.Sprintf("datagram %d: got %d bytes %q..., want %d bytes %q...",
					i, len(d), d[:min(len(d), 16)], len(want[i]), want[i][:16]))
			default:
				seen[i]++
			}
		}
		mu.Unlock()
		readers[reader].Add(int64(len(ds)))
		got.Add(int64(len(ds)))
		if runtime.GOOS == "linux" {
			// A reader slower than its sender, as a busy agent is: recvmmsg should then find
			// many datagrams queued per call.
			time.Sleep(200 * time.Microsecond)
		}
	})
	if st := r.Stats(); st.Sockets < 1 {
		t.Fatalf("got %d sockets, want at least 1", st.Sockets)
	}
	w, err := netio.NewWriter(r.Addr(), netio.WriterConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// At most window datagrams in flight, so that the receive buffer never overflows however
	// slow this machine is: the test is about the reader, not about kernel drops.
	const chunk, window = 250, 2000
	var wantBytes uint64
	for i := 0; i < n; i += chunk {
		eventually(t, "the reader to catch up", func() bool { return got.Load() >= int64(i-window) })
		if sent := w.Write(want[i : i+chunk]); sent != chunk {
			t.Fatalf("Writer sent %d of %d datagrams: %+v", sent, chunk, w.Stats())
		}
		for _, p := range want[i : i+chunk] {
			wantBytes += uint64(len(p))
		}
	}
	eventually(t, "10,000 datagrams", func() bool { return got.Load() >= n })
	time.Sleep(20 * time.Millisecond) // a duplicate would arrive now
	st := r.Stats()

	mu.Lock()
	defer mu.Unlock()
	for _, b := range bad[:min(len(bad), 5)] {
		t.Error(b)
	}
	for i, c := range seen {
		if c != 1 {
			t.Errorf("datagram %d: received %d times, want 1", i, c)
			break
		}
	}
	if st.Datagrams != n || st.Bytes != wantBytes {
		t.Errorf("got Datagrams %d, Bytes %d; want %d, %d", st.Datagrams, st.Bytes, n, wantBytes)
	}
	if st.Truncated != 0 || st.KernelDrops != 0 || st.Panics != 0 || st.Errors != 0 {
		t.Errorf("got %+v, want no truncation, kernel drop, panic or error", st)
	}
	t.Logf("%d datagrams in %d syscalls; per reader goroutine: %d, %d", st.Datagrams, st.Syscalls,
		readers[0].Load(), readers[1].Load())
	if runtime.GOOS == "linux" && st.Syscalls >= st.Datagrams {
		t.Errorf("got %d syscalls for %d datagrams, want fewer syscalls than datagrams (recvmmsg batches)",
			st.Syscalls, st.Datagrams)
	}
}

func TestReaderTruncated(t *testing.T) {
	const max = 100
	networks := []netio.Addr{loopback}
	if runtime.GOOS != "windows" {
		networks = append(networks, netio.Addr{Network: "unixgram"})
	}
	for _, a := range networks {
		t.Run(a.Network, func(t *testing.T) {
			if a.Network == "unixgram" {
				a.Address = filepath.Join(t.TempDir(), "r.sock")
			}
			var c collector
			r := listenReader(t, a, netio.ReaderConfig{Readers: 1, MaxDatagram: max}, c.handle)
			conn := dial(t, r.Addr())
			fits, exact := strings.Repeat("f", 50), strings.Repeat("e", max)
			send(t, conn, fits, strings.Repeat("x", max+1), strings.Repeat("y", 1000), exact)
			got := c.waitN(t, 2)
			if len(got) != 2 || got[0] != fits || got[1] != exact {
				t.Errorf("got %d datagrams %.20q, want the 50- and the %d-byte one", len(got), got, max)
			}
			eventually(t, "Truncated 2", func() bool { return r.Stats().Truncated >= 2 })
			st := r.Stats()
			if st.Truncated != 2 || st.Datagrams != 2 || st.Bytes != 50+max {
				t.Errorf("got Truncated %d, Datagrams %d, Bytes %d; want 2, 2, %d", st.Truncated, st.Datagrams, st.Bytes, 50+max)
			}
		})
	}
}

// TestReaderHandlerPanic checks that a panicking handler is counted and the goroutine that ran
// it reads on: with one reader, a datagram after the panic can only arrive through it.
func TestReaderHandlerPanic(t *testing.T) {
	var c collector
	r := listenReader(t, loopback, netio.ReaderConfig{Readers: 1}, func(reader int, ds [][]byte) {
		for _, d := range ds {
			if string(d) == "boom" {
				panic("handler bug")
			}
		}
		c.handle(reader, ds)
	})
	conn := dial(t, r.Addr())
	send(t, conn, "boom")
	eventually(t, "Panics 1", func() bool { return r.Stats().Panics == 1 })
	send(t, conn, "after", "boom", "after2")
	eventually(t, "Panics 2", func() bool { return r.Stats().Panics == 2 })
	send(t, conn, "last")
	eventually(t, "the datagram after the panics", func() bool {
		got := c.datagrams()
		return len(got) > 0 && got[len(got)-1] == "last"
	})
	if st := r.Stats(); st.Panics != 2 {
		t.Errorf("got Panics %d, want 2", st.Panics)
	}
}

func TestListenReaderErrors(t *testing.T) {
	nop := func(int, [][]byte) {}
	tests := []struct {
		name string
		a    netio.Addr
		h    netio.Handler
		want string
	}{
		{"nil handler", loopback, nil, "nil handler"},
		{"no network", netio.Addr{Address: "127.0.0.1:0"}, nop, "empty network"},
		{"tcp", netio.Addr{Network: "tcp", Address: "127.0.0.1:0"}, nop, "unknown network"},
		{"no port", netio.Addr{Network: "udp", Address: "127.0.0.1"}, nop, "missing port"},
		{"bad port", netio.Addr{Network: "udp", Address: "127.0.0.1:70000"}, nop, "not a number"},
		{"relative path", netio.Addr{Network: "unixgram", Address: "r.sock"}, nop, "must be absolute"},
		{"wrong family", netio.Addr{Network: "udp6", Address: "127.0.0.1:0"}, nop, "netio: listen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := netio.ListenReader(tt.a, netio.ReaderConfig{Readers: 1}, tt.h)
			if err == nil {
				r.Close()
				t.Fatalf("got no error, want one containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "netio: ") {
				t.Errorf("got error %q, want one starting \"netio: \" and containing %q", err, tt.want)
			}
		})
	}
}

func TestReaderCloseTwice(t *testing.T) {
	var c collector
	r, err := netio.ListenReader(loopback, netio.ReaderConfig{Readers: 2}, c.handle)
	if err != nil {
		t.Fatal(err)
	}
	send(t, dial(t, r.Addr()), "x")
	c.waitN(t, 1)
	if err := r.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if st := r.Stats(); st.Datagrams != 1 {
		t.Errorf("Stats after Close: got Datagrams %d, want 1", st.Datagrams)
	}
	// The port is free again: a plain socket can bind it.
	l, err := net.ListenPacket("udp", r.Addr().Address)
	if err != nil {
		t.Fatalf("port still bound after Close: %v", err)
	}
	l.Close()
}

func unixAddr(t *testing.T) netio.Addr {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("unixgram is not supported on windows")
	}
	return netio.Addr{Network: "unixgram", Address: filepath.Join(t.TempDir(), "dsd.sock")}
}

func TestReaderUnixgram(t *testing.T) {
	tests := []struct {
		mode, want os.FileMode
	}{
		{0, 0o660},
		{0o600, 0o600},
		{0o666, 0o666},
	}
	for _, tt := range tests {
		t.Run(tt.want.String(), func(t *testing.T) {
			a := unixAddr(t)
			var c collector
			r := listenReader(t, a, netio.ReaderConfig{Readers: 3, SocketMode: tt.mode}, c.handle)
			if r.Addr() != a {
				t.Errorf("got Addr %v, want %v", r.Addr(), a)
			}
			fi, err := os.Lstat(a.Address)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode()&fs.ModeSocket == 0 || fi.Mode().Perm() != tt.want {
				t.Errorf("got file mode %v, want a socket with %v", fi.Mode(), tt.want)
			}
			conn := dial(t, r.Addr())
			want := []string{"a:1|c", "b:2|g", strings.Repeat("z", 8000)}
			send(t, conn, want...)
			got := c.waitN(t, len(want))
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("got %.20q, want %.20q", got, want)
			}
			if st := r.Stats(); st.Sockets != 1 || st.Datagrams != 3 {
				t.Errorf("got Sockets %d, Datagrams %d; want 1, 3", st.Sockets, st.Datagrams)
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Lstat(a.Address); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("socket file after Close: got %v, want it removed", err)
			}
		})
	}
}

// TestReaderUnixgramStale replaces a socket file left by a receiver that is gone.
func TestReaderUnixgramStale(t *testing.T) {
	a := unixAddr(t)
	old, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: a.Address, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	old.Close() // a unixgram socket leaves its file behind, like a crashed agent
	if _, err := os.Lstat(a.Address); err != nil {
		t.Fatalf("stale socket file: %v", err)
	}
	var c collector
	r := listenReader(t, a, netio.ReaderConfig{Readers: 1}, c.handle)
	send(t, dial(t, r.Addr()), "fresh")
	if got := c.waitN(t, 1); got[0] != "fresh" {
		t.Errorf("got %q, want [fresh]", got)
	}
}

// TestReaderUnixgramRefused checks that ListenReader takes no path it cannot prove is free:
// a live socket, a regular file or a directory stay as they are.
func TestReaderUnixgramRefused(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, path string) (check func())
		want  string
	}{
		{"live socket", func(t *testing.T, path string) func() {
			live, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { live.Close() })
			return func() {
				// The owner still receives on it.
				c, err := net.Dial("unixgram", path)
				if err != nil {
					t.Fatalf("live socket broken: %v", err)
				}
				defer c.Close()
				c.Write([]byte("still here"))
				live.SetReadDeadline(time.Now().Add(readerWait))
				buf := make([]byte, 64)
				if n, err := live.Read(buf); err != nil || string(buf[:n]) != "still here" {
					t.Errorf("live socket: got %q, %v; want \"still here\"", buf[:n], err)
				}
			}
		}, "in use"},
		{"live stream socket", func(t *testing.T, path string) func() {
			l, err := net.Listen("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
			return func() {
				if fi, err := os.Lstat(path); err != nil || fi.Mode()&fs.ModeSocket == 0 {
					t.Errorf("stream socket file: got %v, %v; want it kept", fi, err)
				}
			}
		}, "may be in use"},
		{"regular file", func(t *testing.T, path string) func() {
			if err := os.WriteFile(path, []byte("precious"), 0o644); err != nil {
				t.Fatal(err)
			}
			return func() {
				if b, err := os.ReadFile(path); err != nil || string(b) != "precious" {
					t.Errorf("regular file: got %q, %v; want it untouched", b, err)
				}
			}
		}, "not a socket"},
		{"directory", func(t *testing.T, path string) func() {
			if err := os.Mkdir(path, 0o755); err != nil {
				t.Fatal(err)
			}
			return func() {
				if fi, err := os.Lstat(path); err != nil || !fi.IsDir() {
					t.Errorf("directory: got %v, %v; want it kept", fi, err)
				}
			}
		}, "not a socket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := unixAddr(t)
			check := tt.setup(t, a.Address)
			r, err := netio.ListenReader(a, netio.ReaderConfig{Readers: 1}, func(int, [][]byte) {})
			if err == nil {
				r.Close()
				t.Fatalf("got no error, want one containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "netio: listen ") {
				t.Errorf("got error %q, want one starting \"netio: listen \" and containing %q", err, tt.want)
			}
			check()
		})
	}
}

// TestReaderUnixgramCloseKeepsOthersFile: Close removes only the socket it bound.
func TestReaderUnixgramCloseKeepsOthersFile(t *testing.T) {
	a := unixAddr(t)
	r, err := netio.ListenReader(a, netio.ReaderConfig{Readers: 1}, func(int, [][]byte) {})
	if err != nil {
		t.Fatal(err)
	}
	// Someone else took the path over meanwhile.
	if err := os.Remove(a.Address); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(a.Address, []byte("theirs"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if b, err := os.ReadFile(a.Address); err != nil || string(b) != "theirs" {
		t.Errorf("after Close: got %q, %v; want the other file kept", b, err)
	}
}
