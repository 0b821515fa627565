package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// A run is one `go test -bench` invocation of the measurement.
type run struct {
	dir, pkg, bench string
}

var runs = []run{
	{"..", "./agent/", `^(BenchmarkCounterAdd|BenchmarkHistogramObserve)$/^(raw-atomic-add|handle)$`},
	{".", ".", `^(BenchmarkCount|BenchmarkHistogram|BenchmarkDistribution)$/^tags=3$/^series=(1|10000)$/^order=(rr|zipf)$/^g=(1|par)$/^client=(statshard|datadog-agg|datadog-ext)$`},
}

// A row of the table: a statshard figure and the baseline measured beside it.
type row struct {
	what     string // the first column
	bench    string // statshard's benchmark, without the -GOMAXPROCS suffix
	base     string // the baseline's benchmark
	baseName string // how the last column names the baseline
	unit     string // "ns/op" or "cpu-ns/op"
}

func peerRows() []row {
	var rs []row
	for _, w := range []struct{ bench, what, peer, peerName string }{
		{"BenchmarkCount", "by-name `Count`", "datadog-agg", "datadog-go v5, client-side aggregation"},
		{"BenchmarkHistogram", "by-name `Observe` (summary histogram)", "datadog-ext", "datadog-go v5, extended aggregation"},
		{"BenchmarkDistribution", "by-name `ObserveDistribution`", "datadog-ext", "datadog-go v5, extended aggregation"},
	} {
		for _, sh := range []struct{ series, order, g, what string }{
			{"1", "rr", "1", "1 series, 1 goroutine"},
			{"1", "rr", "par", "1 series, 2 goroutines"},
			{"10000", "rr", "1", "10,000 series in turn, 1 goroutine"},
			{"10000", "zipf", "1", "10,000 series, Zipf order, 1 goroutine"},
			{"10000", "zipf", "par", "10,000 series, Zipf order, 2 goroutines"},
		} {
			name := fmt.Sprintf("%s/tags=3/series=%s/order=%s/g=%s/client=", w.bench, sh.series, sh.order, sh.g)
			rs = append(rs, row{
				what:     w.what + ", 3 tags, " + sh.what,
				bench:    name + "statshard",
				base:     name + w.peer,
				baseName: w.peerName,
				unit:     "cpu-ns/op",
			})
		}
	}
	return rs
}

var rows = append([]row{
	{"handle `Counter.Add`", "BenchmarkCounterAdd/handle", "BenchmarkCounterAdd/raw-atomic-add", "a raw `atomic.AddUint64`", "ns/op"},
	{"handle `Histogram.Observe` (sketch, ≤ 1 % error)", "BenchmarkHistogramObserve/handle", "BenchmarkHistogramObserve/raw-atomic-add", "a raw `atomic.AddUint64`", "ns/op"},
}, peerRows()...)

// results maps a benchmark (without its -GOMAXPROCS suffix) and a unit to every run's value; the
// key "" holds the header lines (goos, goarch, cpu, the commands).
type results struct {
	values map[string]map[string][]float64
	header []string
}

// parse reads `go test -bench` output.
func parse(out string) results {
	r := results{values: map[string]map[string][]float64{}}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
		case strings.HasPrefix(line, "cpu:") || strings.HasPrefix(line, "goos:") || strings.HasPrefix(line, "goarch:") || strings.HasPrefix(line, "# "):
			if !slices.Contains(r.header, line) {
				r.header = append(r.header, line)
			}
		case strings.HasPrefix(f[0], "Benchmark") && len(f) >= 4:
			name := f[0]
			if i := strings.LastIndexByte(name, '-'); i > 0 {
				if _, err := strconv.Atoi(name[i+1:]); err == nil {
					name = name[:i]
				}
			}
			m := r.values[name]
			if m == nil {
				m = map[string][]float64{}
				r.values[name] = m
			}
			for i := 2; i+1 < len(f); i += 2 {
				if v, err := strconv.ParseFloat(f[i], 64); err == nil {
					m[f[i+1]] = append(m[f[i+1]], v)
				}
			}
		}
	}
	return r
}

func median(vs []float64) float64 {
	s := slices.Clone(vs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// render makes the README's table from results: the medians, the ratio of each baseline to
// statshard (above 1: statshard spends less), and the machine the figures come from.
func render(r results) (string, error) {
	var b strings.Builder
	for _, h := range r.header {
		if strings.HasPrefix(h, "cpu:") {
			fmt.Fprintf(&b, "Measured on %s, %s; medians of %s (`go -C benchmarks run ./cmd/readme`, raw output in\n[benchmarks/%s](benchmarks/%s)).\n\n",
				strings.TrimSpace(strings.TrimPrefix(h, "cpu:")), goVersion(r), runsOf(r), resultsFile, resultsFile)
			break
		}
	}
	b.WriteString("| | statshard | allocs | compared with, in the same run | ratio |\n|---|---|---|---|---|\n")
	// ratio: for a peer, its cost ÷ statshard's (above 1, statshard spends less); for a handle,
	// statshard's ÷ the raw atomic add's (how far from the floor).
	for _, rw := range rows {
		s, base := r.values[rw.bench], r.values[rw.base]
		if len(s[rw.unit]) == 0 || len(base[rw.unit]) == 0 {
			return "", fmt.Errorf("no %s for %s or %s in the results", rw.unit, rw.bench, rw.base)
		}
		sv, bv := median(s[rw.unit]), median(base[rw.unit])
		allocs := "–"
		if a := s["allocs/op"]; len(a) > 0 {
			allocs = strconv.FormatFloat(median(a), 'f', -1, 64)
		}
		unit := "ns"
		if rw.unit == "cpu-ns/op" {
			unit = "CPU-ns"
		}
		ratio := fmt.Sprintf("statshard %.1f× cheaper", bv/sv)
		if bv < sv {
			ratio = fmt.Sprintf("statshard %.1f× dearer", sv/bv)
		}
		if strings.Contains(rw.base, "raw-atomic-add") {
			ratio = fmt.Sprintf("%.2f× the raw add", sv/bv)
		}
		fmt.Fprintf(&b, "| %s | %s %s | %s | %s: %s %s | %s |\n", rw.what, num(sv), unit, allocs, rw.baseName, num(bv), unit, ratio)
	}
	return b.String(), nil
}

func num(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// goVersion returns the Go version and GOMAXPROCS line main writes first.
func goVersion(r results) string {
	for _, h := range r.header {
		if strings.HasPrefix(h, "# go1") {
			return strings.TrimPrefix(h, "# ")
		}
	}
	return "an unknown Go version"
}

func runsOf(r results) string {
	n := 0
	for _, m := range r.values {
		for _, vs := range m {
			n = max(n, len(vs))
		}
	}
	if n == 1 {
		return "1 run"
	}
	return strconv.Itoa(n) + " runs"
}
