package main

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/statshard/statshard/agent"
	"github.com/statshard/statshard/wire/statsd"
)

// table prints each flush for a person, when there is no -upstream: one row per series, values
// in %.6g, columns cut to a bounded width, and a footer that counts what the intake received,
// could not parse and dropped in the interval. A histogram or distribution takes one row (count,
// min, p50, p99, max) however many values it had. The agent's own telemetry (statshard.*) is
// hidden unless -console-telemetry.
//
// It is the recorder's Statsd.Writer: the recorder writes a flush's DogStatsD payloads, then
// calls Flush. For one row per histogram, the console's recorder exports histograms as summaries
// with consoleQuantiles (agentConfigs), whose lines the table folds back into one row.
type table struct {
	out       io.Writer
	telemetry bool // show statshard.* series

	mu     sync.Mutex
	lines  []string
	muted  bool
	stats  func() agent.Stats // the recorder's counters, for the footer; nil until set
	prev   agent.Stats
	parser statsd.Parser
}

// consoleQuantiles are the quantiles of the console's summaries, and summarySuffixes the lines
// the recorder sends for one, in its order (agent/export.go: .count and .sum, then .avg, .min,
// .max, then a gauge per quantile).
func consoleQuantiles() []float64 { return []float64{0.5, 0.99} }

var summarySuffixes = []string{".count", ".sum", ".avg", ".min", ".max", ".median", ".p99"}

// Column widths, in characters; a longer value is cut with "…".
const (
	nameWidth  = 48
	tagsWidth  = 48
	valueWidth = 64
)

func newTable(out io.Writer, telemetry bool) *table { return &table{out: out, telemetry: telemetry} }

// setStats gives the table the recorder's counters, for its footer.
func (t *table) setStats(f func() agent.Stats) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stats = f
	t.prev = agent.Stats{}
}

// mute makes the table print nothing more: for a pipeline that failed to start, whose recorder's
// final flush must not look like a running agent's.
func (t *table) mute() {
	t.mu.Lock()
	t.muted = true
	t.mu.Unlock()
}

// Write takes one payload: DogStatsD lines joined by '\n'.
func (t *table) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	statsd.SplitLines(p, func(l []byte) {
		if len(l) > 0 {
			t.lines = append(t.lines, string(l))
		}
	})
	return len(p), nil
}

// row is one line of the table.
type row struct {
	name, kind, tags, value string
	telemetry               bool
}

// series gathers the lines of one series in a flush.
type series struct {
	name, tags string
	typ        statsd.Type
	ts         int64
	sum, last  float64
	members    []string
	values     []weighted
	summary    []float64 // count, sum, avg, min, max, p50, p99
}

type weighted struct {
	v float64
	w uint64
}

var kindNames = map[statsd.Type]string{statsd.Counter: "counter", statsd.Gauge: "gauge", statsd.Timing: "histogram",
	statsd.Histogram: "histogram", statsd.Distribution: "distribution", statsd.Set: "set"}

// Flush prints the lines of one flush, folded into rows, with the interval's footer.
func (t *table) Flush() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := t.lines
	t.lines = nil
	var foot string
	quiet := true
	if t.stats != nil {
		st := t.stats()
		foot, quiet = footer(st, t.prev)
		t.prev = st
	}
	rows := t.rows(lines)
	var main, tele []row
	for _, r := range rows {
		if r.telemetry {
			tele = append(tele, r)
		} else {
			main = append(main, r)
		}
	}
	if !t.telemetry {
		tele = nil
	}
	if t.muted || len(main) == 0 && len(tele) == 0 && quiet {
		return nil
	}
	var b bytes.Buffer
	n := fmt.Sprintf("%d series", len(main))
	if len(main) == 1 {
		n = "1 series"
	}
	fmt.Fprintf(&b, "--- flush %s: %s\n", time.Now().Format(time.TimeOnly), n)
	w := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	if len(main) > 0 || len(tele) > 0 {
		fmt.Fprintln(w, "NAME\tKIND\tVALUE\tTAGS")
	}
	for _, r := range main {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", cut(r.name, nameWidth), r.kind, cut(r.value, valueWidth), cut(r.tags, tagsWidth))
	}
	if len(tele) > 0 {
		fmt.Fprintln(w, "# the agent's own telemetry (-console-telemetry): statshard.lines counts lines it sent, here to this table; lines received are in the footer")
		for _, r := range tele {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", cut(r.name, nameWidth), r.kind, cut(r.value, valueWidth), cut(r.tags, tagsWidth))
		}
	}
	w.Flush()
	// tabwriter pads a cell even when the cells after it are empty (a row without tags).
	text := bytes.Split(bytes.Clone(b.Bytes()), []byte("\n"))
	b.Reset()
	for i, l := range text {
		b.Write(bytes.TrimRight(l, " "))
		if i < len(text)-1 {
			b.WriteByte('\n')
		}
	}
	if foot != "" {
		b.WriteString(foot)
		b.WriteByte('\n')
	}
	_, err := t.out.Write(b.Bytes())
	return err
}

// rows folds a flush's lines into one row per series, sorted by name then tags.
func (t *table) rows(lines []string) []row {
	var rows []row
	byKey := map[string]*series{}
	var order []string
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		kind, smp, err := t.parser.Parse([]byte(l))
		switch {
		case kind == statsd.KindEvent:
			rows = append(rows, eventRow(l))
			continue
		case kind == statsd.KindServiceCheck:
			rows = append(rows, checkRow(l))
			continue
		case err != nil:
			rows = append(rows, row{name: l, kind: "unparsed"})
			continue
		}
		tags := tagText(smp)
		if n := t.summaryAt(lines, i, smp.Name, tags); n != nil {
			key := "h\x00" + strings.TrimSuffix(smp.Name, ".count") + "\x00" + tags
			byKey[key] = &series{name: strings.TrimSuffix(smp.Name, ".count"), tags: tags, typ: statsd.Histogram, summary: n}
			order = append(order, key)
			i += len(summarySuffixes) - 1
			continue
		}
		key := smp.Name + "\x00" + tags + "\x00" + smp.Type.String()
		if smp.Timestamp != 0 {
			key += "\x00" + strconv.FormatInt(smp.Timestamp, 10) + "\x00" + strconv.Itoa(i)
		}
		s := byKey[key]
		if s == nil {
			s = &series{name: smp.Name, tags: tags, typ: smp.Type, ts: smp.Timestamp}
			byKey[key] = s
			order = append(order, key)
		}
		if smp.Type == statsd.Set {
			s.members = append(s.members, smp.SetValue())
			continue
		}
		w := uint64(1)
		if smp.Rate > 0 {
			w = uint64(1 / smp.Rate) // what every receiver reads back (statsd.RateFor)
		}
		smp.Values(func(v float64, _ bool) {
			s.sum += v
			s.last = v
			s.values = append(s.values, weighted{v, w})
		})
	}
	for _, k := range order {
		rows = append(rows, byKey[k].row())
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].name != rows[j].name {
			return rows[i].name < rows[j].name
		}
		return rows[i].tags < rows[j].tags
	})
	return rows
}

// summaryAt returns the summary starting at lines[i] (a ".count" counter followed by the other
// summarySuffixes gauges of the same series), as count, sum, avg, min, max, p50, p99, or nil.
func (t *table) summaryAt(lines []string, i int, name, tags string) []float64 {
	base, ok := strings.CutSuffix(name, ".count")
	if !ok || i+len(summarySuffixes) > len(lines) {
		return nil
	}
	var p statsd.Parser
	out := make([]float64, 0, len(summarySuffixes))
	for j, suf := range summarySuffixes {
		_, smp, err := p.Parse([]byte(lines[i+j]))
		want := statsd.Gauge
		if j == 0 {
			want = statsd.Counter
		}
		if err != nil || smp.Name != base+suf || smp.Type != want || tagText(smp) != tags {
			return nil
		}
		var v float64
		smp.Values(func(x float64, _ bool) { v = x })
		out = append(out, v)
	}
	return out
}

// tagText is a sample's tags and origin fields, as the TAGS column shows them.
func tagText(s *statsd.Sample) string {
	parts := append([]string(nil), s.Tags...)
	if s.Container != "" {
		parts = append(parts, "c:"+s.Container)
	}
	if s.External != "" {
		parts = append(parts, "e:"+s.External)
	}
	if s.Cardinality != "" {
		parts = append(parts, "card:"+s.Cardinality)
	}
	return strings.Join(parts, ",")
}

func (s *series) row() row {
	r := row{name: s.name, kind: kindNames[s.typ], tags: s.tags, telemetry: strings.HasPrefix(s.name, "statshard.")}
	switch {
	case s.summary != nil:
		h := s.summary
		r.value = fmt.Sprintf("n=%s min=%s p50=%s p99=%s max=%s", g(h[0]), g(h[3]), g(h[5]), g(h[6]), g(h[4]))
	case s.typ == statsd.Set:
		sort.Strings(s.members) // a set's members come in no particular order
		r.value = fmt.Sprintf("%d distinct: %s", len(s.members), strings.Join(s.members, ", "))
	case s.typ == statsd.Counter:
		r.value = g(s.sum)
	case s.typ == statsd.Gauge:
		r.value = g(s.last) // a negative gauge comes as 0 then the value: the last is it
	default:
		r.value = distribution(s.values)
	}
	if s.ts != 0 {
		r.value += " at " + time.Unix(s.ts, 0).UTC().Format("2006-01-02T15:04:05Z") + " (forwarded as sent)"
	}
	return r
}

// distribution summarizes weighted values: the count is exact (the weights add up to it), the
// rest are the sample's.
func distribution(vs []weighted) string {
	sort.Slice(vs, func(i, j int) bool { return vs[i].v < vs[j].v })
	var n uint64
	for _, x := range vs {
		n += x.w
	}
	q := func(p float64) float64 {
		target, cum := p*float64(n), uint64(0)
		for _, x := range vs {
			cum += x.w
			if float64(cum) >= target {
				return x.v
			}
		}
		return vs[len(vs)-1].v
	}
	if len(vs) == 0 {
		return "n=0"
	}
	return fmt.Sprintf("n=%d min=%s p50=%s p99=%s max=%s", n, g(vs[0].v), g(q(0.5)), g(q(0.99)), g(vs[len(vs)-1].v))
}

func g(v float64) string { return fmt.Sprintf("%.6g", v) }

func eventRow(l string) row {
	// _e{<title len>,<text len>}:<title>|<text>|...
	r := row{name: l, kind: "event"}
	if i := strings.Index(l, "}:"); i >= 0 {
		title, text, _ := strings.Cut(l[i+2:], "|")
		text, _, _ = strings.Cut(text, "|")
		r.name, r.value = title, text
	}
	return r
}

func checkRow(l string) row {
	// _sc|<name>|<status>|...
	f := strings.Split(l, "|")
	r := row{name: l, kind: "service check"}
	if len(f) >= 3 {
		r.name = f[1]
		r.value = f[2]
		if n, err := strconv.Atoi(f[2]); err == nil && n >= 0 && n < 4 {
			r.value += " (" + [...]string{"ok", "warning", "critical", "unknown"}[n] + ")"
		}
	}
	return r
}

// cut shortens s to width characters, marking a cut with "…".
func cut(s string, width int) string {
	if utf8.RuneCountInString(s) <= width {
		return s
	}
	r := []rune(s)
	return string(r[:width-1]) + "…"
}

// footer says what the intake received, could not parse and dropped between two snapshots of
// the recorder's counters; quiet when none of it happened.
func footer(cur, prev agent.Stats) (line string, quiet bool) {
	in, pin := cur.Intake, prev.Intake
	datagrams, lines, errs := in.Datagrams-pin.Datagrams, in.Lines-pin.Lines, in.ParseErrors-pin.ParseErrors
	var reasons []string
	for _, k := range sortedKeys(in.ParseErrorsBy) {
		if d := in.ParseErrorsBy[k] - pin.ParseErrorsBy[k]; d > 0 {
			reasons = append(reasons, fmt.Sprintf("%s %d", k, d))
		}
	}
	var drops []string
	var dropped uint64
	pd := prev.Dropped()
	for i, d := range cur.Dropped() {
		if n := d.Count - pd[i].Count; n > 0 {
			drops = append(drops, fmt.Sprintf("%s %d", d.Reason, n))
			dropped += n
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "received %d datagrams, %d lines; parse errors: ", datagrams, lines)
	if errs == 0 {
		b.WriteString("none")
	} else {
		fmt.Fprintf(&b, "%d (%s)", errs, strings.Join(reasons, ", "))
	}
	b.WriteString("; dropped: ")
	if dropped == 0 {
		b.WriteString("none")
	} else {
		fmt.Fprintf(&b, "%d (%s)", dropped, strings.Join(drops, ", "))
	}
	return b.String(), datagrams == 0 && errs == 0 && dropped == 0
}

func sortedKeys(m map[string]uint64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
