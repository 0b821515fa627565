package netio

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// listenUDP listens on addr ("127.0.0.1:0") with a receive buffer large enough that a test's
// burst is queued whole rather than dropped by the kernel.
func listenUDP(t testing.TB, network, addr string) *net.UDPConn {
	t.Helper()
	ua, err := net.ResolveUDPAddr(network, addr)
	if err != nil {
		t.Fatalf("resolve %s: %v", addr, err)
	}
	c, err := net.ListenUDP(network, ua)
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	if err := c.SetReadBuffer(4 << 20); err != nil {
		t.Fatalf("SetReadBuffer: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// listenUnixgram binds a unixgram socket at path and removes the file when the test ends.
func listenUnixgram(t *testing.T, path string) *net.UnixConn {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatalf("listen unixgram %s: %v", path, err)
	}
	t.Cleanup(func() { c.Close(); os.Remove(path) })
	return c
}

// sockPath returns a socket path in a fresh temporary directory, short enough for sun_path.
func sockPath(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "s.sock")
}

// udpAddr is the writer destination for a listener.
func udpAddr(c *net.UDPConn) Addr {
	return Addr{Network: "udp", Address: c.LocalAddr().String()}
}

// recv reads up to n datagrams, waiting at most timeout for each; it returns what arrived.
func recv(t *testing.T, c net.PacketConn, n int, timeout time.Duration) [][]byte {
	t.Helper()
	var got [][]byte
	buf := make([]byte, 65536)
	for len(got) < n {
		c.SetReadDeadline(time.Now().Add(timeout))
		m, _, err := c.ReadFrom(buf)
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("read: %v", err)
			}
			break
		}
		got = append(got, bytes.Clone(buf[:m]))
	}
	return got
}

// payloads returns n distinct payloads of size bytes: each starts with its index, so order and
// identity are checkable, and the rest is a pattern that depends on the index.
func payloads(n, size int) [][]byte {
	ps := make([][]byte, n)
	for i := range ps {
		p := make([]byte, size)
		copy(p, fmt.Sprintf("%06d:", i))
		for j := 7; j < size; j++ {
			p[j] = byte('a' + (i+j)%26)
		}
		ps[i] = p[:min(size, len(p))]
	}
	return ps
}

// equalDatagrams fails the test unless got is exactly want, in order.
func equalDatagrams(t *testing.T, got, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d datagrams, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("datagram %d: got %q, want %q", i, trunc(got[i]), trunc(want[i]))
		}
	}
}

func trunc(b []byte) []byte { return b[:min(len(b), 24)] }

// waitFor polls cond every 5 ms until it holds or timeout passes, and reports whether it held.
func waitFor(timeout time.Duration, cond func() bool) bool {
	for end := time.Now().Add(timeout); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// checkConserved fails unless every datagram handed to Write is counted once: sent or dropped.
func checkConserved(t *testing.T, st WriterStats, written uint64) {
	t.Helper()
	if got := st.Datagrams + st.Dropped; got != written {
		t.Errorf("Datagrams %d + Dropped %d = %d; want %d written (%+v)", st.Datagrams, st.Dropped, got, written, st)
	}
}
