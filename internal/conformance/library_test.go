package conformance

import (
	"fmt"
	"log/slog"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/statshard/statshard/agent"
)

// libRun is one library case on one route: a tee of that network in front of the receivers and a
// root that makes the case's metric names its own.
type libRun struct {
	t     *testing.T
	rc    *receivers
	tee   *tee
	route string // "udp" or "unixgram"
	root  string // "cu.<case>." on UDP, "cx.<case>." on unixgram
}

// n is the case's metric name for s.
func (c *libRun) n(s string) string { return c.root + s }

// recorder starts a recorder sending to the tee. Its interval is an hour unless cfg says
// otherwise: the case decides every flush with flush and finish.
func (c *libRun) recorder(cfg agent.Config) *agent.Recorder {
	c.t.Helper()
	if cfg.Interval == 0 {
		cfg.Interval = time.Hour
	}
	cfg.Statsd.Address = c.tee.addr
	cfg.Logger = slog.New(slog.NewTextHandler(c.t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	r, err := agent.New(cfg)
	if err != nil {
		c.t.Fatalf("agent.New: %v", err)
	}
	c.t.Cleanup(func() { r.Close() })
	return r
}

// flush flushes r and marks the boundary at the tee once its datagrams are there.
func (c *libRun) flush(r *agent.Recorder) {
	c.t.Helper()
	r.Flush()
	c.tee.mark(c.t)
}

// finish closes r (its last flush), checks it dropped nothing on the way and reads back.
func (c *libRun) finish(r *agent.Recorder) readBack {
	c.t.Helper()
	if err := r.Close(); err != nil {
		c.t.Errorf("Close: %v", err)
	}
	c.tee.mark(c.t)
	st := r.Stats()
	if d := st.Statsd.DroppedRefused + st.Statsd.DroppedWouldBlock + st.Statsd.DroppedNoDest + st.Statsd.DroppedOther + st.Statsd.DroppedTooLong; d != 0 {
		c.t.Errorf("recorder dropped %d datagrams or lines on the way: %+v", d, st)
	}
	return c.tee.sync(c.t, c.rc)
}

// listen starts the recorder's DogStatsD intake on a loopback UDP port and returns a client
// connected to it.
func (c *libRun) listen(r *agent.Recorder) (*agent.Intake, net.Conn) {
	c.t.Helper()
	in, err := r.Listen(agent.IntakeConfig{Listen: []string{"udp://127.0.0.1:0"}, Readers: 1})
	if err != nil {
		c.t.Fatalf("Listen: %v", err)
	}
	c.t.Cleanup(func() { in.Close() })
	conn, err := net.Dial("udp", strings.TrimPrefix(in.Addrs()[0], "udp://"))
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { conn.Close() })
	return in, conn
}

// ingest sends payload to the intake and waits until it has parsed lines lines in all.
func (c *libRun) ingest(in *agent.Intake, conn net.Conn, payload string, lines uint64) {
	c.t.Helper()
	if _, err := conn.Write([]byte(payload)); err != nil {
		c.t.Fatal(err)
	}
	deadline := time.Now().Add(readTimeout)
	for in.Stats().Lines < lines {
		if time.Now().After(deadline) {
			c.t.Fatalf("intake: %d lines parsed, want %d: %+v", in.Stats().Lines, lines, in.Stats())
		}
		time.Sleep(time.Millisecond)
	}
}

// wireRule reports in one error every line (or note) in bad, which break rule.
func wireRule(t *testing.T, bad []string, rule string) {
	t.Helper()
	if len(bad) == 0 {
		return
	}
	more := ""
	if len(bad) > 4 {
		more = fmt.Sprintf(" and %d more", len(bad)-4)
	}
	t.Errorf("wire: %d line(s) break the rule %q: %q%s", len(bad), rule, bad[:min(len(bad), 4)], more)
}

// histogramMode is the mode with this name. The suite names modes rather than using the
// constants, whose names are being changed before 1.0.
func histogramMode(t *testing.T, name string) agent.HistogramMode {
	t.Helper()
	m, err := agent.ParseHistogramMode(name)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type libCase struct {
	name string // says the class
	id   string // in metric names
	run  func(t *testing.T, c *libRun)
}

// TestLibrary drives agent.New over UDP and over a unix datagram socket and reads every kind and
// option back from statsd_exporter and telegraf (telegraf on UDP only: it has no unixgram input).
func TestLibrary(t *testing.T) {
	t.Parallel()
	rc := startReceivers(t)
	for _, route := range []string{"udp", "unixgram"} {
		t.Run(route, func(t *testing.T) {
			t.Parallel()
			for _, lc := range libraryCases {
				t.Run(lc.name, func(t *testing.T) {
					t.Parallel()
					c := &libRun{t: t, rc: rc, tee: newTee(t, rc, route), route: route,
						root: routeRoot[route] + "." + lc.id + "."}
					if route == "unixgram" {
						// telegraf limitation, not a skip: the values are read from statsd_exporter.
						t.Log("telegraf: not read back on unixgram: telegraf v1.37.2's statsd input listens on UDP or TCP only, no unix datagram socket")
					}
					lc.run(t, c)
				})
			}
		})
	}
}

// routeRoot starts the metric names of each route, so both routes share the receivers.
var routeRoot = map[string]string{"udp": "cu", "unixgram": "cx"}

var libraryCases = []libCase{
	{"counter", "ctr", testCounter},
	{"gauge", "gau", testGauge},
	{"negative gauge: GaugeSet(-5) in two flushes reads -5", "neg", testNegativeGaugeTwice},
	{"negative gauge: Set(3) then Add(-5) reads -2", "setadd", testGaugeSetThenAdd},
	{"histogram summary", "hsum", testHistogramSummary},
	{"histogram buckets", "hbk", testHistogramBuckets},
	{"histogram distribution mode", "hdist", testHistogramDistributionMode},
	{"distribution raw samples", "draw", testDistributionRaw},
	{"distribution MultiValue", "dmv", testDistributionMultiValue},
	{"distribution repeated values: a line per observation, read back by telegraf too", "drep", testDistributionRepeated},
	{"distribution reservoir overflow: count reads the number observed", "dres", testReservoirOverflow},
	{"SketchDistributions: every bin weight read exactly", "dsk", testSketchDistributions},
	{"set", "set", testSet},
	{"set: an empty member is never sent", "sete", testSetEmptyMember},
	{"Prefix", "pfx", testPrefix},
	{"global Tags: the metric's own tag wins", "tags", testGlobalTags},
	{"ResendGauges: each gauge sent once per flush", "resend", testResendGauges},
	{"Timestamps", "ts", testTimestamps},
	{"sample rates", "rate", testSampleRates},
	{"mixed sample rates on one metric are one series", "mix", testMixedRates},
	{"MaxSeries overflow: Prefix once, histogram rule kept", "ovf", testMaxSeriesOverflow},
	{"names over 200 bytes are cut to 200 including Prefix", "long", testLongName},
	{"counter overflow past int64 reads 2^63, never negative", "c63", testCounterOverflow},
	{"intake: two 1e308|c among five 1|c do not poison the interval", "inf", testIntakeUnrepresentable},
	{"intake: fractional counters are sent as integers, the fraction carried", "frac", testIntakeFractional},
	{"intake: a signed gauge sets its value", "sgn", testIntakeSignedGauge},
}

func testCounter(t *testing.T, c *libRun) {
	r := c.recorder(agent.Config{})
	for range 10 {
		r.Count(c.n("by_name"), 3)
	}
	h := r.Counter(c.n("handle"), "k:v")
	for range 7 {
		h.Inc()
	}
	c.flush(r)
	r.Count(c.n("by_name"), 5)
	h.Add(2)
	rb := c.finish(r)
	rb.expEq(t, c.n("by_name"), nil, 35, "10 × Count(3), flush, Count(5)")
	rb.expEq(t, c.n("handle"), []string{"k", "v"}, 9, "7 × Inc, flush, Add(2)")
	rb.tgInt(t, c.n("by_name"), "value", nil, 35, "10 × Count(3), flush, Count(5)")
	rb.tgInt(t, c.n("handle"), "value", []string{"k", "v"}, 9, "7 × Inc, flush, Add(2)")
}

func testGauge(t *testing.T, c *libRun) {
	r := c.recorder(agent.Config{})
	r.GaugeSet(c.n("set"), 21.5)
	r.GaugeSet(c.n("zero"), 0)
	g := r.Gauge(c.n("handle"))
	g.Set(4)
	g.Add(2.5)
	c.flush(r)
	r.GaugeSet(c.n("set"), 30.25)
	rb := c.finish(r)
	for _, w := range []struct {
		name string
		want float64
		why  string
	}{
		{"set", 30.25, "GaugeSet(21.5), flush, GaugeSet(30.25)"},
		{"zero", 0, "GaugeSet(0) is a value and is sent"},
		{"handle", 6.5, "Set(4) then Add(2.5)"},
	} {
		rb.expEq(t, c.n(w.name), nil, w.want, w.why)
		rb.tgFloat(t, c.n(w.name), "value", nil, w.want, w.why)
	}
}

// checkNegativeGauges checks that every negative value of the gauge name was sent as "name:0|g"
// directly followed by the negative line in the same datagram: the only negative value every
// receiver reads as itself (statsd_exporter and telegraf read a leading '-' as relative).
func checkNegativeGauges(t *testing.T, dgrams []string, name string) {
	t.Helper()
	var bad []string
	for _, d := range dgrams {
		lines := splitLines([]string{d})
		for i, l := range lines {
			if l.name != name || l.typ != "g" || len(l.values) != 1 || !strings.HasPrefix(l.values[0], "-") {
				continue
			}
			if i == 0 || lines[i-1].name != name || lines[i-1].typ != "g" || lines[i-1].values[0] != "0" || lines[i-1].tags != l.tags {
				prev := "first in its datagram"
				if i > 0 {
					prev = "after " + lines[i-1].raw
				}
				bad = append(bad, l.raw+" ("+prev+")")
			}
		}
	}
	wireRule(t, bad, "a negative gauge is sent as "+name+":0|g then the value, in one datagram")
}

func testNegativeGaugeTwice(t *testing.T, c *libRun) {
	r := c.recorder(agent.Config{})
	r.GaugeSet(c.n("g"), -5)
	c.flush(r)
	r.GaugeSet(c.n("g"), -5)
	rb := c.finish(r)
	checkNegativeGauges(t, c.tee.datagrams(), c.n("g"))
	rb.expEq(t, c.n("g"), nil, -5, "GaugeSet(-5) in two flushes")
	rb.tgFloat(t, c.n("g"), "value", nil, -5, "GaugeSet(-5) in two flushes")
}

func testGaugeSetThenAdd(t *testing.T, c *libRun) {
	r := c.recorder(agent.Config{})
	g := r.Gauge(c.n("flushes"))
	g.Set(3)
	c.flush(r)
	g.Add(-5)
	one := r.Gauge(c.n("one_flush"))
	one.Set(3)
	one.Add(-5)
	rb := c.finish(r)
	checkNegativeGauges(t, c.tee.datagrams(), c.n("flushes"))
	checkNegativeGauges(t, c.tee.datagrams(), c.n("one_flush"))
	for _, w := range []struct{ name, why string }{
		{"flushes", "Set(3), flush, Add(-5)"},
		{"one_flush", "Set(3) and Add(-5) in one interval"},
	} {
		rb.expEq(t, c.n(w.name), nil, -2, w.why)
		rb.tgFloat(t, c.n(w.name), "value", nil, -2, w.why)
	}
}

// quantileNear reports whether v is within relErr of the value at rank q of sorted, taken on
// either side when q*(n-1) falls between two values (definitions of a quantile differ there).
func quantileNear(sorted []float64, q, v, relErr float64) bool {
	pos := q * float64(len(sorted)-1)
	for _, x := range []float64{sorted[int(math.Floor(pos))], sorted[int(math.Ceil(pos))]} {
		if math.Abs(v-x) <= relErr*math.Abs(x) {
			return true
		}
	}
	return false
}

func testHistogramSummary(t *testing.T, c *libRun) {
	// Quantiles given, not the defaults: which quantiles are default is not what this case checks.
	r := c.recorder(agent.Config{Histograms: agent.HistogramConfig{Quantiles: []float64{0.5, 0.9, 0.99}}})
	h := r.Histogram(c.n("lat"))
	var vals []float64
	for i := 1; i <= 100; i++ {
		h.Observe(float64(i))
		vals = append(vals, float64(i))
	}
	rb := c.finish(r)
	exact := []struct {
		suffix string
		want   float64
	}{{".count", 100}, {".sum", 5050}, {".avg", 50.5}, {".min", 1}, {".max", 100}}
	for _, w := range exact {
		rb.expEq(t, c.n("lat"+w.suffix), nil, w.want, "1..100 observed, exact")
		if w.suffix == ".count" {
			rb.tgInt(t, c.n("lat"+w.suffix), "value", nil, int64(w.want), "1..100 observed, exact")
		} else {
			rb.tgFloat(t, c.n("lat"+w.suffix), "value", nil, w.want, "1..100 observed, exact")
		}
	}
	// Quantiles come from the sketch: within its documented 1% of the exact ones.
	for _, q := range []struct {
		suffix string
		q      float64
	}{{".median", 0.5}, {".p90", 0.9}, {".p99", 0.99}} {
		name := promName(c.n("lat" + q.suffix))
		if v, ok := rb.exp.Get(name); !ok || !quantileNear(vals, q.q, v, 0.01) {
			t.Errorf("statsd_exporter %s: got %s, want quantile %v of 1..100 within 1%%", name, fmtExp(v, ok), q.q)
		}
		if rb.tg != nil {
			p, _ := rb.tg.Last(name)
			if v, ok := p.Value(); !ok || !quantileNear(vals, q.q, v, 0.01) {
				t.Errorf("telegraf %s: got %v, want quantile %v of 1..100 within 1%%", name, p, q.q)
			}
		}
	}
}

func testHistogramBuckets(t *testing.T, c *libRun) {
	r := c.recorder(agent.Config{Histograms: agent.HistogramConfig{Rules: []agent.HistogramRule{
		{Match: c.n("b"), Mode: histogramMode(c.t, "buckets"), Bounds: []float64{1, 10}},
	}}})
	for _, v := range []float64{0.5, 5, 50, 5} {
		r.Observe(c.n("b"), v)
	}
	rb := c.finish(r)
	for _, w := range []struct {
		le   string
		want int64
	}{{"1", 1}, {"10", 3}, {"inf", 4}} {
		why := "0.5, 5, 50, 5 observed; cumulative le:" + w.le
		rb.expEq(t, c.n("b.bucket"), []string{"le", w.le}, float64(w.want), why)
		rb.tgInt(t, c.n("b.bucket"), "value", []string{"le", w.le}, w.want, why)
	}
	rb.expEq(t, c.n("b.count"), nil, 4, "4 observed")
	rb.expEq(t, c.n("b.sum"), nil, 60.5, "0.5+5+50+5")
	rb.tgInt(t, c.n("b.count"), "value", nil, 4, "4 observed")
	rb.tgFloat(t, c.n("b.sum"), "value", nil, 60.5, "0.5+5+50+5")
}

// checkDistribution checks the exporter's summary of a distribution (count and sum exact) and
// telegraf's points (one per value sent, the values exact).
func checkDistribution(t *testing.T, rb readBack, name string, tags []string, vals []float64) {
	t.Helper()
	sum := 0.0
	for _, v := range vals {
		sum += v
	}
	rb.expEq(t, name+"_count", tags, float64(len(vals)), "one observation per value")
	rb.expEq(t, name+"_sum", tags, sum, "the values' sum")
	if rb.tg == nil {
		return
	}
	got := rb.tgValues(name, tags...)
	slices.Sort(got)
	want := slices.Clone(vals)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("telegraf %s: got points %v, want one point per value %v", promName(name), got, want)
	}
}

func testHistogramDistributionMode(t *testing.T, c *libRun) {
	r := c.recorder(agent.Config{Histograms: agent.HistogramConfig{Rules: []agent.HistogramRule{
		{Match: c.n("hd"), Mode: histogramMode(c.t, "distribution")},
	}}})
	var vals []float64
	for i := 1; i <= 10; i++ {
		r.Observe(c.n("hd"), float64(i))
		vals = append(vals, float64(i))
	}
	rb := c.finish(r)
	if n := len(named(rb.wire, c.n("hd"), "d")); n == 0 {
		t.Errorf("wire: no %s|d line, want the histogram sent as a distribution", c.n("hd"))
	}
	checkDistribution(t, rb, c.n("hd"), nil, vals)
}

func testDistributionRaw(t *testing.T, c *libRun) {
	r := c.recorder(agent.Config{})
	d := r.Distribution(c.n("d"))
	d.Observe(1.5)
	d.Observe(2)
	r.ObserveDistribution(c.n("d"), 2)
	r.ObserveDistribution(c.n("d"), 100)
	rb := c.finish(r)
	checkDistribution(t, rb, c.n("d"), nil, []float64{1.5, 2, 2, 100})
}

func testDistributionRepeated(t *testing.T, c *libRun) {
	r := c.recorder(agent.Config{})
	var vals []float64
	for i := range 150 {
		v := []float64{2.5, 7, 2.5}[i%3]
		r.ObserveDistribution(c.n("rep"), v)
		vals = append(vals, v)
	}
	rb := c.finish(r)
	// telegraf reads a |d line as one point whatever its rate, so equal values are not merged
	// into one weighted line by default (only with MultiValue, which telegraf rejects anyway).
	if lines := named(rb.wire, c.n("rep"), "d"); len(lines) != len(vals) {
		t.Errorf("wire: %d lines, want %d, one per observation", len(lines), len(vals))
	}
	checkDistribution(t, rb, c.n("rep"), nil, vals)
}

func testDistributionMultiValue(t *testing.T, c *libRun) {
	r := c.recorder(agent.Config{Statsd: agent.StatsdConfig{MultiValue: true}})
	for i := 1; i <= 20; i++ {
		r.ObserveDistribution(c.n("mv"), float64(i))
	}
	rb := c.finish(r)
	lines := named(rb.wire, c.n("mv"), "d")
	if len(lines) == 0 || len(lines[0].values) < 2 {
		t.Fatalf("wire: %v, want multi-value lines name:v1:v2:...|d", raws(lines))
	}
	rb.expEq(t, c.n("mv_count"), nil, 20, "statsd_exporter splits a multi-value line into its values")
	rb.expEq(t, c.n("mv_sum"), nil, 210, "1+...+20")
	if rb.tg == nil {
		return
	}
	// telegraf limitation: it reads a second ':' as statsd's "name:1|c:2|c" multi-metric form and
	// rejects the whole DogStatsD 1.1 multi-value line.
	rb.tgAbsent(t, c.n("mv"), "telegraf rejects multi-value lines")
	want := "Splitting '|', unable to parse metric: " + lines[0].raw
	if log := c.rc.tg.Log(); !strings.Contains(log, want) {
		t.Errorf("telegraf log: want %q, as telegraf's rejection of a multi-value line", want)
	}
	t.Logf("telegraf limitation: rejects DogStatsD 1.1 multi-value lines whole (log: %q): MultiValue must stay off for telegraf", want)
}

func testReservoirOverflow(t *testing.T, c *libRun) {
	const size, observed = 10, 25
	r := c.recorder(agent.Config{Histograms: agent.HistogramConfig{ReservoirSize: size}})
	for i := 1; i <= observed; i++ {
		r.ObserveDistribution(c.n("res"), float64(i))
	}
	rb := c.finish(r)
	lines := named(rb.wire, c.n("res"), "d")
	sent := 0
	for _, l := range lines {
		sent += len(l.values)
	}
	rb.expEq(t, c.n("res_count"), nil, observed,
		fmt.Sprintf("%d observed into a reservoir of %d; statsd_exporter counts each sampled value int(1/rate) times; wire %v", observed, size, raws(lines)))
	if rb.tg == nil {
		return
	}
	// telegraf limitation: it ignores the rate of distribution lines, so each sampled value counts
	// once and the overflowed reservoir reads as the values sent, not the values observed.
	if got := len(rb.tgValues(c.n("res"))); got != sent {
		t.Errorf("telegraf %s: got %d points, want %d, one per value sent", promName(c.n("res")), got, sent)
	}
	t.Logf("telegraf limitation: ignores @rate on |d lines: reads %d of the %d values observed (one point per value sent)", sent, observed)
}

func testSketchDistributions(t *testing.T, c *libRun) {
	r := c.recorder(agent.Config{Histograms: agent.HistogramConfig{SketchDistributions: true}})
	// Bin counts include 93 and 99, for which 1/(1/n) is just below n in float64, so a rate of
	// exactly 1/n reads as n-1 at statsd_exporter.
	mult := []struct {
		v float64
		n int
	}{{1, 3}, {2, 7}, {5, 100}, {10, 999}, {1000, 1}, {123.4, 49}, {0.25, 11}, {42, 6}, {7.5, 93}, {64, 99}}
	total, sum := 0, 0.0
	for _, m := range mult {
		for range m.n {
			r.ObserveDistribution(c.n("sk"), m.v)
		}
		total += m.n
		sum += m.v * float64(m.n)
	}
	rb := c.finish(r)
	lines := named(rb.wire, c.n("sk"), "d")
	model := 0
	var lossy []string // bins whose rate does not invert to a whole weight
	for _, l := range lines {
		model += exporterWeight(l)
		if r, err := strconv.ParseFloat(l.rate, 64); err == nil && float64(exporterWeight(l)) != math.Round(1/r) {
			lossy = append(lossy, l.raw)
		}
	}
	rb.expEq(t, c.n("sk_count"), nil, float64(total),
		fmt.Sprintf("%d observations in %d bins; statsd_exporter counts each bin int(1/rate) times, %d by the wire; bins read short: %q", total, len(lines), model, lossy))
	rb.expNear(t, c.n("sk_sum"), nil, sum, 0.01, "bins within the sketch's 1%")
	if rb.tg == nil {
		return
	}
	// telegraf limitation: distribution rates are ignored, so a bin of weight n counts once.
	if got := len(rb.tgValues(c.n("sk"))); got != len(lines) {
		t.Errorf("telegraf %s: got %d points, want %d, one per bin line", promName(c.n("sk")), got, len(lines))
	}
	t.Logf("telegraf limitation: ignores @rate on |d lines: reads %d points (one per bin) for %d observations; bin weights are lost", len(lines), total)
}

func testSet(t *testing.T, c *libRun) {
	r := c.recorder(agent.Config{})
	for i := range 50 {
		r.SetAdd(c.n("users"), fmt.Sprint("u", i%3))
	}
	h := r.Set(c.n("handle"), "k:v")
	h.Add("x")
	h.Add("x")
	rb := c.finish(r)
	rb.tgInt(t, c.n("users"), "value", nil, 3, "3 distinct members of 50 adds")
	rb.tgInt(t, c.n("handle"), "value", []string{"k", "v"}, 1, "one distinct member")
	// statsd_exporter limitation: it has no sets. A set line is a sample error: "malformed_value"
	// when the member is not a number (it parses every value as a float first), "illegal_event"
	// ("no support for StatsD sets") when it is; nothing is exported.
	if ks := rb.expSeries(c.n("users")); len(ks) != 0 {
		t.Errorf("statsd_exporter: got %v, want no series for a set", ks)
	}
	malformed, _ := rb.exp.Get("statsd_exporter_sample_errors_total", "reason", "malformed_value")
	illegal, _ := rb.exp.Get("statsd_exporter_sample_errors_total", "reason", "illegal_event")
	if malformed+illegal < 1 {
		t.Errorf(`statsd_exporter_sample_errors_total{reason="malformed_value"|"illegal_event"}: got %v, want >= 1 (its count of set lines)`, malformed+illegal)
	}
	if n := len(named(rb.wire, c.n("users"), "s")); n != 3 {
		t.Errorf("wire: %d %s|s lines, want 3, one per distinct member", n, c.n("users"))
	}
	t.Logf(`statsd_exporter limitation: no sets; set lines are sample errors (so far in this run: malformed_value %v, illegal_event %v) and nothing is exported`, malformed, illegal)
}

func testSetEmptyMember(t *testing.T, c *libRun) {
	r := c.recorder(agent.Config{})
	r.SetAdd(c.n("e"), "a")
	r.SetAdd(c.n("e"), "")
	r.SetAdd(c.n("e"), "b")
	rb := c.finish(r)
	var bad []string
	for _, l := range named(rb.wire, c.n("e"), "s") {
		if len(l.values) == 1 && l.values[0] == "" {
			bad = append(bad, l.raw)
		}
	}
	// telegraf counts the empty member as a member; statsd_exporter has no sets.
	wireRule(t, bad, "an empty set member is never sent")
	rb.tgInt(t, c.n("e"), "value", nil, 2, `members "a" and "b"; the empty member is not one`)
}

func testPrefix(t *testing.T, c *libRun) {
	p := c.n("p.")
	r := c.recorder(agent.Config{Prefix: p})
	r.Count("c", 2)
	r.GaugeSet("g", 1.25)
	r.Observe("h", 3)
	rb := c.finish(r)
	wireRule(t, prefixedOnce(rb.wire, p), "every name starts with the prefix "+p+" once")
	rb.expEq(t, p+"c", nil, 2, "Count(c, 2) with the prefix")
	rb.expEq(t, p+"g", nil, 1.25, "GaugeSet(g, 1.25) with the prefix")
	rb.expEq(t, p+"h.count", nil, 1, "Observe(h, 3) with the prefix")
	rb.expEq(t, p+"h.sum", nil, 3, "Observe(h, 3) with the prefix")
	rb.tgInt(t, p+"c", "value", nil, 2, "Count(c, 2) with the prefix")
	rb.tgFloat(t, p+"g", "value", nil, 1.25, "GaugeSet(g, 1.25) with the prefix")
	rb.tgInt(t, p+"h.count", "value", nil, 1, "Observe(h, 3) with the prefix")
}

// prefixedOnce returns the lines whose name does not start with p exactly once.
func prefixedOnce(lines []wireLine, p string) []string {
	var bad []string
	for _, l := range lines {
		if !strings.HasPrefix(l.name, p) || strings.HasPrefix(l.name, p+p) {
			bad = append(bad, l.raw)
		}
	}
	return bad
}

func testGlobalTags(t *testing.T, c *libRun) {
	r := c.recorder(agent.Config{Tags: []string{"env:test", "team:core"}})
	for range 3 {
		r.Count(c.n("c"), 1, "env:prod")
	}
	r.Count(c.n("plain"), 4)
	rb := c.finish(r)
	rb.expEq(t, c.n("c"), []string{"env", "prod", "team", "core"}, 3, "own env:prod wins over the global env:test")
	if ks := rb.expSeries(c.n("c")); len(ks) != 1 {
		t.Errorf("statsd_exporter: series %v, want exactly one (the global env never sent beside the own)", ks)
	}
	rb.expEq(t, c.n("plain"), []string{"env", "test", "team", "core"}, 4, "global tags on an untagged metric")
	rb.tgInt(t, c.n("c"), "value", []string{"env", "prod", "team", "core"}, 3, "own env:prod wins over the global env:test")
	rb.tgInt(t, c.n("plain"), "value", []string{"env", "test", "team", "core"}, 4, "global tags on an untagged metric")
	if rb.tg != nil {
		if ps := rb.tg.Series(promName(c.n("c"))); len(ps) != 1 {
			t.Errorf("telegraf: series %v, want exactly one", ps)
		}
	}
	var bad []string
	for _, l := range named(rb.wire, c.n("c"), "") {
		if strings.Count(","+l.tags, ",env:") != 1 {
			bad = append(bad, l.raw)
		}
	}
	wireRule(t, bad, "exactly one env tag")
}

// gaugeSends counts the values of gauge name in lines, "name:0|g" directly followed by a negative
// value of the same gauge counting as one (that pair is how a negative value is set).
func gaugeSends(lines []wireLine, name string) int {
	n := 0
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if l.name != name || l.typ != "g" {
			continue
		}
		n++
		if l.values[0] == "0" && i+1 < len(lines) && lines[i+1].name == name && lines[i+1].typ == "g" &&
			lines[i+1].tags == l.tags && strings.HasPrefix(lines[i+1].values[0], "-") {
			i++
		}
	}
	return n
}

func testResendGauges(t *testing.T, c *libRun) {
	// Expiry 2: the third flush is the one the untouched series expires in, when the registry
	// looks at it a second time before removing it.
	r := c.recorder(agent.Config{Expiry: 2, Statsd: agent.StatsdConfig{ResendGauges: true}})
	r.GaugeSet(c.n("g"), 7)
	r.GaugeSet(c.n("neg"), -4)
	c.flush(r) // 1: set
	c.flush(r) // 2: resent
	c.flush(r) // 3: resent; idle for Expiry flushes, it expires
	c.flush(r) // 4: expired
	r.GaugeSet(c.n("g"), 8)
	r.GaugeSet(c.n("neg"), -4)
	c.flush(r)        // 5: set again
	rb := c.finish(r) // 6: resent
	fl := c.tee.flushes()
	if len(fl) != 6 {
		t.Fatalf("tee: %d flushes marked, want 6", len(fl))
	}
	for i, lines := range fl {
		for _, g := range []string{"g", "neg"} {
			got := gaugeSends(lines, c.n(g))
			once := i == 0 || i == 1 || i == 4 || i == 5 // set, or resent while live
			if got > 1 || once && got != 1 {
				t.Errorf("wire, flush %d of 6: gauge %s sent %d times, want %s: %q", i+1, c.n(g), got,
					map[bool]string{true: "once", false: "at most once"}[once], raws(named(lines, c.n(g), "g")))
			}
		}
	}
	checkNegativeGauges(t, c.tee.datagrams(), c.n("neg"))
	rb.expEq(t, c.n("g"), nil, 8, "7, resent, expired, then 8")
	rb.expEq(t, c.n("neg"), nil, -4, "-4 set, resent, expired, set again")
	rb.tgFloat(t, c.n("g"), "value", nil, 8, "7, resent, expired, then 8")
	rb.tgFloat(t, c.n("neg"), "value", nil, -4, "-4 set, resent, expired, set again")
}

func testTimestamps(t *testing.T, c *libRun) {
	r := c.recorder(agent.Config{Statsd: agent.StatsdConfig{Timestamps: true}})
	before := time.Now().Unix()
	r.Count(c.n("c"), 4)
	r.GaugeSet(c.n("g"), 2)
	rb := c.finish(r)
	after := time.Now().Unix()
	var bad []string
	for _, l := range rb.wire {
		if ts, err := strconv.ParseInt(l.ts, 10, 64); err != nil || ts < before || ts > after {
			bad = append(bad, l.raw)
		}
	}
	wireRule(t, bad, fmt.Sprintf("|T<unix seconds> of the flush, in [%d, %d]", before, after))
	rb.expEq(t, c.n("c"), nil, 4, "Count(4) with |T")
	rb.expEq(t, c.n("g"), nil, 2, "GaugeSet(2) with |T")
	rb.tgInt(t, c.n("c"), "value", nil, 4, "Count(4) with |T")
	rb.tgFloat(t, c.n("g"), "value", nil, 2, "GaugeSet(2) with |T")
	// Receiver limitation: both read the value and drop the timestamp; statsd_exporter is scraped
	// and stamps nothing, telegraf stamps its gather time.
	t.Log("statsd_exporter and telegraf limitation: |T is accepted and ignored (no per-sample timestamps)")
}

// scaled is what a receiver counts for counter lines: each value divided by its rate.
func scaled(lines []wireLine) (float64, bool) {
	total := 0.0
	for _, l := range lines {
		rate := 1.0
		if l.rate != "" {
			var err error
			if rate, err = strconv.ParseFloat(l.rate, 64); err != nil {
				return 0, false
			}
		}
		for _, s := range l.values {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return 0, false
			}
			total += v / rate
		}
	}
	return total, true
}

func testSampleRates(t *testing.T, c *libRun) {
	r := c.recorder(agent.Config{})
	for range 400 {
		r.CountSampled(c.n("c"), 1, 0.25)
	}
	for range 100 {
		r.ObserveSampled(c.n("h"), 2, 0.5)
	}
	rb := c.finish(r)
	// Which calls were kept is random; the wire says how many, and both receivers must read
	// exactly the scaled-up totals of what was sent.
	cl := named(rb.wire, c.n("c"), "c")
	want, ok := scaled(cl)
	if !ok || want <= 0 || want >= 1600 || math.Mod(want, 4) != 0 {
		t.Fatalf("wire: %v, want @0.25 counter lines whose scaled total is a multiple of 4 in (0, 1600)", raws(cl))
	}
	rb.expEq(t, c.n("c"), nil, want, "kept calls × 1/0.25, as sent "+strings.Join(raws(cl), " "))
	rb.tgInt(t, c.n("c"), "value", nil, telegrafCounter(cl, rb.tgArch), "kept calls × 1/0.25, as sent")
	if rb.tg != nil && telegrafCounter(cl, rb.tgArch) != int64(want) {
		t.Errorf("telegraf reads %d for %v, want %v: an integer count divided by a power-of-two rate must be exact", telegrafCounter(cl, rb.tgArch), raws(cl), want)
	}
	hl := named(rb.wire, c.n("h.count"), "c")
	count, ok := scaled(hl)
	if !ok || count <= 0 || count >= 200 {
		t.Fatalf("wire: %v, want a sampled count in (0, 200)", raws(hl))
	}
	rb.expEq(t, c.n("h.count"), nil, count, "kept observations × 1/0.5")
	rb.expEq(t, c.n("h.sum"), nil, 2*count, "each observation is 2")
	rb.tgInt(t, c.n("h.count"), "value", nil, int64(count), "kept observations × 1/0.5")
	rb.tgFloat(t, c.n("h.sum"), "value", nil, 2*count, "each observation is 2")
}

func testMixedRates(t *testing.T, c *libRun) {
	r := c.recorder(agent.Config{})
	for range 5 {
		r.Observe(c.n("mix"), 10)
	}
	for range 200 {
		r.ObserveSampled(c.n("mix"), 2, 0.5)
	}
	rb := c.finish(r)
	for _, s := range []string{".min", ".max", ".sum", ".avg"} {
		if ls := named(rb.wire, c.n("mix"+s), "g"); len(ls) != 1 {
			t.Errorf("wire: %v, want one %s%s line: one series", raws(ls), c.n("mix"), s)
		}
	}
	cnt, ok := rb.exp.Get(promName(c.n("mix.count")))
	kept := (cnt - 5) / 2
	if !ok || kept != math.Trunc(kept) || kept < 1 || kept > 200 {
		t.Fatalf("statsd_exporter %s: got %s, want 5 + 2 × (sampled calls kept)", promName(c.n("mix.count")), fmtExp(cnt, ok))
	}
	why := fmt.Sprintf("5 × 10 unsampled, %v × 2 kept at rate 0.5 (each standing for 2)", kept)
	rb.expEq(t, c.n("mix.sum"), nil, 50+4*kept, why)
	rb.expEq(t, c.n("mix.min"), nil, 2, why)
	rb.expEq(t, c.n("mix.max"), nil, 10, why)
	rb.expEq(t, c.n("mix.avg"), nil, (50+4*kept)/cnt, why)
	rb.tgInt(t, c.n("mix.count"), "value", nil, int64(cnt), why)
	rb.tgFloat(t, c.n("mix.sum"), "value", nil, 50+4*kept, why)
	rb.tgFloat(t, c.n("mix.min"), "value", nil, 2, why)
	rb.tgFloat(t, c.n("mix.max"), "value", nil, 10, why)
}

func testMaxSeriesOverflow(t *testing.T, c *libRun) {
	p := c.root
	r := c.recorder(agent.Config{
		Prefix:    p,
		MaxSeries: 2,
		Histograms: agent.HistogramConfig{Rules: []agent.HistogramRule{
			{Match: "bk", Mode: histogramMode(c.t, "buckets"), Bounds: []float64{1}},
		}},
	})
	r.Count("c", 1, "k:1")
	r.Count("c", 1, "k:2") // the cap: 2 series
	r.Count("c", 1, "k:3")
	r.Count("c", 1, "k:3")
	r.Count("c", 1, "k:4")
	r.Observe("bk", 0.5, "k:1")
	r.Observe("bk", 5, "k:2")
	rb := c.finish(r)
	if st := r.Stats(); st.Folds != 5 {
		t.Errorf("Stats().Folds: got %d, want 5 (3 counts and 2 observations past MaxSeries)", st.Folds)
	}
	wireRule(t, prefixedOnce(rb.wire, p), "every name starts with the prefix "+p+" once")
	ov := []string{"overflow", "true"}
	rb.expEq(t, p+"c", []string{"k", "1"}, 1, "a series within the cap")
	rb.expEq(t, p+"c", ov, 3, "k:3 twice and k:4 folded into ovf.c{overflow:true}")
	rb.expEq(t, p+"bk.bucket", []string{"le", "1", "overflow", "true"}, 1, "the overflow series keeps the bk buckets rule")
	rb.expEq(t, p+"bk.bucket", []string{"le", "inf", "overflow", "true"}, 2, "the overflow series keeps the bk buckets rule")
	rb.expEq(t, p+"bk.count", ov, 2, "2 observations folded")
	rb.expAbsent(t, p+"bk.median", ov, "buckets mode sends no quantiles")
	if ks := rb.expSeries(p + p + "c"); len(ks) != 0 {
		t.Errorf("statsd_exporter: %v, want no series with the prefix twice", ks)
	}
	rb.tgInt(t, p+"c", "value", ov, 3, "k:3 twice and k:4 folded into ovf.c{overflow:true}")
	rb.tgInt(t, p+"bk.bucket", "value", []string{"le", "1", "overflow", "true"}, 1, "the overflow series keeps the bk buckets rule")
	rb.tgInt(t, p+"bk.bucket", "value", []string{"le", "inf", "overflow", "true"}, 2, "the overflow series keeps the bk buckets rule")
}

func testLongName(t *testing.T, c *libRun) {
	p := c.n("p.")
	name := "n" + strings.Repeat("a", 250)
	r := c.recorder(agent.Config{Prefix: p})
	r.Count(name, 6)
	rb := c.finish(r)
	var lines []wireLine
	for _, l := range rb.wire {
		if l.typ == "c" {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 {
		t.Fatalf("wire: %v, want one counter line", raws(lines))
	}
	got := lines[0].name
	if len(got) > 200 || !strings.HasPrefix(p+name, got) || !strings.HasPrefix(got, p) {
		t.Errorf("wire: name of %d bytes %q, want at most 200 bytes, the prefix %q included, cut from the end", len(got), got, p)
	}
	rb.expEq(t, got, nil, 6, "the name as sent")
	rb.tgInt(t, got, "value", nil, 6, "the name as sent")
}

func testCounterOverflow(t *testing.T, c *libRun) {
	r := c.recorder(agent.Config{})
	r.Count(c.n("one"), math.MaxInt64)
	r.Count(c.n("one"), 1)
	r.Count(c.n("two"), math.MaxInt64)
	c.flush(r)
	r.Count(c.n("two"), 1)
	rb := c.finish(r)
	want := math.Exp2(63) // 9223372036854775808, exact in float64
	rb.expEq(t, c.n("one"), nil, want, "MaxInt64 then 1 in one interval: 9223372036854775808, never negative")
	rb.expEq(t, c.n("two"), nil, want, "MaxInt64, flush, 1")
	for _, name := range []string{c.n("one"), c.n("two")} {
		ls := named(rb.wire, name, "c")
		var bad []string
		for _, l := range ls {
			if strings.HasPrefix(l.values[0], "-") {
				bad = append(bad, l.raw)
			}
		}
		wireRule(t, bad, "no negative count")
		if rb.tg == nil {
			continue
		}
		// telegraf limitation: int64 counters; 2^63 is out of range whatever is sent. The model of
		// its arithmetic says what it must read for these lines.
		model := telegrafCounter(ls, rb.tgArch)
		rb.tgInt(t, name, "value", nil, model, "telegraf's int64 arithmetic on "+strings.Join(raws(ls), " "))
		t.Logf("telegraf limitation: int64 counters cannot hold 9223372036854775808; for %v it reads %d", raws(ls), model)
	}
}

func testIntakeUnrepresentable(t *testing.T, c *libRun) {
	r := c.recorder(agent.Config{})
	in, conn := c.listen(r)
	x, other := c.n("x"), c.n("other")
	c.ingest(in, conn, strings.Join([]string{
		x + ":1|c", x + ":1e308|c", x + ":1|c", x + ":1|c", x + ":1e308|c", x + ":1|c", x + ":1|c", other + ":2|c",
	}, "\n"), 8)
	rb := c.finish(r)
	if st := r.Stats(); st.InvalidValues == 0 {
		t.Errorf("Stats().InvalidValues: got 0, want the unrepresentable sum (1e308 + 1e308) counted")
	}
	rb.expEq(t, other, nil, 2, "another series of the same interval")
	v, ok := rb.exp.Get(promName(x))
	if !ok || math.IsInf(v, 0) || math.IsNaN(v) || !(v == 5 || math.Abs(v-1e308) <= 1e-9*1e308) {
		t.Errorf("statsd_exporter %s: got %s, want the good values to arrive: 5, or 1e308+5 when one 1e308 is kept; wire %v",
			promName(x), fmtExp(v, ok), raws(named(rb.wire, x, "")))
	}
	if rb.tg != nil {
		ls := named(rb.wire, x, "c")
		if len(ls) == 0 {
			t.Errorf("wire: no %s line, want the good values sent", x)
		} else {
			model := telegrafCounter(ls, rb.tgArch)
			rb.tgInt(t, x, "value", nil, model, "telegraf's int64 arithmetic on "+strings.Join(raws(ls), " "))
			t.Logf("telegraf limitation: int64 counters; for %v it reads %d", raws(ls), model)
		}
	}
}

func testIntakeFractional(t *testing.T, c *libRun) {
	r := c.recorder(agent.Config{})
	in, conn := c.listen(r)
	for i := range 10 {
		c.ingest(in, conn, c.n("half")+":0.5|c", uint64(i+1))
		c.flush(r)
	}
	rb := c.finish(r)
	var bad []string
	for _, l := range named(rb.wire, c.n("half"), "c") {
		if _, err := strconv.ParseInt(l.values[0], 10, 64); err != nil {
			bad = append(bad, l.raw)
		}
	}
	wireRule(t, bad, "counts are sent as integers, the fraction carried to the next flush")
	rb.expEq(t, c.n("half"), nil, 5, "ten 0.5|c over ten flushes")
	rb.tgInt(t, c.n("half"), "value", nil, 5, "ten 0.5|c over ten flushes; telegraf truncates each non-integer count")
}

func testIntakeSignedGauge(t *testing.T, c *libRun) {
	r := c.recorder(agent.Config{})
	in, conn := c.listen(r)
	c.ingest(in, conn, c.n("g")+":10|g\n"+c.n("g")+":-3|g", 2)
	rb := c.finish(r)
	checkNegativeGauges(t, c.tee.datagrams(), c.n("g"))
	rb.expEq(t, c.n("g"), nil, -3, "10|g then -3|g: a signed gauge sets (DogStatsD)")
	rb.tgFloat(t, c.n("g"), "value", nil, -3, "10|g then -3|g: a signed gauge sets (DogStatsD)")
}
