package conformance

import (
	"math"
	"slices"
	"testing"
)

// The suite's models of the receivers are checked against what the receivers did in the runs that
// found each behaviour (see docs/reliability.md), so a wrong model cannot make a case pass.

func TestParseWire(t *testing.T) {
	tests := []struct {
		line                  string
		name, typ, rate, tags string
		ts                    string
		values                []string
	}{
		{"a.b:1|c", "a.b", "c", "", "", "", []string{"1"}},
		{"a:1:2.5|d|@0.5|#k:v,x:y|c:abc|T17", "a", "d", "0.5", "k:v,x:y", "17", []string{"1", "2.5"}},
		{"s:|s", "s", "s", "", "", "", []string{""}},
		{"g:-5|g|#k:v", "g", "g", "", "k:v", "", []string{"-5"}},
	}
	for _, tt := range tests {
		w := parseWire(tt.line)
		if w.name != tt.name || w.typ != tt.typ || w.rate != tt.rate || w.tags != tt.tags || w.ts != tt.ts || !slices.Equal(w.values, tt.values) {
			t.Errorf("parseWire(%q): got %+v", tt.line, w)
		}
	}
}

func TestTelegrafCounterModel(t *testing.T) {
	lines := func(ls ...string) []wireLine { return splitLines(ls) }
	tests := []struct {
		name  string
		lines []wireLine
		arch  string
		want  int64
	}{
		{"integers add", lines("x:3|c", "x:2|c"), "amd64", 5},
		{"a fraction truncates", lines("x:0.5|c"), "amd64", 0},
		{"the rate divides and truncates", lines("x:1|c|@0.3"), "amd64", 3},
		{"int64 wraps", lines("x:9223372036854775807|c\nx:1|c"), "amd64", math.MinInt64},
		{"out of range on amd64", lines("x:1e308|c"), "amd64", math.MinInt64},
		{"out of range as an integer", lines("x:9223372036854775808|c"), "amd64", math.MinInt64},
		{"out of range on arm64 saturates", lines("x:1e308|c"), "arm64", math.MaxInt64},
		{"+Inf on amd64", lines("x:+Inf|c"), "amd64", math.MinInt64},
		{"a non-number is rejected", lines("x:abc|c", "x:1|c"), "amd64", 1},
	}
	for _, tt := range tests {
		if got := telegrafCounter(tt.lines, tt.arch); got != tt.want {
			t.Errorf("%s: telegrafCounter(%q, %s): got %d, want %d", tt.name, raws(tt.lines), tt.arch, got, tt.want)
		}
	}
}

func TestExporterWeight(t *testing.T) {
	for _, tt := range []struct {
		line string
		want int
	}{
		{"x:1|d", 1},
		{"x:1|d|@0.5", 2},
		{"x:1|d|@0.4", 2},                   // 2.5 truncated
		{"x:1|d|@0.010752688172043012", 92}, // 1/93 as AppendNumber writes it
		{"x:1|d|@0.01", 100},
	} {
		if got := exporterWeight(parseWire(tt.line)); got != tt.want {
			t.Errorf("exporterWeight(%q): got %d, want %d", tt.line, got, tt.want)
		}
	}
}

func TestGaugeSends(t *testing.T) {
	ls := splitLines([]string{"g:0|g\ng:-4|g\nh:1|g\ng:7|g"})
	if got := gaugeSends(ls, "g"); got != 2 {
		t.Errorf("gaugeSends: got %d, want 2 (0 then -4 is one send, 7 another)", got)
	}
}
