package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Fault tests: each injects one upstream or scheduling fault and checks that the recorder
// survived it (no panic, no deadlock, every call returns within a bound), counted it (the Stats
// field of its reason), and recovered (once the fault is gone, data flows again and arrives).

// faultOneLine is a MaxPacketSize that holds one line of 20 to 40 bytes but never two (two such
// lines and their '\n' need at least 41), so a flush sends exactly one datagram per line and the
// datagrams attempted are Stats.Lines: conservation can then be checked exactly. Every line these
// tests record is 20 to 40 bytes long.
const faultOneLine = 40

// faultBound bounds every call that must return promptly despite a fault: far above the
// WriteTimeouts used here, far below a hang.
const faultBound = 5 * time.Second

// faultLog records the messages of the recorder's logger, which reports an upstream that starts
// dropping and one that recovers, once per change.
type faultLog struct {
	mu   sync.Mutex
	msgs []string
}

func (l *faultLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *faultLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *faultLog) WithGroup(string) slog.Handler            { return l }
func (l *faultLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.msgs = append(l.msgs, r.Message)
	l.mu.Unlock()
	return nil
}

// events returns the upstream state changes logged so far: "dropping" or "recovered" each.
func (l *faultLog) events() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ev []string
	for _, m := range l.msgs {
		switch {
		case strings.Contains(m, "dropping"):
			ev = append(ev, "dropping")
		case strings.Contains(m, "recovered"):
			ev = append(ev, "recovered")
		}
	}
	return ev
}

// faultDrops is the sum of the datagram drop reasons.
func faultDrops(st Stats) uint64 {
	return st.Statsd.DroppedRefused + st.Statsd.DroppedWouldBlock + st.Statsd.DroppedNoDest + st.Statsd.DroppedOther
}

// faultFlush flushes r and fails the test if that took longer than faultBound.
func faultFlush(t *testing.T, r *Recorder) {
	t.Helper()
	start := time.Now()
	r.Flush()
	if d := time.Since(start); d > faultBound {
		t.Fatalf("Flush took %v, want under %v", d, faultBound)
	}
}

// faultRecv reads datagrams from c until n have arrived or none arrives for quiet, and returns
// their lines.
func faultRecv(t *testing.T, c net.PacketConn, n int, quiet time.Duration) []string {
	t.Helper()
	var lines []string
	buf := make([]byte, 65536)
	for got := 0; got < n; got++ {
		c.SetReadDeadline(time.Now().Add(quiet))
		m, _, err := c.ReadFrom(buf)
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("read: %v", err)
			}
			break
		}
		lines = append(lines, strings.Split(string(buf[:m]), "\n")...)
	}
	return lines
}

// faultDeadUDPPort returns a loopback UDP port that, for now, nobody listens on.
func faultDeadUDPPort(t *testing.T) int {
	t.Helper()
	probe, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	return probe.LocalAddr().(*net.UDPAddr).Port
}

// TestFaultUDPRefusedThenListening: the upstream UDP port has no listener (ECONNREFUSED comes
// back on later sends), then one starts on it.
func TestFaultUDPRefusedThenListening(t *testing.T) {
	port := faultDeadUDPPort(t)
	log := &faultLog{}
	r, err := New(Config{
		Interval: time.Hour,
		Statsd: StatsdConfig{
			Address:       "udp://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
			WriteTimeout:  100 * time.Millisecond,
			MaxPacketSize: faultOneLine,
		},
		Logger: slog.New(log),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	const flushes, series = 5, 20
	for range flushes {
		for i := range series {
			r.Count(fmt.Sprintf("fault.refused.%02d", i), 1)
		}
		faultFlush(t, r)
	}
	st := r.Stats()
	if got, want := st.Statsd.Lines, uint64(flushes*series); got != want {
		t.Fatalf("Lines: got %d, want %d (one datagram per line)", got, want)
	}
	// The kernel reports the ICMP port-unreachable of one datagram on a later send: that send
	// is retried, and the datagram is counted as refused only if the retry fails too. Either way
	// each datagram must be counted exactly once, and under no other reason.
	if got, want := st.Statsd.Packets+faultDrops(st), uint64(flushes*series); got != want {
		t.Errorf("Packets %d + drops %d = %d, want %d datagrams attempted", st.Statsd.Packets, faultDrops(st), got, want)
	}
	if other := faultDrops(st) - st.Statsd.DroppedRefused; other != 0 {
		t.Errorf("drops other than Refused: got %d, want 0 (%+v)", other, st)
	}
	t.Logf("no listener, %d datagrams: Packets %d, DroppedRefused %d, Syscalls %d; logged %q",
		flushes*series, st.Statsd.Packets, st.Statsd.DroppedRefused, st.Statsd.Syscalls, log.events())

	l, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		t.Skipf("port %d was taken meanwhile: %v", port, err)
	}
	defer l.Close()
	r.Count("fault.recovered", 42, "phase:up")
	faultFlush(t, r)
	assertLines(t, faultRecv(t, l, 1, faultBound), []string{"fault.recovered:42|c|#phase:up"})
	after := r.Stats()
	if got, want := after.Statsd.Packets-st.Statsd.Packets, uint64(1); got != want {
		t.Errorf("Packets after the listener started: got %d more, want %d", got, want)
	}
	if got := faultDrops(after) - faultDrops(st); got != 0 {
		t.Errorf("drops after the listener started: got %d more, want 0", got)
	}
}

// TestFaultUDPNoListenerIsReported: a UDP upstream with no listener loses every datagram sent
// to it, and the design says to "tolerate, count, go on". Some Stats counter or the logger must
// show it. The kernel reports the ICMP port-unreachable as ECONNREFUSED on a later send, which the
// Writer retries (that datagram usually gets through, to nobody), so DroppedRefused, counting only
// a datagram refused twice, stays near 0: the loss shows as Stats.UpstreamUnreachable and a
// "dropping" log line instead.
func TestFaultUDPNoListenerIsReported(t *testing.T) {
	port := faultDeadUDPPort(t)
	log := &faultLog{}
	r, err := New(Config{
		Interval: time.Hour,
		Statsd:   StatsdConfig{Address: "udp://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), WriteTimeout: 100 * time.Millisecond},
		Logger:   slog.New(log),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for f := range 5 {
		for i := range 20 {
			r.Count(fmt.Sprintf("fault.unheard.%02d", i), int64(f+1))
		}
		faultFlush(t, r)
	}
	st := r.Stats()
	if st.Statsd.Unreachable == 0 && st.Statsd.DroppedRefused == 0 {
		t.Errorf("5 flushes to a port with no listener: UpstreamUnreachable 0, DroppedRefused 0 (Packets %d, Syscalls %d)", st.Statsd.Packets, st.Statsd.Syscalls)
	}
	if !slices.Contains(log.events(), "dropping") {
		t.Errorf("upstream with no listener never logged as dropping: %q", log.events())
	}
}

// TestFaultUnixgramMissingThenSlow: a unix datagram upstream whose socket file does not exist
// yet, then exists, then whose receiver stops reading (its queue holds net.unix.max_dgram_qlen
// datagrams, 10 by default), then drains.
func TestFaultUnixgramMissingThenSlow(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("a stalled unixgram receiver blocks its senders as tested here only on Linux")
	}
	path := filepath.Join(t.TempDir(), "up.sock")
	log := &faultLog{}
	r, err := New(Config{
		Interval: time.Hour,
		Statsd: StatsdConfig{
			Address:       "unixgram://" + path,
			WriteTimeout:  50 * time.Millisecond,
			MaxPacketSize: faultOneLine,
		},
		Logger: slog.New(log),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c := r.Counter("fault.unix.counter")

	// Missing path: counted as no destination.
	c.Inc()
	faultFlush(t, r)
	if st := r.Stats(); st.Statsd.DroppedNoDest != 1 || st.Statsd.Packets != 0 {
		t.Fatalf("missing socket: got DroppedNoDest %d, Packets %d; want 1, 0", st.Statsd.DroppedNoDest, st.Statsd.Packets)
	}

	// The server starts. Dials are paced, so a few flushes may still find no destination; each
	// carries one increment, so what arrives plus what was dropped is every flush.
	l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	attempts := 1
	for deadline := time.Now().Add(3 * time.Second); r.Stats().Statsd.Packets == 0; attempts++ {
		if time.Now().After(deadline) {
			t.Fatalf("nothing sent within 3s of the socket appearing: %+v", r.Stats())
		}
		time.Sleep(20 * time.Millisecond)
		c.Inc()
		faultFlush(t, r)
	}
	assertLines(t, faultRecv(t, l, 1, faultBound), []string{"fault.unix.counter:1|c"})
	if st := r.Stats(); st.Statsd.Packets != 1 || st.Statsd.DroppedNoDest != uint64(attempts-1) || faultDrops(st) != st.Statsd.DroppedNoDest {
		t.Errorf("after the socket appeared: got %+v; want Packets 1 and %d drops, all DroppedNoDest", st, attempts-1)
	}

	// The receiver stops reading; the flush needs far more datagrams than its queue holds.
	many := 40
	if b, err := os.ReadFile("/proc/sys/net/unix/max_dgram_qlen"); err == nil {
		if qlen, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && qlen > 10 {
			many = min(2*qlen+20, 9999) // 4 digits in the names below
		}
	}
	want := make([]string, many)
	for i := range many {
		r.Count(fmt.Sprintf("fault.unix.slow.%04d", i), int64(i+1))
		want[i] = fmt.Sprintf("fault.unix.slow.%04d:%d|c", i, i+1)
	}
	before := r.Stats()
	start := time.Now()
	r.Flush()
	if d := time.Since(start); d > time.Second {
		t.Errorf("a flush to a stalled receiver took %v, want under 1s (WriteTimeout 50ms)", d)
	}
	after := r.Stats()
	sent, blocked := after.Statsd.Packets-before.Statsd.Packets, after.Statsd.DroppedWouldBlock-before.Statsd.DroppedWouldBlock
	if blocked == 0 || sent == 0 {
		t.Errorf("stalled receiver: got %d sent, %d DroppedWouldBlock; want both > 0", sent, blocked)
	}
	if got := sent + faultDrops(after) - faultDrops(before); got != uint64(many) || blocked != faultDrops(after)-faultDrops(before) {
		t.Errorf("stalled receiver: got %d sent + %d dropped (%d would block), want %d in all, every drop would block",
			sent, faultDrops(after)-faultDrops(before), blocked, many)
	}
	t.Logf("stalled receiver, %d datagrams: %d queued, %d DroppedWouldBlock, flush %v", many, sent, blocked, after.Statsd.FlushDuration)

	// It drains: exactly the datagrams counted as sent were queued, and new data arrives.
	got := faultRecv(t, l, many, 200*time.Millisecond)
	if uint64(len(got)) != sent {
		t.Errorf("drained %d datagrams, want the %d counted as sent", len(got), sent)
	}
	for _, line := range got {
		if !slices.Contains(want, line) {
			t.Errorf("drained %q, not a line of that flush", line)
		}
	}
	r.Count("fault.unix.after", 7)
	faultFlush(t, r)
	assertLines(t, faultRecv(t, l, 1, faultBound), []string{"fault.unix.after:7|c"})
	if st := r.Stats(); st.Statsd.Packets != after.Statsd.Packets+1 || faultDrops(st) != faultDrops(after) {
		t.Errorf("after draining: got Packets %d, drops %d; want %d, %d", st.Statsd.Packets, faultDrops(st), after.Statsd.Packets+1, faultDrops(after))
	}
	if got, want := log.events(), []string{"dropping", "recovered", "dropping", "recovered"}; !slices.Equal(got, want) {
		t.Errorf("logged upstream changes: got %q, want %q", got, want)
	}
}

// faultSlowWriter is a Statsd.Writer that takes delay per Write, like a console on a slow pipe.
// It records how many Writes ran at once.
type faultSlowWriter struct {
	delay    time.Duration
	inFlight atomic.Int64
	mu       sync.Mutex
	lines    []string
	writes   int
	overlap  int64 // most Writes in flight at once
}

func (w *faultSlowWriter) Write(p []byte) (int, error) {
	n := w.inFlight.Add(1)
	defer w.inFlight.Add(-1)
	time.Sleep(w.delay)
	w.mu.Lock()
	w.lines = append(w.lines, strings.Split(string(bytes.TrimSuffix(p, []byte("\n"))), "\n")...)
	w.writes++
	w.overlap = max(w.overlap, n)
	w.mu.Unlock()
	return len(p), nil
}

func (w *faultSlowWriter) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	lines := w.lines
	w.lines = nil
	return lines
}

// TestFaultFlushSlowerThanInterval: every flush takes 30 ms and the interval is 5 ms. Flushes
// must not pile up (no goroutine per tick, no backlog of ticks) and no increment may be lost.
func TestFaultFlushSlowerThanInterval(t *testing.T) {
	const (
		delay    = 30 * time.Millisecond
		interval = 5 * time.Millisecond
		workers  = 8
		run      = 300 * time.Millisecond
	)
	w := &faultSlowWriter{delay: delay}
	base := runtime.NumGoroutine()
	r, err := New(Config{Interval: interval, Statsd: StatsdConfig{Writer: w}})
	if err != nil {
		t.Fatal(err)
	}
	handle := r.Counter("fault.pileup.handle")
	var total atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			tag := "worker:" + strconv.Itoa(g%2)
			var n int64
			defer func() { total.Add(n) }()
			for i := 0; i < 1<<30; i++ {
				if i%64 == 0 {
					select {
					case <-stop:
						return
					default:
					}
				}
				handle.Inc()
				r.Count("fault.pileup.byname", 1, tag)
				n += 2
			}
		})
	}
	maxG := 0
	start := time.Now()
	for time.Since(start) < run {
		maxG = max(maxG, runtime.NumGoroutine())
		time.Sleep(2 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	closeStart := time.Now()
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	elapsed := time.Since(start)
	if d := time.Since(closeStart); d > faultBound {
		t.Errorf("Close took %v, want under %v", d, faultBound)
	}

	// The recorder owns one flush goroutine; everything else here is the workers and this test.
	if limit := base + workers + 1 + 2; maxG > limit {
		t.Errorf("goroutines peaked at %d, want at most %d (base %d + %d workers + the flusher + 2)", maxG, limit, base, workers)
	}
	// Each flush with data makes one Write (a few series fit one payload). Flushes are
	// serialized, so Writes never overlap and at most elapsed/delay of them fit; an interval flush
	// must have written before Close's.
	w.mu.Lock()
	writes, overlap := w.writes, w.overlap
	w.mu.Unlock()
	if most := int(elapsed / delay); overlap != 1 || writes > most || writes < 2 {
		t.Errorf("Writes: got %d in %v, at most %d at once; want 2 to %d, one at a time (each takes %v)",
			writes, elapsed, overlap, most, delay)
	}
	st := r.Stats()
	lines := w.take()
	got := sumCounter(t, lines, "fault.pileup.handle:") + sumCounter(t, lines, "fault.pileup.byname:")
	if want := total.Load(); got != want || want == 0 {
		t.Errorf("counter values written: got %d, want %d increments (> 0)", got, want)
	}
	t.Logf("%d increments in %d flushes (%d with data) over %v; goroutines base %d, peak %d",
		total.Load(), st.Statsd.Flushes, writes, elapsed, base, maxG)
}

// faultGateWriter is a Statsd.Writer whose first Write blocks until release is closed.
type faultGateWriter struct {
	entered, release chan struct{}
	once             sync.Once
	mu               sync.Mutex
	lines            []string
}

func (w *faultGateWriter) Write(p []byte) (int, error) {
	w.once.Do(func() {
		close(w.entered)
		<-w.release
	})
	w.mu.Lock()
	w.lines = append(w.lines, strings.Split(string(bytes.TrimSuffix(p, []byte("\n"))), "\n")...)
	w.mu.Unlock()
	return len(p), nil
}

func (w *faultGateWriter) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	lines := slices.Clone(w.lines)
	slices.Sort(lines)
	w.lines = nil
	return lines
}

// TestFaultCloseDuringFlush: Close is called while a flush is stuck in its Writer, from an
// explicit Flush or from the interval. Close must wait for it, then flush what came after, so
// every value is written exactly once; a second Close does nothing.
func TestFaultCloseDuringFlush(t *testing.T) {
	tests := []struct {
		name     string
		interval time.Duration
		byHand   bool // the stuck flush is an explicit Flush, not the interval's
	}{
		{"explicit flush", time.Hour, true},
		{"interval flush", 5 * time.Millisecond, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &faultGateWriter{entered: make(chan struct{}), release: make(chan struct{})}
			released := false
			defer func() {
				if !released {
					close(w.release) // unblock the flusher if the test failed early
				}
			}()
			r, err := New(Config{Interval: tt.interval, Statsd: StatsdConfig{Writer: w}})
			if err != nil {
				t.Fatal(err)
			}
			c := r.Counter("fault.close.hits")
			c.Add(10)
			flushed := make(chan struct{})
			if tt.byHand {
				go func() {
					defer close(flushed)
					r.Flush()
				}()
			} else {
				close(flushed)
			}
			select {
			case <-w.entered:
			case <-time.After(faultBound):
				t.Fatal("no flush reached the Writer")
			}
			c.Add(5) // after the stuck flush's snapshot: only a later flush can send it

			closed := make(chan error, 1)
			go func() { closed <- r.Close() }()
			time.Sleep(50 * time.Millisecond)
			early := false
			select {
			case err := <-closed:
				early = true
				t.Errorf("Close returned (%v) while a flush was stuck: it cannot have sent the last values", err)
			default:
			}
			close(w.release)
			released = true
			if !early {
				select {
				case err := <-closed:
					if err != nil {
						t.Errorf("Close: %v", err)
					}
				case <-time.After(faultBound):
					t.Fatalf("Close did not return within %v of the Writer being released: deadlock", faultBound)
				}
			}
			select {
			case <-flushed:
			case <-time.After(faultBound):
				t.Fatal("the stuck Flush never returned")
			}
			assertLines(t, w.take(), []string{"fault.close.hits:10|c", "fault.close.hits:5|c"})

			// A no-op is told by what it does, not by how fast a loaded machine runs it: no flush.
			flushes := r.Stats().Statsd.Flushes
			start := time.Now()
			if err := r.Close(); err != nil {
				t.Errorf("second Close: got %v, want nil", err)
			}
			if d := time.Since(start); d > faultBound {
				t.Errorf("second Close took %v, want a no-op", d)
			}
			if got := r.Stats().Statsd.Flushes; got != flushes {
				t.Errorf("second Close: Flushes went from %d to %d, want a no-op", flushes, got)
			}
			c.Add(1) // after Close: harmless, never exported
			r.Count("fault.close.late", 1)
			if got := w.take(); len(got) != 0 {
				t.Errorf("written after Close: %q, want nothing", got)
			}
		})
	}
}
