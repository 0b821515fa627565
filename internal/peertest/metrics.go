package peertest

import (
	"slices"
	"strconv"
	"strings"
)

// Metrics is one scrape of a /metrics page: sample key -> value. A key is the metric name
// followed by its labels sorted by label name, with label values escaped as in the text format:
// `name{a="1",b="2"}`, or just `name` for a sample without labels. Build keys with [Metrics.Key].
//
// The zero value (nil) is an empty scrape: Get and Key work on it.
type Metrics map[string]float64

// Get returns the value of the sample with this name and labels, and whether it exists. labels
// are "name", "value" pairs in any order; Get panics on an odd count, which is a bug in the test.
func (m Metrics) Get(name string, labels ...string) (float64, bool) {
	v, ok := m[m.Key(name, labels...)]
	return v, ok
}

// Key returns the map key of the sample with this name and labels ("name", "value" pairs in any
// order). It panics on an odd count or a repeated label name, both bugs in the calling test.
func (m Metrics) Key(name string, labels ...string) string {
	if len(labels)%2 != 0 {
		panic("peertest: Key: odd number of label arguments: " + strconv.Quote(strings.Join(labels, ",")))
	}
	pairs := make([]label, 0, len(labels)/2)
	for i := 0; i < len(labels); i += 2 {
		pairs = append(pairs, label{labels[i], labels[i+1]})
	}
	key, dup := sampleKey(name, pairs)
	if dup != "" {
		panic("peertest: Key: label " + strconv.Quote(dup) + " given twice")
	}
	return key
}

type label struct{ name, value string }

// sampleKey builds the canonical key, sorting pairs in place. It returns the first repeated label
// name, if any, so the parser and Key can each report it their own way.
func sampleKey(name string, pairs []label) (key, dup string) {
	if len(pairs) == 0 {
		return name, ""
	}
	slices.SortFunc(pairs, func(a, b label) int { return strings.Compare(a.name, b.name) })
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i, p := range pairs {
		if i > 0 {
			if p.name == pairs[i-1].name {
				return "", p.name
			}
			b.WriteByte(',')
		}
		b.WriteString(p.name)
		b.WriteString(`="`)
		// Escaping keeps keys unambiguous: a value holding `",b="` cannot fake a second label.
		valueEscaper.WriteString(&b, p.value)
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String(), ""
}

var valueEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// dumpPrefixes are the exporter's own runtime series, left out of failure dumps because they
// never explain why a test's series is missing.
var dumpPrefixes = []string{"go_", "process_", "promhttp_"}

// dump formats m one sample per line, sorted, without the runtime series.
func dump(m Metrics) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		if !slices.ContainsFunc(dumpPrefixes, func(p string) bool { return strings.HasPrefix(k, p) }) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte(' ')
		b.WriteString(strconv.FormatFloat(m[k], 'g', -1, 64))
		b.WriteByte('\n')
	}
	if b.Len() == 0 {
		return "(no samples)\n"
	}
	return b.String()
}
