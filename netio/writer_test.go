package netio

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestWriterConfigDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   WriterConfig
		want WriterConfig
	}{
		{"zero", WriterConfig{}, WriterConfig{ResolveInterval: 30 * time.Second, WriteTimeout: time.Second, BatchSize: 64}},
		{"kept", WriterConfig{ResolveInterval: time.Minute, WriteTimeout: 5 * time.Millisecond, BatchSize: 8, SendBuffer: 1 << 20},
			WriterConfig{ResolveInterval: time.Minute, WriteTimeout: 5 * time.Millisecond, BatchSize: 8, SendBuffer: 1 << 20}},
		{"resolve disabled", WriterConfig{ResolveInterval: -1}, WriterConfig{ResolveInterval: -1, WriteTimeout: time.Second, BatchSize: 64}},
		{"batch capped", WriterConfig{BatchSize: 5000}, WriterConfig{ResolveInterval: 30 * time.Second, WriteTimeout: time.Second, BatchSize: 1024}},
	}
	for _, tt := range tests {
		if got := tt.in.withDefaults(); got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestNewWriterInvalidAddr(t *testing.T) {
	for _, a := range []Addr{{}, {Network: "udp"}, {Network: "tcp", Address: "localhost:1"}, {Network: "unixgram", Address: "rel"}} {
		w, err := NewWriter(a, WriterConfig{})
		if err == nil {
			w.Close()
			t.Errorf("NewWriter(%+v) error = nil; want an error", a)
		} else if !strings.HasPrefix(err.Error(), "netio: ") {
			t.Errorf("NewWriter(%+v) error = %q; want netio: prefix", a, err)
		}
	}
}

func TestWriterUDP(t *testing.T) {
	l := listenUDP(t, "udp4", "127.0.0.1:0")
	w, err := NewWriter(udpAddr(l), WriterConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	want := [][]byte{[]byte("a:1|c"), {}, []byte("b:2|g\nc:3|ms")}
	if got := w.Write(want); got != len(want) {
		t.Fatalf("Write returned %d, want %d", got, len(want))
	}
	equalDatagrams(t, recv(t, l, len(want), 2*time.Second), want)
	st := w.Stats()
	if st.Datagrams != 3 || st.Bytes != 17 || st.Dropped != 0 || st.Reconnects != 1 || st.Resolves != 0 {
		t.Errorf("got %+v, want Datagrams 3, Bytes 17, Dropped 0, Reconnects 1, Resolves 0", st)
	}
}

// TestWriterTooLarge checks that an oversized datagram is dropped alone: its neighbours go out.
func TestWriterTooLarge(t *testing.T) {
	l := listenUDP(t, "udp4", "127.0.0.1:0")
	w, err := NewWriter(udpAddr(l), WriterConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	in := [][]byte{[]byte("first"), make([]byte, 70000), []byte("last")}
	if got := w.Write(in); got != 2 {
		t.Errorf("Write returned %d, want 2", got)
	}
	equalDatagrams(t, recv(t, l, 2, 2*time.Second), [][]byte{in[0], in[2]})
	if st := w.Stats(); st.TooLarge != 1 || st.Dropped != 1 {
		t.Errorf("got %+v, want TooLarge 1, Dropped 1", st)
	}
}

func TestWriterUnixgram(t *testing.T) {
	path := sockPath(t)
	l := listenUnixgram(t, path)
	a, err := ParseAddr("unixgram://" + path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(a, WriterConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	want := payloads(5, 8000)
	if got := w.Write(want); got != 5 {
		t.Fatalf("Write returned %d, want 5", got)
	}
	equalDatagrams(t, recv(t, l, 5, 2*time.Second), want)
	checkConserved(t, w.Stats(), 5)
}

// TestWriterUnixgramMissingPath covers an agent that starts before the statsd server: no error,
// counted drops, and delivery once the socket appears, with dial attempts paced.
func TestWriterUnixgramMissingPath(t *testing.T) {
	path := sockPath(t)
	w, err := NewWriter(Addr{Network: "unixgram", Address: path}, WriterConfig{})
	if err != nil {
		t.Fatalf("NewWriter with a missing socket path: %v; want no error", err)
	}
	defer w.Close()
	first := time.Now()
	if got := w.Write(payloads(3, 10)); got != 0 {
		t.Errorf("Write to a missing path returned %d, want 0", got)
	}
	if st := w.Stats(); st.NoDestination != 3 || st.Dropped != 3 || st.Reconnects != 0 {
		t.Errorf("got %+v, want NoDestination 3, Dropped 3, Reconnects 0", st)
	}

	l := listenUnixgram(t, path)
	// Within redialPacing of the failed dial the Writer must not dial again, even though the path
	// now exists. Only checkable if this machine got here quickly enough.
	w.Write(payloads(1, 10))
	if time.Since(first) < redialPacing*8/10 {
		if st := w.Stats(); st.Reconnects != 0 || st.NoDestination != 4 {
			t.Errorf("write %v after a failed dial: got %+v, want no redial (Reconnects 0, NoDestination 4)", time.Since(first), st)
		}
	}

	written := uint64(4)
	var got [][]byte
	ok := waitFor(3*time.Second, func() bool {
		written++
		if w.Write([][]byte{[]byte("hello")}) == 1 {
			got = recv(t, l, 1, time.Second)
			return true
		}
		time.Sleep(20 * time.Millisecond)
		return false
	})
	if !ok {
		t.Fatalf("no Write succeeded within 3s of the socket appearing: %+v", w.Stats())
	}
	equalDatagrams(t, got, [][]byte{[]byte("hello")})
	st := w.Stats()
	if st.Reconnects != 1 {
		t.Errorf("got Reconnects %d, want 1", st.Reconnects)
	}
	checkConserved(t, st, written)
	if st.Datagrams != 1 || st.Dropped != st.NoDestination {
		t.Errorf("got %+v; want Datagrams 1 and every drop NoDestination", st)
	}
}

// TestWriterUnixgramReceiverRestart checks that a Writer follows a statsd server that restarts
// on the same socket path.
func TestWriterUnixgramReceiverRestart(t *testing.T) {
	path := sockPath(t)
	l := listenUnixgram(t, path)
	w, err := NewWriter(Addr{Network: "unixgram", Address: path}, WriterConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if got := w.Write([][]byte{[]byte("before")}); got != 1 {
		t.Fatalf("Write returned %d, want 1", got)
	}
	// Closing a unixgram socket leaves its file behind, as a crashed server would: the next send
	// fails, and so do dials until the file is gone and a new server binds the path.
	l.Close()
	if got := w.Write(payloads(4, 10)); got != 0 {
		t.Errorf("Write with the receiver gone returned %d, want 0", got)
	}
	if st := w.Stats(); st.NoDestination != 4 {
		t.Errorf("got %+v, want NoDestination 4", st)
	}
	time.Sleep(redialPacing + 10*time.Millisecond)
	if got := w.Write(payloads(2, 10)); got != 0 {
		t.Errorf("Write with a stale socket file returned %d, want 0", got)
	}
	if st := w.Stats(); st.NoDestination != 6 || st.Reconnects != 1 {
		t.Errorf("got %+v, want NoDestination 6, Reconnects 1", st)
	}
	os.Remove(path)
	l2 := listenUnixgram(t, path)
	ok := waitFor(3*time.Second, func() bool {
		if w.Write([][]byte{[]byte("after")}) == 1 {
			return true
		}
		time.Sleep(20 * time.Millisecond)
		return false
	})
	if !ok {
		t.Fatalf("no Write reached the restarted receiver: %+v", w.Stats())
	}
	equalDatagrams(t, recv(t, l2, 1, time.Second), [][]byte{[]byte("after")})
	if st := w.Stats(); st.Reconnects != 2 {
		t.Errorf("got Reconnects %d, want 2", st.Reconnects)
	}
}

// freeUDPPort returns a loopback port with, for now, no listener.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

func TestWriterRefused(t *testing.T) {
	port := freeUDPPort(t)
	a := Addr{Network: "udp", Address: net.JoinHostPort("127.0.0.1", itoa(port))}
	w, err := NewWriter(a, WriterConfig{WriteTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	const writes, per = 5, 20
	for i := range writes {
		start := time.Now()
		w.Write(payloads(per, 100))
		if d := time.Since(start); d > time.Second {
			t.Fatalf("Write %d to a port with no listener took %v; want well under 1s", i, d)
		}
	}
	st := w.Stats()
	checkConserved(t, st, writes*per)
	if st.Dropped != st.Refused {
		t.Errorf("got %+v; want every drop to be Refused", st)
	}
	t.Logf("no listener: %+v", st)

	l, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		t.Skipf("port %d was taken meanwhile: %v", port, err)
	}
	defer l.Close()
	var got [][]byte
	ok := waitFor(10*time.Second, func() bool {
		w.Write([][]byte{[]byte("now-listening")})
		got = recv(t, l, 1, 50*time.Millisecond)
		return len(got) == 1
	})
	if !ok {
		t.Fatalf("nothing arrived after the listener started: %+v", w.Stats())
	}
	equalDatagrams(t, got, [][]byte{[]byte("now-listening")})
}

func TestWriterIPv6(t *testing.T) {
	c, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	c.Close()
	l := listenUDP(t, "udp6", "[::1]:0")
	for _, scheme := range []string{"udp", "udp6"} {
		a, err := ParseAddr(scheme + "://" + l.LocalAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		w, err := NewWriter(a, WriterConfig{})
		if err != nil {
			t.Fatal(err)
		}
		want := [][]byte{[]byte(scheme + " over ipv6")}
		if got := w.Write(want); got != 1 {
			t.Errorf("%s: Write returned %d, want 1 (%+v)", a, got, w.Stats())
		}
		w.Close()
		equalDatagrams(t, recv(t, l, 1, 2*time.Second), want)
	}
}

// TestWriterLocalhost resolves a real DNS name through the default resolver.
func TestWriterLocalhost(t *testing.T) {
	ips, err := net.DefaultResolver.LookupNetIP(context.Background(), "ip", "localhost")
	if err != nil || len(ips) == 0 {
		t.Skipf("localhost does not resolve here: %v", err)
	}
	// The Writer takes the resolver's first address; listen there.
	l := listenUDP(t, "udp", netip.AddrPortFrom(ips[0].Unmap(), 0).String())
	port := l.LocalAddr().(*net.UDPAddr).Port
	w, err := NewWriter(Addr{Network: "udp", Address: "localhost:" + itoa(port)}, WriterConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	want := payloads(3, 50)
	if got := w.Write(want); got != 3 {
		t.Fatalf("Write returned %d, want 3 (%+v)", got, w.Stats())
	}
	equalDatagrams(t, recv(t, l, 3, 2*time.Second), want)
	if st := w.Stats(); st.Resolves != 1 || st.ResolveErrors != 0 {
		t.Errorf("got Resolves %d, ResolveErrors %d; want 1, 0", st.Resolves, st.ResolveErrors)
	}
}

// listenPair listens on 127.0.0.1 and 127.0.0.2 on one port, for a DNS name whose address moves.
func listenPair(t *testing.T) (a, b *net.UDPConn, port int) {
	t.Helper()
	for range 20 {
		a := listenUDP(t, "udp4", "127.0.0.1:0")
		port := a.LocalAddr().(*net.UDPAddr).Port
		b, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2), Port: port})
		if err == nil {
			t.Cleanup(func() { b.Close() })
			return a, b, port
		}
		a.Close()
	}
	t.Skip("cannot listen on 127.0.0.1 and 127.0.0.2 with one port")
	return nil, nil, 0
}

// scriptedLookup answers the first lookup with first and every later one with later (or err).
func scriptedLookup(first, later netip.Addr, err error) (lookupFunc, *atomic.Int64) {
	var calls atomic.Int64
	return func(ctx context.Context, network, host string) ([]netip.Addr, error) {
		if calls.Add(1) == 1 {
			return []netip.Addr{first}, nil
		}
		if err != nil {
			return nil, err
		}
		return []netip.Addr{later}, nil
	}, &calls
}

func TestWriterReresolve(t *testing.T) {
	l1, l2, port := listenPair(t)
	lookup, _ := scriptedLookup(netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2"), nil)
	w, err := newWriter(Addr{Network: "udp", Address: "statsd.test:" + itoa(port)}, WriterConfig{ResolveInterval: 20 * time.Millisecond}, lookup)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if got := w.Write([][]byte{[]byte("to-first")}); got != 1 {
		t.Fatalf("first Write returned %d, want 1", got)
	}
	equalDatagrams(t, recv(t, l1, 1, 2*time.Second), [][]byte{[]byte("to-first")})

	ok := waitFor(3*time.Second, func() bool {
		w.Write([][]byte{[]byte("to-second")})
		return len(recv(t, l2, 1, 20*time.Millisecond)) == 1
	})
	if !ok {
		t.Fatalf("the second address never received after re-resolution: %+v", w.Stats())
	}
	if st := w.Stats(); st.Reconnects != 2 || st.Resolves < 2 || st.ResolveErrors != 0 {
		t.Errorf("got %+v; want Reconnects 2, Resolves >= 2, ResolveErrors 0", st)
	}
}

func TestWriterResolveFailureKeepsAddress(t *testing.T) {
	l := listenUDP(t, "udp4", "127.0.0.1:0")
	port := l.LocalAddr().(*net.UDPAddr).Port
	lookup, _ := scriptedLookup(netip.MustParseAddr("127.0.0.1"), netip.Addr{}, errors.New("SERVFAIL"))
	w, err := newWriter(Addr{Network: "udp", Address: "statsd.test:" + itoa(port)}, WriterConfig{ResolveInterval: 10 * time.Millisecond}, lookup)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.Write([][]byte{[]byte("one")})
	if !waitFor(3*time.Second, func() bool { return w.Stats().ResolveErrors >= 3 }) {
		t.Fatalf("the resolver did not retry: %+v", w.Stats())
	}
	w.Write([][]byte{[]byte("two")})
	equalDatagrams(t, recv(t, l, 2, 2*time.Second), [][]byte{[]byte("one"), []byte("two")})
	if st := w.Stats(); st.Reconnects != 1 || st.Dropped != 0 {
		t.Errorf("got %+v; want Reconnects 1, Dropped 0", st)
	}
}

// TestWriterNeverResolves covers a name that never resolves, with and without the resolver
// goroutine: counted drops, bounded Writes, and lookups on the write path only when needed.
func TestWriterNeverResolves(t *testing.T) {
	tests := []struct {
		name     string
		interval time.Duration
		// wantSync is whether every paced Write, not just the first, looks the name up.
		wantSync bool
	}{
		{"with resolver", time.Hour, false},
		{"resolver disabled", -1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fail := func(ctx context.Context, network, host string) ([]netip.Addr, error) {
				return nil, errors.New("NXDOMAIN")
			}
			w, err := newWriter(Addr{Network: "udp", Address: "nowhere.test:8125"}, WriterConfig{ResolveInterval: tt.interval}, fail)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			w.Write(payloads(2, 10))
			time.Sleep(redialPacing + 20*time.Millisecond)
			w.Write(payloads(3, 10))
			st := w.Stats()
			if st.NoDestination != 5 || st.Datagrams != 0 {
				t.Errorf("got %+v, want NoDestination 5, Datagrams 0", st)
			}
			wantLookups := uint64(1)
			if tt.wantSync {
				wantLookups = 2
			}
			if st.Resolves != wantLookups || st.ResolveErrors != wantLookups {
				t.Errorf("got Resolves %d, ResolveErrors %d; want %d each", st.Resolves, st.ResolveErrors, wantLookups)
			}
		})
	}
}

// TestWriterClose checks that Close stops the resolver goroutine and that later Writes are
// counted drops, not panics.
func TestWriterClose(t *testing.T) {
	l := listenUDP(t, "udp4", "127.0.0.1:0")
	port := l.LocalAddr().(*net.UDPAddr).Port
	before := runtime.NumGoroutine()
	lookup, _ := scriptedLookup(netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.1"), nil)
	w, err := newWriter(Addr{Network: "udp", Address: "statsd.test:" + itoa(port)}, WriterConfig{ResolveInterval: 5 * time.Millisecond}, lookup)
	if err != nil {
		t.Fatal(err)
	}
	if !waitFor(10*time.Second, func() bool { return resolvers() == 1 }) {
		t.Errorf("got %d resolver goroutines after NewWriter, want 1", resolvers())
	}
	w.Write(payloads(1, 10))
	time.Sleep(20 * time.Millisecond)
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if !waitFor(10*time.Second, func() bool { return runtime.NumGoroutine() <= before && resolvers() == 0 }) {
		t.Errorf("got %d goroutines (%d resolvers) after Close, want <= %d (0)", runtime.NumGoroutine(), resolvers(), before)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v, want nil", err)
	}
	if got := w.Write(payloads(4, 10)); got != 0 {
		t.Errorf("Write after Close returned %d, want 0", got)
	}
	st := w.Stats()
	if st.NoDestination != 4 || st.Datagrams != 1 {
		t.Errorf("got %+v, want NoDestination 4, Datagrams 1", st)
	}
}

// TestWriterResolverGoroutine checks that only DNS names with re-resolution enabled get a
// resolver goroutine.
func TestWriterResolverGoroutine(t *testing.T) {
	tests := []struct {
		cfg  WriterConfig
		addr Addr
		want int
	}{
		{WriterConfig{}, Addr{"udp", "127.0.0.1:8125"}, 0},
		{WriterConfig{}, Addr{"udp", "[::1]:8125"}, 0},
		{WriterConfig{}, Addr{"unixgram", "/nonexistent/s.sock"}, 0},
		{WriterConfig{ResolveInterval: -1}, Addr{"udp", "localhost:8125"}, 0},
		{WriterConfig{}, Addr{"udp", "localhost:8125"}, 1},
	}
	for _, tt := range tests {
		w, err := NewWriter(tt.addr, tt.cfg)
		if err != nil {
			t.Fatal(err)
		}
		// A goroutine just started may not show in a stack dump yet; done is set before it starts.
		waitFor(10*time.Second, func() bool { return resolvers() == tt.want })
		if got := resolvers(); got != tt.want || (w.done != nil) != (tt.want == 1) {
			t.Errorf("%s %+v: got %d resolver goroutines (done channel %v), want %d", tt.addr, tt.cfg, got, w.done != nil, tt.want)
		}
		w.Close()
	}
}

// resolvers counts running resolver goroutines, of any Writer.
func resolvers() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "netio.(*Writer).resolveLoop(")
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestJudge pins the meaning of each send error.
func TestJudge(t *testing.T) {
	tests := []struct {
		errno     syscall.Errno
		unixgram  bool
		want      reason
		wantRetry bool
		wantGone  bool
	}{
		{syscall.ECONNREFUSED, false, refused, true, false},
		{syscall.ECONNREFUSED, true, noDestination, false, true},
		{syscall.ENOTCONN, true, noDestination, false, true},
		{syscall.ENOTCONN, false, other, false, false},
		{syscall.EMSGSIZE, false, tooLarge, false, false},
		{syscall.ENOBUFS, false, wouldBlock, false, false},
		{syscall.EINTR, false, other, true, false},
		{syscall.EPERM, false, other, false, false},
	}
	for _, tt := range tests {
		r, retry, gone := judge(tt.errno, tt.unixgram)
		if r != tt.want || retry != tt.wantRetry || gone != tt.wantGone {
			t.Errorf("judge(%v, unixgram=%v) = %v, %v, %v; want %v, %v, %v",
				tt.errno, tt.unixgram, r, retry, gone, tt.want, tt.wantRetry, tt.wantGone)
		}
	}
}
