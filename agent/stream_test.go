package agent

import (
	"bufio"
	"fmt"
	"math"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protodelim"

	"github.com/statshard/statshard/proto/eventpb"
	"github.com/statshard/statshard/shard"
)

func newStreamRecorder(t *testing.T, tcp TCPConfig) *Recorder {
	t.Helper()
	tcp.Enabled = true
	if tcp.Address == "" {
		tcp.Address = "127.0.0.1:0"
	}
	r, err := New(Config{Interval: time.Hour, Statsd: StatsdConfig{Address: "off"}, TCP: tcp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// streamClient is a real client: a TCP connection read with protodelim into the generated types.
type streamClient struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
}

func dialStream(t *testing.T, r *Recorder, dialer *net.Dialer) *streamClient {
	t.Helper()
	before := r.Stats().TCP.Accepted
	if dialer == nil {
		dialer = &net.Dialer{}
	}
	c, err := dialer.Dial("tcp", r.TCPAddr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	waitFor(t, "client registered", func() bool { return r.Stats().TCP.Accepted > before })
	return &streamClient{t: t, conn: c, br: bufio.NewReader(c)}
}

func (c *streamClient) next() *eventpb.Event {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var ev eventpb.Event
	if err := protodelim.UnmarshalFrom(c.br, &ev); err != nil {
		c.t.Fatalf("reading event: %v", err)
	}
	return &ev
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func describeMetric(ev *eventpb.Event) string {
	if md := ev.GetMetadata(); md != nil {
		return fmt.Sprintf("meta %s %v unit=%q desc=%q", md.GetName(), md.GetMetricType(), md.GetUnitValue(), md.GetDescriptionValue())
	}
	m := ev.GetMetric()
	var op string
	switch o := m.GetOperation().(type) {
	case *eventpb.Metric_IncrementCounter:
		op = fmt.Sprint("inc_counter ", o.IncrementCounter)
	case *eventpb.Metric_SetCounter:
		op = fmt.Sprint("set_counter ", o.SetCounter)
	case *eventpb.Metric_IncrementGauge:
		op = fmt.Sprint("inc_gauge ", o.IncrementGauge)
	case *eventpb.Metric_DecrementGauge:
		op = fmt.Sprint("dec_gauge ", o.DecrementGauge)
	case *eventpb.Metric_SetGauge:
		op = fmt.Sprint("set_gauge ", o.SetGauge)
	case *eventpb.Metric_RecordHistogram:
		op = fmt.Sprint("histogram ", o.RecordHistogram)
	default:
		op = "NO OPERATION"
	}
	return fmt.Sprintf("%s %v %s", m.GetName(), m.GetLabels(), op)
}

func TestStreamDeliversEveryEvent(t *testing.T) {
	// Taken before the recorder exists: its coarse clock starts at New and only moves forward, so
	// every timestamp is after start however late a loaded machine runs the clock's ticks.
	start := time.Now()
	r := newStreamRecorder(t, TCPConfig{})
	r.Describe("requests", Description{Kind: KindCounter, Text: "requests served"})
	c := dialStream(t, r, nil)
	if got, want := describeMetric(c.next()), `meta requests COUNTER unit="" desc="requests served"`; got != want {
		t.Fatalf("first event %q, want %q", got, want)
	}
	h := r.Counter("requests", "route:/a", "code:200")
	h.Add(2)
	r.Count("requests", 3, "code:200", "route:/a")
	r.Describe("temp", Description{Kind: KindGauge, Unit: "celsius"})
	g := r.Gauge("temp")
	g.Set(20)
	g.Add(1.5)
	g.Add(-0.5)
	r.Observe("latency", 0.25, "role:a", "role:b")
	r.Distribution("size").Observe(7)
	r.Count("refunds", -1) // cannot be streamed: counted
	wantMeta := `meta temp GAUGE unit="celsius" desc=""`
	want := []string{
		"requests map[code:200 route:/a] inc_counter 2",
		"requests map[code:200 route:/a] inc_counter 3",
		"temp map[] set_gauge 20",
		"temp map[] inc_gauge 1.5",
		"temp map[] dec_gauge 0.5",
		"latency map[role:a,b] histogram 0.25",
		"size map[] histogram 7",
	}
	// Metadata described after connecting is queued apart from events: it arrives, but its place
	// among them is not fixed. Events arrive exactly, in recording order.
	var metas, events []string
	for len(events) < len(want) || len(metas) < 1 {
		ev := c.next()
		if ev.GetMetadata() != nil {
			metas = append(metas, describeMetric(ev))
			continue
		}
		events = append(events, describeMetric(ev))
		ts := ev.GetMetric().GetTimestamp().AsTime()
		if ts.Before(start) || ts.After(time.Now()) {
			t.Errorf("event %q timestamp %v outside [%v, now]", events[len(events)-1], ts, start)
		}
	}
	if len(metas) != 1 || metas[0] != wantMeta {
		t.Errorf("metadata %q, want [%q]", metas, wantMeta)
	}
	if !slices.Equal(events, want) {
		t.Errorf("events:\ngot  %q\nwant %q", events, want)
	}
	if got := r.Stats().TCP.DroppedUnrepresentable; got != 1 {
		t.Errorf("TCPDroppedUnrepresentable = %d, want 1", got)
	}
}

func TestStreamSnapshotForLateJoiner(t *testing.T) {
	r := newStreamRecorder(t, TCPConfig{Snapshot: true})
	r.Describe("jobs", Description{Kind: KindCounter})
	r.Count("jobs", 5, "q:a")
	r.Flush()                 // 5 flushed...
	r.Count("jobs", 2, "q:a") // ...and 2 pending: the total is 7
	r.GaugeSet("depth", 0)    // 0 is a value
	r.Gauge("never")          // never set: no snapshot
	c := dialStream(t, r, nil)
	for _, want := range []string{
		`meta jobs COUNTER unit="" desc=""`,
		"jobs map[q:a] set_counter 7",
		"depth map[] set_gauge 0",
	} {
		if got := describeMetric(c.next()); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	r.Count("jobs", 1, "q:a")
	if got, want := describeMetric(c.next()), "jobs map[q:a] inc_counter 1"; got != want {
		t.Errorf("live event after the snapshot: %q, want %q", got, want)
	}
}

// TestStreamSlowClient: a client that stops reading loses its oldest events, counted, while a fast
// client on the same server receives everything and recording never blocks.
func TestStreamSlowClient(t *testing.T) {
	r := newStreamRecorder(t, TCPConfig{BufferSize: 1024, WriteTimeout: 300 * time.Millisecond})
	fast := dialStream(t, r, nil)
	slow := dialStream(t, r, smallRcvbuf) // so the kernel cannot hide the backlog
	_ = slow                              // never reads

	const total, chunk = 40000, 500
	received := make(chan int, 1)
	var progress atomic.Int64
	go func() {
		n := 0
		defer func() { progress.Store(-1) }()
		fast.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		for n < total {
			var ev eventpb.Event
			if err := protodelim.UnmarshalFrom(fast.br, &ev); err != nil {
				break
			}
			if ev.GetMetric().GetIncrementCounter() != uint64(n) {
				break // out of order or lost
			}
			n++
			progress.Store(int64(n))
		}
		received <- n
	}()
	// Events of ~250 bytes, so the backlog outgrows the kernel's socket buffers (up to 4 MiB).
	c := r.Counter("seq", "pad:"+strings.Repeat("x", 190))
	var recording time.Duration
	for i := 0; i < total; i += chunk {
		start := time.Now()
		for j := i; j < i+chunk; j++ {
			c.Add(int64(j))
		}
		recording += time.Since(start)
		// Pace to the fast client, so neither the intake nor its queue (1024 events each) can
		// overflow however slow the test machine: the point here is the slow client's queue.
		want := int64(i + chunk)
		waitFor(t, "fast client caught up", func() bool { p := progress.Load(); return p >= want || p < 0 })
	}
	if got := <-received; got != total {
		t.Fatalf("fast client received %d events in order, want %d", got, total)
	}
	if recording > 2*time.Second {
		t.Errorf("recording %d events took %v: recorders must never wait for clients", total, recording)
	}
	waitFor(t, "slow client dropped", func() bool {
		st := r.Stats()
		return st.TCP.DroppedSlow > 0 && st.TCP.TimedOut == 1 && st.TCP.Clients == 1
	})
	st := r.Stats()
	if st.TCP.DroppedIntake != 0 {
		t.Errorf("TCPDroppedIntake = %d, want 0 at this pace", st.TCP.DroppedIntake)
	}
	// Every frame offered to a client was delivered, dropped as slow, or dropped as gone. The fast
	// client was offered all of them; the slow one until its write deadline cut it off.
	offered := st.TCP.Frames + st.TCP.DroppedSlow + st.TCP.DroppedGone
	if offered <= total || offered > 2*total {
		t.Errorf("frames %d + slow %d + gone %d = %d, want in (%d, %d]", st.TCP.Frames, st.TCP.DroppedSlow, st.TCP.DroppedGone, offered, total, 2*total)
	}
}

func TestStreamIntakeFullDropsNewest(t *testing.T) {
	r := newStreamRecorder(t, TCPConfig{BufferSize: 16})
	dialStream(t, r, nil)
	c := r.Counter("burst")
	for i := 0; i < 10000; i++ {
		c.Add(1) // far faster than a 16-event intake drained every millisecond
	}
	st := r.Stats()
	if st.TCP.DroppedIntake == 0 {
		t.Fatalf("no intake drops counted for 10000 events into 16 slots")
	}
	waitFor(t, "drained", func() bool {
		st := r.Stats()
		return st.TCP.Events+st.TCP.DroppedIntake == 10000
	})
}

func TestStreamTooManyClients(t *testing.T) {
	r := newStreamRecorder(t, TCPConfig{MaxClients: 1})
	dialStream(t, r, nil)
	c2, err := net.Dial("tcp", r.TCPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c2.Read(make([]byte, 1)); err == nil {
		t.Error("the second client was served, want it closed")
	}
	if got := r.Stats().TCP.Rejected; got != 1 {
		t.Errorf("TCPRejected = %d, want 1", got)
	}
}

// TestStreamChurnLeavesNothing: 64 clients connect and disconnect while events flow; afterwards
// and after Close no goroutine or file descriptor is left.
func TestStreamChurnLeavesNothing(t *testing.T) {
	baseG := runtime.NumGoroutine()
	baseFD := countFDs(t)
	r, err := New(Config{Interval: time.Hour, Statsd: StatsdConfig{Address: "off"},
		TCP: TCPConfig{Enabled: true, Address: "127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		c := r.Counter("churn")
		for {
			select {
			case <-stop:
				return
			default:
				c.Add(1)
				time.Sleep(10 * time.Microsecond)
			}
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for round := 0; round < 16 && time.Now().Before(deadline); round++ {
		var conns []net.Conn
		for i := 0; i < 64; i++ {
			c, err := net.Dial("tcp", r.TCPAddr())
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
		for i, c := range conns {
			if i%2 == 0 {
				c.Read(make([]byte, 64)) // some read a little first
			}
			c.Close()
		}
	}
	waitFor(t, "all clients gone", func() bool { return r.Stats().TCP.Clients == 0 })
	close(stop)
	<-done
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	st := r.Stats()
	// A client closed in one round may still be registered when the next round connects, so a few
	// connections can meet MaxClients (64): those are rejected and counted, none unaccounted for.
	if st.TCP.Accepted+st.TCP.Rejected != 16*64 {
		t.Errorf("accepted %d + rejected %d, want %d", st.TCP.Accepted, st.TCP.Rejected, 16*64)
	}
	waitFor(t, "goroutines back to baseline", func() bool { return runtime.NumGoroutine() <= baseG })
	if fd := countFDs(t); fd > baseFD {
		t.Errorf("%d fds open after Close, %d before", fd, baseFD)
	}
}

func countFDs(t *testing.T) int {
	t.Helper()
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(es)
}

// TestStreamFloodKeepsDelivering: recorders flat out on several goroutines cannot starve the
// clients. Each drain pass is bounded, so a reading client receives events in every half second of
// a 2 s flood, and Close returns while the flood goes on.
func TestStreamFloodKeepsDelivering(t *testing.T) {
	r := newStreamRecorder(t, TCPConfig{})
	c := dialStream(t, r, nil)
	var received atomic.Int64
	go countFrames(c.conn, &received) // ends when Close closes the connection

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := r.Counter("flood", fmt.Sprintf("g:%d", g))
			for {
				select {
				case <-stop:
					return
				default:
				}
				for i := 0; i < 256; i++ {
					h.Inc()
				}
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()

	const window, windows = 500 * time.Millisecond, 4
	last := received.Load()
	for w := 1; w <= windows; w++ {
		time.Sleep(window)
		now := received.Load()
		if now == last {
			t.Fatalf("flood window %d of %d: the client received no event in %v (total %d)", w, windows, window, now)
		}
		last = now
	}
	st := r.Stats()
	t.Logf("flood: %d events encoded, %d received by the client, %d dropped at intake, %d dropped as slow",
		st.TCP.Events, received.Load(), st.TCP.DroppedIntake, st.TCP.DroppedSlow)

	closed := make(chan error, 1)
	go func() { closed <- r.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Close did not return within 15s during a flood")
	}
}

// TestStreamSnapshotCounterTotals: a late joiner's set_counter is the total recorded, flushed or
// not, fractional adds included, rounded down and clamped to what a uint64 holds, never wrapped.
func TestStreamSnapshotCounterTotals(t *testing.T) {
	tests := []struct {
		name   string
		record func(r *Recorder, s *shard.Series)
		want   uint64
	}{
		{"ten halves pending", func(r *Recorder, s *shard.Series) {
			for i := 0; i < 10; i++ {
				s.Counter.AddFloat(0.5)
			}
		}, 5},
		{"halves flushed and pending", func(r *Recorder, s *shard.Series) {
			for i := 0; i < 7; i++ {
				s.Counter.AddFloat(0.5)
			}
			r.Flush()
			s.Counter.AddFloat(0.5)
			s.Counter.Add(2)
		}, 6},
		{"tenths", func(r *Recorder, s *shard.Series) { // ten 0.1 sum to 0.9999999999999999
			for i := 0; i < 10; i++ {
				s.Counter.AddFloat(0.1)
			}
		}, 1},
		{"past int64", func(r *Recorder, s *shard.Series) {
			for i := 0; i < 3; i++ {
				s.Counter.Add(1 << 62)
				r.Flush()
			}
		}, 3 << 62},
		{"past uint64", func(r *Recorder, s *shard.Series) {
			for i := 0; i < 5; i++ {
				s.Counter.Add(1 << 62)
				r.Flush()
			}
		}, math.MaxUint64},
		{"negative", func(r *Recorder, s *shard.Series) { s.Counter.Add(-5) }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newStreamRecorder(t, TCPConfig{Snapshot: true})
			tt.record(r, r.reg.Lookup(shard.KindCounter, "c", nil))
			c := dialStream(t, r, nil)
			if got, want := describeMetric(c.next()), fmt.Sprint("c map[] set_counter ", tt.want); got != want {
				t.Errorf("snapshot %q, want %q", got, want)
			}
		})
	}
}

// TestStreamFractionalCounters: counter adds that are fractional (the intake's "0.5|c", sampled
// "1|c|@0.3") reach the stream: the drain carries each series' fraction and sends increments as
// the running total crosses integers, so an observer shows the total recorded, rounded down.
func TestStreamFractionalCounters(t *testing.T) {
	r := newStreamRecorder(t, TCPConfig{})
	in, err := r.Listen(IntakeConfig{Listen: []string{"udp://127.0.0.1:0"}, Readers: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	c := dialStream(t, r, nil)
	tests := []struct {
		name  string
		lines []string
		want  uint64
	}{
		{"ten halves", slices.Repeat([]string{"half:0.5|c"}, 10), 5},
		{"sampled at 0.3", slices.Repeat([]string{"sampled:1|c|@0.3"}, 3), 10}, // 3 × 3.33...
		{"tenths", slices.Repeat([]string{"tenth:0.1|c"}, 10), 1},
		{"mixed", []string{"mixed:1|c", "mixed:0.5|c", "mixed:2|c", "mixed:0.25|c", "mixed:0.25|c", "mixed:0.5|c"}, 4},
		{"below one", []string{"small:0.5|c"}, 0},
		{"integral multi-value", []string{"multi:1:2:3|c"}, 6},
	}
	for _, tt := range tests {
		feed(in, strings.Join(tt.lines, "\n"))
	}
	feed(in, "neg:-1|c\nneg:-0.5|c") // negative adds cannot be streamed: counted
	feed(in, "end:1|c")
	o := newObserver()
	o.readUntil(t, c, "end")
	for _, tt := range tests {
		name := strings.Split(tt.lines[0], ":")[0]
		if got := o.counters[name]; got != tt.want {
			t.Errorf("%s: observer shows %s = %d, want %d (%v)", tt.name, name, got, tt.want, o)
		}
	}
	if got := r.Stats().TCP.DroppedUnrepresentable; got != 2 {
		t.Errorf("TCPDroppedUnrepresentable = %d, want 2", got)
	}
}

// TestStreamGaugeRecreatedAfterExpiry: a series re-created after idle expiry starts again from 0
// in the agent, so its first streamed event carries the absolute value (set_gauge), not an
// increment an observer would add to the value it still shows from the expired series. Later adds
// stream as increments.
func TestStreamGaugeRecreatedAfterExpiry(t *testing.T) {
	r, err := New(Config{Interval: time.Hour, Expiry: 1, Statsd: StatsdConfig{Address: "off"},
		TCP: TCPConfig{Enabled: true, Address: "127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	c := dialStream(t, r, nil)
	o := newObserver()
	var events []string
	read := func() {
		t.Helper()
		r.Count("end", 1)
		for {
			ev := c.next()
			o.apply(t, ev)
			if ev.GetMetric().GetName() == "end" {
				return
			}
			events = append(events, describeMetric(ev))
		}
	}
	r.GaugeAdd("conns", 5)
	r.GaugeAdd("conns", 2)
	read()
	if got, want := o.gauges["conns"], 7.0; got != want {
		t.Fatalf("before expiry the observer shows conns = %v, want %v", got, want)
	}
	r.Flush()
	r.Flush() // idle for one interval: expired
	if st := r.Stats(); st.Expired == 0 {
		t.Fatalf("Expired = 0 after an idle interval, want the gauge expired")
	}
	r.GaugeAdd("conns", 3) // a new series: 0 + 3
	r.GaugeAdd("conns", -1)
	read()
	if got, want := o.gauges["conns"], 2.0; got != want {
		t.Errorf("after re-creation the observer shows conns = %v, want %v (events %q)", got, want, events)
	}
	want := []string{
		"conns map[] set_gauge 5",
		"conns map[] inc_gauge 2",
		"conns map[] set_gauge 3",
		"conns map[] dec_gauge 1",
	}
	if !slices.Equal(events, want) {
		t.Errorf("events:\ngot  %q\nwant %q", events, want)
	}
}

// TestStreamIdleClientsDoNotLockOut: clients that never read hold every slot while no metric
// flows (nothing is written, so no write deadline fires); a new client still gets in, by evicting
// the one idle longest once it has gone WriteTimeout without a completed write.
func TestStreamIdleClientsDoNotLockOut(t *testing.T) {
	const timeout = 200 * time.Millisecond
	r := newStreamRecorder(t, TCPConfig{MaxClients: 2, WriteTimeout: timeout})
	dialStream(t, r, nil)
	dialStream(t, r, nil)
	time.Sleep(2 * timeout) // no traffic: both idle past WriteTimeout
	c := dialStream(t, r, nil)
	waitFor(t, "the new client registered", func() bool { st := r.Stats(); return st.TCP.Clients == 2 && st.TCP.Evicted == 1 })
	if st := r.Stats(); st.TCP.Rejected != 0 || st.TCP.Accepted != 3 {
		t.Errorf("TCPRejected, TCPAccepted: got %d, %d; want 0, 3", st.TCP.Rejected, st.TCP.Accepted)
	}
	r.Count("hello", 1)
	if got, want := describeMetric(c.next()), "hello map[] inc_counter 1"; got != want {
		t.Errorf("the new client got %q, want %q", got, want)
	}
}
