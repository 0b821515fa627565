package main

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/statshard/statshard/agent"
)

// TestTableRows: through the console's own recorder configuration, each series is one row: a
// histogram of 100 values and a distribution of 2,000 samples (past the 1,024 the reservoir keeps)
// one row each, with exact counts, min and max; a negative gauge its value; a set its members;
// telemetry hidden; long names cut.
func TestTableRows(t *testing.T) {
	s := defaults()
	var out syncBuffer
	c, _, err := s.agentConfigs(&out, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Interval = time.Hour
	rec, err := agent.New(c)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	for i := 1; i <= 100; i++ {
		rec.Observe("t.latency", float64(i), "route:/pay")
	}
	for i := 1; i <= 2000; i++ {
		rec.ObserveDistribution("t.dist", float64(i))
	}
	rec.Count("t.hits", 3, "k:v")
	rec.GaugeSet("t.temp", -4.25)
	rec.SetAdd("t.users", "alice")
	rec.SetAdd("t.users", "bob")
	long := strings.Repeat("n", 150)
	rec.Count(long, 1)
	rec.Flush()
	got := out.String()
	rows := map[string][]string{}
	for _, l := range strings.Split(got, "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			rows[f[0]] = append(rows[f[0]], l)
		}
		if n := utf8.RuneCountInString(l); n > nameWidth+tagsWidth+valueWidth+len("distribution")+8 {
			t.Errorf("line of %d characters: %q", n, l)
		}
	}
	for _, tt := range []struct{ name, want string }{
		{"t.latency", `histogram +n=100 min=1 p50=\S+ p99=\S+ max=100 +route:/pay`},
		{"t.dist", `distribution +n=2000 min=\S+ p50=\S+ p99=\S+ max=\S+`},
		{"t.hits", `counter +3 +k:v`},
		{"t.temp", `gauge +-4.25`},
		{"t.users", `set +2 distinct: alice, bob`},
	} {
		if len(rows[tt.name]) != 1 {
			t.Errorf("%s: %d rows, want 1:\n%s", tt.name, len(rows[tt.name]), got)
			continue
		}
		if !regexp.MustCompile(tt.want).MatchString(rows[tt.name][0]) {
			t.Errorf("%s row %q, want it to match %q", tt.name, rows[tt.name][0], tt.want)
		}
	}
	if !strings.Contains(got, strings.Repeat("n", nameWidth-1)+"…") || strings.Contains(got, long) {
		t.Errorf("a 150-character name is not cut to %d:\n%s", nameWidth, got)
	}
	if strings.Contains(got, "statshard.") {
		t.Errorf("the agent's telemetry shows without -console-telemetry:\n%s", got)
	}
}

// TestConsoleFromOutside runs the built agent without -upstream, as a newcomer does, and reads
// its stdout: rows per series, parse errors and lines received in the footer, telemetry only
// with -console-telemetry, and statshard.lines said to be lines sent.
func TestConsoleFromOutside(t *testing.T) {
	a := startAgent(t, "", "-interval", "300ms")
	var dist, bad strings.Builder
	for i := 1; i <= 2000; i++ {
		fmt.Fprintf(&dist, "console.dist:%d|d\n", i)
		if dist.Len() > 1300 {
			send(t, "udp", a.udp, dist.String())
			dist.Reset()
		}
	}
	send(t, "udp", a.udp, dist.String())
	bad.WriteString("console.ok:1|c|#k:v\nconsole.bad:x|c\nconsole.bad:1|zz")
	send(t, "udp", a.udp, bad.String())
	var n, parseErrs, lines int
	deadline := time.Now().Add(10 * time.Second)
	for n < 2000 || parseErrs < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("console.dist counts %d of 2000, parse errors %d of 2:\n%s", n, parseErrs, a.output())
		}
		time.Sleep(50 * time.Millisecond)
		n, parseErrs, lines = 0, 0, 0
		for _, flush := range strings.Split(a.output(), "--- flush ")[1:] {
			rows := regexp.MustCompile(`(?m)^console\.dist +distribution +n=(\d+) `).FindAllStringSubmatch(flush, -1)
			if len(rows) > 1 {
				t.Fatalf("console.dist has %d rows in one flush:\n%s", len(rows), flush)
			}
			for _, r := range rows {
				v, _ := strconv.Atoi(r[1])
				n += v
			}
			if m := regexp.MustCompile(`received \d+ datagrams, (\d+) lines; parse errors: (\d+) \(`).FindStringSubmatch(flush); m != nil {
				e, _ := strconv.Atoi(m[2])
				parseErrs += e
			}
			if m := regexp.MustCompile(`received \d+ datagrams, (\d+) lines`).FindStringSubmatch(flush); m != nil {
				v, _ := strconv.Atoi(m[1])
				lines += v
			}
		}
	}
	out := a.output()
	if n != 2000 || parseErrs != 2 || lines != 2003 {
		t.Errorf("console.dist n=%d (want 2000), parse errors %d (want 2), lines received %d (want 2003):\n%s", n, parseErrs, lines, out)
	}
	for _, want := range []string{"NAME", "KIND", "VALUE", "TAGS", "bad_type 1", "bad_value 1", "dropped: none"} {
		if !strings.Contains(out, want) {
			t.Errorf("the console lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "statshard.") {
		t.Errorf("telemetry shows without -console-telemetry:\n%s", out)
	}

	b := startAgent(t, "", "-interval", "100ms", "-console-telemetry")
	send(t, "udp", b.udp, "console.ok:1|c")
	deadline = time.Now().Add(10 * time.Second)
	for !strings.Contains(b.output(), "statshard.lines ") {
		if time.Now().After(deadline) {
			t.Fatalf("no statshard.lines row with -console-telemetry:\n%s", b.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(b.output(), "statshard.lines counts lines it sent, here to this table; lines received are in the footer") {
		t.Errorf("statshard.lines is not told apart from lines received:\n%s", b.output())
	}
}

func (a *runningAgent) output() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stdout.String()
}

// TestReadmeConsoleSample: the console output the README shows is the one the agent prints: the
// same flush header, columns and footer, the same log lines (a rename here fails there).
func TestReadmeConsoleSample(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)the table on stdout:\n\n```\n(.*?)```").FindSubmatch(b)
	if m == nil {
		t.Fatal("no console sample in the README")
	}
	sample := string(m[1])
	foot, _ := footer(agent.Stats{Intake: agent.IntakeStats{Datagrams: 15, Lines: 1006, ParseErrors: 1,
		ParseErrorsBy: map[string]uint64{"bad_value": 1}}}, agent.Stats{})
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^time=\S+ level=INFO msg="statshard agent started" version=\S+ listen=\[udp://127\.0\.0\.1:8125\] upstream="stdout \(table\)" tcp=127\.0\.0\.1:5000 http=127\.0\.0\.1:8127 interval=10s$`),
		regexp.MustCompile(`(?m)^--- flush \d\d:\d\d:\d\d: \d+ series$`),
		regexp.MustCompile(`(?m)^NAME +KIND +VALUE +TAGS$`),
		regexp.MustCompile(`(?m)^\S+ +histogram +n=\d+ min=\S+ p50=\S+ p99=\S+ max=\S+ +\S+$`),
		regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(foot) + `$`),
		regexp.MustCompile(`(?m)^time=\S+ level=INFO msg="statshard agent stopped" datagrams=15 drained=0 kernel_drops=0 truncated=0 lines_received=1006 lines_sent=\d+ reloads=0$`),
	} {
		if !want.MatchString(sample) {
			t.Errorf("the README's console sample has no line matching %s:\n%s", want, sample)
		}
	}
}
