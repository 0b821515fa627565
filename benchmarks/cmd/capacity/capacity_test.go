package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tiny returns settings that exercise every measurement in a few seconds.
func tiny(t *testing.T) settings {
	t.Helper()
	s := defaults(true)
	s.Out = t.TempDir()
	s.Command = "go test"
	s.Step, s.Rate = 300*time.Millisecond, 100*time.Millisecond
	s.CeilingRuns = 1
	s.FlushSeries = []int{1_000, 5_000}
	s.FlushBudget = 100 * time.Millisecond
	s.MemSeries = 2_000
	s.StreamClients = []int{1, 3}
	s.Ladder = ladder{Start: 20_000, Max: 40_000, MaxSteps: 2, Step: 300 * time.Millisecond, Warm: 100 * time.Millisecond}
	s.CurveSeries, s.CurveRuns, s.CurveOps, s.CurveBudget = []int{1, 100}, 1, 20_000, 200*time.Millisecond
	return s
}

// TestRun runs the whole command on tiny settings and checks what it writes: every section in the
// Markdown, a chart that parses as XML with one bar per figure, and the paths on stdout (the cost
// curve's chart is checked by TestRunOnlyCurve).
func TestRun(t *testing.T) {
	if !supported {
		t.Skip("Linux only")
	}
	s := tiny(t)
	var stdout, stderr bytes.Buffer
	start := time.Now()
	if err := run(context.Background(), s, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, stderr.String())
	}
	t.Logf("run took %s", time.Since(start))

	md, err := os.ReadFile(filepath.Join(s.Out, "capacity.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"# statshard capacity", "## Answers", "## Kernel ceilings", "## Recording on one goroutine",
		"## Memory per series", "## Flush", "## TCP event stream", "## Agent intake",
		"## Against the ceilings", "| statshard agent |", "Counter.Add (handle)", "(capacity.svg)",
		"## Cost curve", "(costcurve.svg)",
	} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("capacity.md lacks %q", want)
		}
	}
	if bytes.Contains(md, []byte("## Errors")) {
		t.Errorf("capacity.md reports errors:\n%s", md)
	}
	checkTables(t, string(md))

	f, err := os.Open(filepath.Join(s.Out, "capacity.svg"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	svg := parseSVG(t, f)
	// 3 recording figures, 2 flushes, 2 stream runs of each kind and at least the agent's intake.
	if got, want := svg.bars, 3+2+4+1; got < want {
		t.Errorf("got %d bars in the chart, want at least %d", got, want)
	}
	for _, want := range []string{"capacity.md", "capacity.svg", "costcurve.svg"} {
		if !strings.Contains(stdout.String(), filepath.Join(s.Out, want)) {
			t.Errorf("stdout does not say where %s was written:\n%s", want, stdout.String())
		}
	}
}

// checkTables checks every Markdown table row has as many cells as its header.
func checkTables(t *testing.T, md string) {
	t.Helper()
	cols := 0
	for i, l := range strings.Split(md, "\n") {
		if !strings.HasPrefix(l, "|") {
			cols = 0
			continue
		}
		n := strings.Count(strings.ReplaceAll(l, `\|`, ""), "|") - 1
		if cols == 0 {
			cols = n
			continue
		}
		if n != cols {
			t.Errorf("capacity.md line %d: got %d cells, want %d: %s", i+1, n, cols, l)
		}
	}
}

type svgSummary struct {
	bars   int                // filled bars: rects with a title
	widths map[string]float64 // bar title → width
}

// parseSVG decodes an SVG document with encoding/xml and counts its bars.
func parseSVG(t *testing.T, r io.Reader) svgSummary {
	t.Helper()
	s := svgSummary{widths: map[string]float64{}}
	var rectWidth string
	inRect := false
	root := svgTokens(t, r, func(d *xml.Decoder, tok xml.Token) {
		switch e := tok.(type) {
		case xml.StartElement:
			if e.Name.Local == "rect" {
				inRect = true
				for _, a := range e.Attr {
					if a.Name.Local == "width" {
						rectWidth = a.Value
					}
				}
			}
			if e.Name.Local == "title" && inRect {
				var title string
				if err := d.DecodeElement(&title, &e); err != nil {
					t.Fatalf("SVG title: %v", err)
				}
				s.bars++
				var w float64
				if _, err := fmtSscan(rectWidth, &w); err != nil {
					t.Errorf("bar %q: width %q: %v", title, rectWidth, err)
				}
				s.widths[title] = w
			}
		case xml.EndElement:
			if e.Name.Local == "rect" {
				inRect = false
			}
		}
	})
	if root != "svg" {
		t.Errorf("got root element %q, want svg", root)
	}
	return s
}

// svgTokens decodes an SVG document with encoding/xml, failing on anything not well formed and
// on a root outside the SVG namespace, calls fn with each token (fn may decode an element whole
// with d), and returns the root element's name.
func svgTokens(t *testing.T, r io.Reader, fn func(d *xml.Decoder, tok xml.Token)) (root string) {
	t.Helper()
	d := xml.NewDecoder(r)
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return root
		}
		if err != nil {
			t.Fatalf("SVG does not parse: %v", err)
		}
		if e, ok := tok.(xml.StartElement); ok && root == "" {
			root = e.Name.Local
			if e.Name.Space != "http://www.w3.org/2000/svg" {
				t.Errorf("got root namespace %q, want the SVG namespace", e.Name.Space)
			}
		}
		fn(d, tok)
	}
}
