package conformance

import (
	"debug/buildinfo"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/statshard/statshard/internal/peertest"
)

// readTimeout bounds every wait for a receiver to show a marker or a tee to see a datagram. A wrong
// value does not wait for it: values are read once, after the marker.
const readTimeout = 15 * time.Second

// receivers are the real DogStatsD servers a top-level test reads back from, shared by its
// subtests; every subtest uses metric names of its own.
type receivers struct {
	exp *peertest.StatsdExporter // UDP and unixgram
	tg  *peertest.Telegraf       // UDP only: telegraf's statsd input has no unix datagram socket
	// tgArch is the GOARCH telegraf was built for, which decides what its int64 conversion of an
	// out-of-range float gives (see telegrafInt64).
	tgArch string
}

func startReceivers(t *testing.T) *receivers {
	t.Helper()
	rc := &receivers{
		exp: peertest.Start(t, peertest.Options{Unixgram: true}),
		tg:  peertest.StartTelegraf(t, peertest.TelegrafOptions{}),
	}
	bi, err := buildinfo.ReadFile(peertest.TelegrafBinary(t))
	if err != nil {
		t.Fatalf("telegraf build info: %v", err)
	}
	for _, s := range bi.Settings {
		if s.Key == "GOARCH" {
			rc.tgArch = s.Value
		}
	}
	if rc.tgArch != "amd64" && rc.tgArch != "arm64" && rc.tgArch != runtime.GOARCH {
		t.Fatalf("telegraf built for GOARCH=%q: the suite models its counter arithmetic for amd64 and arm64, or the test's own GOARCH", rc.tgArch)
	}
	return rc
}

// ctlPrefix starts the tee's control datagrams, which no DogStatsD line can start with.
const ctlPrefix = "\x00conformance "

var markerSeq atomic.Uint64

// tee is a loopback socket the sender under test sends to. It records every datagram and forwards
// it unchanged to statsd_exporter and, on UDP, to telegraf, over the same network. Its control
// datagrams, sent by the test to the same socket so they queue behind what the sender sent,
// mark flush boundaries and trigger the read-back markers.
type tee struct {
	network string
	// addr is what the sender is given: "udp://127.0.0.1:port" or "unixgram:///path".
	addr string
	// dial is what the test's own clients dial.
	dial string

	conn net.PacketConn
	exp  net.Conn
	tg   net.Conn // nil on unixgram
	ctl  net.Conn
	done chan struct{}

	mu     sync.Mutex
	dgrams []string // the sender's datagrams, control ones left out
	marks  []int    // len(dgrams) at each mark
	seen   map[string]bool
	fwdErr error
}

// newTee listens on network ("udp" or "unixgram") and connects to the receivers. It is closed when
// the test ends.
func newTee(t *testing.T, rc *receivers, network string) *tee {
	t.Helper()
	x := &tee{network: network, done: make(chan struct{}), seen: map[string]bool{}}
	var err error
	switch network {
	case "udp":
		if x.conn, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		x.dial = x.conn.LocalAddr().String()
		x.addr = "udp://" + x.dial
		if x.exp, err = net.Dial("udp", rc.exp.UDPAddr); err != nil {
			t.Fatal(err)
		}
		if x.tg, err = net.Dial("udp", rc.tg.UDPAddr); err != nil {
			t.Fatal(err)
		}
	case "unixgram":
		x.dial = filepath.Join(shortDir(t), "tee.sock")
		if x.conn, err = net.ListenPacket("unixgram", x.dial); err != nil {
			t.Fatal(err)
		}
		x.addr = "unixgram://" + x.dial
		if x.exp, err = net.Dial("unixgram", rc.exp.UnixPath); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("tee: unknown network %q", network)
	}
	if x.ctl, err = net.Dial(network, x.dial); err != nil {
		t.Fatal(err)
	}
	go x.run()
	t.Cleanup(func() {
		x.conn.Close()
		<-x.done
		x.ctl.Close()
		x.exp.Close()
		if x.tg != nil {
			x.tg.Close()
		}
	})
	return x
}

// shortDir is a temporary directory with a path short enough for a unix socket.
func shortDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "cf")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func (x *tee) run() {
	defer close(x.done)
	buf := make([]byte, 1<<16)
	for {
		n, _, err := x.conn.ReadFrom(buf)
		if err != nil {
			return // closed by the cleanup
		}
		d := string(buf[:n])
		x.mu.Lock()
		if ctl, ok := strings.CutPrefix(d, ctlPrefix); ok {
			x.control(ctl)
		} else {
			x.dgrams = append(x.dgrams, d)
			x.forward(x.exp, d)
			if x.tg != nil {
				x.forward(x.tg, d)
			}
		}
		x.mu.Unlock()
	}
}

// control handles "mark <id>" and "sync <id>"; mu is held.
func (x *tee) control(ctl string) {
	verb, id, _ := strings.Cut(ctl, " ")
	switch verb {
	case "mark":
		x.marks = append(x.marks, len(x.dgrams))
	case "sync":
		// The exporter has no sets and telegraf writes a set after every other type of its
		// gather, so each gets the marker type that is in order for it.
		x.forward(x.exp, id+":1|g")
		if x.tg != nil {
			x.forward(x.tg, id+":x|s")
		}
	}
	x.seen[ctl] = true
}

func (x *tee) forward(c net.Conn, d string) {
	if _, err := c.Write([]byte(d)); err != nil && x.fwdErr == nil {
		x.fwdErr = fmt.Errorf("tee: forward to %s: %w", c.RemoteAddr(), err)
	}
}

// sendCtl sends a control datagram to the tee and waits until the tee has handled it: then every
// datagram the sender sent before the call has been recorded and forwarded.
func (x *tee) sendCtl(t *testing.T, ctl string) {
	t.Helper()
	if _, err := x.ctl.Write([]byte(ctlPrefix + ctl)); err != nil {
		t.Fatalf("tee: send control %q: %v", ctl, err)
	}
	deadline := time.Now().Add(readTimeout)
	for {
		x.mu.Lock()
		ok, err := x.seen[ctl], x.fwdErr
		x.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("tee: control %q not received within %v", ctl, readTimeout)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// mark records a flush boundary: the datagrams received so far belong to earlier flushes.
func (x *tee) mark(t *testing.T) {
	t.Helper()
	x.sendCtl(t, fmt.Sprintf("mark %d", markerSeq.Add(1)))
}

// lines returns every line the sender sent, in order.
func (x *tee) lines() []wireLine {
	x.mu.Lock()
	defer x.mu.Unlock()
	return splitLines(x.dgrams)
}

// datagrams returns the sender's datagrams, in order.
func (x *tee) datagrams() []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]string(nil), x.dgrams...)
}

// flushes returns the lines between consecutive marks: flushes[i] is what was sent after mark i-1
// (or the start) and before mark i; what follows the last mark is not included.
func (x *tee) flushes() [][]wireLine {
	x.mu.Lock()
	defer x.mu.Unlock()
	var out [][]wireLine
	from := 0
	for _, m := range x.marks {
		out = append(out, splitLines(x.dgrams[from:m]))
		from = m
	}
	return out
}

func splitLines(dgrams []string) []wireLine {
	var out []wireLine
	for _, d := range dgrams {
		for l := range strings.SplitSeq(d, "\n") {
			if l != "" {
				out = append(out, parseWire(l))
			}
		}
	}
	return out
}

// readBack is what the receivers show once everything sent before it reached them.
type readBack struct {
	exp peertest.Metrics
	tg  *peertest.TelegrafMetrics // nil when telegraf is not on the route (unixgram)
	// wire is every line the sender sent.
	wire []wireLine
	// tgArch is the GOARCH of the telegraf binary.
	tgArch string
}

// sync sends a marker through the tee to each receiver, waits until each shows it and returns what
// they show then. Receivers apply datagrams in order (statsd_exporter per socket; telegraf with one
// parser worker), so nothing sent before the marker is still on its way.
func (x *tee) sync(t *testing.T, rc *receivers) readBack {
	t.Helper()
	id := fmt.Sprintf("conf.sync.%d.%d", os.Getpid(), markerSeq.Add(1))
	x.sendCtl(t, "sync "+id)
	name := promName(id)
	rb := readBack{wire: x.lines(), tgArch: rc.tgArch}
	rb.exp = rc.exp.WaitFor(t, readTimeout, func(m peertest.Metrics) bool {
		_, ok := m.Get(name)
		return ok
	})
	if x.tg != nil {
		rb.tg = rc.tg.WaitFor(t, readTimeout, func(m *peertest.TelegrafMetrics) bool {
			_, ok := m.Last(name)
			return ok
		})
	}
	return rb
}

// promName is the name both receivers give a DogStatsD name: '.' becomes '_'.
func promName(s string) string { return strings.ReplaceAll(s, ".", "_") }

// --- assertions on what the receivers read back ---

// expEq checks that statsd_exporter shows the sample with exactly this value.
func (rb readBack) expEq(t *testing.T, name string, labels []string, want float64, why string) {
	t.Helper()
	got, ok := rb.exp.Get(promName(name), labels...)
	if !ok || got != want {
		t.Errorf("statsd_exporter %s: got %s, want %s (%s)", rb.exp.Key(promName(name), labels...), fmtExp(got, ok), fmtNum(want), why)
	}
}

// expNear checks that statsd_exporter shows the sample within relErr of want.
func (rb readBack) expNear(t *testing.T, name string, labels []string, want, relErr float64, why string) {
	t.Helper()
	got, ok := rb.exp.Get(promName(name), labels...)
	if !ok || !(math.Abs(got-want) <= relErr*math.Abs(want)) {
		t.Errorf("statsd_exporter %s: got %s, want %s within %g%% (%s)", rb.exp.Key(promName(name), labels...), fmtExp(got, ok), fmtNum(want), relErr*100, why)
	}
}

// expAbsent checks that statsd_exporter has no sample with this name and labels.
func (rb readBack) expAbsent(t *testing.T, name string, labels []string, why string) {
	t.Helper()
	if got, ok := rb.exp.Get(promName(name), labels...); ok {
		t.Errorf("statsd_exporter %s: got %s, want no such sample (%s)", rb.exp.Key(promName(name), labels...), fmtNum(got), why)
	}
}

// expSeries returns the keys of every statsd_exporter sample named name, whatever its labels.
func (rb readBack) expSeries(name string) []string {
	var out []string
	for k := range rb.exp {
		if k == promName(name) || strings.HasPrefix(k, promName(name)+"{") {
			out = append(out, k)
		}
	}
	return out
}

func fmtExp(v float64, ok bool) string {
	if !ok {
		return "no sample"
	}
	return fmtNum(v)
}

func fmtNum(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// tgPoint returns telegraf's latest point of the series, failing the check when there is none.
func (rb readBack) tgPoint(t *testing.T, name string, tags []string, why string) (peertest.Point, bool) {
	t.Helper()
	p, ok := rb.tg.Last(promName(name), tags...)
	if !ok {
		t.Errorf("telegraf %s %v: no point, want one (%s)", promName(name), tags, why)
	}
	return p, ok
}

// tgInt checks that telegraf's latest point of the series has the field written as this integer.
// It does nothing when telegraf is not on the route.
func (rb readBack) tgInt(t *testing.T, name, field string, tags []string, want int64, why string) {
	t.Helper()
	if rb.tg == nil {
		return
	}
	p, ok := rb.tgPoint(t, name, tags, why)
	if !ok {
		return
	}
	if got, ok := p.Int(field); !ok || got != want {
		t.Errorf("telegraf %s %s: got %s, want %d (%s)", p, field, fieldText(p, field), want, why)
	}
}

// tgFloat checks that telegraf's latest point of the series has the field with exactly this
// value. It does nothing when telegraf is not on the route.
func (rb readBack) tgFloat(t *testing.T, name, field string, tags []string, want float64, why string) {
	t.Helper()
	rb.tgNear(t, name, field, tags, want, 0, why)
}

// tgNear is tgFloat within relErr of want.
func (rb readBack) tgNear(t *testing.T, name, field string, tags []string, want, relErr float64, why string) {
	t.Helper()
	if rb.tg == nil {
		return
	}
	p, ok := rb.tgPoint(t, name, tags, why)
	if !ok {
		return
	}
	if got, ok := p.Float(field); !ok || !(math.Abs(got-want) <= relErr*math.Abs(want)) {
		t.Errorf("telegraf %s %s: got %s, want %s (%s)", p, field, fieldText(p, field), fmtNum(want), why)
	}
}

// tgAbsent checks that telegraf has no point of this name at all.
func (rb readBack) tgAbsent(t *testing.T, name, why string) {
	t.Helper()
	if rb.tg == nil {
		return
	}
	if ps := rb.tg.Series(promName(name)); len(ps) > 0 {
		t.Errorf("telegraf %s: got %v, want no point (%s)", promName(name), ps, why)
	}
}

// tgValues returns the values of every point of a distribution series, in arrival order.
func (rb readBack) tgValues(name string, tags ...string) []float64 {
	var out []float64
	for _, p := range rb.tg.All(promName(name), tags...) {
		v, _ := p.Value()
		out = append(out, v)
	}
	return out
}

func fieldText(p peertest.Point, field string) string {
	if n, ok := p.Fields[field]; ok {
		return string(n)
	}
	return "no field"
}

// --- the wire, as the tee recorded it ---

// wireLine is one DogStatsD line split into its parts, by a parser of its own so that the suite
// does not trust wire/statsd's.
type wireLine struct {
	raw    string
	name   string
	values []string
	typ    string
	rate   string // after '@', "" when absent
	tags   string // after '#', "" when absent
	ts     string // after 'T', "" when absent
}

func parseWire(l string) wireLine {
	w := wireLine{raw: l}
	name, rest, ok := strings.Cut(l, ":")
	if !ok {
		return w
	}
	w.name = name
	parts := strings.Split(rest, "|")
	w.values = strings.Split(parts[0], ":")
	if len(parts) > 1 {
		w.typ = parts[1]
	}
	for _, p := range parts[min(2, len(parts)):] {
		switch {
		case strings.HasPrefix(p, "@"):
			w.rate = p[1:]
		case strings.HasPrefix(p, "#"):
			w.tags = p[1:]
		case strings.HasPrefix(p, "T"):
			w.ts = p[1:]
		}
	}
	return w
}

// named returns the lines with this exact name and type ("" for any type).
func named(lines []wireLine, name, typ string) []wireLine {
	var out []wireLine
	for _, l := range lines {
		if l.name == name && (typ == "" || l.typ == typ) {
			out = append(out, l)
		}
	}
	return out
}

func raws(lines []wireLine) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l.raw
	}
	return out
}

// telegrafCounter is what telegraf v1.37.2, built for arch, makes of these counter lines: each
// value parsed as an int64, else as a float64 converted to int64 (see telegrafInt64), divided by
// its rate and truncated, summed in int64 with wrap-around (plugins/inputs/statsd/statsd.go,
// parseStatsdLine and aggregate).
func telegrafCounter(lines []wireLine, arch string) int64 {
	var sum int64
	for _, l := range lines {
		rate := 0.0
		if l.rate != "" {
			rate, _ = strconv.ParseFloat(l.rate, 64)
		}
		for _, s := range l.values {
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				f, err := strconv.ParseFloat(s, 64)
				if err != nil && !errors.Is(err, strconv.ErrRange) {
					continue // telegraf rejects the line
				}
				v = telegrafInt64(f, arch)
			}
			if rate != 0 {
				v = telegrafInt64(float64(v)/rate, arch)
			}
			sum += v
		}
	}
	return sum
}

// telegrafInt64 is int64(f) as a Go binary built for arch computes it. Go leaves the conversion of
// a float outside int64's range (or NaN) to the hardware: amd64's CVTTSD2SQ gives -2^63, arm64's
// FCVTZS saturates (NaN gives 0). Any other arch is the test's own (startReceivers checks).
func telegrafInt64(f float64, arch string) int64 {
	if f >= -0x1p63 && f < 0x1p63 {
		return int64(f)
	}
	switch arch {
	case "amd64":
		return math.MinInt64
	case "arm64":
		switch {
		case f > 0:
			return math.MaxInt64
		case f < 0:
			return math.MinInt64
		}
		return 0
	}
	return int64(f)
}

// exporterWeight is how many observations statsd_exporter v0.31.0 records for one sampled
// timer/histogram/distribution value: int(1/rate) (pkg/line/line.go).
func exporterWeight(l wireLine) int {
	if l.rate == "" {
		return 1
	}
	r, err := strconv.ParseFloat(l.rate, 64)
	if err != nil || r == 0 {
		return 1
	}
	return int(1 / r)
}
