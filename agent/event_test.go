package agent

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/statshard/statshard/internal/peertest"
)

func TestEventLines(t *testing.T) {
	r, s := newTestRecorder(t, Config{
		Prefix: "app.", // not applied to events
		Tags:   []string{"env:prod", "team:pay"},
		Statsd: StatsdConfig{ContainerID: "abc123", Cardinality: "low"},
		env:    fakeEnv("", "DD_EXTERNAL_ENV", "it-false"), // a Datadog variable: origin detection is on
	})
	at := time.Unix(1700000000, 0)
	if err := r.Event(Event{
		Title: "Deploy", Text: "v1.4.2\nby ci", Timestamp: at, Hostname: "web-1", AggregationKey: "deploys",
		Priority: PriorityLow, SourceType: "ci", AlertType: AlertSuccess, Tags: []string{"env:staging", "Ver:1.4.2"},
	}); err != nil {
		t.Fatal(err)
	}
	if err := r.ServiceCheck(ServiceCheck{Name: "db.up", Status: StatusCritical, Timestamp: at, Hostname: "web-1",
		Message: "timeout\nafter 10s", Tags: []string{CardinalityHigh}}); err != nil {
		t.Fatal(err)
	}
	r.Count("hits", 1)
	r.Flush()
	// Metrics first, then each event in a payload of its own.
	want := []string{
		"app.hits:1|c|#env:prod,team:pay|c:abc123|e:it-false|card:low",
		`_e{6,13}:Deploy|v1.4.2\nby ci|d:1700000000|h:web-1|k:deploys|p:low|s:ci|t:success|#env:staging,ver:1.4.2,team:pay|c:abc123|e:it-false|card:low`,
		`_sc|db.up|2|d:1700000000|h:web-1|#env:prod,team:pay|c:abc123|e:it-false|card:high|m:timeout\nafter 10s`,
	}
	s.mu.Lock()
	got := append([]string(nil), s.payloads...)
	s.mu.Unlock()
	if strings.Join(got, "\n---\n") != strings.Join(want, "\n---\n") {
		t.Errorf("payloads:\ngot  %q\nwant %q", got, want)
	}
	if st := r.Stats(); st.Statsd.Events != 2 || st.Statsd.EventsDropped != 0 {
		t.Errorf("Events %d, EventsDropped %d; want 2, 0", st.Statsd.Events, st.Statsd.EventsDropped)
	}
}

func TestEventErrors(t *testing.T) {
	r, s := newTestRecorder(t, Config{MaxEvents: 2, Statsd: StatsdConfig{MaxPacketSize: 64}})
	invalid := []struct {
		name string
		err  error
	}{
		{"no title", r.Event(Event{Text: "x"})},
		{"no text", r.Event(Event{Title: "x"})},
		{"bad priority", r.Event(Event{Title: "x", Text: "y", Priority: "urgent"})},
		{"bad alert type", r.Event(Event{Title: "x", Text: "y", AlertType: "fatal"})},
		{"no name", r.ServiceCheck(ServiceCheck{})},
		{"bad status", r.ServiceCheck(ServiceCheck{Name: "x", Status: 4})},
	}
	for _, tt := range invalid {
		if !errors.Is(tt.err, ErrInvalidEvent) {
			t.Errorf("%s: %v, want ErrInvalidEvent", tt.name, tt.err)
		}
	}
	if err := r.Event(Event{Title: "t", Text: strings.Repeat("x", 64)}); !errors.Is(err, ErrEventTooLong) {
		t.Errorf("an event longer than a payload: %v, want ErrEventTooLong", err)
	}
	if err := r.Event(Event{Title: "a", Text: "1"}); err != nil {
		t.Fatal(err)
	}
	if err := r.ServiceCheck(ServiceCheck{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	if err := r.Event(Event{Title: "c", Text: "3"}); !errors.Is(err, ErrEventQueueFull) {
		t.Errorf("third event with MaxEvents 2: %v, want ErrEventQueueFull", err)
	}
	r.Flush()
	assertLines(t, s.take(), []string{"_e{1,1}:a|1", "_sc|b|0"})
	if err := r.Event(Event{Title: "c", Text: "3"}); err != nil {
		t.Errorf("after the flush emptied the queue: %v", err)
	}
	st := r.Stats()
	if st.Statsd.Events != 2 || st.Statsd.EventsDropped != 2 {
		t.Errorf("Events %d, EventsDropped %d; want 2, 2 (too long, queue full)", st.Statsd.Events, st.Statsd.EventsDropped)
	}
	r.Close()
	// The event queued after the last flush went out with Close's final flush.
	assertLines(t, s.take(), []string{"_e{1,1}:c|3"})
	if err := r.Event(Event{Title: "d", Text: "4"}); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
	if st := r.Stats(); st.Statsd.Events != 3 || st.Statsd.EventsDropped != 3 {
		t.Errorf("after Close: Events %d, EventsDropped %d; want 3, 3", st.Statsd.Events, st.Statsd.EventsDropped)
	}
}

// TestEventsThroughIntake: what Recorder.Event sends, a statshard intake parses as valid events
// and service checks and forwards unchanged.
func TestEventsThroughIntake(t *testing.T) {
	up, s := newTestRecorder(t, Config{})
	in, err := up.Listen(IntakeConfig{Listen: []string{"udp://127.0.0.1:0"}, Readers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	r, err := New(Config{Interval: time.Hour, Tags: []string{"env:dev"}, Statsd: StatsdConfig{Address: in.Addrs()[0]}})
	if err != nil {
		t.Fatal(err)
	}
	r.Event(Event{Title: "multi|line", Text: "a\nb|c", AlertType: AlertError})
	r.ServiceCheck(ServiceCheck{Name: "svc", Status: StatusWarning, Message: "m: x\ny"})
	r.Close()
	deadline := time.Now().Add(5 * time.Second)
	for in.Stats().Forwarded < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if st := in.Stats(); st.Forwarded != 2 || st.ParseErrors != 0 {
		t.Fatalf("intake %+v: want 2 forwarded, no parse error", st)
	}
	up.Flush()
	assertLines(t, s.take(), []string{
		`_e{10,6}:multi|line|a\nb|c|t:error|#env:dev`,
		`_sc|svc|1|#env:dev|m:m\: x\ny`,
	})
}

// TestEventsStatsdExporter: statsd_exporter, which has no events, receives each event and
// service check as a datagram and a line of its own (and rejects them as malformed samples),
// and the metric sent in the same flush is read intact.
func TestEventsStatsdExporter(t *testing.T) {
	e := peertest.Start(t, peertest.Options{})
	before := e.Scrape(t)
	packets0, _ := before.Get("statsd_exporter_udp_packets_total")
	lines0, _ := before.Get("statsd_exporter_lines_total")
	r, err := New(Config{Interval: time.Hour, Statsd: StatsdConfig{Address: "udp://" + e.UDPAddr}})
	if err != nil {
		t.Fatal(err)
	}
	r.Count("ev.hits", 3, "kind:a")
	r.Event(Event{Title: "deploy", Text: "v1", Tags: []string{"kind:a"}})
	r.Event(Event{Title: "rollback", Text: "v0\nbad", AlertType: AlertWarning})
	r.ServiceCheck(ServiceCheck{Name: "ev.up", Status: StatusOK, Message: "fine"})
	r.Close()
	if st := r.Stats(); st.Statsd.Events != 3 || st.Statsd.Packets != 4 {
		t.Errorf("stats %+v: want 3 events, 4 datagrams (1 of metrics, 3 of events)", st)
	}
	e.WaitFor(t, 10*time.Second, func(m peertest.Metrics) bool {
		hits, _ := m.Get("ev_hits", "kind", "a")
		packets, _ := m.Get("statsd_exporter_udp_packets_total")
		lines, _ := m.Get("statsd_exporter_lines_total")
		return hits == 3 && packets-packets0 == 4 && lines-lines0 == 4
	})
}

// TestEventsAddressOff: with the exporter off, events have nowhere to go and are counted as
// dropped, never as sent.
func TestEventsAddressOff(t *testing.T) {
	r, err := New(Config{Interval: time.Hour, Statsd: StatsdConfig{Address: "off"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Event(Event{Title: "t", Text: "x"}); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if st := r.Stats(); st.Statsd.Events != 0 || st.Statsd.EventsDropped != 1 {
		t.Errorf("Events %d, EventsDropped %d; want 0, 1", st.Statsd.Events, st.Statsd.EventsDropped)
	}
}
