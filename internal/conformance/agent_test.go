package conformance

import (
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/statshard/statshard/internal/peertest"
)

// agentProc is the agent binary running for one case, fed by the test over one client socket (so
// the intake reads its datagrams in order) and sending upstream to a tee.
type agentProc struct {
	cmd  *exec.Cmd
	conn net.Conn
	http string // the address -http bound
	sent int    // lines sent to the intake

	mu  sync.Mutex
	out strings.Builder

	done chan struct{}
	err  error // Wait's result; read after done is closed
}

func (a *agentProc) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.out.Write(p)
}

func (a *agentProc) log() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.out.String()
}

func (a *agentProc) exited() bool {
	select {
	case <-a.done:
		return true
	default:
		return false
	}
}

// startAgent runs the agent listening on network ("udp" or "unixgram") and sending to upstream,
// with the suite's flags (-interval 100ms -tcp off -http 127.0.0.1:0 -telemetry=false) and then
// extra, which may override them. It waits for the agent's "started" log line, which it writes once
// its intake is bound, and reads from it the addresses the agent bound. The UDP intake asks for
// port 0: a port picked by the test and closed could be taken meanwhile by another agent, and with
// SO_REUSEPORT the two would share it silently. The -http listener is there for its
// statshard_lines_received_total: SIGTERM closes the intake and drops what it has not read yet, so
// finish waits until every line sent was read.
func startAgent(t *testing.T, network, upstream string, extra ...string) *agentProc {
	t.Helper()
	listen := "udp://127.0.0.1:0"
	if network == "unixgram" {
		listen = "unixgram://" + filepath.Join(shortDir(t), "agent.sock")
	}
	args := append([]string{
		"-listen", listen,
		"-upstream", upstream,
		"-interval", "100ms",
		"-tcp", "off",
		"-http", "127.0.0.1:0",
		"-telemetry=false",
	}, extra...)
	a := &agentProc{done: make(chan struct{})}
	a.cmd = exec.Command(agentBin, args...)
	a.cmd.Stdout = a
	a.cmd.Stderr = a
	a.cmd.WaitDelay = time.Second
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		a.err = a.cmd.Wait()
		close(a.done)
	}()
	t.Cleanup(func() {
		if !a.exited() {
			a.cmd.Process.Kill()
			<-a.done
		}
		if a.conn != nil {
			a.conn.Close()
		}
		if t.Failed() {
			t.Logf("agent %v output:\n%s", args, a.log())
		}
	})
	deadline := time.Now().Add(readTimeout)
	var started []string
	for started == nil {
		started = startedLine.FindStringSubmatch(a.log())
		if started != nil {
			break
		}
		if a.exited() {
			first, _, _ := strings.Cut(strings.TrimSpace(a.log()), "\n")
			t.Fatalf("agent %v exited at start: %v: %s (whole output below)", extra, a.err, first)
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent not started within %v:\n%s", readTimeout, a.log())
		}
		time.Sleep(5 * time.Millisecond)
	}
	_, dial, _ := strings.Cut(started[1], "://")
	a.http = started[2]
	conn, err := net.Dial(network, dial)
	if err != nil {
		t.Fatal(err)
	}
	a.conn = conn
	return a
}

// startedLine is the agent's start log line, with the intake address and the -http address bound.
var startedLine = regexp.MustCompile(`msg="statshard agent started".* listen=\[(\S+)\].* http=(\S+)`)

// send sends one datagram of lines to the agent's intake.
func (a *agentProc) send(t *testing.T, lines ...string) {
	t.Helper()
	if _, err := a.conn.Write([]byte(strings.Join(lines, "\n"))); err != nil {
		t.Fatalf("send to the agent: %v", err)
	}
	a.sent += len(lines)
}

// sendMany sends the lines in datagrams of at most 1,400 bytes.
func (a *agentProc) sendMany(t *testing.T, lines []string) {
	t.Helper()
	var batch []string
	size := 0
	for _, l := range lines {
		if size+len(l)+1 > 1400 && len(batch) > 0 {
			a.send(t, batch...)
			batch, size = batch[:0], 0
		}
		batch = append(batch, l)
		size += len(l) + 1
	}
	if len(batch) > 0 {
		a.send(t, batch...)
	}
}

// stop sends SIGTERM, which makes the agent stop its intake, flush everything pending and exit, and
// waits for the exit.
func (a *agentProc) stop(t *testing.T) {
	t.Helper()
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("agent: SIGTERM: %v\n%s", err, a.log())
	}
	select {
	case <-a.done:
	case <-time.After(readTimeout):
		t.Fatalf("agent did not exit within %v of SIGTERM:\n%s", readTimeout, a.log())
	}
	if a.err != nil {
		t.Errorf("agent exit: %v\n%s", a.err, a.log())
	}
}

// metric reads one sample of the agent's /metrics.
func (a *agentProc) metric(t *testing.T, name string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + a.http + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	m, err := peertest.ParseText(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		t.Fatal(err)
	}
	return m[name]
}

// waitWire waits until the tee has seen a line cond accepts: then the agent has flushed at least
// once since what cond looks for was sent.
func waitWire(t *testing.T, x *tee, what string, cond func([]wireLine) bool) {
	t.Helper()
	deadline := time.Now().Add(readTimeout)
	for !cond(x.lines()) {
		if time.Now().After(deadline) {
			t.Fatalf("wire: %s not seen within %v; got %q", what, readTimeout, raws(x.lines()))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func hasLine(name string) func([]wireLine) bool {
	return func(ls []wireLine) bool { return len(named(ls, name, "")) > 0 }
}

// agentRun is one agent case.
type agentRun struct {
	t    *testing.T
	rc   *receivers
	tee  *tee
	net  string // the intake's and the upstream's network
	root string
}

func (c *agentRun) n(s string) string { return c.root + s }

func (c *agentRun) start(extra ...string) *agentProc {
	c.t.Helper()
	return startAgent(c.t, c.net, c.tee.addr, extra...)
}

// finish waits until the agent has read every line sent, stops it (its final flush) and reads
// back.
func (c *agentRun) finish(a *agentProc) readBack {
	c.t.Helper()
	a.waitLines(c.t, float64(a.sent))
	a.stop(c.t)
	return c.tee.sync(c.t, c.rc)
}

type agentCase struct {
	name     string
	id       string
	unixgram bool // also run with the intake and the upstream on unix datagram sockets
	run      func(t *testing.T, c *agentRun)
}

// TestAgent drives the built agent binary (fed DogStatsD over UDP, and over unixgram where marked)
// and reads what it forwards back from statsd_exporter and telegraf.
func TestAgent(t *testing.T) {
	t.Parallel()
	rc := startReceivers(t)
	for _, route := range []string{"udp", "unixgram"} {
		t.Run(route, func(t *testing.T) {
			t.Parallel()
			for _, ac := range agentCases {
				if route == "unixgram" && !ac.unixgram {
					continue
				}
				t.Run(ac.name, func(t *testing.T) {
					t.Parallel()
					if route == "unixgram" {
						t.Log("telegraf: not read back on unixgram: telegraf v1.37.2's statsd input listens on UDP or TCP only, no unix datagram socket")
					}
					ac.run(t, &agentRun{t: t, rc: rc, tee: newTee(t, rc, route), net: route,
						root: map[string]string{"udp": "au", "unixgram": "ax"}[route] + "." + ac.id + "."})
				})
			}
		})
	}
}

var agentCases = []agentCase{
	{"every kind", "kinds", true, testAgentKinds},
	{"options: prefix, tags, histogram rules", "opts", false, testAgentOptions},
	{"sketch distributions: every bin weight read exactly", "sk", false, testAgentSketch},
	{"names over 200 bytes are cut to 200 including the prefix", "long", false, testAgentLongName},
	{"max-series overflow: prefix once, histogram rule kept", "ovf", false, testAgentOverflow},
	{"a signed gauge sets by default", "sgn", true, testAgentSignedGauge},
	{"-relative-gauges: a signed gauge adds", "rel", false, testAgentRelativeGauges},
	{"fractional counters over flushes total 5 at both receivers", "frac", false, testAgentFractional},
	{"timestamped lines with bad values are rejected, not forwarded", "tsbad", false, testAgentBadTimestamped},
	{"sample rate 5e-324 is rejected", "tiny", false, testAgentTinyRate},
	{"an empty set member is never sent", "sete", false, testAgentEmptySet},
	{"counter overflow: 10,000 × 999999999999999|c in one interval forwards ~9.99999999999999e18", "big", false, testAgentCounterOverflow},
	{"two 1e308|c among five 1|c do not poison the interval", "inf", false, testAgentUnrepresentable},
}

func testAgentKinds(t *testing.T, c *agentRun) {
	a := c.start()
	n := c.n
	a.send(t,
		n("c")+":2|c", n("c")+":2|c", n("c")+":2|c", n("c")+":1|c|@0.5",
		n("ctag")+":1|c|#k:v",
		n("g")+":5|g",
		n("t")+":100|ms", n("t")+":300|ms", n("t")+":200|ms",
		n("h")+":7|h",
		n("d")+":1|d", n("d")+":2|d", n("d")+":3:4|d",
		n("s")+":x|s", n("s")+":y|s", n("s")+":x|s",
	)
	rb := c.finish(a)
	rb.expEq(t, n("c"), nil, 8, "3 × 2|c and 1|c|@0.5")
	rb.expEq(t, n("ctag"), []string{"k", "v"}, 1, "tags kept")
	rb.expEq(t, n("g"), nil, 5, "5|g")
	for _, w := range []struct {
		suffix string
		want   float64
	}{{".count", 3}, {".sum", 600}, {".avg", 200}, {".min", 100}, {".max", 300}} {
		rb.expEq(t, n("t"+w.suffix), nil, w.want, "100, 300, 200 ms as a summary")
		if w.suffix == ".count" {
			rb.tgInt(t, n("t"+w.suffix), "value", nil, int64(w.want), "100, 300, 200 ms as a summary")
		} else {
			rb.tgFloat(t, n("t"+w.suffix), "value", nil, w.want, "100, 300, 200 ms as a summary")
		}
	}
	rb.expEq(t, n("h.count"), nil, 1, "7|h")
	rb.expEq(t, n("h.max"), nil, 7, "7|h")
	checkDistribution(t, rb, n("d"), nil, []float64{1, 2, 3, 4})
	rb.tgInt(t, n("c"), "value", nil, 8, "3 × 2|c and 1|c|@0.5")
	rb.tgInt(t, n("ctag"), "value", []string{"k", "v"}, 1, "tags kept")
	rb.tgFloat(t, n("g"), "value", nil, 5, "5|g")
	rb.tgInt(t, n("h.count"), "value", nil, 1, "7|h")
	rb.tgInt(t, n("s"), "value", nil, 2, "members x and y")
	// statsd_exporter limitation: no sets.
	if ks := rb.expSeries(n("s")); len(ks) != 0 {
		t.Errorf("statsd_exporter: %v, want no series for a set", ks)
	}
	t.Log("statsd_exporter limitation: no sets; the set is read back from telegraf only")
}

func testAgentOptions(t *testing.T, c *agentRun) {
	p := c.n("p.")
	a := c.start("-prefix", p, "-tags", "env:e2e,team:t", "-histogram-rule", "bk=buckets:1,10",
		"-histogram-rule", "hd=distribution")
	a.send(t, "c:1|c|#env:prod", "c:1|c|#env:prod", "g:3|g", "bk:5|ms", "bk:5|ms", "bk:50|ms", "hd:1|h", "hd:2|h")
	rb := c.finish(a)
	wireRule(t, prefixedOnce(rb.wire, p), "every name starts with the prefix "+p+" once")
	tags := []string{"env", "e2e", "team", "t"}
	rb.expEq(t, p+"c", []string{"env", "prod", "team", "t"}, 2, "own env:prod wins over -tags env:e2e")
	if ks := rb.expSeries(p + "c"); len(ks) != 1 {
		t.Errorf("statsd_exporter: %v, want one series", ks)
	}
	rb.expEq(t, p+"g", tags, 3, "-tags on an untagged line")
	rb.expEq(t, p+"bk.bucket", append([]string{"le", "10"}, tags...), 2, "5, 5, 50 ms into buckets 1, 10")
	rb.expEq(t, p+"bk.bucket", append([]string{"le", "inf"}, tags...), 3, "5, 5, 50 ms into buckets 1, 10")
	rb.expEq(t, p+"bk.count", tags, 3, "5, 5, 50 ms")
	rb.expEq(t, p+"bk.sum", tags, 60, "5, 5, 50 ms")
	if len(named(rb.wire, p+"hd", "d")) == 0 {
		t.Errorf("wire: no %shd|d line, want -histogram-rule hd=distribution to send |d", p)
	}
	checkDistribution(t, rb, p+"hd", tags, []float64{1, 2})
	rb.tgInt(t, p+"c", "value", []string{"env", "prod", "team", "t"}, 2, "own env:prod wins over -tags env:e2e")
	rb.tgFloat(t, p+"g", "value", tags, 3, "-tags on an untagged line")
	rb.tgInt(t, p+"bk.bucket", "value", append([]string{"le", "10"}, tags...), 2, "5, 5, 50 ms into buckets 1, 10")
	rb.tgInt(t, p+"bk.count", "value", tags, 3, "5, 5, 50 ms")
}

func testAgentSketch(t *testing.T, c *agentRun) {
	a := c.start("-sketch-distributions")
	sk := c.n("sk")
	// Bin counts 93 and 99 invert badly in float64 (see the library's sketch case).
	mult := []struct {
		v string
		n int
	}{{"1", 3}, {"7.5", 93}, {"64", 99}}
	var lines []string
	total := 0
	for _, m := range mult {
		for range m.n {
			lines = append(lines, sk+":"+m.v+"|d")
		}
		total += m.n
	}
	a.sendMany(t, lines)
	rb := c.finish(a)
	bins := named(rb.wire, sk, "d")
	rb.expEq(t, sk+"_count", nil, float64(total), fmt.Sprintf("%d observations as %d weighted bins %q", total, len(bins), raws(bins)))
	if rb.tg == nil {
		return
	}
	// telegraf limitation: distribution rates are ignored, a bin counts once.
	if got := len(rb.tgValues(sk)); got != len(bins) {
		t.Errorf("telegraf %s: %d points, want %d, one per bin line", promName(sk), got, len(bins))
	}
	t.Logf("telegraf limitation: ignores @rate on |d lines: %d points for %d observations", len(bins), total)
}

func testAgentLongName(t *testing.T, c *agentRun) {
	p := c.n("p.")
	a := c.start("-prefix", p)
	long := "n" + strings.Repeat("a", 250)
	a.send(t, long+":6|c")
	rb := c.finish(a)
	if len(rb.wire) != 1 {
		t.Fatalf("wire: %q, want one line", raws(rb.wire))
	}
	got := rb.wire[0].name
	if len(got) > 200 || !strings.HasPrefix(p+long, got) || !strings.HasPrefix(got, p) {
		t.Errorf("wire: name of %d bytes %q, want at most 200 bytes, the prefix %q included, cut from the end", len(got), got, p)
	}
	rb.expEq(t, got, nil, 6, "the name as sent")
	rb.tgInt(t, got, "value", nil, 6, "the name as sent")
}

func testAgentOverflow(t *testing.T, c *agentRun) {
	p := c.root
	a := c.start("-prefix", p, "-max-series", "2", "-histogram-rule", "bk=buckets:1")
	a.send(t, "c:1|c|#k:1", "c:1|c|#k:2", "c:1|c|#k:3", "c:1|c|#k:4", "bk:0.5|ms|#k:1", "bk:5|ms|#k:2")
	rb := c.finish(a)
	wireRule(t, prefixedOnce(rb.wire, p), "every name starts with the prefix "+p+" once")
	ov := []string{"overflow", "true"}
	rb.expEq(t, p+"c", []string{"k", "1"}, 1, "within -max-series 2")
	rb.expEq(t, p+"c", ov, 2, "k:3 and k:4 folded into one overflow series")
	rb.expEq(t, p+"bk.bucket", []string{"le", "1", "overflow", "true"}, 1, "the overflow series keeps the bk buckets rule")
	rb.expEq(t, p+"bk.bucket", []string{"le", "inf", "overflow", "true"}, 2, "the overflow series keeps the bk buckets rule")
	rb.tgInt(t, p+"c", "value", ov, 2, "k:3 and k:4 folded into one overflow series")
	rb.tgInt(t, p+"bk.bucket", "value", []string{"le", "inf", "overflow", "true"}, 2, "the overflow series keeps the bk buckets rule")
}

func testAgentSignedGauge(t *testing.T, c *agentRun) {
	a := c.start()
	n := c.n
	a.send(t, n("one")+":10|g", n("one")+":-3|g")
	a.send(t, n("two")+":10|g")
	waitWire(t, c.tee, "a flush of "+n("two"), hasLine(n("two")))
	a.send(t, n("two")+":-3|g")
	rb := c.finish(a)
	checkNegativeGauges(t, c.tee.datagrams(), n("one"))
	checkNegativeGauges(t, c.tee.datagrams(), n("two"))
	for _, g := range []string{"one", "two"} {
		why := "10|g then -3|g (" + map[string]string{"one": "one datagram", "two": "two flushes"}[g] + "): DogStatsD sets -3"
		rb.expEq(t, n(g), nil, -3, why)
		rb.tgFloat(t, n(g), "value", nil, -3, why)
	}
}

func testAgentRelativeGauges(t *testing.T, c *agentRun) {
	a := c.start("-relative-gauges")
	n := c.n
	a.send(t, n("g")+":10|g", n("g")+":-3|g", n("neg")+":-4|g")
	rb := c.finish(a)
	checkNegativeGauges(t, c.tee.datagrams(), n("neg"))
	rb.expEq(t, n("g"), nil, 7, "10|g then -3|g with -relative-gauges: statsd subtracts")
	rb.expEq(t, n("neg"), nil, -4, "-4|g on a new gauge with -relative-gauges")
	rb.tgFloat(t, n("g"), "value", nil, 7, "10|g then -3|g with -relative-gauges: statsd subtracts")
	rb.tgFloat(t, n("neg"), "value", nil, -4, "-4|g on a new gauge with -relative-gauges")
}

func testAgentFractional(t *testing.T, c *agentRun) {
	a := c.start()
	half, tick := c.n("half"), c.n("tick")
	for i := range 10 {
		a.send(t, half+":0.5|c", tick+":1|c")
		waitWire(t, c.tee, "flush "+fmt.Sprint(i+1), func(ls []wireLine) bool { return len(named(ls, tick, "c")) > i })
	}
	rb := c.finish(a)
	var bad []string
	for _, l := range named(rb.wire, half, "c") {
		if strings.ContainsAny(l.values[0], ".eE") {
			bad = append(bad, l.raw)
		}
	}
	wireRule(t, bad, "counts are sent as integers, the fraction carried to the next flush")
	rb.expEq(t, half, nil, 5, "ten 0.5|c over flushes")
	rb.tgInt(t, half, "value", nil, 5, "ten 0.5|c over flushes; telegraf truncates each non-integer count")
	rb.tgInt(t, tick, "value", nil, 10, "one per flush")
}

func testAgentBadTimestamped(t *testing.T, c *agentRun) {
	a := c.start()
	n := c.n
	ts := fmt.Sprint(time.Now().Unix())
	bad := []string{n("nan"), n("inf"), n("big"), n("ninf")}
	a.send(t, n("nan")+":NaN|g|T"+ts, n("inf")+":+Inf|c|T"+ts, n("big")+":1e999|g|T"+ts, n("ninf")+":-Inf|d|T"+ts, n("ok")+":4|g|T"+ts)
	waitWire(t, c.tee, n("ok")+" forwarded", hasLine(n("ok")))
	rb := c.finish(a)
	var sent []string
	for _, b := range bad {
		sent = append(sent, raws(named(rb.wire, b, ""))...)
		rb.expAbsent(t, b, nil, "a bad value is rejected")
		rb.tgAbsent(t, b, "a bad value is rejected")
	}
	wireRule(t, sent, "a |T line with a NaN, ±Inf or out-of-range value is rejected, not forwarded")
	rb.expEq(t, n("ok"), nil, 4, "a good |T line is forwarded")
	rb.tgFloat(t, n("ok"), "value", nil, 4, "a good |T line is forwarded")
}

func testAgentTinyRate(t *testing.T, c *agentRun) {
	a := c.start()
	n := c.n
	a.send(t, n("c")+":1|c|@5e-324", n("d")+":1|d|@5e-324", n("h")+":1|ms|@5e-324", n("ok")+":1|c")
	rb := c.finish(a)
	var sent []string
	for _, l := range rb.wire {
		for _, b := range []string{n("c"), n("d"), n("h")} {
			if l.name == b || strings.HasPrefix(l.name, b+".") {
				sent = append(sent, l.raw)
			}
		}
	}
	wireRule(t, sent, "a line with @5e-324 (1/rate = +Inf) is rejected")
	rb.expEq(t, n("ok"), nil, 1, "the good line of the datagram")
	rb.tgInt(t, n("ok"), "value", nil, 1, "the good line of the datagram")
}

func testAgentEmptySet(t *testing.T, c *agentRun) {
	a := c.start()
	e := c.n("e")
	a.send(t, e+":|s", e+":a|s")
	rb := c.finish(a)
	var bad []string
	for _, l := range named(rb.wire, e, "s") {
		if l.values[0] == "" {
			bad = append(bad, l.raw)
		}
	}
	wireRule(t, bad, "an empty set member is never sent")
	rb.tgInt(t, e, "value", nil, 1, `only "a": telegraf would count an empty member`)
}

// startOneInterval starts an agent whose interval is an hour, so that SIGTERM's final flush makes
// everything sent one interval.
func (c *agentRun) startOneInterval() *agentProc {
	c.t.Helper()
	return c.start("-interval", "1h")
}

// waitLines waits until the agent has received n lines.
func (a *agentProc) waitLines(t *testing.T, n float64) {
	t.Helper()
	deadline := time.Now().Add(readTimeout)
	for {
		got := a.metric(t, "statshard_lines_received_total")
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent: %v lines received, want %v", got, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func testAgentCounterOverflow(t *testing.T, c *agentRun) {
	a := c.startOneInterval()
	big := c.n("big")
	lines := make([]string, 10_000)
	for i := range lines {
		lines[i] = big + ":999999999999999|c"
	}
	// Paced, so that a receive buffer smaller than asked (net.core.rmem_max) cannot overflow:
	// 1,000 lines at a time, each batch read before the next is sent.
	for i := 0; i < len(lines); i += 1000 {
		a.sendMany(t, lines[i:i+1000])
		a.waitLines(t, float64(i+1000))
	}
	rb := c.finish(a)
	bl := named(rb.wire, big, "c")
	var neg []string
	for _, l := range bl {
		if strings.HasPrefix(l.values[0], "-") {
			neg = append(neg, l.raw)
		}
	}
	wireRule(t, neg, "no negative count")
	rb.expNear(t, big, nil, 9.99999999999999e18, 1e-12, fmt.Sprintf("10,000 × 999999999999999 in one interval, forwarded as %q", raws(bl)))
	if rb.tg != nil && len(bl) > 0 {
		// telegraf limitation: int64 counters cannot hold 9.99999999999999e18 (> 2^63-1).
		model := telegrafCounter(bl, rb.tgArch)
		rb.tgInt(t, big, "value", nil, model, "telegraf's int64 arithmetic on "+strings.Join(raws(bl), " "))
		t.Logf("telegraf limitation: int64 counters; for %q it reads %d", raws(bl), model)
	}
}

func testAgentUnrepresentable(t *testing.T, c *agentRun) {
	a := c.startOneInterval()
	x, other := c.n("x"), c.n("other")
	a.send(t, x+":1|c", x+":1e308|c", x+":1|c", x+":1|c", x+":1e308|c", x+":1|c", x+":1|c", other+":2|c")
	rb := c.finish(a)
	rb.expEq(t, other, nil, 2, "another series of the interval")
	v, ok := rb.exp.Get(promName(x))
	if !ok || math.IsInf(v, 0) || !(v == 5 || math.Abs(v-1e308) <= 1e-9*1e308) {
		t.Errorf("statsd_exporter %s: got %s, want the good values to arrive: 5, or 1e308+5 when one 1e308 is kept; wire %q",
			promName(x), fmtExp(v, ok), raws(named(rb.wire, x, "")))
	}
	rb.tgInt(t, other, "value", nil, 2, "another series of the interval")
	if rb.tg == nil {
		return
	}
	ls := named(rb.wire, x, "c")
	if len(ls) == 0 {
		t.Errorf("telegraf: nothing to read: no %s line on the wire, want the good values sent", x)
		return
	}
	model := telegrafCounter(ls, rb.tgArch)
	rb.tgInt(t, x, "value", nil, model, "telegraf's int64 arithmetic on "+strings.Join(raws(ls), " "))
	t.Logf("telegraf limitation: int64 counters; for %q it reads %d", raws(ls), model)
}
