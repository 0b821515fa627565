package agent

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// counterTotal sums the values of one counter's lines.
func sumCounterLines(t *testing.T, lines []string, name string) int {
	t.Helper()
	total := 0
	for _, l := range lines {
		v, ok := strings.CutPrefix(l, name+":")
		if !ok {
			continue
		}
		v, _, _ = strings.Cut(v, "|")
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		total += n
	}
	return total
}

// TestIntakeTakeover replaces a running intake and its recorder with new ones, on the same UDP
// port and unix socket, while datagrams flow: what the first recorder received and what the
// second received add up to what was sent, and the unix socket file is the same one.
func TestIntakeTakeover(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "dsd.sock")
	a, sa := newTestRecorder(t, Config{})
	inA, err := a.Listen(IntakeConfig{Listen: []string{"udp://127.0.0.1:0", "unixgram://" + sock}, Readers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer inA.Close()
	udp := strings.TrimPrefix(inA.Addrs()[0], "udp://")
	before, err := os.Lstat(sock)
	if err != nil {
		t.Fatal(err)
	}

	const senders, each = 16, 200
	var wg sync.WaitGroup
	started := make(chan struct{}, senders+1)
	for i := range senders + 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			network, addr := "udp", udp
			if i == senders {
				network, addr = "unixgram", sock
			}
			c, err := net.Dial(network, addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			for j := range each {
				if j == each/4 {
					started <- struct{}{}
				}
				if _, err := c.Write([]byte("t:1|c")); err != nil {
					t.Errorf("%s write %d: %v", network, j, err)
					return
				}
				time.Sleep(100 * time.Microsecond)
			}
		}()
	}
	for range senders + 1 {
		<-started
	}
	b, sb := newTestRecorder(t, Config{})
	inB, err := b.Listen(IntakeConfig{Listen: []string{"udp://127.0.0.1:0", "unixgram://" + sock}, Readers: 1, Takeover: inA})
	if err != nil {
		t.Fatal(err)
	}
	defer inB.Close()
	if got := strings.TrimPrefix(inB.Addrs()[0], "udp://"); got != udp {
		t.Errorf("the new intake listens on %s, want the port taken over, %s", got, udp)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	const sent = (senders + 1) * each
	deadline := time.Now().Add(10 * time.Second)
	for {
		stA, stB := inA.Stats(), inB.Stats()
		if n := stA.Datagrams + stB.Datagrams + stA.KernelDrops + stB.KernelDrops; n == sent {
			t.Logf("sent %d: first intake %d (drained %d), second %d, kernel drops %d", sent, stA.Datagrams, inA.Stats().Drained, stB.Datagrams, stA.KernelDrops+stB.KernelDrops)
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("received + dropped %d, want %d sent", n, sent)
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.Flush()
	dropped := int(inA.Stats().KernelDrops + inB.Stats().KernelDrops)
	if got := sumCounterLines(t, sa.take(), "t") + sumCounterLines(t, sb.take(), "t"); got != sent-dropped {
		t.Errorf("flushed by both recorders: %d, want %d sent - %d dropped", got, sent, dropped)
	}
	after, err := os.Lstat(sock)
	if err != nil || !os.SameFile(before, after) {
		t.Errorf("unix socket file after the takeover: %v, want the same file", err)
	}
}

// TestIntakeTakeoverFails: a new intake that cannot bind one of its addresses leaves the running
// one as it was.
func TestIntakeTakeoverFails(t *testing.T) {
	a, sa := newTestRecorder(t, Config{})
	inA, err := a.Listen(IntakeConfig{Listen: []string{"udp://127.0.0.1:0"}, Readers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer inA.Close()
	taken, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	b, _ := newTestRecorder(t, Config{})
	if in, err := b.Listen(IntakeConfig{Listen: []string{"udp://127.0.0.1:0", "udp://" + taken.LocalAddr().String()}, Takeover: inA}); err == nil {
		in.Close()
		t.Fatal("Listen on a port in use succeeded")
	}
	c, err := net.Dial("udp", strings.TrimPrefix(inA.Addrs()[0], "udp://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 10 {
		c.Write([]byte("t:1|c"))
	}
	deadline := time.Now().Add(5 * time.Second)
	for inA.Stats().Datagrams < 10 {
		if time.Now().After(deadline) {
			t.Fatalf("the running intake received %d of 10 after the failed takeover", inA.Stats().Datagrams)
		}
		time.Sleep(10 * time.Millisecond)
	}
	a.Flush()
	if got := sumCounterLines(t, sa.take(), "t"); got != 10 {
		t.Errorf("flushed %d, want 10", got)
	}
}
