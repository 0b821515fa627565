package netio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// hubFrameSize is the size of a typical stream frame (a counter increment with two labels).
const hubFrameSize = 51

// hubWait bounds every wait in the hub tests.
const hubWait = 10 * time.Second

// hubAppendFrame appends frame seq of size bytes (size >= 8): the big-endian seq, then bytes
// derived from it, so a reader can check every byte and the order.
func hubAppendFrame(dst []byte, seq uint64, size int) []byte {
	dst = binary.BigEndian.AppendUint64(dst, seq)
	for i := 8; i < size; i++ {
		dst = append(dst, byte(seq*7+uint64(i)))
	}
	return dst
}

// hubBatch returns frames first..first+n-1 in one buffer, with their ends; size gives each
// frame's size.
func hubBatch(first, n int, size func(seq int) int) ([]byte, []int) {
	var frames []byte
	ends := make([]int, 0, n)
	for seq := first; seq < first+n; seq++ {
		frames = hubAppendFrame(frames, uint64(seq), size(seq))
		ends = append(ends, len(frames))
	}
	return frames, ends
}

func hubFixed(int) int { return hubFrameSize }

// hubVaried gives frames of 8 to 57 bytes.
func hubVaried(seq int) int { return 8 + seq%50 }

// hubParseFrames splits data into fixed-size frames and returns their sequence numbers and the
// length of a trailing partial frame. It fails the test on a frame whose bytes are wrong.
func hubParseFrames(t *testing.T, data []byte) (seqs []uint64, partial int) {
	t.Helper()
	var want []byte
	for len(data) >= hubFrameSize {
		seq := binary.BigEndian.Uint64(data)
		want = hubAppendFrame(want[:0], seq, hubFrameSize)
		if !bytes.Equal(data[:hubFrameSize], want) {
			t.Fatalf("frame %d after %d frames: got %x, want %x", seq, len(seqs), data[:hubFrameSize], want)
		}
		seqs = append(seqs, seq)
		data = data[hubFrameSize:]
	}
	return seqs, len(data)
}

// hubStart starts a hub on a free loopback port; it is closed when the test ends.
func hubStart(t *testing.T, cfg HubConfig) *Hub {
	t.Helper()
	if cfg.Addr == "" && cfg.Listener == nil {
		cfg.Addr = "127.0.0.1:0"
	}
	h, err := ListenHub(cfg)
	if err != nil {
		t.Fatalf("ListenHub: %v", err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// hubDial connects a client to h; it is closed when the test ends.
func hubDial(t *testing.T, h *Hub) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", h.Addr().String(), hubWait)
	if err != nil {
		t.Fatalf("dial hub: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// hubWaitFor polls cond until it holds, failing the test after hubWait.
func hubWaitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(hubWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v waiting for %s", hubWait, what)
		}
		time.Sleep(time.Millisecond)
	}
}

// hubWaitClients waits until exactly n clients are registered for broadcasts.
func hubWaitClients(t *testing.T, h *Hub, n uint64) {
	t.Helper()
	hubWaitFor(t, "clients to register", func() bool { return h.Stats().Clients == n })
}

// hubReadAll reads c until EOF, within hubWait.
func hubReadAll(t *testing.T, c net.Conn) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(hubWait))
	data, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read to EOF after %d bytes: %v", len(data), err)
	}
	return data
}

// hubReadN reads exactly n bytes from c, within hubWait.
func hubReadN(t *testing.T, c net.Conn, n int) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(hubWait))
	buf := make([]byte, n)
	if got, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("read %d bytes: got %d: %v", n, got, err)
	}
	return buf
}

// hubExpectClosed checks that the peer closed c: a read ends with EOF (or a reset) and no data.
func hubExpectClosed(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(hubWait))
	n, err := c.Read(make([]byte, 1))
	if n != 0 || err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read from a connection the hub should have closed: got %d bytes, %v; want EOF", n, err)
	}
}

// hubCountFDs counts this process's open file descriptors.
func hubCountFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count file descriptors: %v", err)
	}
	return len(ents)
}

// hubCheckGoroutines fails the test unless the goroutine count falls back to base within hubWait.
func hubCheckGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(hubWait)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			stacks := string(buf[:runtime.Stack(buf, true)])
			t.Fatalf("goroutines: got %d, want <= %d\n%s", runtime.NumGoroutine(), base,
				strings.TrimSpace(stacks))
		}
		time.Sleep(time.Millisecond)
	}
}
