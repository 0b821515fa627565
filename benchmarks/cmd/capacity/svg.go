package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
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
