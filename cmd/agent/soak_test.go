package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/statshard/statshard/internal/peertest"
)

// TestSoak runs the agent for a while at a fixed moderate rate with a real upstream and 8 stream
// clients: totals are exact (nothing dropped at this rate), and RSS and the goroutine count stay
// flat. STATSHARD_SOAK_SECONDS sets the duration (default 20, CI-friendly; at most 60 unless -short
// is off and you mean it).
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test skipped in -short mode")
	}
	seconds := 20
	if v, err := strconv.Atoi(os.Getenv("STATSHARD_SOAK_SECONDS")); err == nil && v > 0 {
		seconds = v
	}
	up := peertest.Start(t, peertest.Options{})
	// A stream buffer of 8192 events rides out the scheduling stalls of a busy 2-core CI machine
	// (the default 1024 is 50 ms of this load).
	a := startAgent(t, "udp://"+up.UDPAddr, "-interval", "1s", "-tcp-buffer", "8192")

	const clients = 8
	var got [clients]atomic.Int64
	var wg sync.WaitGroup
	var conns []net.Conn
	for i := 0; i < clients; i++ {
		c, err := net.Dial("tcp", a.tcp)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			br := bufio.NewReaderSize(c, 64<<10)
			for {
				n, err := binary.ReadUvarint(br)
				if err != nil {
					return
				}
				if _, err := br.Discard(int(n)); err != nil {
					return
				}
				got[i].Add(1)
			}
		}(i)
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
		wg.Wait()
	}()
	waitMetric(t, a, "statshard_tcp_clients", clients)

	c, err := net.Dial("udp", a.udp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const perDatagram, rate = 10, 1000 // 10,000 lines/s
	dgram := []byte(strings.TrimSuffix(strings.Repeat("soak.events:1|c|#k:v\n", perDatagram), "\n"))
	start := time.Now()
	end := start.Add(time.Duration(seconds) * time.Second)
	var sent int
	var rss, goroutines []float64
	nextSample := start.Add(2 * time.Second)
	for time.Now().Before(end) {
		c.Write(dgram)
		sent++
		if due := start.Add(time.Duration(sent) * time.Second / rate); time.Until(due) > 0 {
			time.Sleep(time.Until(due))
		}
		if time.Now().After(nextSample) {
			rss = append(rss, vmRSS(t, a.cmd.Process.Pid))
			goroutines = append(goroutines, metricValue(t, a, "statshard_goroutines"))
			nextSample = nextSample.Add(2 * time.Second)
		}
	}
	lines := float64(sent * perDatagram)
	up.WaitFor(t, 10*time.Second, func(m peertest.Metrics) bool {
		v, _ := m.Get("soak_events", "k", "v")
		return v == lines
	})
	deadline := time.Now().Add(5 * time.Second)
	for i := range got {
		for float64(got[i].Load()) < lines && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if float64(got[i].Load()) != lines {
			t.Errorf("stream client %d got %d events, want %v", i, got[i].Load(), lines)
		}
	}
	m := httpGet(t, "http://"+a.http+"/metrics")
	for _, l := range strings.Split(m, "\n") {
		if strings.HasPrefix(l, "statshard_dropped_total{") && !strings.HasSuffix(l, " 0") {
			t.Errorf("dropped at a moderate rate: %s", l)
		}
	}
	t.Logf("%d s, %v lines; RSS KiB %v; goroutines %v", seconds, lines, rss, goroutines)
	// Flat: over the second half of the run (the first fills the Go heap, reader buffers and
	// stream queues to their working size), RSS grows by at most 10 % + 2 MiB and goroutines not at all.
	if n := len(rss); n >= 4 {
		mid, last := rss[n/2], rss[n-1]
		if last > mid*1.1+2048 {
			t.Errorf("RSS grew from %v to %v KiB over the second half", mid, last)
		}
		if goroutines[n-1] > goroutines[n/2] {
			t.Errorf("goroutines grew from %v to %v", goroutines[n/2], goroutines[n-1])
		}
	}
}

func vmRSS(t *testing.T, pid int) float64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skip("no /proc")
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			v, _ := strconv.ParseFloat(strings.Fields(l)[1], 64)
			return v
		}
	}
	return 0
}

func metricValue(t *testing.T, a *runningAgent, name string) float64 {
	t.Helper()
	for _, l := range strings.Split(httpGet(t, "http://"+a.http+"/metrics"), "\n") {
		if strings.HasPrefix(l, name+" ") {
			v, _ := strconv.ParseFloat(strings.Fields(l)[1], 64)
			return v
		}
	}
	t.Fatalf("no %s in /metrics", name)
	return 0
}

func waitMetric(t *testing.T, a *runningAgent, name string, want float64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for metricValue(t, a, name) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s never reached %v", name, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
