package agent

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/statshard/statshard/shard"
)

// sumCounter adds up the values of name's counter lines.
func sumCounter(t *testing.T, lines []string, prefix string) int64 {
	t.Helper()
	var total int64
	for _, l := range lines {
		if !strings.HasPrefix(l, prefix) {
			continue
		}
		v, _, _ := strings.Cut(strings.TrimPrefix(l, prefix), "|")
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		total += n
	}
	return total
}

// TestConcurrentCountsExact: N goroutines x M increments through handles and by name, flushed
// concurrently many times; the flushed totals are exact.
func TestConcurrentCountsExact(t *testing.T) {
	r, s := newTestRecorder(t, Config{})
	const goroutines, per = 8, 20000
	h := r.Counter("hits", "via:handle")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		for {
			select {
			case <-stop:
				return
			default:
				r.Flush()
			}
		}
	}()
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				h.Add(1)
				r.Count("hits", 2, "via:name")
				r.Observe("lat", 1)
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-flushed
	r.Flush()
	lines := s.take()
	if got, want := sumCounter(t, lines, "hits:"), int64(goroutines*per*3); got != want {
		t.Errorf("hits total = %d, want %d", got, want)
	}
	if got, want := sumCounter(t, lines, "lat.count:"), int64(goroutines*per); got != want {
		t.Errorf("lat.count total = %d, want %d", got, want)
	}
}

func TestZeroAllocRecording(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	r, _ := newTestRecorder(t, Config{Tags: []string{"host:a"}})
	c := r.Counter("c", "a:1")
	g := r.Gauge("g")
	h := r.Histogram("h")
	d := r.Distribution("d")
	set := r.Set("s")
	r.Count("byname", 1, "env:prod", "service:api", "region:eu")
	r.Observe("byname.h", 1, "env:prod", "service:api", "region:eu")
	r.GaugeSet("byname.g", 1, "env:prod")
	r.SetAdd("byname.s", "x", "env:prod")
	tests := []struct {
		name string
		fn   func()
	}{
		{"Counter.Add", func() { c.Add(1) }},
		{"Gauge.Set", func() { g.Set(2) }},
		{"Gauge.Add", func() { g.Add(2) }},
		{"Histogram.Observe", func() { h.Observe(0.25) }},
		{"Distribution.Observe", func() { d.Observe(0.25) }},
		{"Set.Add existing", func() { set.Add("x") }},
		{"Count by name 3 tags", func() { r.Count("byname", 1, "env:prod", "service:api", "region:eu") }},
		{"Count by name tags reordered", func() { r.Count("byname", 1, "region:eu", "env:prod", "service:api") }},
		{"Observe by name", func() { r.Observe("byname.h", 3, "env:prod", "service:api", "region:eu") }},
		{"GaugeSet by name", func() { r.GaugeSet("byname.g", 3, "env:prod") }},
		{"SetAdd by name existing", func() { r.SetAdd("byname.s", "x", "env:prod") }},
	}
	set.Add("x")
	r.Count("byname", 1, "region:eu", "env:prod", "service:api")
	for _, tt := range tests {
		if got := testing.AllocsPerRun(1000, tt.fn); got != 0 {
			t.Errorf("%s: %v allocs/op, want 0", tt.name, got)
		}
	}
}

func TestHandleSurvivesExpiry(t *testing.T) {
	r, s := newTestRecorder(t, Config{Expiry: 2})
	c := r.Counter("kept")
	r.Count("other", 1)
	r.Flush()
	assertLines(t, s.take(), []string{"other:1|c"})
	r.Flush()
	r.Flush() // both series idle for 2 flushes: expired
	if st := r.Stats(); st.Series != 0 || st.Expired != 2 {
		t.Fatalf("after expiry: Series=%d Expired=%d, want 0 and 2", st.Series, st.Expired)
	}
	c.Add(7) // the handle revives its series
	r.Count("other", 2)
	r.Flush()
	assertLines(t, s.take(), []string{"kept:7|c", "other:2|c"})
	if st := r.Stats(); st.Series != 2 {
		t.Errorf("Series = %d, want 2", st.Series)
	}
}

func TestCardinalityCap(t *testing.T) {
	r, s := newTestRecorder(t, Config{MaxSeries: 10, Tags: []string{"env:x"}})
	for i := 0; i < 100; i++ {
		r.Count("req", 1, fmt.Sprintf("id:%d", i))
	}
	r.Flush()
	lines := s.take()
	if got := sumCounter(t, lines, "req:"); got != 100 {
		t.Errorf("total = %d, want 100 (nothing lost)", got)
	}
	var overflow string
	for _, l := range lines {
		if strings.Contains(l, "overflow:true") {
			overflow = l
		}
	}
	if want := "req:90|c|#env:x,overflow:true"; overflow != want {
		t.Errorf("overflow line = %q, want %q", overflow, want)
	}
	st := r.Stats()
	if st.Folds != 90 {
		t.Errorf("Folds = %d, want 90", st.Folds)
	}
	if st.Series != 11 {
		t.Errorf("Series = %d, want 11 (10 + 1 overflow)", st.Series)
	}
}

// TestCardinalityCapLogged: the first flush of an interval in which keys fold past MaxSeries logs a
// warning, and so does the first in which keys are dropped past the overflow series' cap; while it
// goes on, flushes stay quiet, and a later stretch logs again.
func TestCardinalityCapLogged(t *testing.T) {
	var log bytes.Buffer // written by Flush, on this goroutine
	r, _ := newTestRecorder(t, Config{MaxSeries: 2, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	count := func(name string, n int) {
		for i := range n {
			r.Count(name, 1, fmt.Sprintf("id:%d", i))
		}
	}
	warnings := func(msg string) int { return strings.Count(log.String(), msg) }
	const folding, dropping = "the cardinality cap is reached", "the overflow series are at their cap"

	count("req", 2) // up to the cap
	r.Flush()
	if n := warnings(folding); n != 0 {
		t.Fatalf("%d cap warnings under the cap:\n%s", n, log.String())
	}
	count("req", 10) // 8 fold
	r.Flush()
	count("req", 20) // they go on folding
	r.Flush()
	if n := warnings(folding); n != 1 {
		t.Fatalf("%d cap warnings over two intervals of folding, want 1:\n%s", n, log.String())
	}
	if !strings.Contains(log.String(), "max_series=2 folded=8") {
		t.Errorf("the warning does not give the cap and the interval's folds:\n%s", log.String())
	}
	r.Flush() // an interval without a fold
	count("req", 3)
	r.Flush()
	if n := warnings(folding); n != 2 {
		t.Errorf("%d cap warnings after folding stopped and started again, want 2", n)
	}
	if n := warnings(dropping); n != 0 {
		t.Fatalf("%d drop warnings with one overflow series", n)
	}
	for i := range shard.DefaultMaxOverflow + 5 { // one overflow series per name, then drops
		r.Count(fmt.Sprintf("m%d", i), 1)
	}
	r.Flush()
	if n := warnings(dropping); n != 1 {
		t.Errorf("%d drop warnings past MaxOverflow, want 1:\n%s", n, log.String())
	}
}

// TestFoldedRecordingZeroAllocs: past MaxSeries, recording a folded key by name allocates
// nothing once the key was seen (the registry's fold cache), on every by-name path, and every
// value still reaches the overflow series.
func TestFoldedRecordingZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	r, s := newTestRecorder(t, Config{MaxSeries: 10})
	ids := make([]string, 50)
	for i := range ids {
		ids[i] = fmt.Sprintf("id:%d", i)
	}
	record := func() {
		for _, id := range ids {
			r.Count("req", 1, id, "env:prod")
			r.Observe("lat", 1, id)
			r.GaugeSet("depth", 1, id)
			r.SetAdd("users", "u1", id)
		}
	}
	record()
	const runs = 50
	if got := testing.AllocsPerRun(runs, record); got != 0 {
		t.Errorf("%v allocs per %d folded recordings, want 0", got, 4*len(ids))
	}
	r.Flush()
	if got, want := sumCounter(t, s.take(), "req:"), int64((runs+2)*len(ids)); got != want {
		t.Errorf("req total = %d, want %d", got, want)
	}
}

func TestPacketsNeverExceedMax(t *testing.T) {
	const max = 200
	r, s := newTestRecorder(t, Config{Statsd: StatsdConfig{MaxPacketSize: max}})
	for i := 0; i < 500; i++ {
		r.Count(fmt.Sprintf("metric.%d", i), int64(i+1), "tag:"+strings.Repeat("v", i%50))
	}
	r.Count("too.long", 1, "t:"+strings.Repeat("x", 250))
	r.Flush()
	s.mu.Lock()
	payloads := s.payloads
	s.payloads = nil
	s.mu.Unlock()
	lines := 0
	for _, p := range payloads {
		if len(p) > max {
			t.Errorf("payload of %d bytes > %d", len(p), max)
		}
		lines += strings.Count(p, "\n") + 1
	}
	if lines != 500 {
		t.Errorf("lines = %d, want 500", lines)
	}
	if got := r.Stats().Statsd.DroppedTooLong; got != 1 {
		t.Errorf("DroppedTooLong = %d, want 1", got)
	}
}

func TestCloseFlushesAndStops(t *testing.T) {
	s := &sink{}
	r, err := New(Config{Statsd: StatsdConfig{Writer: s}})
	if err != nil {
		t.Fatal(err)
	}
	r.Count("last", 3)
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	assertLines(t, s.take(), []string{"last:3|c"})
}

func TestDefaultRecorder(t *testing.T) {
	Count("nowhere", 1) // no recorder installed: a no-op, no panic
	r, s := newTestRecorder(t, Config{})
	Install(r)
	defer Install(nil)
	Count("a", 1)
	GaugeSet("b", 2)
	Observe("c", 3)
	r.Flush()
	lines := s.take()
	for _, want := range []string{"a:1|c", "b:2|g", "c.count:1|c"} {
		found := false
		for _, l := range lines {
			found = found || l == want
		}
		if !found {
			t.Errorf("missing %q in %q", want, lines)
		}
	}
}

func TestFlushAfterClose(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	r, err := New(Config{Interval: time.Hour, Statsd: StatsdConfig{Address: "udp://" + pc.LocalAddr().String()}})
	if err != nil {
		t.Fatal(err)
	}
	r.Count("x", 1)
	r.Close()
	r.Count("x", 1) // harmless
	r.Flush()       // sends nothing, no panic
	if got := r.Stats().Statsd.Flushes; got != 1 {
		t.Errorf("Flushes = %d, want 1 (the final one)", got)
	}
}
