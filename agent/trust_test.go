package agent

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/statshard/statshard/wire/statsd"
)

// receiver reads DogStatsD payloads the way the receivers of the conformance suite do, so that
// tests can assert what a receiver shows rather than what bytes were written:
//   - a gauge value with a leading '+' or '-' is a change (statsd_exporter, telegraf, etsy statsd);
//     any other value sets the gauge;
//   - a counter adds value/rate;
//   - a timer, histogram or distribution line counts as int(1/rate) observations of each of its
//     values (statsd_exporter repeats a sampled line int(1/rate) times).
//
// Each payload is one datagram: lines are read in order within it.
type receiver struct {
	gauges   map[string]float64
	counters map[string]float64
	obs      map[string]uint64  // observations per timer/distribution series
	sums     map[string]float64 // their sum, each value counted int(1/rate) times
}

func newReceiver() *receiver {
	return &receiver{gauges: map[string]float64{}, counters: map[string]float64{}, obs: map[string]uint64{}, sums: map[string]float64{}}
}

// read takes the payloads a sink got, in order.
func (rc *receiver) read(t *testing.T, payloads []string) {
	t.Helper()
	for _, p := range payloads {
		for _, line := range strings.Split(p, "\n") {
			rc.line(t, line)
		}
	}
}

func (rc *receiver) line(t *testing.T, line string) {
	t.Helper()
	var p statsd.Parser
	kind, smp, err := p.Parse([]byte(line))
	if err != nil || kind != statsd.KindMetric {
		t.Errorf("receiver: line %q: kind %v, err %v", line, kind, err)
		return
	}
	key := smp.Name + "|" + strings.Join(smp.Tags, ",")
	rate := smp.Rate
	if rate == 0 {
		rate = 1
	}
	raw := strings.Split(line[len(smp.Name)+1:strings.IndexByte(line, '|')], ":")
	i := 0
	err = smp.Values(func(v float64, relative bool) {
		switch smp.Type {
		case statsd.Gauge:
			if raw[i][0] == '+' || raw[i][0] == '-' {
				rc.gauges[key] += v
			} else {
				rc.gauges[key] = v
			}
		case statsd.Counter:
			rc.counters[key] += v / rate
		default:
			n := uint64(1 / rate)
			rc.obs[key] += n
			rc.sums[key] += v * float64(n)
		}
		i++
	})
	if err != nil {
		t.Errorf("receiver: line %q: %v", line, err)
	}
}

// payloads returns the payloads a sink received since the last call, in order.
func (s *sink) takePayloads() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.payloads
	s.payloads = nil
	return p
}

// TestNegativeGaugesReadAsSet: every gauge value a recorder sends reads as exactly that value at a
// receiver that takes a signed gauge value as a change, flush after flush, for every gauge line
// the exporter writes (plain gauges and a summary's .min, .avg, .sum and quantiles).
func TestNegativeGaugesReadAsSet(t *testing.T) {
	r, s := newTestRecorder(t, Config{Histograms: HistogramConfig{Quantiles: []float64{0.5}}})
	rc := newReceiver()
	g := r.Gauge("g")
	steps := []struct {
		record func()
		key    string
		want   float64
	}{
		{func() { r.GaugeSet("set", -5) }, "set|", -5},
		{func() { r.GaugeSet("set", -5) }, "set|", -5}, // a second flush must not read -10
		{func() { r.GaugeSet("set", 4) }, "set|", 4},
		{func() { g.Set(3); g.Add(-5) }, "g|", -2},
		{func() { g.Add(-1) }, "g|", -3},
		{func() { g.Set(0) }, "g|", 0},
		{func() { r.Observe("h", -7); r.Observe("h", -1) }, "h.min|", -7},
		{func() { r.Observe("h", -7); r.Observe("h", -1) }, "h.avg|", -4},
		{func() { r.Observe("h", -7); r.Observe("h", -1) }, "h.sum|", -8},
		{func() { r.GaugeSet("tiny", -1e-300) }, "tiny|", -1e-300},
	}
	for i, st := range steps {
		st.record()
		r.Flush()
		rc.read(t, s.takePayloads())
		if got := rc.gauges[st.key]; got != st.want {
			t.Errorf("step %d: receiver reads %s = %v, want %v", i, st.key, got, st.want)
		}
	}
}

// TestNegativeGaugePairStaysInOneDatagram: the reset line and the value line of a negative gauge
// are never split between two payloads, whatever the packing.
func TestNegativeGaugePairStaysInOneDatagram(t *testing.T) {
	r, s := newTestRecorder(t, Config{Statsd: StatsdConfig{MaxPacketSize: 120}})
	for i := range 200 {
		r.GaugeSet(fmt.Sprintf("gauge.%03d", i), -float64(i+1))
	}
	r.Flush()
	rc := newReceiver()
	for _, p := range s.takePayloads() {
		if len(p) > 120 {
			t.Fatalf("payload of %d bytes, want at most 120", len(p))
		}
		rc.read(t, []string{p})
		if strings.HasSuffix(p, ":0|g") {
			t.Errorf("payload ends with a reset line, its value went to the next: %q", p)
		}
	}
	for i := range 200 {
		if got, want := rc.gauges[fmt.Sprintf("gauge.%03d|", i)], -float64(i+1); got != want {
			t.Errorf("gauge.%03d reads %v, want %v", i, got, want)
		}
	}
}

// TestSampleRateIsAWeight: sampled and unsampled calls of one metric are one series; the rate
// weighs the value. A summary's .count/.sum/.min then hold the truth, not two colliding series.
func TestSampleRateIsAWeight(t *testing.T) {
	r, s := newTestRecorder(t, Config{Histograms: HistogramConfig{
		Quantiles: []float64{},
		Rules:     []HistogramRule{{Match: "bk", Mode: HistogramBuckets, Bounds: []float64{15}}},
	}})
	// Rate 1/2 keeps about half the calls; each kept call weighs exactly 2.
	var keptCalls int
	for range 1000 {
		r.ObserveSampled("req.time", 10, 0.5)
		r.ObserveSampled("bk", 10, 0.5)
		r.CountSampled("hits", 1, 0.25)
	}
	r.Observe("req.time", 30)
	r.Observe("req.time", 50)
	r.Observe("bk", 30)
	r.Count("hits", 3)
	r.Flush()
	lines := s.take()
	byName := map[string]string{}
	for _, l := range lines {
		name, rest, _ := strings.Cut(l, ":")
		if _, tags, ok := strings.Cut(rest, "|#"); ok {
			name += "{" + tags + "}"
		}
		if _, dup := byName[name]; dup {
			t.Errorf("%s sent twice in one flush (sampled and unsampled as two series): %q", name, lines)
		}
		byName[name] = rest
		if strings.Contains(l, "|@") {
			t.Errorf("line %q carries a rate: the weight is already in the value", l)
		}
	}
	num := func(name string) float64 {
		v, _, _ := strings.Cut(byName[name], "|")
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatalf("%s: %q: %v", name, byName[name], err)
		}
		return f
	}
	count := num("req.time.count")
	keptCalls = int(count-2) / 2
	if count != float64(2*keptCalls+2) || keptCalls < 400 || keptCalls > 600 {
		t.Errorf("req.time.count = %v, want 2 per kept sampled call (~500 kept) + 2", count)
	}
	if got, want := num("req.time.sum"), 10*(count-2)+80; got != want {
		t.Errorf("req.time.sum = %v, want %v", got, want)
	}
	if got := num("req.time.min"); got != 10 {
		t.Errorf("req.time.min = %v, want 10 (the sampled values belong to the series)", got)
	}
	if got := num("req.time.max"); got != 50 {
		t.Errorf("req.time.max = %v, want 50", got)
	}
	if c, inf := num("bk.count"), num("bk.bucket{le:inf}"); c != inf || int(c)%2 != 1 {
		t.Errorf("bk.count = %v, bk.bucket{le:inf} = %v: want one series, 2 per kept call + 1", c, inf)
	}
	if h := num("hits"); h < 3+4*200 || h > 3+4*300 || int(h-3)%4 != 0 {
		t.Errorf("hits = %v, want 3 + 4 per kept call (~250 kept)", h)
	}
}

// TestWeightIsUnbiased: a rate whose inverse is not an integer weighs each kept call 1/rate on
// average; the counter carries it exactly.
func TestWeightIsUnbiased(t *testing.T) {
	var sum float64
	const n = 200_000
	for range n {
		w, ok := weight(0.3)
		if !ok || (w != 3 && w != 4) {
			t.Fatalf("weight(0.3) = %d, %v: want 3 or 4", w, ok)
		}
		sum += float64(w)
	}
	if mean := sum / n; math.Abs(mean-1/0.3) > 0.01 {
		t.Errorf("mean weight at rate 0.3 = %v, want 3.333 ± 0.01", mean)
	}
	for _, rate := range []float64{0.5, 0.25, 0.1, 0.01, 1.0 / 3, 0.2} {
		w, _ := weight(rate)
		if want := math.Round(1 / rate); float64(w) != want {
			t.Errorf("weight(%v) = %d, want exactly %v", rate, w, want)
		}
	}
	if _, ok := weight(1e-10); ok {
		t.Error("weight(1e-10) accepted: a weight past 2^32 cannot be kept")
	}
}

// TestOverflowSeriesNamedOnce: past MaxSeries, a key folds into its name's overflow series, which
// gets the Prefix once and keeps the export its name's rule gives.
func TestOverflowSeriesNamedOnce(t *testing.T) {
	r, s := newTestRecorder(t, Config{
		Prefix:    "ovf.",
		MaxSeries: 2,
		Histograms: HistogramConfig{Rules: []HistogramRule{
			{Match: "lat", Mode: HistogramBuckets, Bounds: []float64{1}},
		}},
	})
	r.Count("c", 1, "k:a")
	r.Observe("lat", 0.5, "k:a")
	r.Count("c", 2, "k:b")     // past the cap: folds
	r.Observe("lat", 2, "k:b") // folds, and stays buckets
	r.Flush()
	assertLines(t, s.take(), []string{
		"ovf.c:1|c|#k:a",
		"ovf.c:2|c|#overflow:true",
		"ovf.lat.bucket:1|c|#k:a,le:1",
		"ovf.lat.bucket:1|c|#k:a,le:inf",
		"ovf.lat.count:1|c|#k:a",
		"ovf.lat.sum:0.5|g|#k:a",
		"ovf.lat.bucket:1|c|#overflow:true,le:inf",
		"ovf.lat.count:1|c|#overflow:true",
		"ovf.lat.sum:2|g|#overflow:true",
	})
}

// TestResendGaugesOncePerFlush: a resent gauge goes out exactly once in every flush, the one in
// which it expires included.
func TestResendGaugesOncePerFlush(t *testing.T) {
	r, s := newTestRecorder(t, Config{Expiry: 3, Statsd: StatsdConfig{ResendGauges: true}})
	r.GaugeSet("g", 7)
	for i := range 5 {
		r.Flush()
		var want []string
		if i <= 3 { // the flush it was set in, then three idle ones, the last of which expires it
			want = []string{"g:7|g"}
		}
		assertLines(t, s.take(), want)
	}
	if st := r.Stats(); st.Expired != 1 {
		t.Errorf("Expired = %d, want 1", st.Expired)
	}
}

// TestNameLimitOnTheWire: no name sent is longer than statsd.MaxNameLen, Prefix and every suffix
// a series' lines add included.
func TestNameLimitOnTheWire(t *testing.T) {
	r, s := newTestRecorder(t, Config{Prefix: "pfx.", Histograms: HistogramConfig{
		Rules: []HistogramRule{{Match: "b*", Mode: HistogramBuckets, Bounds: []float64{1}}},
	}})
	long := strings.Repeat("n", 300)
	r.Count("c"+long, 1)
	r.GaugeSet("g"+long, 1)
	r.Observe("h"+long, 1)
	r.Observe("b"+long, 1)
	r.ObserveDistribution("d"+long, 1)
	r.SetAdd("s"+long, "m")
	r.Flush()
	lines := s.take()
	if len(lines) < 15 {
		t.Fatalf("got %d lines, want every kind's: %q", len(lines), lines)
	}
	for _, l := range lines {
		name, _, _ := strings.Cut(l, ":")
		if len(name) > statsd.MaxNameLen {
			t.Errorf("name of %d bytes sent, want at most %d: %.60s…", len(name), statsd.MaxNameLen, name)
		}
		if !strings.HasPrefix(name, "pfx.") {
			t.Errorf("name %.20s… lost its prefix", name)
		}
	}
}

// TestSketchBinWeightsReadExactly: with SketchDistributions, a receiver that repeats a sampled
// line int(1/rate) times reads every bin's count exactly, for every count a bin can hold in an
// interval of this test (1 to 1024) and one past statsd.MaxWeight.
func TestSketchBinWeightsReadExactly(t *testing.T) {
	r, s := newTestRecorder(t, Config{Histograms: HistogramConfig{SketchDistributions: true}})
	var want uint64
	for n := 1; n <= 1024; n++ {
		v := math.Pow(1.5, float64(n%60)) // bins 40 per octave apart: n values in one bin
		for range n {
			r.ObserveDistribution(fmt.Sprintf("d%d", n), v)
		}
		want += uint64(n)
	}
	r.Flush()
	rc := newReceiver()
	rc.read(t, s.takePayloads())
	for n := 1; n <= 1024; n++ {
		if got := rc.obs[fmt.Sprintf("d%d|", n)]; got != uint64(n) {
			t.Errorf("d%d: receiver counts %d, want %d", n, got, n)
		}
	}
	// A weight past what one line may carry is split.
	big := uint64(statsd.MaxWeight) + 5
	r.reg.Lookup(KindDistribution, "big", nil).Histogram().ObserveN(2, big)
	r.Flush()
	rc.read(t, s.takePayloads())
	if got := rc.obs["big|"]; got != big {
		t.Errorf("big: receiver counts %d, want %d", got, big)
	}
}

// TestReservoirWeightsReadExactly: a distribution whose interval overflows the reservoir is sent
// as a uniform sample whose weights add up to the exact count, with or without MultiValue, with
// sampled observations among them; below the reservoir, every value with its own weight.
func TestReservoirWeightsReadExactly(t *testing.T) {
	for _, mv := range []bool{false, true} {
		t.Run(fmt.Sprintf("multivalue=%v", mv), func(t *testing.T) {
			r, s := newTestRecorder(t, Config{
				Histograms: HistogramConfig{ReservoirSize: 100},
				Statsd:     StatsdConfig{MultiValue: mv},
			})
			rc := newReceiver()
			for _, n := range []int{7, 100, 101, 1000, 12345} {
				name := fmt.Sprintf("d%d", n)
				for i := range n {
					r.ObserveDistribution(name, float64(i))
				}
				// Five sampled observations at rate 1/4 weigh 4 each.
				for range 5 {
					r.observeWeighted(r.reg.Lookup(KindDistribution, name, nil), 1, 0.25)
				}
				r.Flush()
				rc.read(t, s.takePayloads())
				if got, want := rc.obs[name+"|"], uint64(n+20); got != want {
					t.Errorf("%s: receiver counts %d, want %d", name, got, want)
				}
				if n <= 80 {
					if got, want := rc.sums[name+"|"], float64(n*(n-1)/2+20); got != want {
						t.Errorf("%s: receiver sums %v, want %v (all kept: exact)", name, got, want)
					}
				}
			}
		})
	}
}

// TestContainerIDValidated: a ContainerID that would change the line it is written into is
// rejected by New, with the field named.
func TestContainerIDValidated(t *testing.T) {
	for _, id := range []string{"bad|cid\ninjected.metric:1|c", "a|b", "a\nb", "a,b", "a b", "#x", strings.Repeat("a", 201)} {
		r, err := New(Config{Statsd: StatsdConfig{Address: "off", ContainerID: id}})
		if err == nil {
			r.Close()
			t.Errorf("ContainerID %q accepted", id)
			continue
		}
		if !strings.Contains(err.Error(), "Statsd.ContainerID") {
			t.Errorf("ContainerID %q: error %q does not name the field", id, err)
		}
	}
	for _, id := range []string{"0123456789abcdef", "ci-42", "in-123456", "a_b.c:d/e-f"} {
		r, s := newTestRecorder(t, Config{Statsd: StatsdConfig{ContainerID: id}})
		r.Count("c", 1)
		r.Flush()
		assertLines(t, s.take(), []string{"c:1|c|c:" + id})
	}
}

// TestCountersNeverWrap: counter sums past int64 are sent as the float64 they are, never as a
// wrapped negative number, through the library and the agent's intake alike.
func TestCountersNeverWrap(t *testing.T) {
	r, s, in := newIntake(t, Config{})
	r.Count("lib", math.MaxInt64)
	r.Count("lib", 1)
	c := r.Counter("handle")
	c.Add(math.MaxInt64)
	c.Add(math.MaxInt64)
	c.Add(2)
	r.Count("neg", math.MinInt64)
	r.Count("neg", -1)
	lines := make([]string, 10_000)
	for i := range lines {
		lines[i] = "agent:999999999999999|c"
	}
	feed(in, strings.Join(lines, "\n"))
	r.Flush()
	want := map[string]float64{
		"agent":  9999999999999990000,
		"handle": 2 * (math.MaxInt64 + 1.0),
		"lib":    math.MaxInt64 + 1.0,
		"neg":    math.MinInt64 - 1.0, // -2^63 in float64, never a wrapped +2^63-1
	}
	rc := newReceiver()
	rc.read(t, s.takePayloads())
	for name, v := range want {
		if got := rc.counters[name+"|"]; got != v {
			t.Errorf("%s reads %v, want %v", name, got, v)
		}
	}
	if len(rc.counters) != len(want) {
		t.Errorf("counters %v, want only %v", rc.counters, want)
	}
}

// TestUnrepresentableValueDroppedAlone: a value that cannot be represented is dropped and
// counted on its own; the interval's other values still go out.
func TestUnrepresentableValueDroppedAlone(t *testing.T) {
	r, s, in := newIntake(t, Config{})
	feed(in, "c:1|c\nc:1e308|c\nc:1|c\nc:1e308|c\nc:1|c\nok:1|c\nok:2|c\nbig:1e300|c|@1e-10")
	r.Flush()
	assertLines(t, s.take(), []string{"c:1e+308|c", "ok:3|c"})
	if got := r.Stats().InvalidValues; got != 2 {
		t.Errorf("InvalidValues = %d, want 2 (the second 1e308, and 1e300 scaled by 1/1e-10)", got)
	}
	feed(in, "c:1|c")
	r.Flush()
	assertLines(t, s.take(), []string{"c:1|c"})
}

// TestTimestampedLinesValidated: a "|T" line is forwarded unaggregated only when this agent
// would accept its values; bad ones are counted by reason and never reach upstream.
func TestTimestampedLinesValidated(t *testing.T) {
	r, s, in := newIntake(t, Config{})
	feed(in, strings.Join([]string{
		"ts.g:NaN|g|T1700000000",
		"ts.c:garbage|c|T1700000000",
		"ts.inf:1e999|ms|T1700000000",
		"ts.s:|s|T1700000000",
		"ts.ok:1:2|d|T1700000000",
		"ts.set:m|s|T1700000000",
	}, "\n"))
	r.Flush()
	assertLines(t, s.take(), []string{"ts.ok:1:2|d|T1700000000", "ts.set:m|s|T1700000000"})
	st := in.Stats()
	if st.ParseErrors != 4 || st.Forwarded != 2 {
		t.Errorf("ParseErrors = %d, Forwarded = %d: want 4 and 2 (%v)", st.ParseErrors, st.Forwarded, st.ParseErrorsBy)
	}
}

// TestTinySampleRatesRejected: a rate whose inverse overflows float64 is a parse error.
func TestTinySampleRatesRejected(t *testing.T) {
	r, s, in := newIntake(t, Config{})
	feed(in, "a:1|c|@5e-324\nb:1|ms|@4e-309\nc:1|d|@1e-300")
	r.Flush()
	lines := s.take()
	for _, l := range lines {
		if strings.HasPrefix(l, "a") || strings.HasPrefix(l, "b") {
			t.Errorf("line %q sent: its rate's inverse overflows", l)
		}
		if strings.HasPrefix(l, "c") {
			t.Errorf("line %q sent: its weight cannot be represented", l)
		}
	}
	if got := in.Stats().ParseErrorsBy["bad_rate"]; got != 2 {
		t.Errorf("bad_rate = %d, want 2 (%v)", got, in.Stats().ParseErrorsBy)
	}
	if got := r.Stats().InvalidValues; got != 1 {
		t.Errorf("InvalidValues = %d, want 1 (weight 1e300 past 2^32)", got)
	}
}

// TestSetMembersCheckedAtRecording: an empty member is never sent as "name:|s", a member longer
// than a payload is refused before it takes memory, each counted; and every recording through a
// handle made from an invalid name is counted, not only the handle's creation.
func TestSetMembersCheckedAtRecording(t *testing.T) {
	r, s, in := newIntake(t, Config{})
	r.SetAdd("s", "")
	set := r.Set("s")
	set.Add("")
	set.Add("m")
	set.Add(strings.Repeat("x", 8193)) // the Writer's payloads are 8192 bytes at most
	feed(in, "s:"+strings.Repeat("y", 60_000)+"|s\ns:n|s")
	r.Flush()
	assertLines(t, s.take(), []string{"s:m|s", "s:n|s"})
	st := r.Stats()
	if st.InvalidValues != 2 || st.Statsd.DroppedTooLong != 2 {
		t.Errorf("InvalidValues = %d, DroppedTooLong = %d: want 2 and 2", st.InvalidValues, st.Statsd.DroppedTooLong)
	}

	before := r.Stats().InvalidNames
	c, g, h, hs := r.Counter("!!!"), r.Gauge("!!!"), r.Histogram("!!!"), r.Set("!!!")
	for range 3 {
		c.Inc()
		g.Set(1)
		g.Add(1)
		h.Observe(1)
		hs.Add("x")
	}
	if got := r.Stats().InvalidNames - before; got != 4+15 {
		t.Errorf("InvalidNames grew by %d, want 19 (4 handles made, 15 recordings)", got)
	}
	var zero Counter
	zero.Inc() // the zero handle belongs to no recorder: a no-op that counts nothing
}

// TestOriginFieldsKeptApartAndForwarded: external data and cardinality, like the container ID,
// keep a series apart and go upstream with it.
func TestOriginFieldsKeptApartAndForwarded(t *testing.T) {
	r, s, in := newIntake(t, Config{})
	feed(in, strings.Join([]string{
		"o:1|c",
		"o:2|c|c:abc",
		"o:3|c|c:abc|e:it-false,cn-x",
		"o:4|c|e:it-false,cn-x|c:abc", // the same origin, fields in another order
		"o:5|c|card:high",
		"o:6|c|c:abc|e:x|card:low",
	}, "\n"))
	r.Flush()
	assertLines(t, s.take(), []string{
		"o:1|c",
		"o:2|c|c:abc",
		"o:7|c|c:abc|e:it-false,cn-x",
		"o:5|c|card:high",
		"o:6|c|c:abc|e:x|card:low",
	})
}

// TestRepeatedValuesMerged: with MultiValue, a distribution's equal values go out once each with
// their summed weight, and a receiver that repeats a sampled value int(1/rate) times reads back
// every value as many times as it was observed, sampled observations included. Without it,
// every observation keeps a line of its own (telegraf ignores rates on |d lines).
func TestRepeatedValuesMerged(t *testing.T) {
	r0, s0 := newTestRecorder(t, Config{})
	for i := range 100 {
		r0.ObserveDistribution("rep", float64(i%7))
	}
	r0.Flush()
	if got := len(s0.take()); got != 100 {
		t.Errorf("without MultiValue: %d lines for 100 observations, want 100", got)
	}
	r, s := newTestRecorder(t, Config{Statsd: StatsdConfig{MultiValue: true}})
	want := map[float64]uint64{}
	for i := range 1000 {
		v := float64(i % 7)
		r.ObserveDistribution("rep", v)
		want[v]++
	}
	for range 3 {
		r.observeWeighted(r.reg.Lookup(KindDistribution, "rep", nil), 2, 0.25) // weighs 4 each
	}
	want[2] += 12
	r.Flush()
	payloads := s.takePayloads()
	values := 0
	for _, p := range payloads {
		for _, l := range strings.Split(string(p), "\n") {
			head, _, _ := strings.Cut(l, "|")
			values += strings.Count(head, ":")
		}
	}
	if values != 7 {
		t.Errorf("%d values sent for 7 distinct ones, want 7", values)
	}
	rc := newReceiver()
	rc.read(t, payloads)
	if got := rc.obs["rep|"]; got != 1012 {
		t.Errorf("receiver counts %d values, want 1012", got)
	}
	var sum float64
	for v, n := range want {
		sum += v * float64(n)
	}
	if got := rc.sums["rep|"]; got != sum {
		t.Errorf("receiver sums %v, want %v", got, sum)
	}
}

// TestValueGroupsMerge checks the merge on its own: every value once, in first-seen order, with
// the weights of its occurrences summed, for samples that all repeat, none repeat, and values
// that differ only in their bits (0 and -0).
func TestValueGroupsMerge(t *testing.T) {
	var g valueGroups
	for _, tc := range []struct{ in, want []weightedValue }{
		{[]weightedValue{{1, 1}, {2, 3}, {1, 2}, {3, 1}, {2, 1}}, []weightedValue{{1, 3}, {2, 4}, {3, 1}}},
		{[]weightedValue{{5, 1}, {6, 1}, {7, 1}}, []weightedValue{{5, 1}, {6, 1}, {7, 1}}},
		{[]weightedValue{{0, 1}, {math.Copysign(0, -1), 1}, {0, 1}}, []weightedValue{{0, 2}, {math.Copysign(0, -1), 1}}},
	} {
		got := g.merge(slices.Clone(tc.in))
		if !slices.EqualFunc(got, tc.want, func(a, b weightedValue) bool {
			return math.Float64bits(a.v) == math.Float64bits(b.v) && a.w == b.w
		}) {
			t.Errorf("merge(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	many := make([]weightedValue, 3000)
	for i := range many {
		many[i] = weightedValue{float64(i % 1000), 1}
	}
	if got := g.merge(many); len(got) != 1000 || got[999].v != 999 || got[999].w != 3 {
		t.Errorf("3000 values over 1000: %d merged, last %v", len(got), got[len(got)-1])
	}
}
