package peertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Point is one metric telegraf wrote: a line of its JSON output.
type Point struct {
	// Name is the measurement name, as telegraf derived it from the statsd name ('.' became '_').
	Name string
	// Type is the metric_type tag telegraf adds: "counter", "gauge", "timing", "histogram",
	// "distribution" or "set".
	Type string
	// Tags are the point's other tags. Never nil; never modified after the point is read.
	Tags map[string]string
	// Fields hold each field's value exactly as telegraf wrote it, so an integer counter of
	// -9223372036854775808 or a float of 9.99999999999999e+18 keeps every digit. A field JSON
	// cannot carry is missing: telegraf writes a NaN gauge as a point with no fields at all.
	Fields map[string]json.Number
	// Time is the gather time telegraf stamped the point with.
	Time time.Time
}

// Float returns the field as a float64, and whether the point has it.
func (p Point) Float(field string) (float64, bool) {
	n, ok := p.Fields[field]
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseFloat(string(n), 64)
	return v, err == nil
}

// Int returns the field as an int64, and whether the point has it written as an integer.
func (p Point) Int(field string) (int64, bool) {
	n, ok := p.Fields[field]
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(string(n), 10, 64)
	return v, err == nil
}

// Value is Float("value"): counters, gauges, sets and distributions have only that field.
func (p Point) Value() (float64, bool) { return p.Float("value") }

// String formats the point as `name{k=v,...} type field=value ...`, tags and fields sorted.
func (p Point) String() string {
	var b strings.Builder
	b.WriteString(p.Name)
	if len(p.Tags) > 0 {
		b.WriteByte('{')
		for i, k := range slices.Sorted(maps.Keys(p.Tags)) {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(k + "=" + strconv.Quote(p.Tags[k]))
		}
		b.WriteByte('}')
	}
	b.WriteString(" " + p.Type)
	for _, k := range slices.Sorted(maps.Keys(p.Fields)) {
		b.WriteString(" " + k + "=" + string(p.Fields[k]))
	}
	return b.String()
}

// matches reports whether the point has this name and exactly these tags (metric_type aside).
func (p Point) matches(name string, tags map[string]string) bool {
	return p.Name == name && maps.Equal(p.Tags, tags)
}

// TelegrafMetrics is every point telegraf had written at one read, in file order. It is a snapshot:
// later reads do not change it. The zero value is an empty read.
type TelegrafMetrics struct {
	points []Point
}

// Points returns every point, in the order telegraf wrote them. The caller must not modify them.
func (m *TelegrafMetrics) Points() []Point { return m.points }

// Last returns the latest point with this name and exactly these tags ("key", "value" pairs in any
// order; the metric_type tag is not one of them), and whether there is one. With telegraf's
// cumulative configuration the latest point of a counter, gauge, set or timing is its total. It
// panics on an odd count or a repeated tag key, bugs in the calling test.
func (m *TelegrafMetrics) Last(name string, tags ...string) (Point, bool) {
	want := tagMap(tags)
	for i := len(m.points) - 1; i >= 0; i-- {
		if m.points[i].matches(name, want) {
			return m.points[i], true
		}
	}
	return Point{}, false
}

// All returns every point with this name and exactly these tags, oldest first. For a distribution
// that is one point per value received.
func (m *TelegrafMetrics) All(name string, tags ...string) []Point {
	want := tagMap(tags)
	var out []Point
	for _, p := range m.points {
		if p.matches(name, want) {
			out = append(out, p)
		}
	}
	return out
}

// Series returns the latest point of every series named name, whatever its tags, sorted by tags:
// what a test checks to say that no other series of that name exists.
func (m *TelegrafMetrics) Series(name string) []Point {
	return m.latest(func(p Point) bool { return p.Name == name })
}

// latest returns the latest point of each series (name, type and tags) keep accepts, sorted.
func (m *TelegrafMetrics) latest(keep func(Point) bool) []Point {
	seen := map[string]int{}
	var out []Point
	for _, p := range m.points {
		if !keep(p) {
			continue
		}
		k := seriesKey(p)
		if i, ok := seen[k]; ok {
			out[i] = p
			continue
		}
		seen[k] = len(out)
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Point) int { return strings.Compare(seriesKey(a), seriesKey(b)) })
	return out
}

func seriesKey(p Point) string {
	labels := make([]label, 0, len(p.Tags)+1)
	for k, v := range p.Tags {
		labels = append(labels, label{k, v})
	}
	labels = append(labels, label{"metric_type", p.Type})
	key, _ := sampleKey(p.Name, labels)
	return key
}

// maxDump bounds the series a failure dump shows.
const maxDump = 400

// dump formats the latest point of every series, probes left out, one per line.
func (m *TelegrafMetrics) dump() string {
	ps := m.latest(func(p Point) bool { return !strings.HasPrefix(p.Name, "peertest_probe_") })
	if len(ps) == 0 {
		return "(no points)\n"
	}
	var b strings.Builder
	for i, p := range ps {
		if i == maxDump {
			fmt.Fprintf(&b, "... and %d more series\n", len(ps)-maxDump)
			break
		}
		b.WriteString(p.String())
		b.WriteByte('\n')
	}
	return b.String()
}

func tagMap(pairs []string) map[string]string {
	if len(pairs)%2 != 0 {
		panic("peertest: odd number of tag arguments: " + strconv.Quote(strings.Join(pairs, ",")))
	}
	m := make(map[string]string, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		if _, dup := m[pairs[i]]; dup {
			panic("peertest: tag " + strconv.Quote(pairs[i]) + " given twice")
		}
		m[pairs[i]] = pairs[i+1]
	}
	return m
}

// parsePoint parses one line of telegraf's JSON output with json_timestamp_units = "1ms":
// {"fields":{...},"name":"...","tags":{...},"timestamp":<ms>}. Every field must be a number;
// there may be none (a NaN gauge).
func parsePoint(line []byte) (Point, error) {
	var raw struct {
		Fields    map[string]any    `json:"fields"`
		Name      string            `json:"name"`
		Tags      map[string]string `json:"tags"`
		Timestamp *int64            `json:"timestamp"`
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return Point{}, fmt.Errorf("bad JSON line %q: %w", line, err)
	}
	if dec.More() {
		return Point{}, fmt.Errorf("bad JSON line %q: more than one object", line)
	}
	if raw.Name == "" || raw.Timestamp == nil {
		return Point{}, fmt.Errorf("bad JSON line %q: want a name and a timestamp", line)
	}
	p := Point{
		Name:   raw.Name,
		Type:   raw.Tags["metric_type"],
		Tags:   map[string]string{},
		Fields: make(map[string]json.Number, len(raw.Fields)),
		Time:   time.UnixMilli(*raw.Timestamp),
	}
	for k, v := range raw.Tags {
		if k != "metric_type" {
			p.Tags[k] = v
		}
	}
	for k, v := range raw.Fields {
		n, ok := v.(json.Number)
		if !ok {
			return Point{}, fmt.Errorf("bad JSON line %q: field %q is %T, want a number", line, k, v)
		}
		p.Fields[k] = n
	}
	return p, nil
}
