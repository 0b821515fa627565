package statsd

import "strconv"

// Line describes one DogStatsD line except its value(s). The zero value is
// a line with no name, which receivers reject; set at least Name and Type.
//
// Every string is written verbatim: sanitize names and tags beforehand (see
// SanitizeName and SanitizeTag), and keep '\n' out of them, because a
// newline would split the line in two on the wire.
//
// Fields are written in this order, which is the Datadog Agent's own:
//
//	name[suffix]:value[:value...]|type[|@rate][|#tags][|c:container][|e:external][|card:cardinality][|T<ts>]
//
// A Gauge line is always read as the value it carries, by absolute-gauge servers (the Datadog
// Agent) and by relative-gauge ones (etsy statsd, statsd_exporter, telegraf, which read a signed
// value as a change) alike: a negative gauge value is written as two lines in one unit,
// "name:0|g…" then "name:-5|g…", which every receiver reads as -5. Keep the unit in one datagram
// (Packer does: it never splits what one End commits).
type Line struct {
	// Name is the metric name, already sanitized.
	Name string
	// Suffix is written right after Name (".p99", ".count"); it may be
	// empty. It lets one series emit several derived lines without
	// building a new name string for each.
	Suffix string
	// Type is the metric type. An undeclared Type is written as "unknown",
	// which receivers reject.
	Type Type
	// Rate is the sample rate. Only 0 < Rate < 1 is written ("|@0.5");
	// zero, negative, >= 1 and NaN rates mean "unsampled" and write nothing.
	Rate float64
	// Tags are pre-joined sanitized tags "a:b,c:d", without '#'.
	Tags string
	// ExtraTag is one more tag written after Tags (e.g. "le:0.5"),
	// preceded by ',' when Tags is non-empty.
	ExtraTag string
	// Container is the container ID, written as "|c:<Container>" when
	// non-empty.
	Container string
	// External is origin detection's external data, written as
	// "|e:<External>" when non-empty.
	External string
	// Cardinality is origin detection's tag cardinality, written as
	// "|card:<Cardinality>" when non-empty.
	Cardinality string
	// Timestamp is the unix time in seconds, written as "|T<ts>" when > 0.
	Timestamp int64
}

// AppendInt appends l with the integer value v, without a trailing '\n'.
// It does not allocate when dst has room.
func AppendInt(dst []byte, l *Line, v int64) []byte {
	if v < 0 && l.Type == Gauge {
		dst = appendZeroGauge(dst, l)
	}
	dst = appendHead(dst, l)
	dst = strconv.AppendInt(dst, v, 10)
	return appendTail(dst, l)
}

// AppendUint appends l with the unsigned integer value v, without a
// trailing '\n'. It does not allocate when dst has room.
func AppendUint(dst []byte, l *Line, v uint64) []byte {
	dst = appendHead(dst, l)
	dst = strconv.AppendUint(dst, v, 10)
	return appendTail(dst, l)
}

// AppendFloat appends l with the value v formatted by AppendNumber, without
// a trailing '\n'. v must satisfy Valid. It does not allocate when dst has
// room.
func AppendFloat(dst []byte, l *Line, v float64) []byte {
	if v < 0 && l.Type == Gauge {
		dst = appendZeroGauge(dst, l)
	}
	dst = appendHead(dst, l)
	dst = AppendNumber(dst, v)
	return appendTail(dst, l)
}

// AppendFloats appends l with several values in one line
// ("name:v1:v2:v3|d", DogStatsD protocol v1.1, Agent >= 6.25 / 7.25), which
// the receiver treats exactly like one line per value. Every value must
// satisfy Valid. Sets do not support several values. With no values it
// appends nothing, so that a Packer ignores the line instead of sending an
// invalid one. A Gauge line's values are applied in order; a negative one is
// written after a 0 ("g:0:-5|g"), so that receivers reading a signed gauge
// value as a change read it as set too. It does not allocate when dst has
// room.
func AppendFloats(dst []byte, l *Line, vs []float64) []byte {
	if len(vs) == 0 {
		return dst
	}
	dst = appendHead(dst, l)
	for i, v := range vs {
		if i > 0 {
			dst = append(dst, ':')
		}
		if v < 0 && l.Type == Gauge {
			dst = append(dst, "0:"...)
		}
		dst = AppendNumber(dst, v)
	}
	return appendTail(dst, l)
}

// appendZeroGauge writes the "name:0|g…" line (and its '\n') that makes the negative gauge value
// after it absolute for receivers that read a signed gauge value as a change.
func appendZeroGauge(dst []byte, l *Line) []byte {
	dst = appendHead(dst, l)
	dst = append(dst, '0')
	return append(appendTail(dst, l), '\n')
}

// appendHead writes "name[suffix]:".
func appendHead(dst []byte, l *Line) []byte {
	dst = append(dst, l.Name...)
	dst = append(dst, l.Suffix...)
	return append(dst, ':')
}

// appendTail writes everything after the value(s).
func appendTail(dst []byte, l *Line) []byte {
	dst = append(dst, '|')
	dst = append(dst, l.Type.String()...)
	if l.Rate > 0 && l.Rate < 1 {
		dst = append(dst, "|@"...)
		dst = AppendNumber(dst, l.Rate)
	}
	if l.Tags != "" || l.ExtraTag != "" {
		dst = append(dst, "|#"...)
		dst = append(dst, l.Tags...)
		if l.ExtraTag != "" {
			if l.Tags != "" {
				dst = append(dst, ',')
			}
			dst = append(dst, l.ExtraTag...)
		}
	}
	if l.Container != "" {
		dst = append(dst, "|c:"...)
		dst = append(dst, l.Container...)
	}
	if l.External != "" {
		dst = append(dst, "|e:"...)
		dst = append(dst, l.External...)
	}
	if l.Cardinality != "" {
		dst = append(dst, "|card:"...)
		dst = append(dst, l.Cardinality...)
	}
	if l.Timestamp > 0 {
		dst = append(dst, "|T"...)
		dst = strconv.AppendInt(dst, l.Timestamp, 10)
	}
	return dst
}

// AppendSetValue appends l with the set member v ("name:v|s"). Bytes of v that would break the
// line ('|', ':', ',', '#', '@', '\n', '\r') are written as '_'. Sets are the only type whose
// value is not a number. It does not allocate when dst has room.
func AppendSetValue(dst []byte, l *Line, v string) []byte {
	dst = appendHead(dst, l)
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch c {
		case '|', ':', ',', '#', '@', '\n', '\r':
			c = '_'
		}
		dst = append(dst, c)
	}
	return appendTail(dst, l)
}
