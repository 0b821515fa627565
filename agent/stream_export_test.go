package agent

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// framePeer is a Unix stream receiver written with the standard library alone: it reads each
// payload after its 4-byte little-endian length, as the Datadog Agent's stream socket does.
type framePeer struct {
	l        *net.UnixListener
	mu       sync.Mutex
	payloads []string
	wg       sync.WaitGroup
	conns    []net.Conn
}

func startFramePeer(t *testing.T, path string, read bool) *framePeer {
	t.Helper()
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	p := &framePeer{l: l}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.conns = append(p.conns, c)
			p.mu.Unlock()
			if !read {
				continue // never read: the sender's socket buffer fills
			}
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				r := bufio.NewReader(c)
				var n [4]byte
				for {
					if _, err := io.ReadFull(r, n[:]); err != nil {
						return
					}
					b := make([]byte, binary.LittleEndian.Uint32(n[:]))
					if _, err := io.ReadFull(r, b); err != nil {
						return
					}
					p.mu.Lock()
					p.payloads = append(p.payloads, string(b))
					p.mu.Unlock()
				}
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *framePeer) lines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, pl := range p.payloads {
		out = append(out, strings.Split(pl, "\n")...)
	}
	return out
}

// TestUnixStreamFromEnv: DD_DOGSTATSD_URL=unixstream:// sends length-prefixed payloads to a
// stream socket.
func TestUnixStreamFromEnv(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dsd.stream")
	p := startFramePeer(t, path, true)
	r, err := New(Config{Interval: time.Hour, Histograms: HistogramConfig{Quantiles: []float64{}},
		env: fakeEnv("", "DD_DOGSTATSD_URL", "unixstream://"+path, "DD_ENV", "prod")})
	if err != nil {
		t.Fatal(err)
	}
	r.Count("us.hits", 3)
	r.Timing("us.lat", 2*time.Millisecond)
	r.Event(Event{Title: "e", Text: "t"})
	r.Close()
	waitUntil(t, "the payloads", func() bool { return len(p.lines()) == 3 })
	assertLines(t, sortedCopy(p.lines()), []string{"us.hits:3|c|#env:prod", "us.lat:2|ms|#env:prod", "_e{1,1}:e|t|#env:prod"})
	if st := r.Stats(); st.Statsd.Packets != 2 || st.Statsd.DroppedNoDest+st.Statsd.DroppedWouldBlock != 0 {
		t.Errorf("stats %+v: want 2 payloads (metrics, the event), no drop", st)
	}
}

// TestUnixStreamNeverBlocks: a stream receiver that stops reading costs a flush at most
// WriteTimeout, every payload it could not take is counted, and recording never waits.
func TestUnixStreamNeverBlocks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dsd.stream")
	startFramePeer(t, path, false)
	r, err := New(Config{Interval: time.Hour, MaxSeries: -1,
		Statsd: StatsdConfig{Address: "unixstream://" + path, WriteTimeout: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	done := make(chan struct{})
	var slowest time.Duration
	go func() {
		defer close(done)
		for i := 0; i < 200000; i++ {
			start := time.Now()
			r.Count("nb.series", 1, "i:"+itoa(i%50000))
			slowest = max(slowest, time.Since(start))
		}
	}()
	for range 3 {
		start := time.Now()
		r.Flush() // 50,000 series, several MiB: more than the socket buffer holds
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("a flush took %v with a 50ms WriteTimeout", d)
		}
	}
	<-done
	r.Flush()
	st := r.Stats()
	if st.Statsd.DroppedWouldBlock == 0 || st.Statsd.Packets == 0 {
		t.Errorf("stats %+v: want some payloads sent and the rest counted as would-block", st)
	}
	if slowest > time.Second {
		t.Errorf("a Count took %v while flushes waited on the socket", slowest)
	}
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	for i := 1; i < len(c); i++ {
		for j := i; j > 0 && c[j] < c[j-1]; j-- {
			c[j], c[j-1] = c[j-1], c[j]
		}
	}
	return c
}
