package statsd

import (
	"bytes"
	"math"
	"strings"
	"unsafe"
)

// MaxLineLen is the longest line, in bytes without its '\n', that Parse
// accepts. No UDP datagram is longer (its payload is at most 65,507 bytes)
// and it is 8 times DefaultMaxUnix, so only junk is refused, while a
// garbage stream cannot make one line arbitrarily expensive.
const MaxLineLen = 64 << 10

// maxKeptTags bounds the tag slice a Parser keeps between lines, so one
// line with thousands of tags does not pin a large array for good.
const maxKeptTags = 256

// LineKind tells what a DogStatsD line holds. Its zero value is not a kind;
// Parse always returns one of the constants below.
type LineKind uint8

// The kinds of DogStatsD lines. Anything that is neither an event nor a
// service check is taken for a metric, as the Datadog Agent does, so junk
// is reported as a malformed metric.
const (
	KindMetric       LineKind = iota + 1 // name:value|type...
	KindEvent                            // _e{title len,text len}:title|text...
	KindServiceCheck                     // _sc|name|status...
)

var kindNames = [...]string{"unknown", "metric", "event", "service_check"}

// String returns "metric", "event" or "service_check", or "unknown" for a
// value that is none of the kinds.
func (k LineKind) String() string {
	if int(k) >= len(kindNames) {
		return kindNames[0]
	}
	return kindNames[k]
}

// Sample is one parsed metric line.
//
// ALIASING: every string in a Sample, and the Tags slice, point into the
// line given to Parse and into the Parser; nothing is copied. They are valid
// only until the line's buffer is reused (the next read into it) and until
// the Parser's next Parse call. Clone what you keep, for example with
// strings.Clone when creating a series; looking a series up with them is
// fine.
//
// Strings are raw: the name and tags are not sanitized (see SanitizeName and
// SanitizeTag). The Name holds no ':', '|' or '\n'; tags hold no ',', '|' or
// '\n' and are never empty.
//
// The zero value is a sample without name or values; Samples come from
// Parse.
type Sample struct {
	// Name is the metric name: the bytes before the first ':'.
	Name string
	// Type is the metric type.
	Type Type
	// Rate is the sample rate from the @ field, in (0, 1]; 0 when absent.
	Rate float64
	// Tags are the tags of the # field, split on ','; empty tags ("a,,b",
	// a trailing ',') are skipped and "|#" gives none. The slice is the
	// Parser's and is reused by its next Parse call; the caller may reorder
	// or overwrite its elements (to sort them into a canonical key, say)
	// until then.
	Tags []string
	// Container is the c: field (container ID or origin data), "" when
	// absent.
	Container string
	// Timestamp is the T field, Unix seconds > 0; 0 when absent.
	Timestamp int64
	// External is the e: field (origin detection external data), "" when
	// absent.
	External string
	// Cardinality is the card: field (origin detection tag cardinality),
	// "" when absent.
	Cardinality string

	// values is everything between the first ':' and the first '|': the
	// set member, or the ':'-separated numbers that Values parses.
	values string
}

// Values calls fn for each value of a numeric sample, in line order. A
// line "name:v1:v2:v3|type" (DogStatsD v1.1) stands for one line per value;
// empty values ("1::2") are skipped, as the Datadog Agent does.
//
// relative is true for a Gauge value written with a leading '+' or '-':
// etsy statsd reads "+3|g" and "-3|g" as adding to or subtracting from the
// gauge, while the Datadog Agent (and every DogStatsD client, which writes
// a negative gauge as "-3") reads them as setting it. v is the signed number
// either way, so a receiver following DogStatsD ignores relative, and one
// following etsy statsd adds v when it is set. relative is always false
// for other types.
//
// Values parses lazily, so a line is parsed exactly once even when only its
// name is looked at. It stops at the first malformed value and returns
// ErrBadValue (values before it were delivered: count the error, keep
// them), returns ErrNoValue when there are only empty values, and returns
// ErrBadType without calling fn for a Set, whose member is not a number
// (see SetValue). It does not allocate.
func (s *Sample) Values(fn func(v float64, relative bool)) error {
	if s.Type == Set {
		return ErrBadType
	}
	rest := s.values
	n := 0
	for rest != "" {
		var v string
		v, rest, _ = cut(rest, ':')
		if v == "" {
			continue
		}
		f, ok := parseNumber(v)
		if !ok {
			return ErrBadValue
		}
		fn(f, s.Type == Gauge && (v[0] == '+' || v[0] == '-'))
		n++
	}
	if n == 0 {
		return ErrNoValue
	}
	return nil
}

// numValues returns how many values Values would deliver if all are well
// formed: the non-empty ':'-separated fields, or 1 for a Set. It checks
// nothing and does not allocate.
func (s *Sample) numValues() int {
	if s.Type == Set {
		return 1
	}
	n := 0
	rest := s.values
	for rest != "" {
		var v string
		v, rest, _ = cut(rest, ':')
		if v != "" {
			n++
		}
	}
	return n
}

// SetValue returns the member of a Set sample: every byte between the
// first ':' and the first '|', verbatim, ':' and ',' included. It returns
// "" for other types. Like every string of a Sample it aliases the line.
func (s *Sample) SetValue() string {
	if s.Type != Set {
		return ""
	}
	return s.values
}

// Parser parses DogStatsD lines into Samples without allocating or copying:
// at a few million lines per second per core, the receiving agent cannot
// afford either. Metric lines are validated in full except their numeric
// values, which Sample.Values parses on demand; events and service checks
// are only recognized and checked for their required parts, because an
// agent forwards them upstream as they came.
//
// The grammar, with fields after the type accepted in any order:
//
//	name:value[:value...]|type[|@rate][|#tag,tag:v][|c:container][|T<unix>][|e:external][|card:cardinality]
//	_e{<title len>,<text len>}:<title>|<text>[|...]
//	_sc|<name>|<status 0-3>[|...]
//
// Like the Datadog Agent, the Parser ignores empty and unknown fields after
// the type (a newer client's fields must not make lines unreadable), and
// when a field comes twice the last one wins.
//
// ALIASING: the Sample a Parse call returns, and every string and slice in
// it, point into the line and into the Parser. They are valid only until
// the line's buffer is reused and the next Parse call; clone what you keep.
//
// The zero value is ready to use. A Parser is not safe for concurrent use:
// give each reading goroutine its own.
type Parser struct {
	sample Sample
	tags   []string // backing array of sample.Tags, kept across lines
}

// Parse parses one line, without its '\n' (one final '\n' is tolerated).
// It returns the line's kind, and for a valid metric line the parsed Sample,
// which lives in p and is overwritten by the next call. For an event or a
// service check the Sample is nil: forward the line as it is.
//
// On error the kind is still reported (a malformed event is KindEvent), the
// Sample is nil and the error is one of the package's Err values, whose
// Reason labels it. Parse does not allocate, on errors included, once the
// Parser's tag slice has grown to the largest tag count seen.
func (p *Parser) Parse(line []byte) (LineKind, *Sample, error) {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	// One string view over the line: every field is a substring of it, so
	// nothing is copied. The bytes must not change while it is in use,
	// which the aliasing contract leaves to the caller.
	s := unsafe.String(unsafe.SliceData(line), len(line))
	kind := kindOf(s)
	if len(s) > MaxLineLen {
		return kind, nil, ErrLineTooLong
	}
	if strings.IndexByte(s, '\n') >= 0 {
		return kind, nil, ErrNewline
	}
	switch kind {
	case KindEvent:
		return kind, nil, checkEvent(s)
	case KindServiceCheck:
		return kind, nil, checkServiceCheck(s)
	}
	if err := p.parseMetric(s); err != nil {
		return kind, nil, err
	}
	return kind, &p.sample, nil
}

// kindOf classifies a line by its prefix exactly as the Datadog Agent does,
// so that a line this agent forwards means the same thing upstream.
func kindOf(s string) LineKind {
	switch {
	case strings.HasPrefix(s, "_e{"):
		return KindEvent
	case strings.HasPrefix(s, "_sc"):
		return KindServiceCheck
	}
	return KindMetric
}

func (p *Parser) parseMetric(line string) error {
	head, rest, hasType := cut(line, '|')
	name, values, hasValue := cut(head, ':')
	switch {
	case name == "":
		return ErrNoName
	case !hasValue || values == "":
		return ErrNoValue
	case !hasType:
		return ErrNoType
	}
	typ, rest, more := cut(rest, '|')
	t, err := parseType(typ)
	if err != nil {
		return err
	}
	if cap(p.tags) > maxKeptTags {
		p.tags = nil
	}
	p.sample = Sample{Name: name, Type: t, Tags: p.tags[:0], values: values}
	for more {
		var f string
		f, rest, more = cut(rest, '|')
		if f == "" {
			continue
		}
		switch f[0] {
		case '#':
			p.tags = appendTags(p.tags[:0], f[1:])
			p.sample.Tags = p.tags
		case '@':
			r, ok := parseNumber(f[1:])
			if !ok || r <= 0 || r > 1 || math.IsInf(1/r, 0) {
				// A rate whose inverse overflows (5e-324) would scale a value to infinity.
				return ErrBadRate
			}
			p.sample.Rate = r
		case 'T':
			ts, ok := parseTimestamp(f[1:])
			if !ok {
				return ErrBadTimestamp
			}
			p.sample.Timestamp = ts
		case 'c':
			if v, ok := strings.CutPrefix(f, "c:"); ok {
				p.sample.Container = v
			} else if v, ok := strings.CutPrefix(f, "card:"); ok {
				p.sample.Cardinality = v
			}
		case 'e':
			if v, ok := strings.CutPrefix(f, "e:"); ok {
				p.sample.External = v
			}
		}
	}
	return nil
}

func parseType(s string) (Type, error) {
	switch s {
	case "c":
		return Counter, nil
	case "g":
		return Gauge, nil
	case "ms":
		return Timing, nil
	case "h":
		return Histogram, nil
	case "d":
		return Distribution, nil
	case "s":
		return Set, nil
	case "":
		return 0, ErrNoType
	}
	return 0, ErrBadType
}

// appendTags appends the non-empty ','-separated tags of s to dst.
func appendTags(dst []string, s string) []string {
	for s != "" {
		var tag string
		tag, s, _ = cut(s, ',')
		if tag != "" {
			dst = append(dst, tag)
		}
	}
	return dst
}

// checkEvent validates "_e{<title len>,<text len>}:<title>|<text>[|...]":
// the lengths, in bytes, must land on the '|' after the title and on the
// end of the line or a '|' after the text, and neither part may be empty.
func checkEvent(s string) error {
	rest := s[len("_e{"):]
	title, rest, ok := parseLength(rest, MaxLineLen)
	if !ok || !strings.HasPrefix(rest, ",") {
		return ErrBadEvent
	}
	text, rest, ok := parseLength(rest[1:], MaxLineLen)
	if !ok || !strings.HasPrefix(rest, "}:") {
		return ErrBadEvent
	}
	rest = rest[2:]
	if title == 0 || text == 0 || title+1+text > len(rest) || rest[title] != '|' {
		return ErrBadEvent
	}
	if tail := rest[title+1+text:]; tail != "" && tail[0] != '|' {
		return ErrBadEvent
	}
	return nil
}

// checkServiceCheck validates "_sc|<name>|<status>[|...]" with a non-empty
// name and a status of 0 (OK), 1 (warning), 2 (critical) or 3 (unknown).
func checkServiceCheck(s string) error {
	rest, ok := strings.CutPrefix(s, "_sc|")
	if !ok {
		return ErrBadServiceCheck
	}
	name, rest, ok := cut(rest, '|')
	if name == "" || !ok {
		return ErrBadServiceCheck
	}
	status, _, _ := cut(rest, '|')
	if len(status) != 1 || status[0] < '0' || status[0] > '3' {
		return ErrBadServiceCheck
	}
	return nil
}

// cut is strings.Cut for a one-byte separator, going straight to
// IndexByte.
func cut(s string, sep byte) (before, after string, found bool) {
	if i := strings.IndexByte(s, sep); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, "", false
}

// SplitLines calls fn for each non-empty line of a DogStatsD datagram, the
// lines being separated by '\n' or "\r\n" (a final separator and empty
// lines are fine). Each line excludes its separator and is capped at its own
// length, so appending to it cannot overwrite the next line. fn may pass the
// line to Parse. SplitLines does not allocate.
func SplitLines(datagram []byte, fn func(line []byte)) {
	for len(datagram) > 0 {
		line := datagram[:len(datagram):len(datagram)]
		if i := bytes.IndexByte(datagram, '\n'); i >= 0 {
			line, datagram = datagram[:i:i], datagram[i+1:]
		} else {
			datagram = nil
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[: n-1 : n-1]
		}
		if len(line) > 0 {
			fn(line)
		}
	}
}
