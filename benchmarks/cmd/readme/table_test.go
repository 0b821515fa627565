package main

import (
	"os"
	"strings"
	"testing"
)

// TestTableMatchesResults: the README's performance table is the one RESULTS-readme.txt renders
// to, so it cannot say anything the last measurement did not.
func TestTableMatchesResults(t *testing.T) {
	raw, err := os.ReadFile("../../" + resultsFile)
	if err != nil {
		t.Fatalf("%v: run go -C benchmarks run ./cmd/readme", err)
	}
	want, err := render(parse(string(raw)))
	if err != nil {
		t.Fatalf("%s does not hold every row's figures: %v (run go -C benchmarks run ./cmd/readme)", resultsFile, err)
	}
	b, err := os.ReadFile("../../" + readmeFile)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i, j := strings.Index(s, beginMark), strings.Index(s, endMark)
	if i < 0 || j < i {
		t.Fatalf("README.md has no %s ... %s markers", beginMark, endMark)
	}
	if got := strings.TrimSpace(s[i+len(beginMark) : j]); got != strings.TrimSpace(want) {
		t.Errorf("README.md's performance table differs from what %s renders to:\ngot:\n%s\nwant:\n%s", resultsFile, got, want)
	}
}

func TestParseAndRender(t *testing.T) {
	out := `goos: linux
cpu: Test CPU
BenchmarkCounterAdd/raw-atomic-add-2   1000  2.00 ns/op  0 B/op  0 allocs/op
BenchmarkCounterAdd/raw-atomic-add-2   1000  2.20 ns/op  0 B/op  0 allocs/op
BenchmarkCounterAdd/handle-2           1000  2.50 ns/op  0 B/op  0 allocs/op
BenchmarkCounterAdd/handle-2           1000  2.70 ns/op  0 B/op  0 allocs/op
`
	r := parse(out)
	if got := median(r.values["BenchmarkCounterAdd/handle"]["ns/op"]); got != 2.6 {
		t.Errorf("median = %v, want 2.6", got)
	}
	if _, err := render(r); err == nil || !strings.Contains(err.Error(), "BenchmarkHistogramObserve") {
		t.Errorf("render of partial results: err %v, want one naming the missing row", err)
	}
}
