package peertest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// maxLine bounds one exposition line; statsd_exporter's longest are a few hundred bytes.
const maxLine = 1 << 20

// ParseText parses the Prometheus text exposition format into a [Metrics]. It reads sample lines
// `name{label="value",...} value [timestamp]` and ignores comments (# HELP, # TYPE and others)
// and blank lines. Label values may hold the escapes \\, \" and \n; values may be +Inf, -Inf or
// NaN; a trailing comma in the label set and the quoted-name form `{"my.name",a="b"}` are accepted.
// A malformed line or a repeated sample is an error naming the line.
func ParseText(r io.Reader) (Metrics, error) {
	m := Metrics{}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, maxLine)
	for n := 1; sc.Scan(); n++ {
		line := strings.Trim(sc.Text(), " \t\r")
		if line == "" || line[0] == '#' {
			continue
		}
		key, v, err := parseSample(line)
		if err != nil {
			return nil, fmt.Errorf("peertest: line %d: %w: %q", n, err, line)
		}
		if _, ok := m[key]; ok {
			return nil, fmt.Errorf("peertest: line %d: duplicate sample %s", n, key)
		}
		m[key] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("peertest: read exposition: %w", err)
	}
	return m, nil
}

// lexer walks one sample line. Its methods report errors without the line; ParseText adds it.
type lexer struct {
	s string
	i int
}

func (l *lexer) skipBlanks() {
	for l.i < len(l.s) && (l.s[l.i] == ' ' || l.s[l.i] == '\t') {
		l.i++
	}
}

func (l *lexer) peek() byte {
	if l.i < len(l.s) {
		return l.s[l.i]
	}
	return 0
}

// ident reads a metric name (colons allowed) or a label name (colons not allowed).
func (l *lexer) ident(colon bool) (string, error) {
	start := l.i
	for l.i < len(l.s) {
		c := l.s[l.i]
		if c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || colon && c == ':' ||
			l.i > start && '0' <= c && c <= '9' {
			l.i++
			continue
		}
		break
	}
	if l.i == start {
		return "", fmt.Errorf("want a name at column %d", start+1)
	}
	return l.s[start:l.i], nil
}

// quoted reads a double-quoted string, undoing the three escapes the format defines.
func (l *lexer) quoted() (string, error) {
	if l.peek() != '"' {
		return "", fmt.Errorf("want '\"' at column %d", l.i+1)
	}
	l.i++
	var b strings.Builder
	for l.i < len(l.s) {
		c := l.s[l.i]
		l.i++
		switch c {
		case '"':
			return b.String(), nil
		case '\\':
			if l.i == len(l.s) {
				return "", errors.New("unterminated escape")
			}
			e := l.s[l.i]
			l.i++
			switch e {
			case '\\', '"':
				b.WriteByte(e)
			case 'n':
				b.WriteByte('\n')
			default:
				return "", fmt.Errorf("invalid escape \\%c", e)
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", errors.New("unterminated quoted string")
}

// labelName reads a plain or quoted label name; quoted tells the caller it may be a metric name.
func (l *lexer) labelName() (name string, quoted bool, err error) {
	if l.peek() == '"' {
		name, err = l.quoted()
		return name, true, err
	}
	name, err = l.ident(false)
	return name, false, err
}

// token reads up to the next blank.
func (l *lexer) token() string {
	start := l.i
	for l.i < len(l.s) && l.s[l.i] != ' ' && l.s[l.i] != '\t' {
		l.i++
	}
	return l.s[start:l.i]
}

func parseSample(line string) (key string, v float64, err error) {
	l := &lexer{s: line}
	var name string
	if l.peek() != '{' {
		if name, err = l.ident(true); err != nil {
			return "", 0, err
		}
	}
	var pairs []label
	if l.skipBlanks(); l.peek() == '{' {
		if name, pairs, err = l.labels(name); err != nil {
			return "", 0, err
		}
		l.skipBlanks()
	} else if l.i > 0 && l.s[l.i-1] != ' ' && l.s[l.i-1] != '\t' && l.i < len(l.s) {
		return "", 0, fmt.Errorf("unexpected %q after the name", l.s[l.i])
	}
	tok := l.token()
	if tok == "" {
		return "", 0, errors.New("missing value")
	}
	if v, err = strconv.ParseFloat(tok, 64); err != nil {
		return "", 0, fmt.Errorf("bad value %q", tok)
	}
	if l.skipBlanks(); l.i < len(l.s) {
		if ts := l.token(); !isInt(ts) {
			return "", 0, fmt.Errorf("bad timestamp %q", ts)
		}
		if l.skipBlanks(); l.i < len(l.s) {
			return "", 0, fmt.Errorf("unexpected %q after the timestamp", l.s[l.i:])
		}
	}
	key, dup := sampleKey(name, pairs)
	if dup != "" {
		return "", 0, fmt.Errorf("label %q repeated", dup)
	}
	return key, v, nil
}

// labels reads `{...}`. name is "" when the line opened with the brace, in which case the first
// entry must be the quoted metric name.
func (l *lexer) labels(name string) (string, []label, error) {
	l.i++ // '{'
	var pairs []label
	for first := true; ; first = false {
		l.skipBlanks()
		if l.peek() == '}' {
			l.i++
			break
		}
		ln, quoted, err := l.labelName()
		if err != nil {
			return "", nil, err
		}
		l.skipBlanks()
		if c := l.peek(); first && name == "" && quoted && (c == ',' || c == '}') {
			name = ln
		} else {
			if c != '=' {
				return "", nil, fmt.Errorf("want '=' after label %q", ln)
			}
			l.i++
			l.skipBlanks()
			lv, err := l.quoted()
			if err != nil {
				return "", nil, fmt.Errorf("label %q: %v", ln, err)
			}
			pairs = append(pairs, label{ln, lv})
			l.skipBlanks()
		}
		switch l.peek() {
		case ',':
			l.i++
		case '}':
		default:
			return "", nil, fmt.Errorf("want ',' or '}' at column %d", l.i+1)
		}
	}
	if name == "" {
		return "", nil, errors.New("missing metric name")
	}
	return name, pairs, nil
}

func isInt(s string) bool {
	_, err := strconv.ParseInt(s, 10, 64)
	return err == nil
}
