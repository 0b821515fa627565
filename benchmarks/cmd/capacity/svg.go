package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strings"
)

// SVG layout, in pixels. The chart is plain SVG 1.1 written by hand so that it renders on GitHub
// and in any browser without scripts or fonts beyond the generic families.
const (
	svgWidth   = 1000
	svgLabelW  = 340 // left column: what was measured
	svgBarW    = 400 // a bar at 100 % of its ceiling
	svgRowH    = 24
	svgGroupH  = 30 // a group heading
	svgTop     = 64
	svgOverMax = 1.2 // bars past their ceiling (noise, or a ceiling measured low) are cut here
)

// writeSVG draws each bar as a horizontal bar of its fraction of its ceiling, grouped by ceiling,
// with a dashed line at the project's target where there is one.
func writeSVG(w io.Writer, title, subtitle string, bars []bar) error {
	var b bytes.Buffer
	rows := 0
	groups := 0
	for i, br := range bars {
		if i == 0 || br.Group != bars[i-1].Group {
			groups++
		}
		rows++
	}
	height := svgTop + groups*svgGroupH + rows*svgRowH + 40
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		svgWidth, height, svgWidth, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", svgWidth, height)
	fmt.Fprintf(&b, `<text x="16" y="24" font-size="16" font-weight="bold">%s</text>`+"\n", esc(title))
	fmt.Fprintf(&b, `<text x="16" y="44" fill="#555555">%s</text>`+"\n", esc(subtitle))
	x0 := svgLabelW
	y := svgTop
	for i, br := range bars {
		if i == 0 || br.Group != bars[i-1].Group {
			fmt.Fprintf(&b, `<text x="16" y="%d" font-weight="bold">%s</text>`+"\n", y+20, esc(br.Group))
			// 100 % of the ceiling, for every row of the group.
			n := 0
			for _, o := range bars[i:] {
				if o.Group != br.Group {
					break
				}
				n++
			}
			fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#999999"/>`+"\n",
				x0+svgBarW, y+svgGroupH-4, x0+svgBarW, y+svgGroupH+n*svgRowH)
			fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#999999" text-anchor="middle">100 %%</text>`+"\n",
				x0+svgBarW, y+svgGroupH-8)
			y += svgGroupH
		}
		f := br.Fraction()
		shown := min(max(f, 0), svgOverMax)
		color := "#4c9a2a" // green: at or above the target, or no target
		if br.Target > 0 && f < br.Target {
			color = "#d9822b"
		}
		fmt.Fprintf(&b, `<text x="24" y="%d">%s</text>`+"\n", y+16, esc(br.Label))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="#eeeeee"/>`+"\n", x0, y+4, svgBarW, svgRowH-8)
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"><title>%s</title></rect>`+"\n",
			x0, y+4, shown*svgBarW, svgRowH-8, color, esc(fmt.Sprintf("%s: %s %s of %s %s", br.Label, si(br.Value), br.Unit, si(br.Ceiling), br.Unit)))
		if br.Target > 0 {
			tx := float64(x0) + br.Target*svgBarW
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#333333" stroke-dasharray="3,2"/>`+"\n",
				tx, y+1, tx, y+svgRowH-1)
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d">%s</text>`+"\n", float64(x0)+shown*svgBarW+6, y+16,
			esc(fmt.Sprintf("%.0f %% (%s %s)", 100*f, si(br.Value), br.Unit)))
		y += svgRowH
	}
	fmt.Fprintf(&b, `<text x="16" y="%d" fill="#555555">Bars are cut at %.0f %%; a dashed line marks the project's bar. Values in brackets are the measured figures.</text>`+"\n",
		y+24, 100*svgOverMax)
	b.WriteString("</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}

func esc(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// Cost-curve chart layout, in pixels.
const (
	curveW      = 900
	curveH      = 540
	curveLeft   = 90 // plot area
	curveRight  = 740
	curveTop    = 80
	curveBottom = 450
)

// curveColors are the lines' colours: statshard, datadog-go.
var curveColors = [2]string{"#1f77b4", "#d9822b"}

// writeCurveSVG draws the cost curve: CPU-ns per recording (log y, whole decades) against the
// number of series (log x, one tick a decade), a line for statshard and one for datadog-go's faster mode
// at each point (named in each marker's tooltip), a legend, and a dashed segment at statshard's
// goal (curveGoal × its cost at 1k series, from 1k to 1M or the largest point) when the 1k point
// was measured.
func writeCurveSVG(w io.Writer, title, subtitle string, points []curvePoint) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		curveW, curveH, curveW, curveH)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", curveW, curveH)
	fmt.Fprintf(&b, `<text x="16" y="24" font-size="16" font-weight="bold">%s</text>`+"\n", esc(title))
	fmt.Fprintf(&b, `<text x="16" y="44" fill="#555555">%s</text>`+"\n", esc(subtitle))

	maxSeries, maxNs := 10, 0.0
	for _, p := range points {
		maxSeries = max(maxSeries, p.Series)
		maxNs = max(maxNs, p.Statshard, p.Datadog)
	}
	goal, hasGoal := 0.0, false
	for _, p := range points {
		if p.Series == 1_000 && p.Statshard > 0 {
			goal, hasGoal = curveGoal*p.Statshard, true
			maxNs = max(maxNs, goal)
		}
	}
	decades := int(math.Ceil(math.Log10(float64(maxSeries))))
	x := func(series int) float64 {
		return curveLeft + (curveRight-curveLeft)*math.Log10(float64(max(series, 1)))/float64(decades)
	}
	lo, hi := curveRange(points, maxNs)
	y := func(ns float64) float64 {
		f := (math.Log10(max(ns, lo)) - math.Log10(lo)) / (math.Log10(hi) - math.Log10(lo))
		return curveBottom - (curveBottom-curveTop)*f
	}

	// Grid, ticks and axes: a tick a decade of series; 1, 2 and 5 a decade of CPU-ns.
	for d := 0; d <= decades; d++ {
		gx := x(int(math.Pow10(d)))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e5e5e5"/>`+"\n", gx, curveTop, gx, curveBottom)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", gx, curveBottom+18, count(int(math.Pow10(d))))
	}
	for dec := lo; dec < hi*1.001; dec *= 10 {
		for _, m := range []float64{1, 2, 5} {
			v := m * dec
			if v > hi*1.001 {
				break
			}
			gy := y(v)
			fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e5e5e5"/>`+"\n", curveLeft, gy, curveRight, gy)
			fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%g</text>`+"\n", curveLeft-6, gy+4, v)
		}
	}
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333333"/>`+"\n", curveLeft, curveBottom, curveRight, curveBottom)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333333"/>`+"\n", curveLeft, curveTop, curveLeft, curveBottom)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">series (distinct tag sets), log scale</text>`+"\n",
		(curveLeft+curveRight)/2, curveBottom+42)
	fmt.Fprintf(&b, `<text x="20" y="%d" text-anchor="middle" transform="rotate(-90 20 %d)">CPU-ns per recording (process, all threads), log scale</text>`+"\n",
		(curveTop+curveBottom)/2, (curveTop+curveBottom)/2)

	if hasGoal {
		gy := y(goal)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-dasharray="5,4"/>`+"\n",
			x(1_000), gy, x(min(1_000_000, maxSeries)), gy, curveColors[0])
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="%s">goal: statshard ≤ %.0f× its 1k cost up to 1M</text>`+"\n",
			x(1_000), gy-6, curveColors[0], curveGoal)
	}

	// The two lines, with a marker per point whose tooltip gives the figure.
	names := [2]string{"statshard", "datadog-go v5 (faster of agg and ext)"}
	for k, name := range names {
		var pts []string
		for _, p := range points {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(p.Series), y(curveValue(p, k))))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2.5" points="%s"><title>%s</title></polyline>`+"\n",
			curveColors[k], strings.Join(pts, " "), esc(name))
		for _, p := range points {
			tip := fmt.Sprintf("%s, %s series: %s CPU-ns per recording", name, count(p.Series), sig3(curveValue(p, k)))
			if k == 1 {
				tip += " (" + p.DatadogMode + ")"
			}
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="4" fill="%s"><title>%s</title></circle>`+"\n",
				x(p.Series), y(curveValue(p, k)), curveColors[k], esc(tip))
		}
		if len(points) > 0 {
			last := points[len(points)-1]
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="%s">%s</text>`+"\n", x(last.Series)+8, y(curveValue(last, k))+4,
				curveColors[k], esc(strings.Fields(name)[0]+" "+sig3(curveValue(last, k))))
		}
	}

	// Legend, above the plot.
	for k, name := range names {
		lx := float64(curveLeft + 10 + k*300)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="62" x2="%.1f" y2="62" stroke="%s" stroke-width="2.5"/>`+"\n", lx, lx+24, curveColors[k])
		fmt.Fprintf(&b, `<text x="%.1f" y="66">%s</text>`+"\n", lx+30, esc(name))
	}
	fmt.Fprintf(&b, `<text x="16" y="%d" fill="#555555">Median of each point's runs; the counter "%s" with 3 tags, series visited round-robin on one goroutine, flush and close included.</text>`+"\n",
		curveH-24, curveMetric)
	b.WriteString("</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}

// curveValue is point p's figure for line k: 0 statshard, 1 datadog-go.
func curveValue(p curvePoint, k int) float64 {
	if k == 0 {
		return p.Statshard
	}
	return p.Datadog
}

// curveRange returns the y axis of the cost curve: from the power of ten at or below the
// smallest positive figure to the power of ten at or above maxNs, at least one decade apart.
func curveRange(points []curvePoint, maxNs float64) (lo, hi float64) {
	least := maxNs
	for _, p := range points {
		for _, v := range []float64{p.Statshard, p.Datadog} {
			if v > 0 && v < least {
				least = v
			}
		}
	}
	if least <= 0 {
		return 1, 10
	}
	lo = math.Pow10(int(math.Floor(math.Log10(least))))
	hi = math.Pow10(int(math.Ceil(math.Log10(maxNs))))
	if hi <= lo {
		hi = lo * 10
	}
	return lo, hi
}
