package agent

import (
	"encoding/binary"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func streamFrame(p string) []byte {
	return append(binary.LittleEndian.AppendUint32(nil, uint32(len(p))), p...)
}

// TestIntakeUnixStream: a "unixstream://" intake reads length-prefixed payloads, from any number
// of connections, as datagrams.
func TestIntakeUnixStream(t *testing.T) {
	r, s := newTestRecorder(t, Config{})
	dir := t.TempDir()
	path := filepath.Join(dir, "dsd.stream")
	in, err := r.Listen(IntakeConfig{Listen: []string{"unixstream://" + path}, SocketMode: 0o600})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if got := in.Addrs(); len(got) != 1 || got[0] != "unixstream://"+path {
		t.Errorf("Addrs %q, want [unixstream://%s]", got, path)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket file mode %v (%v), want 0600", fi.Mode(), err)
	}
	for i := range 3 {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		// As datadog-go writes: the prefix, then the payload; and two payloads in one write.
		c.Write(streamFrame("hits:1|c|#conn:x")[:4])
		c.Write([]byte("hits:1|c|#conn:x"))
		c.Write(append(streamFrame("hits:2|c|#conn:x\ng:"+string(rune('1'+i))+"|g"), streamFrame("_sc|up|0")...))
		c.Close()
	}
	waitUntil(t, "9 frames", func() bool { return in.Stats().Datagrams == 9 })
	r.Flush()
	lines := s.take()
	if !strings.Contains(strings.Join(lines, "\n"), "hits:9|c|#conn:x") {
		t.Errorf("lines %q, want hits:9|c|#conn:x", lines)
	}
	if st := in.Stats(); st.Lines != 12 || st.Forwarded != 3 || st.ParseErrors != 0 {
		t.Errorf("intake %+v: want 12 lines, 3 forwarded", st)
	}
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("socket file after Close: %v, want removed", err)
	}
}

// TestIntakeUnixStreamEndToEnd: a recorder whose address is unixstream:// feeds an intake that
// listens there, and every count arrives.
func TestIntakeUnixStreamEndToEnd(t *testing.T) {
	up, s := newTestRecorder(t, Config{})
	path := filepath.Join(t.TempDir(), "dsd.stream")
	in, err := up.Listen(IntakeConfig{Listen: []string{"unixstream://" + path}})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	r, err := New(Config{Interval: time.Hour, Statsd: StatsdConfig{Address: "unixstream://" + path}})
	if err != nil {
		t.Fatal(err)
	}
	const series = 2000 // several payloads of 8192 bytes
	for i := range series {
		r.Count("e2e.count", int64(i%7+1), "i:"+itoa(i))
	}
	r.Close()
	st := r.Stats()
	if st.Statsd.Packets < 2 || st.Statsd.DroppedNoDest+st.Statsd.DroppedWouldBlock+st.Statsd.DroppedOther != 0 {
		t.Fatalf("sender %+v: want several payloads and no drop", st)
	}
	waitUntil(t, "every payload", func() bool { return in.Stats().Datagrams == st.Statsd.Packets })
	up.Flush()
	var sum int
	for _, l := range s.take() {
		v, _, _ := strings.Cut(strings.TrimPrefix(l, "e2e.count:"), "|")
		n := 0
		for _, c := range v {
			n = n*10 + int(c-'0')
		}
		sum += n
	}
	want := 0
	for i := range series {
		want += i%7 + 1
	}
	if sum != want {
		t.Errorf("received a total of %d, want %d", sum, want)
	}
}

func TestIntakeUnixStreamMaxConns(t *testing.T) {
	r, _ := newTestRecorder(t, Config{})
	path := filepath.Join(t.TempDir(), "s")
	in, err := r.Listen(IntakeConfig{Listen: []string{"unixstream://" + path}, MaxStreamConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	c1, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	waitUntil(t, "the first connection", func() bool { return in.Stats().StreamConns == 1 })
	c2, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c2.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("second connection: %v, want EOF", err)
	}
	if st := in.Stats(); st.StreamRejected != 1 {
		t.Errorf("StreamRejected %d, want 1", st.StreamRejected)
	}
}

// TestIntakeUnixDatagramForms: "unix://" listens on a datagram socket, as datadog-go sends to
// one, and SocketMode applies to it.
func TestIntakeUnixDatagramForms(t *testing.T) {
	r, s := newTestRecorder(t, Config{})
	path := filepath.Join(t.TempDir(), "dsd.socket")
	in, err := r.Listen(IntakeConfig{Listen: []string{"unix://" + path}, Readers: 1, SocketMode: 0o620})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o620 {
		t.Errorf("socket file mode %v (%v), want 0620", fi.Mode(), err)
	}
	c, err := net.Dial("unixgram", path)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("dg:4|c"))
	c.Close()
	waitUntil(t, "the datagram", func() bool { return in.Stats().Datagrams == 1 })
	r.Flush()
	assertLines(t, s.take(), []string{"dg:4|c"})
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}
