package peertest

import (
	"context"
	"errors"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestTelegrafMapping sends one datagram of every DogStatsD type to a real telegraf and checks each
// claim of the mapping the Telegraf doc states.
func TestTelegrafMapping(t *testing.T) {
	t.Parallel()
	tg := StartTelegraf(t, TelegrafOptions{})
	if !strings.HasPrefix(tg.UDPAddr, "127.0.0.1:") {
		t.Errorf("UDPAddr: got %q, want 127.0.0.1:port", tg.UDPAddr)
	}
	send(t, "udp", tg.UDPAddr, strings.Join([]string{
		"tm.cnt:3|c|#env:x,flag",
		"tm.cnt:2|c|#env:x,flag",
		"tm.half:0.5|c",     // truncated to 0
		"tm.rated:1|c|@0.3", // int64(1/0.3) = 3
		"tm.gauge:3|g",      // set
		"tm.gauge:-5|g",     // relative: -2
		"tm.neg:0|g",        // the portable way to set a negative value
		"tm.neg:-5|g",
		"tm.time:10|ms|@0.5", // counted int(1/0.5) = 2 times
		"tm.time:40|ms",
		"tm.dist:7|d|@0.25", // the rate is ignored: one point
		"tm.dist:9|d",
		"tm.multi:1:2:3|d", // rejected whole
		"tm.set:a|s",
		"tm.set:b|s",
		"tm.set:a|s",
		"tm.set:|s", // the empty member counts
		"tm.stamped:4|g|T1700000000",
		"tm.big:9223372036854775807|c",
		"tm.nan:NaN|g", // a point without fields
		"tm.big:1|c",   // wraps
	}, "\n"))
	// A gather can fall between two lines of the datagram: wait for the last line's effect.
	m := tg.WaitFor(t, 10*time.Second, func(m *TelegrafMetrics) bool {
		p, _ := m.Last("tm_big")
		v, _ := p.Int("value")
		return v == -1<<63 && len(m.All("tm_dist")) == 2
	})
	ints := []struct {
		name   string
		tags   []string
		typ    string
		field  string
		want   int64
		reason string
	}{
		{"tm_cnt", []string{"env", "x", "flag", "true"}, "counter", "value", 5, "integer counter, a tag without value reads true"},
		{"tm_half", nil, "counter", "value", 0, "0.5|c is truncated to 0"},
		{"tm_rated", nil, "counter", "value", 3, "1|c|@0.3 adds int64(3.33)"},
		{"tm_time", nil, "timing", "count", 3, "10|ms|@0.5 counts twice"},
		{"tm_set", nil, "set", "value", 3, "a, b and the empty member"},
		{"tm_big", nil, "counter", "value", -1 << 63, "int64 sum wraps"},
	}
	for _, c := range ints {
		p, ok := m.Last(c.name, c.tags...)
		if !ok {
			t.Errorf("%s %v: no point", c.name, c.tags)
			continue
		}
		if p.Type != c.typ {
			t.Errorf("%s: type %q, want %q", c.name, p.Type, c.typ)
		}
		if v, ok := p.Int(c.field); !ok || v != c.want {
			t.Errorf("%s %s: got %v (integer %v), want %d (%s)", c.name, c.field, p.Fields[c.field], ok, c.want, c.reason)
		}
	}
	floats := []struct {
		name, field string
		want        float64
		reason      string
	}{
		{"tm_gauge", "value", -2, "-5|g after 3|g is relative"},
		{"tm_neg", "value", -5, "0|g then -5|g"},
		{"tm_stamped", "value", 4, "|T ignored"},
		{"tm_time", "sum", 60, "10 twice and 40, in ms"},
		{"tm_time", "lower", 10, ""},
		{"tm_time", "upper", 40, ""},
		{"tm_time", "mean", 20, ""},
		{"tm_time", "50_percentile", 10, "percentiles of every value"},
		{"tm_time", "100_percentile", 40, ""},
	}
	for _, c := range floats {
		p, _ := m.Last(c.name)
		if v, ok := p.Float(c.field); !ok || v != c.want {
			t.Errorf("%s %s: got %v (found %v), want %v %s", c.name, c.field, p.Fields[c.field], ok, c.want, c.reason)
		}
	}
	var dist []float64
	for _, p := range m.All("tm_dist") {
		v, _ := p.Value()
		dist = append(dist, v)
	}
	if slices.Sort(dist); !slices.Equal(dist, []float64{7, 9}) {
		t.Errorf("tm_dist points: got %v, want [7 9] (one point per value, the rate ignored)", dist)
	}
	if p, ok := m.Last("tm_nan"); !ok || len(p.Fields) != 0 {
		t.Errorf("tm_nan: got %v (found %v), want a point with no fields", p, ok)
	}
	if ps := m.Series("tm_multi"); len(ps) != 0 {
		t.Errorf("tm_multi: got %v, want no point (multi-value lines rejected)", ps)
	}
	if log := tg.Log(); !strings.Contains(log, "Splitting '|', unable to parse metric: tm.multi:1:2:3|d") {
		t.Errorf("telegraf log: want it to name the rejected multi-value line; got:\n%s", log)
	}
}

// TestTelegrafCumulative checks that a later datagram adds to what telegraf reports, whatever
// gathers happened in between: the latest point is the total.
func TestTelegrafCumulative(t *testing.T) {
	t.Parallel()
	tg := StartTelegraf(t, TelegrafOptions{Percentiles: []float64{99.9}})
	send(t, "udp", tg.UDPAddr, "cu.c:2|c\ncu.t:5|h\ncu.s:a|s\ncu.g:1|g")
	tg.WaitFor(t, 10*time.Second, func(m *TelegrafMetrics) bool {
		p, _ := m.Last("cu_c")
		v, _ := p.Int("value")
		return v == 2
	})
	// Let at least one gather report the first values alone.
	time.Sleep(3 * telegrafInterval)
	send(t, "udp", tg.UDPAddr, "cu.c:3|c\ncu.t:7|h\ncu.s:b|s\ncu.g:+1|g")
	m := tg.WaitFor(t, 10*time.Second, func(m *TelegrafMetrics) bool {
		p, _ := m.Last("cu_c")
		v, _ := p.Int("value")
		return v == 5
	})
	if p, _ := m.Last("cu_t"); p.Type != "histogram" || p.Fields["count"] != "2" || p.Fields["sum"] != "12" || p.Fields["99.9_percentile"] != "7" {
		t.Errorf("cu_t: got %v, want a histogram with count=2 sum=12 99.9_percentile=7", p)
	}
	if p, _ := m.Last("cu_s"); p.Fields["value"] != "2" {
		t.Errorf("cu_s: got %v, want 2 distinct members since start", p)
	}
	if p, _ := m.Last("cu_g"); p.Fields["value"] != "2" {
		t.Errorf("cu_g: got %v, want 2 (kept across gathers, +1 relative)", p)
	}
}

// TestTelegrafCleanupStopsProcess checks telegraf is gone, and its port free, once the test that
// started it has finished.
func TestTelegrafCleanupStopsProcess(t *testing.T) {
	t.Parallel()
	TelegrafBinary(t)
	var tg *Telegraf
	t.Run("run", func(t *testing.T) {
		tg = StartTelegraf(t, TelegrafOptions{})
		tg.Read(t)
	})
	if tg == nil {
		t.Fatal("subtest did not start telegraf")
	}
	if !tg.proc.exited() {
		t.Fatal("telegraf still running after its test's cleanup")
	}
	c, err := net.ListenPacket("udp", tg.UDPAddr)
	if err != nil {
		t.Errorf("bind %s after cleanup: %v, want the port free", tg.UDPAddr, err)
	} else {
		c.Close()
	}
}

func TestTelegrafLaunchPortTaken(t *testing.T) {
	t.Parallel()
	bin := TelegrafBinary(t)
	taken, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	dir := t.TempDir()
	c := telegrafConfig{udpAddr: taken.LocalAddr().String(), outPath: dir + "/out.json", percentiles: []float64{50}}
	text, err := c.render()
	if err != nil {
		t.Fatal(err)
	}
	conf := dir + "/telegraf.conf"
	writeFile(t, conf, text)
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	tg, err := launchTelegraf(ctx, bin, conf, c)
	if err == nil {
		tg.proc.stop()
		t.Fatal("launch on a taken port: got no error, want one")
	}
	var le *launchError
	if !errors.As(err, &le) || !le.portClash {
		t.Fatalf("launch error: got %v, want a *launchError with portClash", err)
	}
	if !strings.Contains(err.Error(), "exited before it was ready") || !strings.Contains(err.Error(), "telegraf output:") {
		t.Errorf("launch error: got %q, want it to say telegraf exited and carry its output", err)
	}
}

func TestTelegrafConfigRender(t *testing.T) {
	text, err := telegrafConfig{udpAddr: "127.0.0.1:9", outPath: "/tmp/x/out.json", percentiles: []float64{50, 99.9, 100}}.render()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`service_address = "127.0.0.1:9"`,
		`files = ["/tmp/x/out.json"]`,
		`percentiles = [50, 99.9, 100]`,
		`datadog_extensions = true`,
		`datadog_distributions = true`,
		`delete_gauges = false`,
		`number_workers_threads = 1`,
		`interval = "100ms"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("config: want a line %s; got:\n%s", want, text)
		}
	}
	for _, bad := range []telegrafConfig{
		{udpAddr: "127.0.0.1:9", outPath: "/tmp/$HOME/out.json", percentiles: []float64{50}},
		{udpAddr: "127.0.0.1:9", outPath: `/tmp/"/out.json`, percentiles: []float64{50}},
		{udpAddr: "127.0.0.1:9", outPath: "/tmp/out.json", percentiles: []float64{0}},
		{udpAddr: "127.0.0.1:9", outPath: "/tmp/out.json", percentiles: []float64{101}},
	} {
		if _, err := bad.render(); err == nil {
			t.Errorf("render %+v: got no error, want one", bad)
		}
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}
