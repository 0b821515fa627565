package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// settings are what one run measures and for how long.
type settings struct {
	Quick bool
	Out   string        // directory for capacity.md, capacity.svg and costcurve.svg
	Step  time.Duration // one intake step, one stream run
	Rate  time.Duration // one recording loop, one ceiling run

	CeilingRuns   int
	FlushSeries   []int
	FlushBudget   time.Duration // timed flush rounds per size, after the first
	CreateBudget  time.Duration // creating the series of one size
	MemSeries     int
	StreamClients []int
	Ladder        ladder

	CurveSeries []int         // series counts of the cost curve
	CurveRuns   int           // timed runs per client and series count; the median is shown
	CurveOps    int           // least recordings per run (at least 5 rounds of the series)
	CurveBudget time.Duration // most time one run's recordings may take
	Only        string        // "curve": measure the cost curve only; empty: everything

	AgentBin    string // prebuilt agent; empty: build it
	ExporterBin string // statsd_exporter; empty: look for it
	NoPeer      bool   // skip statsd_exporter even if found
	Command     string // how the run was invoked, for the report
}

// defaults returns the settings of a full run (quick false: under 5 minutes) or of -quick (under
// a minute).
func defaults(quick bool) settings {
	s := settings{
		Quick:         quick,
		Step:          3 * time.Second,
		Rate:          time.Second,
		CeilingRuns:   3,
		FlushSeries:   []int{1_000, 10_000, 100_000, 1_000_000},
		FlushBudget:   2 * time.Second,
		CreateBudget:  60 * time.Second,
		MemSeries:     100_000,
		StreamClients: []int{1, 8, 64},
		Ladder:        ladder{Start: 25_000, Max: 25_600_000, Refine: 3, MaxSteps: 14, Warm: 500 * time.Millisecond},
		CurveSeries:   []int{1, 10, 100, 1_000, 10_000, 100_000, 1_000_000},
		CurveRuns:     3,
		CurveOps:      2_000_000,
		CurveBudget:   3 * time.Second,
	}
	if quick {
		s.Step, s.Rate = time.Second, 300*time.Millisecond
		s.CeilingRuns = 1
		s.FlushSeries = s.FlushSeries[:3] // 1M series take ~100 MB and seconds to create
		s.FlushBudget = 300 * time.Millisecond
		s.CreateBudget = 20 * time.Second
		s.Ladder.Refine, s.Ladder.MaxSteps, s.Ladder.Warm = 0, 11, 200*time.Millisecond
		s.CurveSeries = []int{1, 1_000, 100_000} // no 1M: its series take seconds to create per run
		s.CurveRuns, s.CurveOps, s.CurveBudget = 1, 500_000, time.Second
	}
	s.Ladder.Step = s.Step
	return s
}

// parseFlags reads the command line into settings.
func parseFlags(args []string, stderr io.Writer) (settings, error) {
	fs := flag.NewFlagSet("capacity", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quick := fs.Bool("quick", false, "a run of under a minute, for CI: shorter steps, no 1M-series flush or curve point, one curve run, no refining of the intake rate")
	out := fs.String("out", "", "directory for capacity.md, capacity.svg and costcurve.svg (default: out/ in the benchmarks module)")
	step := fs.Duration("duration", 0, "length of each intake step and stream run (default 3s, 1s with -quick)")
	agentBin := fs.String("agent", "", "statshard agent binary to measure (default: go build github.com/statshard/statshard/cmd/agent)")
	exporter := fs.String("statsd-exporter", "", "statsd_exporter binary (default: $STATSD_EXPORTER, PATH, $GOPATH/bin, ~/go/bin)")
	noPeer := fs.Bool("no-peer", false, "do not measure statsd_exporter")
	only := fs.String("only", "", `"curve": measure only the cost curve (with -quick: 1 run of 1, 1k and 100k series)`)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage, from the repository root: go -C benchmarks run ./cmd/capacity [flags]\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return settings{}, err
	}
	if fs.NArg() > 0 {
		return settings{}, fmt.Errorf("capacity: unexpected arguments %q", fs.Args())
	}
	s := defaults(*quick)
	if *step < 0 {
		return settings{}, errors.New("capacity: -duration must be positive")
	}
	if *step > 0 {
		s.Step, s.Ladder.Step = *step, *step
	}
	s.Out = *out
	if s.Out == "" {
		s.Out = filepath.Join(benchmarksDir(), "out")
	}
	s.AgentBin, s.ExporterBin, s.NoPeer = *agentBin, *exporter, *noPeer
	if *only != "" && *only != "curve" {
		return settings{}, fmt.Errorf("capacity: -only %q: the only section that runs alone is \"curve\"", *only)
	}
	s.Only = *only
	return s, nil
}

const benchmarksModule = "module github.com/statshard/statshard/benchmarks"

// benchmarksDir finds the benchmarks module's directory from the working directory: the working
// directory or a parent holding its go.mod (`cd benchmarks && go run ./cmd/capacity`, `go -C
// benchmarks run ...`, go test), or a benchmarks/ child of one (run from the repository root
// with a built binary). It falls back to the working directory.
func benchmarksDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	for d := wd; ; d = filepath.Dir(d) {
		if isBenchmarksModule(d) {
			return d
		}
		if b := filepath.Join(d, "benchmarks"); isBenchmarksModule(b) {
			return b
		}
		if filepath.Dir(d) == d {
			return wd
		}
	}
}

func isBenchmarksModule(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	return err == nil && bytes.Contains(b, []byte(benchmarksModule+"\n"))
}
