package agent

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

func newIntake(t *testing.T, cfg Config) (*Recorder, *sink, *Intake) {
	t.Helper()
	r, s := newTestRecorder(t, cfg)
	in, err := r.Listen(IntakeConfig{Listen: []string{"udp://127.0.0.1:0"}, Readers: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	return r, s, in
}

// feed hands lines straight to the intake's line handler, as a reader goroutine would.
func feed(in *Intake, datagram string) {
	var p lineParser
	in.handle(&p, [][]byte{[]byte(datagram)})
}

func TestIntakeAggregates(t *testing.T) {
	r, s, in := newIntake(t, Config{Histograms: HistogramConfig{Quantiles: []float64{}}})
	feed(in, strings.Join([]string{
		"hits:1|c|#b:2,a:1",
		"hits:2|c|#a:1,b:2",      // the same series in another tag order
		"hits:1|c|@0.5|#a:1,b:2", // value/rate: 2
		"frac:1|c|@0.3",          // 3.333...: 3 sent, 0.333 carried to the next flush
		"multi:1:2:3|c",
		"neg:-2|c",
		"g:10|g",
		"g:+5|g",        // DogStatsD: a signed gauge value sets, as in the Datadog Agent
		"g:-3|g",        // sets -3
		"abs:-3|g|#x:y", // sent as 0 then -3, which every receiver reads as -3
		"t:100|ms",
		"t:200|ms",
		"h:1|h|@0.5", // sampled: one value weighing 2, no series of its own
		"d:5|d",
		"s:a|s",
		"s:b|s",
		"s:a|s",
		"ctr:1|c|c:abc",
		"ctr:1|c",
		"ts:3|g|T1700000000",
		"_e{2,3}:hi|you|#k:v",
		"_sc|svc.up|0",
		"bad",
		"bad:x|c",
		"bad:1|q",
	}, "\r\n"))
	r.Flush()
	lines := s.take()
	assertLines(t, lines, []string{
		"hits:5|c|#a:1,b:2",
		"frac:3|c",
		"multi:6|c",
		"neg:-2|c",
		"g:0|g",
		"g:-3|g",
		"abs:0|g|#x:y",
		"abs:-3|g|#x:y",
		"t.count:2|c",
		"t.sum:300|g",
		"t.avg:150|g",
		"t.min:100|g",
		"t.max:200|g",
		"h.count:2|c",
		"h.sum:2|g",
		"h.avg:1|g",
		"h.min:1|g",
		"h.max:1|g",
		"d:5|d",
		"s:a|s",
		"s:b|s",
		"ctr:1|c|c:abc",
		"ctr:1|c",
		"ts:3|g|T1700000000",
		"_e{2,3}:hi|you|#k:v",
		"_sc|svc.up|0",
	})
	st := in.Stats()
	if st.Lines != 25 || st.ParseErrors != 3 || st.Forwarded != 3 {
		t.Errorf("stats %+v: want 25 lines, 3 parse errors, 3 forwarded", st)
	}
	if len(st.ParseErrorsBy) == 0 {
		t.Error("parse errors not counted by reason")
	}
}

// TestIntakeRelativeGauges: with RelativeGauges, a signed gauge value is a change, as in statsd;
// what goes upstream is still the absolute value, read as such by every receiver.
func TestIntakeRelativeGauges(t *testing.T) {
	r, s := newTestRecorder(t, Config{})
	in, err := r.Listen(IntakeConfig{Listen: []string{"udp://127.0.0.1:0"}, Readers: 1, RelativeGauges: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	feed(in, "g:10|g\ng:+5|g\ng:-3|g\nneg:-3|g\nset:-3|g\nset:7|g")
	r.Flush()
	assertLines(t, s.take(), []string{"g:12|g", "neg:0|g", "neg:-3|g", "set:7|g"})
	feed(in, "g:-20|g")
	r.Flush()
	assertLines(t, s.take(), []string{"g:0|g", "g:-8|g"})
}

func TestIntakeOverUDP(t *testing.T) {
	r, s, in := newIntake(t, Config{})
	c, err := net.Dial("udp", strings.TrimPrefix(in.Addrs()[0], "udp://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 0; i < 100; i++ {
		c.Write([]byte("udp.hits:1|c\nudp.other:2|c"))
	}
	waitFor(t, "200 lines", func() bool { return in.Stats().Lines == 200 })
	r.Flush()
	assertLines(t, s.take(), []string{"udp.hits:100|c", "udp.other:200|c"})
}

func TestIntakeZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	_, _, in := newIntake(t, Config{})
	var p lineParser
	lines := [][]byte{
		[]byte("page.views:1|c|#env:prod,region:eu,service:web"),
		[]byte("queue.depth:5|g|#q:mail"),
		[]byte("req.latency:12.5|ms|#route:/a"),
		[]byte("req.size:1:2:3|d"),
		[]byte("page.views:1|c|@0.5|#env:prod,region:eu,service:web|c:abc"),
	}
	// All of them in one datagram, repeated past a batch (lineBatch), and each on its own.
	all := bytes.Repeat(append(bytes.Join(lines, []byte("\n")), '\n'), lineBatch)
	dgs := [][][]byte{{all}}
	for _, l := range lines {
		dgs = append(dgs, [][]byte{l})
	}
	for _, dg := range dgs {
		in.handle(&p, dg) // create the series
	}
	for _, dg := range dgs {
		if got := testing.AllocsPerRun(1000, func() { in.handle(&p, dg) }); got != 0 {
			t.Errorf("%.60q: %v allocs per datagram, want 0", dg[0], got)
		}
	}
}

// TestIntakeFoldedZeroAllocs: lines of keys past MaxSeries, folded into overflow series, cost the
// intake no allocation once each key was seen.
func TestIntakeFoldedZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	r, _, in := newIntake(t, Config{MaxSeries: 2})
	var p lineParser
	var dg []byte
	for i := range 3 * lineBatch {
		dg = fmt.Appendf(dg, "req:1|c|#id:%d\nlat:%d|ms|#id:%d\n", i, i, i)
	}
	in.handle(&p, [][]byte{dg})
	if got := testing.AllocsPerRun(100, func() { in.handle(&p, [][]byte{dg}) }); got != 0 {
		t.Errorf("%v allocs per datagram of %d folded lines, want 0", got, 6*lineBatch)
	}
	if st := r.Stats(); st.Series != 4 || st.Folds == 0 {
		t.Errorf("stats %+v: want 4 series (2 and 2 overflow), folds counted", st)
	}
}

func TestIntakeForwardBound(t *testing.T) {
	r, s := newTestRecorder(t, Config{})
	in, err := r.Listen(IntakeConfig{Listen: []string{"udp://127.0.0.1:0"}, MaxForward: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	for i := 0; i < 10; i++ {
		feed(in, "_sc|svc.up|0|#some:tag") // 23 bytes with its newline: two fit in 64
	}
	r.Flush()
	if got := len(s.take()); got != 2 {
		t.Errorf("forwarded %d lines, want 2", got)
	}
	if st := in.Stats(); st.Forwarded != 2 || st.ForwardDropped != 8 {
		t.Errorf("Forwarded %d ForwardDropped %d, want 2 and 8", st.Forwarded, st.ForwardDropped)
	}
}

func TestIntakeListenErrors(t *testing.T) {
	r, _ := newTestRecorder(t, Config{})
	for _, addr := range []string{"tcp://127.0.0.1:1", "udp://127.0.0.1:99999"} {
		if in, err := r.Listen(IntakeConfig{Listen: []string{addr}}); err == nil {
			in.Close()
			t.Errorf("Listen(%q) succeeded", addr)
		} else if !strings.HasPrefix(err.Error(), "agent: intake: ") {
			t.Errorf("Listen(%q): %v, want an agent: intake: error", addr, err)
		}
	}
	_ = time.Second
}

// TestIntakeBatches: the intake records a datagram's metric lines in batches of lineBatch (see
// Intake.handle). Across batch boundaries the lines keep their order (a gauge ends at its last
// value), each line keeps its own origin (the origin key is built in scratch space of its own),
// and the lines not aggregated are forwarded or counted as before.
func TestIntakeBatches(t *testing.T) {
	r, s, in := newIntake(t, Config{})
	var lines []string
	const n = 5*lineBatch + 3
	for i := range n {
		lines = append(lines,
			fmt.Sprintf("g:%d|g", i),
			fmt.Sprintf("o:1|c|c:c%d|e:x%d|card:high", i%3, i%3),
		)
		if i%7 == 0 {
			lines = append(lines, "_sc|svc.up|0", "bad:x|c")
		}
	}
	feed(in, strings.Join(lines, "\n"))
	r.Flush()
	var want []string
	for i := range 3 {
		c := n / 3
		if i < n%3 {
			c++
		}
		want = append(want, fmt.Sprintf("o:%d|c|c:c%d|e:x%d|card:high", c, i, i))
	}
	want = append(want, fmt.Sprintf("g:%d|g", n-1))
	for range n/7 + 1 {
		want = append(want, "_sc|svc.up|0")
	}
	assertLines(t, s.take(), want)
	st := in.Stats()
	if want := uint64(n/7 + 1); st.ParseErrors != want || st.Forwarded != want {
		t.Errorf("parse errors %d, forwarded %d: want %d each", st.ParseErrors, st.Forwarded, want)
	}
	if want := uint64(len(lines)); st.Lines != want {
		t.Errorf("lines %d, want %d", st.Lines, want)
	}
}
