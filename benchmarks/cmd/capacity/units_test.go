package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var fmtSscan = fmt.Sscan

func TestSVGBarWidths(t *testing.T) {
	bars := []bar{
		{Group: "g1", Label: "half", Value: 50, Ceiling: 100, Unit: "x/s", Target: 0.8},
		{Group: "g1", Label: "full <&> \"quoted\"", Value: 100, Ceiling: 100, Unit: "x/s"},
		{Group: "g2", Label: "over", Value: 300, Ceiling: 100, Unit: "x/s"},
		{Group: "g2", Label: "none", Value: 0, Ceiling: 100, Unit: "x/s"},
	}
	var b bytes.Buffer
	if err := writeSVG(&b, "title & <stuff>", "sub", bars); err != nil {
		t.Fatal(err)
	}
	s := parseSVG(t, &b)
	if s.bars != len(bars) {
		t.Fatalf("got %d bars, want %d", s.bars, len(bars))
	}
	tests := []struct {
		label string
		want  float64
	}{
		{"half", 0.5 * svgBarW},
		{`full <&> "quoted"`, svgBarW},
		{"over", svgOverMax * svgBarW},
		{"none", 0},
	}
	for _, tt := range tests {
		var got float64
		found := false
		for title, w := range s.widths {
			if strings.HasPrefix(title, tt.label+":") {
				got, found = w, true
			}
		}
		if !found {
			t.Errorf("no bar titled %q in %v", tt.label, s.widths)
			continue
		}
		if math.Abs(got-tt.want) > 0.1 {
			t.Errorf("bar %q: got width %.1f, want %.1f", tt.label, got, tt.want)
		}
	}
}

func TestPromValue(t *testing.T) {
	text := []byte(`# HELP statshard_lines_received_total Lines.
# TYPE statshard_lines_received_total counter
statshard_lines_received_total 12345
statshard_lines_received_total_extra 1
statshard_dropped_total{reason="kernel_receive_buffer"} 7
statshard_dropped_total{reason="datagram_truncated"} 3
statsd_exporter_lines_total 1.234567e+06
`)
	tests := []struct {
		series string
		want   float64
		ok     bool
	}{
		{"statshard_lines_received_total", 12345, true},
		{`statshard_dropped_total{reason="kernel_receive_buffer"}`, 7, true},
		{`statshard_dropped_total{reason="datagram_truncated"}`, 3, true},
		{"statsd_exporter_lines_total", 1234567, true},
		{"statshard_dropped_total", 0, false},
		{"missing", 0, false},
	}
	for _, tt := range tests {
		got, ok := promValue(text, tt.series)
		if got != tt.want || ok != tt.ok {
			t.Errorf("promValue(%s): got %v, %v, want %v, %v", tt.series, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseProcNetUDP(t *testing.T) {
	if !supported {
		t.Skip("Linux only")
	}
	text := []byte(`   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  100: 0100007F:1F90 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1001 2 0000000000000000 5
  101: 0100007F:1F90 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1002 2 0000000000000000 6
  102: 0100007F:1F91 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1003 2 0000000000000000 100
`)
	tests := []struct {
		port         int
		socks, drops int
	}{
		{0x1F90, 2, 11},
		{0x1F91, 1, 100},
		{0x1F92, 0, 0},
	}
	for _, tt := range tests {
		socks, drops, err := parseProcNetUDP(text, tt.port)
		if err != nil || socks != tt.socks || drops != uint64(tt.drops) {
			t.Errorf("port %d: got %d sockets, %d drops, %v; want %d, %d, nil", tt.port, socks, drops, err, tt.socks, tt.drops)
		}
	}
}

// TestProcCPUAndRSS checks /proc/<pid>/stat against getrusage on this process: both must see the
// same CPU time spent spinning (within /proc's 10 ms ticks), whatever the machine's steal time.
func TestProcCPUAndRSS(t *testing.T) {
	if !supported {
		t.Skip("Linux only")
	}
	pid := os.Getpid()
	c0, err := procCPU(pid)
	if err != nil {
		t.Fatal(err)
	}
	s0 := selfCPU()
	x := 1.0
	for start := time.Now(); selfCPU()-s0 < 200*time.Millisecond && time.Since(start) < 5*time.Second; {
		for i := 0; i < 1000; i++ {
			x = math.Sqrt(x + float64(i))
		}
	}
	c1, err := procCPU(pid)
	if err != nil {
		t.Fatal(err)
	}
	self := selfCPU() - s0
	if self < 200*time.Millisecond {
		t.Skipf("got only %s of CPU in 5 s of spinning: machine too busy (x=%v)", self, x)
	}
	if got := c1 - c0; got < self-30*time.Millisecond || got > self+30*time.Millisecond {
		t.Errorf("got %s of CPU from /proc, want %s ± 30ms as getrusage says", got, self)
	}
	rss, err := procRSS(pid)
	if err != nil {
		t.Fatal(err)
	}
	if rss < 1<<20 {
		t.Errorf("got RSS %d bytes, want at least 1 MiB", rss)
	}
}

func TestNewLoad(t *testing.T) {
	l := newLoad(8)
	total := 0
	for i, p := range l.payloads {
		if len(p) > maxUDPPayload || len(p) < maxUDPPayload-100 {
			t.Errorf("payload %d: got %d bytes, want nearly %d", i, len(p), maxUDPPayload)
		}
		if got, want := bytes.Count(p, []byte("\n"))+1, l.lines[i]; got != want {
			t.Errorf("payload %d: got %d lines, counted %d", i, got, want)
		}
		total += l.lines[i]
	}
	if total != l.total {
		t.Errorf("got total %d, want %d", l.total, total)
	}
}

func TestStep(t *testing.T) {
	tests := []struct {
		name     string
		sent     int64
		received float64
		wantLoss float64
		wantPass bool
	}{
		{"no loss", 100_000, 100_000, 0, true},
		{"at the bound", 100_000, 99_900, 0.001, true},
		{"past the bound", 100_000, 99_899, 0.00101, false},
		{"counted more than sent", 100, 101, 0, true},
		{"nothing sent", 0, 0, 1, false},
	}
	for _, tt := range tests {
		s := step{Sent: sent{Lines: tt.sent, Wall: time.Second}, Received: tt.received}
		if got := s.Loss(); math.Abs(got-tt.wantLoss) > 1e-9 {
			t.Errorf("%s: got loss %v, want %v", tt.name, got, tt.wantLoss)
		}
		if got := s.Pass(); got != tt.wantPass {
			t.Errorf("%s: got pass %v, want %v", tt.name, got, tt.wantPass)
		}
	}
}

func TestQuantile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i))
	}
	tests := []struct {
		q    float64
		want time.Duration
	}{{0.5, 50}, {0.99, 99}, {1, 100}, {0, 1}}
	for _, tt := range tests {
		if got := quantile(d, tt.q); got != tt.want {
			t.Errorf("quantile(%v): got %v, want %v", tt.q, got, tt.want)
		}
	}
	if got := quantile(nil, 0.5); got != 0 {
		t.Errorf("quantile of none: got %v, want 0", got)
	}
}

func TestSI(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{{0, "0"}, {1.5, "1.50"}, {12.34, "12.3"}, {999, "999"}, {1234, "1.23 k"}, {4_320_000, "4.32 M"}, {2.5e9, "2.50 G"}}
	for _, tt := range tests {
		if got := si(tt.v); got != tt.want {
			t.Errorf("si(%v): got %q, want %q", tt.v, got, tt.want)
		}
	}
}

func TestParseFlags(t *testing.T) {
	s, err := parseFlags([]string{"-quick", "-duration", "2s"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Quick || s.Step != 2*time.Second || s.Ladder.Step != 2*time.Second {
		t.Errorf("got quick %v, step %s, ladder step %s; want true, 2s, 2s", s.Quick, s.Step, s.Ladder.Step)
	}
	for _, n := range s.FlushSeries {
		if n >= 1_000_000 {
			t.Errorf("-quick flushes %d series, want no 1M flush", n)
		}
	}
	// The tests run in benchmarks/cmd/capacity: the default output is benchmarks/out.
	if got, want := s.Out, filepath.Join("benchmarks", "out"); !strings.HasSuffix(got, want) {
		t.Errorf("got default -out %q, want one ending in %q", got, want)
	}
	full, err := parseFlags(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if full.FlushSeries[len(full.FlushSeries)-1] != 1_000_000 || full.Step != 3*time.Second {
		t.Errorf("got default flush sizes %v and step %s, want up to 1M and 3s", full.FlushSeries, full.Step)
	}
	if got := s.CurveSeries; got[len(got)-1] >= 1_000_000 || s.CurveRuns != 1 {
		t.Errorf("-quick: got curve %v with %d runs, want no 1M point and 1 run", got, s.CurveRuns)
	}
	if got := full.CurveSeries; len(got) != 7 || got[0] != 1 || got[6] != 1_000_000 || full.CurveRuns != 3 || full.Only != "" {
		t.Errorf("got curve %v with %d runs, only %q; want 1 to 1M, 3 runs, everything", got, full.CurveRuns, full.Only)
	}
	if o, err := parseFlags([]string{"-only", "curve"}, &bytes.Buffer{}); err != nil || o.Only != "curve" {
		t.Errorf("-only curve: got %q, %v", o.Only, err)
	}
	if _, err := parseFlags([]string{"-only", "flush"}, &bytes.Buffer{}); err == nil {
		t.Error("got no error for -only flush")
	}
	if _, err := parseFlags([]string{"extra"}, &bytes.Buffer{}); err == nil {
		t.Error("got no error for a stray argument")
	}
}

// TestFlushBurst: the flush section sets each flush against the raw burst of as many datagrams
// (median times), beside the sustained loop the bar reads.
func TestFlushBurst(t *testing.T) {
	ms := func(v ...float64) []time.Duration {
		var d []time.Duration
		for _, x := range v {
			d = append(d, time.Duration(x*float64(time.Millisecond)))
		}
		return d
	}
	f := flushResult{Series: 10000, Created: 10000, Datagrams: 200,
		Times: ms(3, 2, 9), Bursts: ms(1, 8, 1.6), Syscalls: 4, Sent: 600, Received: 600}
	if got, want := f.DatagramsPerSecond(), 200/3e-3; math.Abs(got-want) > 1 {
		t.Errorf("DatagramsPerSecond = %v, want %v (200 over the median of 3, 2 and 9 ms)", got, want)
	}
	if got, want := f.BurstRate(), 125e3; math.Abs(got-want) > 1 {
		t.Errorf("BurstRate = %v, want %v (200 over the median 1.6 ms)", got, want)
	}
	var r report
	addFlush(&r, []flushResult{f}, udpCeiling{})
	row := r.Sections[0].Rows[0]
	if len(row) != len(r.Sections[0].Columns) {
		t.Fatalf("row of %d cells, %d columns", len(row), len(r.Sections[0].Columns))
	}
	col := func(name string) string {
		for i, c := range r.Sections[0].Columns {
			if c == name {
				return row[i]
			}
		}
		t.Fatalf("no column %q", name)
		return ""
	}
	if got := col("raw burst of as many"); !strings.Contains(got, "1.60 ms") || !strings.Contains(got, "125 k") {
		t.Errorf("raw burst cell %q, want 1.60 ms and 125 k datagrams/s", got)
	}
	if got := col("flush vs burst"); got != "53.3 %" {
		t.Errorf("flush vs burst %q, want 53.3 %% (3 ms against 1.6 ms)", got)
	}
}
