package pb

import (
	"math"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"
)

// AppendMetric appends one Event{metric: m} message, without a length
// prefix, and returns the extended buffer. It allocates only when dst lacks
// capacity, and then once, because sizes are computed before anything is
// appended (nested messages need their lengths up front).
//
// A Metric with an invalid Op appends nothing: the reference client panics
// on a Metric without an operation. Callers that build Ops from input check
// Op.Valid first; one that compares len(dst) before and after can count the
// drop.
//
// Strings that are not valid UTF-8 are written with each run of invalid
// bytes replaced by U+FFFD, as strings.ToValidUTF8 does, because proto3
// decoders (Go's and prost, the reference client's) reject the whole event
// otherwise. Metric.ValidUTF8 skips that check for callers that made it once
// per series. Labels are encoded in the order given, so sort them by their
// final (valid) keys.
func AppendMetric(dst []byte, m *Metric) []byte {
	if !m.Op.Valid() {
		return dst
	}
	body, valid := metricSize(m)
	dst = slices.Grow(dst, sizeField(body))
	dst = appendField(dst, tagEventMetric, body)
	return appendMetricBody(dst, m, valid)
}

// AppendMetricFrame appends uvarint(len) ‖ Event{metric: m}: one frame of the
// TCP event stream. Like AppendMetric, it appends nothing for an invalid Op.
func AppendMetricFrame(dst []byte, m *Metric) []byte {
	if !m.Op.Valid() {
		return dst
	}
	body, valid := metricSize(m)
	event := sizeField(body)
	dst = slices.Grow(dst, protowire.SizeBytes(event))
	dst = protowire.AppendVarint(dst, uint64(event))
	dst = appendField(dst, tagEventMetric, body)
	return appendMetricBody(dst, m, valid)
}

// metricSize returns the size of m's Metric message and whether all of its
// strings are valid UTF-8 (so the append pass can skip re-validating them).
func metricSize(m *Metric) (n int, allValid bool) {
	allValid = true
	if m.Name != "" {
		l, ok := textLen(m.Name, m.ValidUTF8)
		n += sizeField(l)
		allValid = ok
	}
	n += sizeField(timestampSize(m.Seconds, m.Nanos))
	for i := range m.Labels {
		e, ok := entrySize(&m.Labels[i], m.ValidUTF8)
		n += sizeField(e)
		allValid = allValid && ok
	}
	n++ // operation tag
	if m.Op.isUint() {
		n += protowire.SizeVarint(m.Uint)
	} else {
		n += 8
	}
	return n, allValid
}

// entrySize is the size of a labels map entry. protobuf-go writes both key
// and value of a map entry even when empty, unlike plain proto3 fields.
func entrySize(l *Label, trusted bool) (n int, allValid bool) {
	k, kok := textLen(l.Key, trusted)
	v, vok := textLen(l.Value, trusted)
	return sizeField(k) + sizeField(v), kok && vok
}

func timestampSize(sec int64, nsec int32) int {
	n := 0
	if sec != 0 {
		n += 1 + protowire.SizeVarint(uint64(sec))
	}
	if nsec != 0 {
		// int32 fields are sign-extended to 64 bits, so a negative Nanos
		// takes 10 bytes, as proto.Marshal writes it.
		n += 1 + protowire.SizeVarint(uint64(int64(nsec)))
	}
	return n
}

func appendMetricBody(dst []byte, m *Metric, allValid bool) []byte {
	if m.Name != "" {
		dst = appendTextField(dst, tagMetricName, m.Name, allValid)
	}
	dst = appendField(dst, tagMetricTimestamp, timestampSize(m.Seconds, m.Nanos))
	if m.Seconds != 0 {
		dst = protowire.AppendVarint(append(dst, tagTimestampSeconds), uint64(m.Seconds))
	}
	if m.Nanos != 0 {
		dst = protowire.AppendVarint(append(dst, tagTimestampNanos), uint64(int64(m.Nanos)))
	}
	for i := range m.Labels {
		l := &m.Labels[i]
		k := textLenAgain(l.Key, allValid)
		v := textLenAgain(l.Value, allValid)
		dst = appendField(dst, tagMetricLabel, sizeField(k)+sizeField(v))
		dst = appendField(dst, tagEntryKey, k)
		dst = appendText(dst, l.Key, allValid)
		dst = appendField(dst, tagEntryValue, v)
		dst = appendText(dst, l.Value, allValid)
	}
	dst = append(dst, opTag(m.Op))
	if m.Op.isUint() {
		return protowire.AppendVarint(dst, m.Uint)
	}
	return protowire.AppendFixed64(dst, math.Float64bits(m.Float))
}
