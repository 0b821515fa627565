package main

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// parseYAML reads the YAML a config file needs, strictly, into nodes with positions:
//
//   - block mappings (key: value) and block sequences (- item), nested by indentation (spaces;
//     a tab in indentation is an error), a sequence under a key indented or not;
//   - plain, 'single-quoted' and "double-quoted" scalars (Go escapes in double quotes), and
//     literal block scalars (| or |-);
//   - flow sequences and mappings on one line: [a, b], {match: "http.*", mode: buckets};
//   - comments (#), a leading --- and a final ... .
//
// Anything else (anchors, aliases, tags, folded scalars, plain scalars over several lines,
// several documents, "? " keys) is an error at its position, never a guess. Plain scalars are
// not typed here: the setting they go to reads them (see scalarTag), so "tcp: off" is the string
// "off", not YAML 1.1's false.
//
// Why not a YAML library: sigs.k8s.io/yaml converts YAML to JSON before decoding, so a wrong
// value could only be reported at a place in JSON the operator never wrote, and its YAML 1.1
// reading of off/no/on/yes as booleans would turn "tcp: off" into a type error; and it would be
// a dependency of the library's module, for every user of the library, for one command's
// flat configuration file.
func parseYAML(b []byte) (*node, error) {
	if !utf8.Valid(b) {
		return nil, &posError{1, 1, "the file is not UTF-8"}
	}
	s := strings.TrimPrefix(string(b), "\uFEFF")
	p := &yparser{}
	started, ended := false, false
	for i, raw := range strings.Split(s, "\n") {
		raw = strings.TrimSuffix(raw, "\r")
		l := yline{num: i + 1, raw: raw}
		if j := strings.IndexFunc(raw, func(r rune) bool { return r != ' ' }); j < 0 {
			l.text = ""
		} else {
			l.indent, l.off = j, j
			if raw[j] == '\t' {
				return nil, &posError{l.num, j + 1, "a tab in indentation: YAML indents with spaces"}
			}
			l.text = strings.TrimRight(stripComment(raw[j:]), " \t")
		}
		if ended && l.text != "" {
			return nil, &posError{l.num, l.off + 1, "content after the end of the document (...)"}
		}
		switch {
		case l.text == "":
			// Kept: a blank line (or a comment) may be part of a literal block scalar.
			p.lines = append(p.lines, l)
			continue
		case l.indent == 0 && (l.text == "---" || strings.HasPrefix(l.text, "--- ")):
			if started {
				return nil, &posError{l.num, 1, "a second document (---): a config file holds one"}
			}
			started = true
			if rest := strings.TrimSpace(l.text[3:]); rest != "" {
				return nil, &posError{l.num, 5, "content on the --- line"}
			}
			continue
		case l.indent == 0 && l.text == "...":
			ended = true
			continue
		case l.indent == 0 && strings.HasPrefix(l.text, "%"):
			return nil, &posError{l.num, 1, "YAML directives (%) are not supported"}
		}
		started = true
		p.lines = append(p.lines, l)
	}
	p.skipBlank()
	if p.i == len(p.lines) {
		return &node{kind: mapNode, line: 1, col: 1}, nil
	}
	n, err := p.block(0)
	if err != nil {
		return nil, err
	}
	if p.skipBlank(); p.i < len(p.lines) {
		l := p.cur()
		return nil, &posError{l.num, l.col(0), "unexpected indentation"}
	}
	return n, nil
}

type yline struct {
	num    int    // line number, 1-based
	raw    string // the whole line
	indent int    // spaces before text
	off    int    // byte offset of text in raw
	text   string // the content, comment and trailing spaces removed; "" for a blank line
}

// col returns the column (characters, 1-based) of byte i of l.text.
func (l yline) col(i int) int { return utf8.RuneCountInString(l.raw[:l.off+i]) + 1 }

type yparser struct {
	lines []yline
	i     int
}

func (p *yparser) cur() yline { return p.lines[p.i] }

// skipBlank moves past blank lines (kept only for block scalars).
func (p *yparser) skipBlank() {
	for p.i < len(p.lines) && p.lines[p.i].text == "" {
		p.i++
	}
}

// stripComment removes a comment: '#' at the start or after a space, outside quotes. A quote
// opens a quoted scalar only where a scalar may start.
func stripComment(s string) string {
	var q byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case q == '"' && c == '\\':
			i++
		case q != 0 && c == q:
			if q == '\'' && i+1 < len(s) && s[i+1] == '\'' {
				i++
				continue
			}
			q = 0
		case q != 0:
		case (c == '"' || c == '\'') && scalarStart(s, i):
			q = c
		case c == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t'):
			return s[:i]
		}
	}
	return s
}

// scalarStart reports whether a scalar may begin at s[i]: at the start, or after "- ", ": ",
// '[', '{' or ',' (spaces between).
func scalarStart(s string, i int) bool {
	j := i - 1
	for j >= 0 && s[j] == ' ' {
		j--
	}
	if j < 0 {
		return true
	}
	switch s[j] {
	case '[', '{', ',':
		return true
	case ':', '-':
		return j < i-1
	}
	return false
}

// isItem reports whether text is a block sequence item.
func isItem(text string) bool { return text == "-" || strings.HasPrefix(text, "- ") }

// mapColon returns the index of the ':' that ends a block mapping key in text, or -1: the first
// ':' followed by a space or the end, outside quotes, in text that does not start a flow
// collection.
func mapColon(text string) int {
	if text == "" || text[0] == '[' || text[0] == '{' {
		return -1
	}
	if text[0] == '"' || text[0] == '\'' {
		end := quotedEnd(text)
		if end < 0 {
			return -1
		}
		rest := strings.TrimLeft(text[end:], " ")
		if strings.HasPrefix(rest, ":") && (len(rest) == 1 || rest[1] == ' ' || rest[1] == '\t') {
			return len(text) - len(rest)
		}
		return -1
	}
	for i := 0; i < len(text); i++ {
		if text[i] == ':' && (i+1 == len(text) || text[i+1] == ' ' || text[i+1] == '\t') {
			return i
		}
	}
	return -1
}

// quotedEnd returns the index just past the quoted scalar text starts with, or -1.
func quotedEnd(text string) int {
	q := text[0]
	for i := 1; i < len(text); i++ {
		switch {
		case q == '"' && text[i] == '\\':
			i++
		case text[i] == q:
			if q == '\'' && i+1 < len(text) && text[i+1] == '\'' {
				i++
				continue
			}
			return i + 1
		}
	}
	return -1
}

// block parses the block node at the current line, whose indentation is more than parent's
// (or 0 at the top).
func (p *yparser) block(parent int) (*node, error) {
	p.skipBlank()
	l := p.cur()
	if isItem(l.text) {
		return p.sequence(l.indent)
	}
	if mapColon(l.text) >= 0 {
		return p.mapping(l.indent)
	}
	// A lone scalar or flow collection on its own lines (the value of a key above).
	n, err := p.inline(l, 0)
	if err != nil {
		return nil, err
	}
	p.i++
	return n, nil
}

// sequence parses block sequence items at indentation ind.
func (p *yparser) sequence(ind int) (*node, error) {
	l := p.cur()
	n := &node{kind: listNode, line: l.num, col: l.col(0)}
	for p.skipBlank(); p.i < len(p.lines); p.skipBlank() {
		l := p.cur()
		if l.indent < ind || l.indent == ind && !isItem(l.text) {
			break
		}
		if l.indent > ind {
			return nil, &posError{l.num, l.col(0), "unexpected indentation in a list"}
		}
		rest := strings.TrimLeft(l.text[1:], " ")
		if rest == "" {
			p.i++
			item, err := p.nested(l)
			if err != nil {
				return nil, err
			}
			n.items = append(n.items, item)
			continue
		}
		shift := len(l.text) - len(rest)
		if isItem(rest) || mapColon(rest) >= 0 {
			// "- key: value" or "- - x": a block node starting on this line, its indentation
			// the column of its first character.
			p.lines[p.i] = yline{num: l.num, raw: l.raw, indent: l.indent + shift, off: l.off + shift, text: rest}
			item, err := p.block(ind)
			if err != nil {
				return nil, err
			}
			n.items = append(n.items, item)
			continue
		}
		item, err := p.inline(l, shift)
		if err != nil {
			return nil, err
		}
		p.i++
		if item.tag == tagBlock {
			if err := p.literal(item, l, ind); err != nil {
				return nil, err
			}
		}
		n.items = append(n.items, item)
	}
	return n, nil
}

// nested parses the value below the line l whose own value is empty: a block indented more, a
// sequence at l's indentation (a mapping's "key:" followed by "- item" lines), or null.
func (p *yparser) nested(l yline) (*node, error) {
	p.skipBlank()
	if p.i < len(p.lines) {
		next := p.cur()
		if next.indent > l.indent {
			return p.block(l.indent)
		}
		if next.indent == l.indent && isItem(next.text) && !isItem(l.text) {
			return p.sequence(l.indent)
		}
	}
	return &node{tag: tagNull, text: "null", line: l.num, col: l.col(len(l.text))}, nil
}

// mapping parses block mapping entries at indentation ind.
func (p *yparser) mapping(ind int) (*node, error) {
	l := p.cur()
	n := &node{kind: mapNode, line: l.num, col: l.col(0)}
	for p.skipBlank(); p.i < len(p.lines); p.skipBlank() {
		l := p.cur()
		if l.indent < ind {
			break
		}
		if l.indent > ind {
			return nil, &posError{l.num, l.col(0), "unexpected indentation (a value must fit on its line, or go on the lines below its key, indented)"}
		}
		if isItem(l.text) {
			return nil, &posError{l.num, l.col(0), "a list item where a key was expected"}
		}
		c := mapColon(l.text)
		if c < 0 {
			return nil, &posError{l.num, l.col(0), fmt.Sprintf("want \"key: value\", got %q", l.text)}
		}
		key, err := p.key(l, c)
		if err != nil {
			return nil, err
		}
		rest := strings.TrimLeft(l.text[c+1:], " \t")
		p.i++
		var v *node
		if rest == "" {
			if v, err = p.nested(l); err != nil {
				return nil, err
			}
		} else {
			if v, err = p.inline(l, len(l.text)-len(rest)); err != nil {
				return nil, err
			}
			if v.tag == tagBlock {
				if err := p.literal(v, l, ind); err != nil {
					return nil, err
				}
			}
		}
		n.keys = append(n.keys, key)
		n.vals = append(n.vals, v)
	}
	return n, nil
}

func (p *yparser) key(l yline, colon int) (*node, error) {
	text := strings.TrimRight(l.text[:colon], " ")
	k := &node{tag: tagString, line: l.num, col: l.col(0)}
	switch {
	case text == "":
		return nil, &posError{l.num, l.col(0), "empty key"}
	case text[0] == '"' || text[0] == '\'':
		s, n, err := unquote(text)
		if err != nil || n != len(text) {
			return nil, &posError{l.num, l.col(0), "bad quoted key"}
		}
		k.text = s
	case strings.ContainsAny(text[:1], "?&*!|>%@`[]{},#"):
		return nil, &posError{l.num, l.col(0), fmt.Sprintf("unsupported key %q", text)}
	default:
		k.text = text
	}
	return k, nil
}

// tagBlock marks a literal block scalar whose lines are still to be read (see literal).
const tagBlock scalarTag = 255

// literal reads the lines of the literal block scalar n ("|" or "|-" ending line l, whose
// indentation is ind): every following line indented more than ind, or blank, less the first
// line's indentation; "|" keeps one final newline, "|-" none.
func (p *yparser) literal(n *node, l yline, ind int) error {
	strip := n.text == "|-"
	var lines []string
	indent := -1
	for ; p.i < len(p.lines); p.i++ {
		c := p.lines[p.i]
		// The raw line decides, comments included: '#' is text in a block scalar.
		body := strings.TrimLeft(c.raw, " ")
		if strings.TrimSpace(body) == "" {
			lines = append(lines, "")
			continue
		}
		in := len(c.raw) - len(body)
		if in <= ind {
			break
		}
		if indent < 0 {
			indent = in
		}
		if in < indent {
			return &posError{c.num, in + 1, "a block scalar's line indented less than its first"}
		}
		lines = append(lines, c.raw[indent:])
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	n.tag, n.text = tagString, strings.Join(lines, "\n")
	if !strip && len(lines) > 0 {
		n.text += "\n"
	}
	return nil
}

// inline parses the scalar or flow collection at l.text[at:], which must end the line.
func (p *yparser) inline(l yline, at int) (*node, error) {
	n, end, err := p.flow(l, at, false)
	if err != nil {
		return nil, err
	}
	if rest := strings.TrimSpace(l.text[end:]); rest != "" {
		return nil, &posError{l.num, l.col(end), fmt.Sprintf("unexpected %q after the value", rest)}
	}
	return n, nil
}

// flow parses one value at l.text[at:]; inFlow says whether it is inside [ ] or { }, where
// plain scalars end at ',', ']', '}' (and ':' for keys). It returns the byte offset after it.
func (p *yparser) flow(l yline, at int, inFlow bool) (*node, int, error) {
	s := l.text
	for at < len(s) && s[at] == ' ' {
		at++
	}
	n := &node{line: l.num, col: l.col(at)}
	if at == len(s) {
		if inFlow {
			return nil, at, &posError{l.num, l.col(at), "a value is missing"}
		}
		n.tag, n.text = tagNull, "null"
		return n, at, nil
	}
	switch c := s[at]; c {
	case '[', '{':
		n.kind = listNode
		closer := byte(']')
		if c == '{' {
			n.kind, closer = mapNode, '}'
		}
		i := at + 1
		for {
			for i < len(s) && s[i] == ' ' {
				i++
			}
			if i == len(s) {
				return nil, i, &posError{l.num, l.col(at), fmt.Sprintf("%c not closed on its line (a flow collection must fit on one line)", c)}
			}
			if s[i] == closer {
				return n, i + 1, nil
			}
			if n.kind == mapNode {
				k, end, err := p.flow(l, i, true)
				if err != nil {
					return nil, end, err
				}
				if k.kind != scalarNode {
					return nil, end, &posError{k.line, k.col, "a key must be a scalar"}
				}
				k.tag = tagString
				for end < len(s) && s[end] == ' ' {
					end++
				}
				if end == len(s) || s[end] != ':' {
					return nil, end, &posError{l.num, l.col(end), "want ':' after the key"}
				}
				v, vend, err := p.flow(l, end+1, true)
				if err != nil {
					return nil, vend, err
				}
				n.keys, n.vals, i = append(n.keys, k), append(n.vals, v), vend
			} else {
				v, end, err := p.flow(l, i, true)
				if err != nil {
					return nil, end, err
				}
				n.items, i = append(n.items, v), end
			}
			for i < len(s) && s[i] == ' ' {
				i++
			}
			switch {
			case i == len(s):
				return nil, i, &posError{l.num, l.col(at), fmt.Sprintf("%c not closed on its line (a flow collection must fit on one line)", c)}
			case s[i] == ',':
				i++
			case s[i] == closer:
			default:
				return nil, i, &posError{l.num, l.col(i), fmt.Sprintf("want ',' or '%c'", closer)}
			}
		}
	case '"', '\'':
		v, size, err := unquote(s[at:])
		if err != nil {
			return nil, at, &posError{l.num, l.col(at), err.Error()}
		}
		n.tag, n.text = tagString, v
		return n, at + size, nil
	case '&', '*', '!':
		return nil, at, &posError{l.num, l.col(at), "anchors, aliases and tags (&, *, !) are not supported"}
	case '|':
		if inFlow || (s[at:] != "|" && s[at:] != "|-") {
			return nil, at, &posError{l.num, l.col(at), "only literal block scalars, | or |-, alone after their key"}
		}
		n.tag, n.text = tagBlock, s[at:]
		return n, len(s), nil
	case '>', '%', '@', '`':
		return nil, at, &posError{l.num, l.col(at), fmt.Sprintf("a plain value cannot start with %q: quote it", c)}
	case '?':
		if at+1 == len(s) || s[at+1] == ' ' {
			return nil, at, &posError{l.num, l.col(at), "complex keys (? ) are not supported"}
		}
	}
	end := len(s)
	if inFlow {
		for i := at; i < len(s); i++ {
			if s[i] == ',' || s[i] == ']' || s[i] == '}' || s[i] == ':' && (i+1 == len(s) || strings.IndexByte(" ,]}", s[i+1]) >= 0) {
				end = i
				break
			}
		}
	} else if i := strings.Index(s[at:], ": "); i >= 0 {
		return nil, at, &posError{l.num, l.col(at + i), "\": \" in a plain value: quote the value"}
	}
	n.text = strings.TrimRight(s[at:end], " ")
	n.tag = tagPlain
	switch n.text {
	case "null", "Null", "NULL", "~":
		n.tag, n.text = tagNull, "null"
	}
	return n, end, nil
}

// unquote reads the quoted scalar s starts with and returns it and its length in s. Double
// quotes take Go's escapes (a superset of JSON's); in single quotes a doubled quote is one.
func unquote(s string) (string, int, error) {
	end := quotedEnd(s)
	if end < 0 {
		return "", 0, fmt.Errorf("%c not closed on its line", s[0])
	}
	if s[0] == '\'' {
		return strings.ReplaceAll(s[1:end-1], "''", "'"), end, nil
	}
	v, err := strconv.Unquote(s[:end])
	if err != nil {
		return "", 0, fmt.Errorf("bad escape in %s", s[:end])
	}
	return v, end, nil
}
