package pb

import (
	"bytes"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/statshard/statshard/proto/eventpb"
)

var invalidUTF8Cases = []string{
	"\xff",
	"a\xffb",
	"\xff\xfe\xfd",           // one run: one replacement
	"\xffa\xff",              // two runs
	"\xe2\x82",               // truncated 3-byte sequence
	"\xed\xa0\x80",           // UTF-16 surrogate, invalid in UTF-8
	"\xc0\xaf",               // overlong encoding
	"ok\uFFFD\xffend",        // real U+FFFD next to an invalid byte
	"€\xf0\x9f\x9a",          // valid rune, then a truncated 4-byte one
	"\xf4\x90\x80\x80 above", // above U+10FFFF
}

func TestSanitizedLenMatchesToValidUTF8(t *testing.T) {
	for _, s := range append(invalidUTF8Cases, "", "ascii", "ünïcødé 🚀") {
		want := strings.ToValidUTF8(s, replacement)
		if got := sanitizedLen(s); got != len(want) {
			t.Errorf("sanitizedLen(%q) = %d, want %d", s, got, len(want))
		}
		if got := appendText([]byte("x"), s, false); string(got) != "x"+want {
			t.Errorf("appendText(%q) = %q, want %q", s, got, "x"+want)
		}
		n, valid := textLen(s, false)
		if n != len(want) || valid != (want == s) {
			t.Errorf("textLen(%q) = %d, %v, want %d, %v", s, n, valid, len(want), want == s)
		}
	}
}

// TestInvalidUTF8IsReplaced checks that every string field is sanitized, so
// the output decodes (proto.Unmarshal rejects invalid UTF-8, as prost does)
// and equals the reference encoding of the sanitized strings.
func TestInvalidUTF8IsReplaced(t *testing.T) {
	clean := func(s string) string { return strings.ToValidUTF8(s, replacement) }
	for _, bad := range invalidUTF8Cases {
		m := Metric{Name: "n" + bad, Seconds: 1, Labels: []Label{{"k" + bad, "v" + bad}, {"valid", "also"}}, Op: SetGauge, Float: 2}
		want := Metric{Name: clean(m.Name), Seconds: 1, Labels: []Label{{clean("k" + bad), clean("v" + bad)}, {"valid", "also"}}, Op: SetGauge, Float: 2}
		got := AppendMetric(nil, &m)
		if wantB := marshalDeterministic(t, metricEvent(&want)); !bytes.Equal(got, wantB) {
			t.Errorf("metric with %q:\ngot  %x\nwant %x", bad, got, wantB)
		}
		if err := proto.Unmarshal(got, new(eventpb.Event)); err != nil {
			t.Errorf("metric with %q: unmarshal: %v", bad, err)
		}

		md := Metadata{Name: bad, Type: Gauge, Unit: bad, HasUnit: true, Description: "d" + bad, HasDescription: true}
		wantMD := Metadata{Name: clean(bad), Type: Gauge, Unit: clean(bad), HasUnit: true, Description: clean("d" + bad), HasDescription: true}
		gotMD := AppendMetadata(nil, &md)
		if wantB := marshalDeterministic(t, metadataEvent(&wantMD)); !bytes.Equal(gotMD, wantB) {
			t.Errorf("metadata with %q:\ngot  %x\nwant %x", bad, gotMD, wantB)
		}
	}
}

// TestValidUTF8SkipsTheCheck checks both sides of the Metric.ValidUTF8
// promise: for valid strings the bytes are the same as with the check, and
// the check is really skipped (invalid bytes go out as they are).
func TestValidUTF8SkipsTheCheck(t *testing.T) {
	for _, tc := range metricCases {
		checked := tc.m
		trusted := tc.m
		trusted.ValidUTF8 = true
		if got, want := AppendMetricFrame(nil, &trusted), AppendMetricFrame(nil, &checked); !bytes.Equal(got, want) {
			t.Errorf("%s: with ValidUTF8 got %x, want %x", tc.name, got, want)
		}
	}
	m := Metric{Name: "n\xff", Labels: []Label{{"k", "v\xfe"}}, Op: IncrementCounter, Uint: 1, ValidUTF8: true}
	got := AppendMetric(nil, &m)
	for _, raw := range []string{"n\xff", "v\xfe"} {
		if !bytes.Contains(got, []byte(raw)) {
			t.Errorf("with ValidUTF8: got %x, want the unchecked bytes %x in it", got, raw)
		}
	}
}
