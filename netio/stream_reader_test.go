package netio

import (
	"bytes"
	"encoding/binary"
	"io"
	"io/fs"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// frameCollector is a Handler that keeps copies of what it is given, by reader index, and
// records whether two connections ever shared an index at once.
type frameCollector struct {
	mu     sync.Mutex
	frames map[int][][]byte
	busy   map[int]bool
	shared bool
}

func newFrameCollector() *frameCollector {
	return &frameCollector{frames: map[int][][]byte{}, busy: map[int]bool{}}
}

func (fc *frameCollector) handle(i int, frames [][]byte) {
	fc.mu.Lock()
	if fc.busy[i] {
		fc.shared = true
	}
	fc.busy[i] = true
	for _, f := range frames {
		fc.frames[i] = append(fc.frames[i], bytes.Clone(f))
	}
	fc.busy[i] = false
	fc.mu.Unlock()
}

func (fc *frameCollector) all() [][]byte {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	var out [][]byte
	for _, fs := range fc.frames {
		out = append(out, fs...)
	}
	return out
}

func (fc *frameCollector) count() int { return len(fc.all()) }

func listenStream(t *testing.T, cfg StreamConfig, h Handler) (*StreamReader, string) {
	t.Helper()
	path := sockPath(t)
	s, err := ListenStream(Addr{Network: "unixstream", Address: path}, cfg, h)
	if err != nil {
		t.Fatalf("ListenStream: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func dialStream(t *testing.T, path string) net.Conn {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func frame(p string) []byte {
	return append(binary.LittleEndian.AppendUint32(nil, uint32(len(p))), p...)
}

func TestStreamReaderFrames(t *testing.T) {
	fc := newFrameCollector()
	s, path := listenStream(t, StreamConfig{BatchSize: 2}, fc.handle)

	// datadog-go writes the prefix and the payload with two writes.
	c1 := dialStream(t, path)
	for _, p := range []string{"a:1|c", "b:2|c\nc:3|g"} {
		c1.Write(frame(p)[:FrameHeader])
		c1.Write([]byte(p))
	}
	// Several frames in one write, one of them empty (skipped), and a frame trickled byte by byte.
	c2 := dialStream(t, path)
	c2.Write(append(append(frame("d:4|c"), frame("")...), frame("e:5|c")...))
	for _, b := range frame("f:6|ms") {
		c2.Write([]byte{b})
		time.Sleep(time.Millisecond)
	}
	want := []string{"a:1|c", "b:2|c\nc:3|g", "d:4|c", "e:5|c", "f:6|ms"}
	if !waitFor(5*time.Second, func() bool { return fc.count() == len(want) }) {
		t.Fatalf("got %d frames, want %d", fc.count(), len(want))
	}
	var got []string
	for _, f := range fc.all() {
		got = append(got, string(f))
	}
	for _, w := range want {
		if !strings.Contains(strings.Join(got, "\x00")+"\x00", w+"\x00") {
			t.Errorf("frame %q missing from %q", w, got)
		}
	}
	if fc.shared {
		t.Error("two connections used one reader index at once")
	}
	st := s.Stats()
	if st.Conns != 2 || st.Accepted != 2 || st.Frames != 5 || st.Bytes != uint64(len(strings.Join(want, ""))) {
		t.Errorf("got %+v; want 2 connections, 5 frames, %d bytes", st, len(strings.Join(want, "")))
	}
}

// TestStreamReaderMaxConns: past MaxConns a connection is closed at once and counted; a slot
// freed by a connection that ends serves the next one.
func TestStreamReaderMaxConns(t *testing.T) {
	fc := newFrameCollector()
	s, path := listenStream(t, StreamConfig{MaxConns: 2}, fc.handle)
	c1 := dialStream(t, path)
	c2 := dialStream(t, path)
	c1.Write(frame("x:1|c"))
	c2.Write(frame("x:1|c"))
	waitFor(5*time.Second, func() bool { return fc.count() == 2 })
	c3 := dialStream(t, path)
	c3.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c3.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("third connection read: %v, want EOF (closed by the reader)", err)
	}
	if st := s.Stats(); st.Rejected != 1 || st.Conns != 2 {
		t.Errorf("got %+v, want Rejected 1, Conns 2", st)
	}
	c1.Close()
	waitFor(5*time.Second, func() bool { return s.Stats().Conns == 1 })
	c4 := dialStream(t, path)
	c4.Write(frame("y:1|c"))
	if !waitFor(5*time.Second, func() bool { return fc.count() == 3 }) {
		t.Fatalf("a connection after a freed slot was not served: %+v", s.Stats())
	}
}

// TestStreamReaderLimits: a frame past MaxFrame is skipped unbuffered and the frames after it
// are read; a frame of exactly MaxFrame grows the buffer to it; a connection that ends inside a
// frame is counted.
func TestStreamReaderLimits(t *testing.T) {
	fc := newFrameCollector()
	const max = 40 << 10 // past the initial 16 KiB buffer
	s, path := listenStream(t, StreamConfig{MaxFrame: max}, fc.handle)
	c := dialStream(t, path)
	big := strings.Repeat("z", max+1)
	exact := strings.Repeat("y", max)
	c.Write(frame(big))
	c.Write(frame("after:1|c"))
	c.Write(frame(exact))
	if !waitFor(5*time.Second, func() bool { return fc.count() == 2 }) {
		t.Fatalf("got %d frames, want 2: %+v", fc.count(), s.Stats())
	}
	got := fc.all()
	if string(got[0]) != "after:1|c" || string(got[1]) != exact {
		t.Errorf("got frames of %d and %d bytes, want the one after the skipped frame and the %d-byte one", len(got[0]), len(got[1]), max)
	}
	c.Write(frame("cut short")[:7])
	c.Close()
	if !waitFor(5*time.Second, func() bool { return s.Stats().Cut == 1 }) {
		t.Errorf("got %+v, want Truncated 1 and Cut 1", s.Stats())
	}
	if st := s.Stats(); st.Truncated != 1 || st.Frames != 2 || st.Errors != 0 {
		t.Errorf("got %+v, want Truncated 1, Frames 2, Errors 0", st)
	}
}

// TestStreamReaderWriter: the Writer's unixstream frames are what the StreamReader reads.
func TestStreamReaderWriter(t *testing.T) {
	fc := newFrameCollector()
	s, path := listenStream(t, StreamConfig{}, fc.handle)
	w := newStreamWriter(t, path, WriterConfig{})
	want := payloads(500, 1000)
	if got := w.Write(want); got != len(want) {
		t.Fatalf("Write sent %d, want %d", got, len(want))
	}
	if !waitFor(5*time.Second, func() bool { return fc.count() == len(want) }) {
		t.Fatalf("reader got %d frames, want %d", fc.count(), len(want))
	}
	equalDatagrams(t, fc.all(), want) // one connection: one index, in order
	if st := s.Stats(); st.Frames != w.Stats().Datagrams || st.Bytes != w.Stats().Bytes {
		t.Errorf("reader %+v, writer %+v: frames and bytes differ", st, w.Stats())
	}
}

func TestStreamReaderSocketFile(t *testing.T) {
	dir := t.TempDir()
	h := func(int, [][]byte) {}
	path := dir + "/s.sock"
	a := Addr{Network: "unixstream", Address: path}

	s, err := ListenStream(a, StreamConfig{SocketMode: 0o600}, h)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 || fi.Mode()&fs.ModeSocket == 0 {
		t.Errorf("socket file %v, %v; want a socket with mode 0600", fi.Mode(), err)
	}
	// A live socket is not taken over.
	if _, err := ListenStream(a, StreamConfig{}, h); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second ListenStream on a live socket: %v, want an \"in use\" error", err)
	}
	c := dialStream(t, path)
	done := make(chan error)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return with a connection open")
	}
	c.Close()
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("socket file after Close: %v, want it removed", err)
	}

	// A stale socket (its listener died without removing it) is replaced.
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	s, err = ListenStream(a, StreamConfig{}, h)
	if err != nil {
		t.Fatalf("ListenStream over a stale socket: %v", err)
	}
	s.Close()

	// Anything that is not a socket is left alone.
	os.WriteFile(path, []byte("data"), 0o600)
	if _, err := ListenStream(a, StreamConfig{}, h); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("ListenStream over a regular file: %v, want a \"not a socket\" error", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "data" {
		t.Error("the regular file was changed")
	}

	if _, err := ListenStream(Addr{Network: "unixgram", Address: path}, StreamConfig{}, h); err == nil {
		t.Error("ListenStream accepted a unixgram address")
	}
}

func TestStreamReaderPanic(t *testing.T) {
	var mu sync.Mutex
	var n int
	s, path := listenStream(t, StreamConfig{}, func(_ int, frames [][]byte) {
		mu.Lock()
		n += len(frames)
		mu.Unlock()
		if string(frames[0]) == "boom" {
			panic("handler bug")
		}
	})
	c := dialStream(t, path)
	c.Write(frame("boom"))
	time.Sleep(20 * time.Millisecond) // a batch of its own
	c.Write(frame("ok"))
	if !waitFor(5*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return n == 2 }) {
		t.Fatalf("the connection stopped after a handler panic: %+v", s.Stats())
	}
	if st := s.Stats(); st.Panics != 1 {
		t.Errorf("Panics %d, want 1", st.Panics)
	}
}
