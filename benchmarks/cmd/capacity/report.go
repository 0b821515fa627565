package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// report is everything one run measured, in the form the three outputs (stdout, Markdown, SVG)
// render: tables per section, bars against ceilings, and headline answers.
type report struct {
	Machine  []string // "key: value" facts about the host and the run
	Command  string
	Started  time.Time
	Elapsed  time.Duration
	Headline []string // one sentence per answer to "how much can one core take"
	Sections []section
	Bars     []bar
	Curve    []curvePoint // the cost curve, drawn in costcurve.svg; nil when not measured
	Errors   []string     // measurements that failed; the run exits non-zero when there are any
}

// section is one table with the prose that says how to read it.
type section struct {
	Title   string
	Intro   string
	Columns []string
	Rows    [][]string
	Notes   []string
}

// bar is one figure shown as a fraction of the most the machine allows for it.
type bar struct {
	Group   string  // what the ceiling is, e.g. "vs raw sendmmsg loop"
	Label   string  // what was measured
	Value   float64 // the figure
	Ceiling float64 // the same figure for the kernel (or hardware) alone
	Unit    string
	Target  float64 // the project's bar as a fraction of Ceiling; 0 for none
}

// Fraction returns Value/Ceiling, or 0 without a ceiling.
func (b bar) Fraction() float64 {
	if b.Ceiling <= 0 {
		return 0
	}
	return b.Value / b.Ceiling
}

// add appends a section and returns it for filling.
func (r *report) add(s section) *section {
	r.Sections = append(r.Sections, s)
	return &r.Sections[len(r.Sections)-1]
}

// failf records a failed measurement.
func (r *report) failf(format string, args ...any) {
	r.Errors = append(r.Errors, fmt.Sprintf(format, args...))
}

// writeText prints the report as aligned plain-text tables.
func (r *report) writeText(w io.Writer) {
	fmt.Fprintf(w, "statshard capacity — %s\n", strings.Join(r.Machine, ", "))
	for _, s := range r.Sections {
		fmt.Fprintf(w, "\n== %s\n", s.Title)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, strings.Join(s.Columns, "\t")+"\t")
		for _, row := range s.Rows {
			fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
		}
		tw.Flush()
		for _, n := range s.Notes {
			fmt.Fprintf(w, "  note: %s\n", n)
		}
	}
	if len(r.Headline) > 0 {
		fmt.Fprintf(w, "\n== Answers\n")
		for _, h := range r.Headline {
			fmt.Fprintf(w, "- %s\n", h)
		}
	}
	for _, e := range r.Errors {
		fmt.Fprintf(w, "ERROR: %s\n", e)
	}
}

// writeMarkdown writes the report as a Markdown document.
func (r *report) writeMarkdown(w io.Writer) {
	fmt.Fprintf(w, "# statshard capacity\n\n")
	fmt.Fprintf(w, "Produced by `%s` on %s in %s.\n\n", r.Command, r.Started.UTC().Format("2006-01-02 15:04 MST"),
		r.Elapsed.Round(time.Second))
	for _, m := range r.Machine {
		fmt.Fprintf(w, "- %s\n", mdEscape(m))
	}
	fmt.Fprintf(w, "\nFigures vary from run to run (±20–35 %% on the project's 2-core VMs): read them as "+
		"ratios against the ceilings measured in the same run rather than as absolutes.\n")
	if len(r.Headline) > 0 {
		fmt.Fprintf(w, "\n## Answers\n\n")
		for _, h := range r.Headline {
			fmt.Fprintf(w, "- %s\n", mdEscape(h))
		}
	}
	if len(r.Errors) > 0 {
		fmt.Fprintf(w, "\n## Errors\n\n")
		for _, e := range r.Errors {
			fmt.Fprintf(w, "- %s\n", mdEscape(e))
		}
	}
	for _, s := range r.Sections {
		fmt.Fprintf(w, "\n## %s\n\n", s.Title)
		if s.Intro != "" {
			fmt.Fprintf(w, "%s\n\n", s.Intro)
		}
		fmt.Fprintf(w, "| %s |\n|", strings.Join(mdCells(s.Columns), " | "))
		for range s.Columns {
			fmt.Fprint(w, "---|")
		}
		fmt.Fprintln(w)
		for _, row := range s.Rows {
			fmt.Fprintf(w, "| %s |\n", strings.Join(mdCells(row), " | "))
		}
		for _, n := range s.Notes {
			fmt.Fprintf(w, "\n%s\n", mdEscape(n))
		}
	}
	if len(r.Bars) > 0 {
		fmt.Fprintf(w, "\n## Against the ceilings\n\n![each figure as a fraction of its ceiling](capacity.svg)\n\n")
		fmt.Fprintf(w, "| figure | value | ceiling | fraction | bar |\n|---|---|---|---|---|\n")
		for _, b := range r.Bars {
			target := ""
			if b.Target > 0 {
				target = fmt.Sprintf("≥ %.0f %% (%s)", 100*b.Target, passMark(b.Fraction() >= b.Target))
			}
			fmt.Fprintf(w, "| %s | %s %s | %s (%s) | %.0f %% | %s |\n", mdEscape(b.Label), si(b.Value), b.Unit,
				si(b.Ceiling), mdEscape(b.Group), 100*b.Fraction(), target)
		}
	}
}

func passMark(ok bool) string {
	if ok {
		return "met"
	}
	return "missed"
}

func mdCells(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = mdEscape(c)
	}
	return out
}

// mdEscape keeps a cell from ending its table column early.
func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// si formats v with an SI suffix and three significant digits: 1.23 M, 456 k, 7.89.
func si(v float64) string {
	switch a := abs(v); {
	case a >= 1e9:
		return sig3(v/1e9) + " G"
	case a >= 1e6:
		return sig3(v/1e6) + " M"
	case a >= 1e3:
		return sig3(v/1e3) + " k"
	default:
		return sig3(v)
	}
}

// sig3 formats v with three significant digits (no exponent below 1000).
func sig3(v float64) string {
	switch a := abs(v); {
	case a == 0:
		return "0"
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// dur formats a duration with three significant digits in a unit that suits it.
func dur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return sig3(d.Seconds()) + " s"
	case d >= time.Millisecond:
		return sig3(float64(d)/1e6) + " ms"
	case d >= time.Microsecond:
		return sig3(float64(d)/1e3) + " µs"
	default:
		return fmt.Sprintf("%d ns", d.Nanoseconds())
	}
}

// pct formats a fraction as a percentage.
func pct(f float64) string {
	if f != 0 && abs(f) < 0.001 {
		return fmt.Sprintf("%.3f %%", 100*f)
	}
	return fmt.Sprintf("%.1f %%", 100*f)
}

// mib formats bytes in MiB.
func mib(b float64) string { return sig3(b/(1<<20)) + " MiB" }
