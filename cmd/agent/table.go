package main

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// table prints each flush as an aligned table (name, tags, kind, value) instead of DogStatsD
// lines, so `go run ./cmd/agent` shows a newcomer what it received. The recorder writes a flush's
// payloads, then calls Flush.
type table struct {
	mu    sync.Mutex
	out   io.Writer
	lines []string
}

func newTable(out io.Writer) *table { return &table{out: out} }

// Write takes one payload: DogStatsD lines joined by '\n'.
func (t *table) Write(p []byte) (int, error) {
	t.mu.Lock()
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		if l != "" {
			t.lines = append(t.lines, l)
		}
	}
	t.mu.Unlock()
	return len(p), nil
}

var kinds = map[string]string{"c": "counter", "g": "gauge", "ms": "timing", "h": "histogram", "d": "distribution", "s": "set"}

// Flush prints the lines of one flush, sorted by name.
func (t *table) Flush() error {
	t.mu.Lock()
	lines := t.lines
	t.lines = nil
	t.mu.Unlock()
	if len(lines) == 0 {
		return nil
	}
	type row struct{ name, tags, kind, value, extra string }
	var rows []row
	for _, l := range lines {
		head, rest, _ := strings.Cut(l, "|")
		fields := strings.Split(rest, "|")
		i := strings.LastIndexByte(head, ':')
		if i < 0 || strings.HasPrefix(l, "_e{") || strings.HasPrefix(l, "_sc|") {
			rows = append(rows, row{name: l, kind: "forwarded"})
			continue
		}
		// A set member or multi-value line keeps its value text whole after the name's first ':'.
		name, value, _ := strings.Cut(head, ":")
		r := row{name: name, value: value, kind: kinds[fields[0]]}
		for _, f := range fields[1:] {
			switch {
			case strings.HasPrefix(f, "#"):
				r.tags = f[1:]
			case strings.HasPrefix(f, "@"):
				r.extra += " rate=" + f[1:]
			case strings.HasPrefix(f, "c:"):
				r.extra += " container=" + f[2:]
			case strings.HasPrefix(f, "T"):
				r.extra += " ts=" + f[1:]
			}
		}
		rows = append(rows, r)
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].name < rows[j].name })
	var b bytes.Buffer
	fmt.Fprintf(&b, "--- flush %s: %d lines\n", time.Now().Format(time.TimeOnly), len(rows))
	w := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tTAGS\tKIND\tVALUE")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s%s\n", r.name, r.tags, r.kind, r.value, r.extra)
	}
	w.Flush()
	_, err := t.out.Write(b.Bytes())
	return err
}
