package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// A config file, JSON or YAML, is read into a tree of nodes that remember where they were
// written, then decoded into settings by one decoder for both formats, which reports every
// problem at its line and column instead of stopping at the first.

type nodeKind uint8

const (
	scalarNode nodeKind = iota
	listNode
	mapNode
)

// scalarTag is what a scalar was written as. JSON says (string, number, true/false, null); a
// plain (unquoted) YAML scalar is text that the setting it goes to reads: "off" is a string for
// -tcp, a number for nothing. So YAML's "on", "yes" or "no" never turn into booleans behind the
// operator's back (YAML 1.1 reads "tcp: off" as false).
type scalarTag uint8

const (
	tagString scalarTag = iota // JSON string, YAML quoted scalar
	tagNumber                  // JSON number
	tagBool                    // JSON true or false
	tagNull                    // JSON null; YAML null, ~ or nothing
	tagPlain                   // YAML plain scalar
)

type node struct {
	kind      nodeKind
	tag       scalarTag // scalars
	text      string    // scalars: the value (unquoted)
	items     []*node   // lists
	keys      []*node   // maps: the keys (scalars), in order
	vals      []*node   // maps: the values
	line, col int       // where the node starts, 1-based; col counts characters
}

func (n *node) describe() string {
	switch n.kind {
	case listNode:
		return "a list"
	case mapNode:
		return "a mapping"
	}
	switch n.tag {
	case tagNumber:
		return "the number " + n.text
	case tagBool:
		return n.text
	case tagNull:
		return "null"
	}
	return strconv.Quote(n.text)
}

// posError is a syntax error at a place in a file.
type posError struct {
	line, col int
	msg       string
}

func (e *posError) Error() string { return fmt.Sprintf("%d:%d: %s", e.line, e.col, e.msg) }

// lineIndex turns byte offsets of a text into lines and columns (columns count characters).
type lineIndex struct {
	text   []byte
	starts []int // byte offset of each line
}

func newLineIndex(b []byte) *lineIndex {
	x := &lineIndex{text: b, starts: []int{0}}
	for i, c := range b {
		if c == '\n' {
			x.starts = append(x.starts, i+1)
		}
	}
	return x
}

func (x *lineIndex) pos(off int) (line, col int) {
	off = min(max(off, 0), len(x.text))
	i := len(x.starts) - 1
	for i > 0 && x.starts[i] > off {
		i--
	}
	return i + 1, utf8.RuneCount(x.text[x.starts[i]:off]) + 1
}

// parseJSON reads a JSON document into nodes, with positions.
func parseJSON(b []byte) (*node, error) {
	x := newLineIndex(b)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	fail := func(err error) error {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			l, c := x.pos(int(se.Offset))
			return &posError{l, c, se.Error()}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			l, c := x.pos(len(b))
			return &posError{l, c, "unexpected end of file"}
		}
		return err
	}
	// next returns the next token and the offset it starts at: InputOffset is where the last
	// token ended, and separators (',' ':') and spaces come before the next.
	next := func() (json.Token, int, error) {
		off := int(dec.InputOffset())
		for off < len(b) && strings.IndexByte(" \t\r\n,:", b[off]) >= 0 {
			off++
		}
		tok, err := dec.Token()
		return tok, off, err
	}
	var value func(tok json.Token, off int) (*node, error)
	value = func(tok json.Token, off int) (*node, error) {
		n := &node{}
		n.line, n.col = x.pos(off)
		switch t := tok.(type) {
		case json.Delim:
			n.kind = listNode
			if t == '{' {
				n.kind = mapNode
			}
			for dec.More() {
				tok, off, err := next()
				if err != nil {
					return nil, fail(err)
				}
				if n.kind == mapNode {
					k := &node{tag: tagString, text: tok.(string)}
					k.line, k.col = x.pos(off)
					n.keys = append(n.keys, k)
					if tok, off, err = next(); err != nil {
						return nil, fail(err)
					}
				}
				v, err := value(tok, off)
				if err != nil {
					return nil, err
				}
				if n.kind == mapNode {
					n.vals = append(n.vals, v)
				} else {
					n.items = append(n.items, v)
				}
			}
			if _, err := dec.Token(); err != nil { // the closing delimiter
				return nil, fail(err)
			}
		case string:
			n.tag, n.text = tagString, t
		case json.Number:
			n.tag, n.text = tagNumber, t.String()
		case bool:
			n.tag, n.text = tagBool, strconv.FormatBool(t)
		case nil:
			n.tag, n.text = tagNull, "null"
		}
		return n, nil
	}
	tok, off, err := next()
	if err != nil {
		return nil, fail(err)
	}
	root, err := value(tok, off)
	if err != nil {
		return nil, err
	}
	if _, off, err := next(); err != io.EOF {
		l, c := x.pos(off)
		return nil, &posError{l, c, "data after the end of the JSON object"}
	}
	return root, nil
}

// decoder decodes nodes into settings, collecting a problem for each value it cannot take.
type decoder struct {
	file  string
	probs []problem
	pos   map[string][2]int // path ("listen", "listen[1]", "histogram_rules[0].mode") -> line, col
}

func (d *decoder) fail(n *node, path string, format string, args ...any) {
	d.probs = append(d.probs, problem{where: fmt.Sprintf("%s:%d:%d: %s", d.file, n.line, n.col, path), err: fmt.Errorf(format, args...)})
}

var (
	durationType    = reflect.TypeFor[duration]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
)

// jsonKeys maps a struct type's JSON keys to field indexes.
func jsonKeys(t reflect.Type) (keys []string, index map[string]int) {
	index = map[string]int{}
	for i := range t.NumField() {
		k, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if k == "" || k == "-" {
			continue
		}
		keys = append(keys, k)
		index[k] = i
	}
	return keys, index
}

// decode sets v from n. A null leaves v as it is (its default), as encoding/json does.
func (d *decoder) decode(n *node, v reflect.Value, path string) {
	if d.pos != nil {
		d.pos[path] = [2]int{n.line, n.col}
	}
	if n.kind == scalarNode && n.tag == tagNull {
		return
	}
	t := v.Type()
	scalar := func() (string, bool) {
		if n.kind != scalarNode {
			d.fail(n, path, "want %s, got %s", want(t), n.describe())
			return "", false
		}
		return n.text, true
	}
	switch {
	case t == durationType:
		s, ok := scalar()
		if !ok {
			return
		}
		if n.tag == tagBool {
			d.fail(n, path, "want a duration such as \"10s\", got %s", n.describe())
			return
		}
		x, err := parseDuration(s)
		if err != nil {
			d.fail(n, path, "%v", err)
			return
		}
		v.SetInt(int64(x))
		return
	case reflect.PointerTo(t).Implements(unmarshalerType):
		// A setting with its own JSON form (added later): give it the JSON of the node.
		if err := v.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(n.json()); err != nil {
			d.fail(n, path, "%v", err)
		}
		return
	}
	switch t.Kind() {
	case reflect.String:
		s, ok := scalar()
		if !ok {
			return
		}
		if n.tag != tagString && n.tag != tagPlain {
			d.fail(n, path, "want a string, got %s", n.describe())
			return
		}
		v.SetString(s)
	case reflect.Bool:
		s, ok := scalar()
		if !ok {
			return
		}
		if (n.tag == tagBool || n.tag == tagPlain) && (s == "true" || s == "false") {
			v.SetBool(s == "true")
			return
		}
		d.fail(n, path, "want true or false, got %s", n.describe())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		s, ok := scalar()
		if !ok {
			return
		}
		x, err := strconv.ParseInt(s, 10, t.Bits())
		if err != nil || n.tag != tagNumber && n.tag != tagPlain {
			d.fail(n, path, "want an integer, got %s", n.describe())
			return
		}
		v.SetInt(x)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		s, ok := scalar()
		if !ok {
			return
		}
		x, err := strconv.ParseUint(s, 10, t.Bits())
		if err != nil || n.tag != tagNumber && n.tag != tagPlain {
			d.fail(n, path, "want a non-negative integer, got %s", n.describe())
			return
		}
		v.SetUint(x)
	case reflect.Float32, reflect.Float64:
		s, ok := scalar()
		if !ok {
			return
		}
		x, err := strconv.ParseFloat(s, t.Bits())
		if err != nil || n.tag != tagNumber && n.tag != tagPlain {
			d.fail(n, path, "want a number, got %s", n.describe())
			return
		}
		v.SetFloat(x)
	case reflect.Slice:
		if n.kind != listNode {
			d.fail(n, path, "want a list ([...]), got %s", n.describe())
			return
		}
		out := reflect.MakeSlice(t, len(n.items), len(n.items))
		for i, it := range n.items {
			d.decode(it, out.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(out)
	case reflect.Struct:
		if n.kind != mapNode {
			d.fail(n, path, "want a mapping ({...}), got %s", n.describe())
			return
		}
		d.decodeMap(n, v, path+".")
	default:
		d.fail(n, path, "cannot read a setting of type %v", t)
	}
}

// decodeMap sets the fields of the struct v from the mapping n, by their JSON keys, each at
// prefix+key. Unknown and repeated keys are problems.
func (d *decoder) decodeMap(n *node, v reflect.Value, prefix string) {
	keys, index := jsonKeys(v.Type())
	seen := map[string]*node{}
	for i, k := range n.keys {
		name := k.text
		if first, ok := seen[name]; ok {
			d.fail(k, prefix+name, "given twice (first at %d:%d)", first.line, first.col)
			continue
		}
		seen[name] = k
		f, ok := index[name]
		if !ok {
			msg := "unknown key"
			if s := closest(name, keys); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			d.fail(k, prefix+name, "%s", msg)
			continue
		}
		d.decode(n.vals[i], v.Field(f), prefix+name)
	}
}

func want(t reflect.Type) string {
	switch {
	case t == durationType:
		return "a duration such as \"10s\""
	case t.Kind() == reflect.Slice:
		return "a list"
	case t.Kind() == reflect.Struct:
		return "a mapping"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() == reflect.String:
		return "a string"
	}
	return "a number"
}

// json encodes n back to JSON (YAML plain scalars as the JSON literal they spell, else strings).
func (n *node) json() []byte {
	switch n.kind {
	case listNode:
		parts := make([]string, len(n.items))
		for i, it := range n.items {
			parts[i] = string(it.json())
		}
		return []byte("[" + strings.Join(parts, ",") + "]")
	case mapNode:
		parts := make([]string, len(n.keys))
		for i, k := range n.keys {
			kb, _ := json.Marshal(k.text)
			parts[i] = string(kb) + ":" + string(n.vals[i].json())
		}
		return []byte("{" + strings.Join(parts, ",") + "}")
	}
	switch n.tag {
	case tagNumber, tagBool, tagNull:
		return []byte(n.text)
	case tagPlain:
		if json.Valid([]byte(n.text)) && !strings.HasPrefix(n.text, "\"") {
			return []byte(n.text)
		}
	}
	b, _ := json.Marshal(n.text)
	return b
}

// parseDuration is time.ParseDuration with a message that says what to write when a number
// comes without its unit.
func parseDuration(s string) (time.Duration, error) {
	x, err := time.ParseDuration(s)
	if err == nil {
		return x, nil
	}
	if _, nerr := strconv.ParseFloat(s, 64); nerr == nil && s != "0" {
		return 0, fmt.Errorf("%s is a number, not a duration: give its unit, such as \"%ss\" or \"%sms\"", s, s, s)
	}
	return 0, fmt.Errorf("%q is not a duration (want a number with a unit: 500ms, 10s, 1m)", s)
}

// closest returns the candidate nearest to s by edit distance, if it is near enough to be what
// was meant (at most a third of its length off), or "".
func closest(s string, candidates []string) string {
	best, bestD := "", len(s)/3+1
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
