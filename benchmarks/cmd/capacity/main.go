package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/statshard/statshard/netio"
)

// errUnsupported is run's answer on systems other than Linux.
var errUnsupported = errors.New("capacity: Linux only (it reads /proc and measures sendmmsg/recvmmsg)")

func main() {
	s, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	s.Command = strings.TrimSpace("go -C benchmarks run ./cmd/capacity " + strings.Join(os.Args[1:], " "))
	if err := run(context.Background(), s, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// run measures everything s asks for (with s.Only "curve", the cost curve alone), prints the
// tables to stdout, writes capacity.md, capacity.svg (when there are bars) and costcurve.svg (when
// the curve was measured) into s.Out and says where. A measurement that fails is reported and the
// others still run; run then returns an error, after writing what it has. A missed performance
// bar is not an error.
func run(ctx context.Context, s settings, stdout, stderr io.Writer) error {
	if !supported {
		return errUnsupported
	}
	r := &report{Machine: machine(), Command: s.Command, Started: time.Now()}
	begin := time.Now()
	progress := func(format string, args ...any) {
		fmt.Fprintf(stderr, "capacity: %5.1fs "+format+"\n", append([]any{time.Since(begin).Seconds()}, args...)...)
	}
	if s.Only != "curve" {
		measureCapacity(ctx, r, s, progress)
	}
	if len(s.CurveSeries) > 0 {
		results, err := measureCurve(s.CurveSeries, s.CurveRuns, s.CurveOps, s.CurveBudget, s.CreateBudget, progress)
		if err != nil {
			r.failf("%v", err)
		}
		r.Curve = curvePoints(results, s.CurveOps)
		addCurve(r, r.Curve, s.CurveOps, s.CurveBudget)
	}

	r.Elapsed = time.Since(begin)
	r.writeText(stdout)
	written, err := writeOutputs(r, s.Out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nwrote %s\n", joinAnd(written))
	if len(r.Errors) > 0 {
		return fmt.Errorf("capacity: %d measurement(s) failed: %s", len(r.Errors), strings.Join(r.Errors, "; "))
	}
	return nil
}

// measureCapacity makes every measurement but the cost curve and adds its sections to r.
func measureCapacity(ctx context.Context, r *report, s settings, progress func(string, ...any)) {
	l := newLoad(64)

	progress("kernel ceilings: raw sendmmsg and recvmmsg loops, %d × %s each", s.CeilingRuns, s.Rate)
	ceil, err := measureCeilings(l, s.Rate, s.CeilingRuns)
	if err != nil {
		r.failf("ceilings: %v", err)
	} else {
		addCeilings(r, ceil)
	}

	progress("recording: %s per operation", s.Rate)
	if ops, err := measureRecording(s.Rate); err != nil {
		r.failf("recording: %v", err)
	} else {
		addRecording(r, ops)
	}

	progress("memory: %d series per kind", s.MemSeries)
	if mem, err := measureMemory(s.MemSeries); err != nil {
		r.failf("memory: %v", err)
	} else {
		addMemory(r, mem)
	}

	var flushes []flushResult
	for _, n := range s.FlushSeries {
		progress("flush: %d series", n)
		f, err := measureFlush(l, n, s.FlushBudget, s.CreateBudget)
		if err != nil {
			r.failf("flush of %d series: %v", n, err)
			continue
		}
		flushes = append(flushes, f)
	}
	addFlush(r, flushes, ceil.Send)

	var streams []streamResult
	for _, n := range s.StreamClients {
		progress("TCP stream: %d clients, paced and flat out, %s each", n, s.Step)
		ceiling, err := tcpCeiling(n, s.Rate)
		if err != nil {
			r.failf("raw TCP loop to %d clients: %v", n, err)
		}
		for _, paced := range []bool{true, false} {
			st, err := measureStream(n, s.Step, paced)
			if err != nil {
				r.failf("stream to %d clients: %v", n, err)
				continue
			}
			st.Ceiling = ceiling
			streams = append(streams, st)
		}
	}
	addStream(r, streams)

	runs, notes := measureIntake(ctx, s, l, progress)
	for _, e := range notes.errs {
		r.failf("%s", e)
	}
	addIntake(r, runs, notes.lines, ceil.Recv)
}

// intakeNotes are what the intake measurement has to say besides its runs.
type intakeNotes struct {
	lines []string // facts for the section (versions, skipped peers)
	errs  []string // failures
}

// measureIntake runs the intake ladder against the statshard agent binary and, when it is found,
// statsd_exporter.
func measureIntake(ctx context.Context, s settings, l load, progress func(string, ...any)) ([]intakeRun, intakeNotes) {
	var notes intakeNotes
	var runs []intakeRun
	tmp, err := os.MkdirTemp("", "capacity-")
	if err != nil {
		notes.errs = append(notes.errs, fmt.Sprintf("intake: %v", err))
		return nil, notes
	}
	defer os.RemoveAll(tmp)

	var upstream atomic.Uint64
	drain, err := netio.ListenReader(netio.Addr{Network: "udp", Address: "127.0.0.1:0"}, netio.ReaderConfig{Readers: 1},
		func(_ int, d [][]byte) { upstream.Add(uint64(len(d))) })
	if err != nil {
		notes.errs = append(notes.errs, fmt.Sprintf("intake: upstream drain: %v", err))
		return nil, notes
	}
	defer drain.Close()

	bin := s.AgentBin
	if bin == "" {
		progress("intake: building cmd/agent")
		if bin, err = buildAgent(ctx, benchmarksDir(), tmp); err != nil {
			notes.errs = append(notes.errs, fmt.Sprintf("intake: %v", err))
			return nil, notes
		}
		notes.lines = append(notes.lines, "statshard agent: built from this tree (go build github.com/statshard/statshard/cmd/agent)")
	} else {
		notes.lines = append(notes.lines, "statshard agent: "+bin)
	}
	if t, err := startAgent(bin, drain.Addr().String()); err != nil {
		notes.errs = append(notes.errs, fmt.Sprintf("intake: %v", err))
	} else {
		run, err := runLadder(t, l, s.Ladder, progress)
		t.stop()
		if err != nil {
			notes.errs = append(notes.errs, fmt.Sprintf("intake (statshard agent): %v", err))
		}
		runs = append(runs, run)
		notes.lines = append(notes.lines, fmt.Sprintf("The agent's flushes reached the upstream drain as %d datagrams.", upstream.Load()))
	}

	exp := s.ExporterBin
	if exp == "" && !s.NoPeer {
		exp = findExporter()
	}
	switch {
	case s.NoPeer:
		notes.lines = append(notes.lines, "statsd_exporter: skipped (-no-peer)")
	case exp == "":
		notes.lines = append(notes.lines, "statsd_exporter: skipped, no binary in $STATSD_EXPORTER, PATH, $GOPATH/bin or ~/go/bin; "+
			"install it with `go install github.com/prometheus/statsd_exporter@v0.31.0`")
	default:
		v := binaryVersion(exp)
		notes.lines = append(notes.lines, fmt.Sprintf("statsd_exporter: %s %s", exp, v))
		if t, err := startExporter(exp); err != nil {
			notes.errs = append(notes.errs, fmt.Sprintf("intake: %v", err))
		} else {
			run, err := runLadder(t, l, s.Ladder, progress)
			t.stop()
			if err != nil {
				notes.errs = append(notes.errs, fmt.Sprintf("intake (statsd_exporter): %v", err))
			}
			runs = append(runs, run)
		}
	}
	return runs, notes
}

// writeOutputs writes capacity.md, capacity.svg when r has bars and costcurve.svg when it has a
// cost curve into dir, creating it, and returns the paths it wrote.
func writeOutputs(r *report, dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("capacity: %w", err)
	}
	var md strings.Builder
	r.writeMarkdown(&md)
	written := []string{filepath.Join(dir, "capacity.md")}
	if err := os.WriteFile(written[0], []byte(md.String()), 0o644); err != nil {
		return nil, fmt.Errorf("capacity: %w", err)
	}
	sub := fmt.Sprintf("%s; %s", strings.Join(r.Machine[:min(2, len(r.Machine))], "; "), r.Started.UTC().Format("2006-01-02"))
	if len(r.Bars) > 0 {
		p := filepath.Join(dir, "capacity.svg")
		if err := writeFile(p, func(w io.Writer) error {
			return writeSVG(w, "statshard capacity: each figure as a fraction of its ceiling on the same machine", sub, r.Bars)
		}); err != nil {
			return written, err
		}
		written = append(written, p)
	}
	if len(r.Curve) > 0 {
		p := filepath.Join(dir, "costcurve.svg")
		if err := writeFile(p, func(w io.Writer) error {
			return writeCurveSVG(w, "CPU-ns per by-name counter recording (3 tags) against series count", sub, r.Curve)
		}); err != nil {
			return written, err
		}
		written = append(written, p)
	}
	return written, nil
}

// writeFile creates path and writes it with write.
func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("capacity: %w", err)
	}
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("capacity: %w", err)
	}
	return nil
}
