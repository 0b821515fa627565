package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testCurve is a cost curve with round figures: statshard doubles from 1k to 1M series.
var testCurve = []curvePoint{
	{Series: 1, Statshard: 40, Datadog: 150, DatadogMode: "agg", Runs: 3, Ops: 2_000_000, Wanted: 2_000_000},
	{Series: 1_000, Statshard: 100, Datadog: 250, DatadogMode: "ext", Runs: 3, Ops: 2_000_000, Wanted: 2_000_000},
	{Series: 1_000_000, Statshard: 200, Datadog: 800, DatadogMode: "agg", Runs: 3, Ops: 4_000_000, Wanted: 5_000_000},
}

// curveSVG is what TestCurveSVG reads back from a cost-curve chart.
type curveSVG struct {
	lines   map[string][]float64 // polyline title → its points' coordinates, x1 y1 x2 y2 …
	markers int                  // circles with a tooltip
	texts   []string             // every text element
	dashed  int                  // dashed lines (the goal)
}

// parseCurveSVG decodes a cost-curve chart with encoding/xml, failing on anything not well formed.
func parseCurveSVG(t *testing.T, r io.Reader) curveSVG {
	t.Helper()
	c := curveSVG{lines: map[string][]float64{}}
	root := svgTokens(t, r, func(d *xml.Decoder, tok xml.Token) {
		e, ok := tok.(xml.StartElement)
		if !ok {
			return
		}
		attr := func(name string) string {
			for _, a := range e.Attr {
				if a.Name.Local == name {
					return a.Value
				}
			}
			return ""
		}
		switch e.Name.Local {
		case "polyline":
			var v struct {
				Title string `xml:"title"`
			}
			pts := attr("points")
			if err := d.DecodeElement(&v, &e); err != nil {
				t.Fatalf("SVG polyline: %v", err)
			}
			var coords []float64
			for _, f := range strings.FieldsFunc(pts, func(r rune) bool { return r == ' ' || r == ',' }) {
				x, err := strconv.ParseFloat(f, 64)
				if err != nil {
					t.Fatalf("polyline %q: point %q: %v", v.Title, f, err)
				}
				coords = append(coords, x)
			}
			c.lines[v.Title] = coords
		case "circle":
			var v struct {
				Title string `xml:"title"`
			}
			if err := d.DecodeElement(&v, &e); err != nil {
				t.Fatalf("SVG circle: %v", err)
			}
			if v.Title != "" {
				c.markers++
			}
		case "text":
			var s string
			if err := d.DecodeElement(&s, &e); err != nil {
				t.Fatalf("SVG text: %v", err)
			}
			c.texts = append(c.texts, s)
		case "line":
			if attr("stroke-dasharray") != "" {
				c.dashed++
			}
		}
	})
	if root != "svg" {
		t.Errorf("got root element %q, want svg", root)
	}
	return c
}

func TestCurveSVG(t *testing.T) {
	var b bytes.Buffer
	if err := writeCurveSVG(&b, "title & <stuff>", "sub", testCurve); err != nil {
		t.Fatal(err)
	}
	c := parseCurveSVG(t, &b)
	if len(c.lines) != 2 {
		t.Fatalf("got lines %v, want 2", c.lines)
	}
	if got, want := c.markers, 2*len(testCurve); got != want {
		t.Errorf("got %d markers, want %d", got, want)
	}
	if c.dashed != 1 {
		t.Errorf("got %d dashed lines, want 1 (the goal)", c.dashed)
	}
	all := strings.Join(c.texts, "\n")
	for _, want := range []string{"title & <stuff>", "statshard", "datadog-go v5 (faster of agg and ext)", "log scale",
		"CPU-ns per recording", "1k", "1M", "goal"} {
		if !strings.Contains(all, want) {
			t.Errorf("no text %q in %q", want, c.texts)
		}
	}
	// x is log10(series) over 6 decades; y is linear from 0 at curveBottom.
	for title, coords := range c.lines {
		if len(coords) != 2*len(testCurve) {
			t.Fatalf("line %q: got %d coordinates, want %d", title, len(coords), 2*len(testCurve))
		}
		for i, want := range []float64{curveLeft, curveLeft + (curveRight-curveLeft)/2, curveRight} {
			if got := coords[2*i]; math.Abs(got-want) > 0.1 {
				t.Errorf("line %q, point %d: got x %.1f, want %.1f", title, i, got, want)
			}
		}
	}
	ss, ok := c.lines["statshard"]
	if !ok {
		t.Fatalf("no line titled statshard in %v", c.lines)
	}
	dd := c.lines["datadog-go v5 (faster of agg and ext)"]
	// y is log10(CPU-ns) from 10 (at curveBottom) to 1000 (at curveTop), as curveRange says.
	perDecade := (curveBottom - curveTop) / 2.0
	for i, p := range testCurve {
		for _, v := range []struct {
			name   string
			got    float64
			figure float64
		}{{"statshard", ss[2*i+1], p.Statshard}, {"datadog-go", dd[2*i+1], p.Datadog}} {
			want := curveBottom - perDecade*math.Log10(v.figure/10)
			if math.Abs(v.got-want) > 0.1 {
				t.Errorf("%s at %d series: got y %.1f, want %.1f", v.name, p.Series, v.got, want)
			}
			if v.got < curveTop || v.got > curveBottom {
				t.Errorf("%s at %d series: y %.1f is outside the plot", v.name, p.Series, v.got)
			}
		}
	}
}

func TestCurveRange(t *testing.T) {
	tests := []struct {
		name   string
		points []curvePoint
		maxNs  float64
		lo, hi float64
	}{
		{"two decades", testCurve, 800, 10, 1000},
		{"a power of ten", []curvePoint{{Statshard: 100, Datadog: 1000}}, 1000, 100, 1000},
		{"one value", []curvePoint{{Statshard: 100, Datadog: 100}}, 100, 100, 1000},
		{"zeros", []curvePoint{{Statshard: 0, Datadog: 0}}, 0, 1, 10},
		{"a zero among figures", []curvePoint{{Statshard: 0, Datadog: 35}}, 35, 10, 100},
	}
	for _, tt := range tests {
		lo, hi := curveRange(tt.points, tt.maxNs)
		if math.Abs(lo-tt.lo) > 1e-9 || math.Abs(hi-tt.hi) > 1e-9 {
			t.Errorf("%s: got %v to %v, want %v to %v", tt.name, lo, hi, tt.lo, tt.hi)
		}
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		v    []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}}
	for _, tt := range tests {
		if got := median(tt.v); got != tt.want {
			t.Errorf("median(%v): got %v, want %v", tt.v, got, tt.want)
		}
	}
	v := []float64{3, 1, 2}
	median(v)
	if v[0] != 3 {
		t.Errorf("median sorted its argument: %v", v)
	}
}

func TestCurvePoints(t *testing.T) {
	sample := func(ns float64, ops int) curveSample {
		return curveSample{Ops: ops, CPU: time.Duration(ns * float64(ops))}
	}
	results := []curveResult{
		{Series: 10, Samples: map[string][]curveSample{
			"statshard": {sample(50, 1000), sample(40, 1000), sample(60, 1000)},
			"agg":       {sample(90, 1000), sample(100, 1000), sample(200, 1000)},
			"ext":       {sample(95, 1000), sample(95, 1000), sample(80, 1000)},
		}},
		{Series: 1_000_000, Samples: map[string][]curveSample{
			"statshard": {sample(100, 5000)},
			"agg":       {sample(300, 4000)},
			"ext":       {sample(400, 5000)},
		}},
	}
	got := curvePoints(results, 1000)
	want := []curvePoint{
		{Series: 10, Statshard: 50, Datadog: 95, DatadogMode: "ext", Runs: 3, Ops: 1000, Wanted: 1000},
		{Series: 1_000_000, Statshard: 100, Datadog: 300, DatadogMode: "agg", Runs: 1, Ops: 4000, Wanted: 5_000_000},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d points, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("point %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if r := got[1].Ratio(); r != 3 {
		t.Errorf("got ratio %v, want 3", r)
	}
	if r := (curvePoint{Datadog: 5}).Ratio(); r != 0 {
		t.Errorf("ratio without a statshard figure: got %v, want 0", r)
	}
	if ns := (curveSample{}).NsPerOp(); ns != 0 {
		t.Errorf("ns per op without operations: got %v, want 0", ns)
	}
}

func TestGrowth(t *testing.T) {
	tests := []struct {
		name   string
		points []curvePoint
		want   float64
		ok     bool
	}{
		{"doubles", testCurve, 2, true},
		{"no 1M point", testCurve[:2], 0, false},
		{"no 1k point", []curvePoint{testCurve[0], testCurve[2]}, 0, false},
		{"zero at 1k", []curvePoint{{Series: 1_000}, {Series: 1_000_000, Statshard: 5}}, 0, false},
		{"shrinks", []curvePoint{{Series: 1_000_000, Statshard: 50}, {Series: 1_000, Statshard: 100}}, 0.5, true},
	}
	for _, tt := range tests {
		got, ok := growth(tt.points, 1_000, 1_000_000)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: got %v, %v, want %v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestAddCurve(t *testing.T) {
	r := &report{Command: "go test"}
	addCurve(r, testCurve, 2_000_000, 3*time.Second)
	var md strings.Builder
	r.writeMarkdown(&md)
	out := md.String()
	for _, want := range []string{
		"## Cost curve",
		"MaxSeries -1",
		"![cost curve](costcurve.svg)",
		"| series | statshard cpu-ns | datadog-go cpu-ns | datadog-go mode | datadog-go / statshard | recordings per run |",
		"| 1 | 40.0 | 150 | agg | 3.75× | 2000000 |",
		"| 1k | 100 | 250 | ext | 2.50× | 2000000 |",
		"| 1M | 200 | 800 | agg | 4.00× | 4000000 or more (time budget; 5000000 wanted) |",
		"max(2000000, 5 × series) recordings, or as many as 3.00 s allow",
		"statshard's cost grows 2.00× from 1k to 1M series (100 → 200 CPU-ns per recording; goal ≤ 3×: met).",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
	checkTables(t, out)
	if len(r.Headline) != 1 || !strings.Contains(r.Headline[0], "grows 2.00×") {
		t.Errorf("got headline %q, want the growth", r.Headline)
	}

	steep := []curvePoint{{Series: 1_000, Statshard: 100, Runs: 1}, {Series: 1_000_000, Statshard: 450, Runs: 1}}
	if got := curveGrowthNote(steep); !strings.Contains(got, "4.50×") || !strings.Contains(got, "missed") {
		t.Errorf("4.5× growth: got %q, want it missed", got)
	}
	if got := curveGrowthNote(testCurve[:2]); !strings.Contains(got, "not measured") {
		t.Errorf("without 1M: got %q, want not measured", got)
	}
	empty := &report{}
	addCurve(empty, nil, 2_000_000, 3*time.Second)
	if len(empty.Sections) != 0 {
		t.Errorf("no points: got %d sections, want none", len(empty.Sections))
	}
}

// TestRunOnlyCurve runs the command with -only curve on a tiny curve: the report has the cost
// curve and nothing else, and costcurve.svg is written but capacity.svg, without bars, is not.
func TestRunOnlyCurve(t *testing.T) {
	if !supported {
		t.Skip("Linux only")
	}
	s := tiny(t)
	s.Only = "curve"
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), s, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, stderr.String())
	}
	md, err := os.ReadFile(filepath.Join(s.Out, "capacity.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(md, []byte("## Cost curve")) || bytes.Contains(md, []byte("## Flush")) {
		t.Errorf("capacity.md: want the cost curve only:\n%s", md)
	}
	checkTables(t, string(md))
	if _, err := os.Stat(filepath.Join(s.Out, "capacity.svg")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("capacity.svg: got %v, want it not written", err)
	}
	f, err := os.Open(filepath.Join(s.Out, "costcurve.svg"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c := parseCurveSVG(t, f)
	if got, want := c.markers, 2*len(s.CurveSeries); got != want {
		t.Errorf("got %d markers, want %d", got, want)
	}
	if want := filepath.Join(s.Out, "costcurve.svg"); !strings.Contains(stdout.String(), want) {
		t.Errorf("stdout does not say where costcurve.svg was written:\n%s", stdout.String())
	}
}
