package statsd

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"unsafe"
)

// within reports whether s is empty or lies inside b: the zero-copy
// contract says every string of a Sample is a view of the line.
func within(s string, b []byte) bool {
	if s == "" {
		return true
	}
	p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return p >= start && p+uintptr(len(s)) <= start+uintptr(len(b))
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"page.views:1|c|#env:prod,region:eu,service:web",
		"rpc.count:42:1.5:-3e-7|d|card:low|T1700000000|c:abc123|e:ext|#env:prod,svc:api|@0.25",
		"conns:+3:-1|g", "users:a:b,c|s", "x:1|c||#,a,,b,|zz", "a:1|c|@2", "a:1|c|T-5",
		"_e{5,4}:title|text|#a", "_e{5,3}:ab|c", "_sc|db.up|0|m:ok", "_sc|x|9", "a:1|c\n", "\x00\xff|:",
	} {
		f.Add([]byte(s))
	}
	var p Parser
	f.Fuzz(func(t *testing.T, line []byte) {
		orig := string(line)
		kind, s, err := p.Parse(line)
		if string(line) != orig {
			t.Fatalf("Parse modified its input: got %q, want %q", line, orig)
		}
		if kind < KindMetric || kind > KindServiceCheck {
			t.Fatalf("Parse(%q): got kind %d, want one of the Kind constants", line, kind)
		}
		if err != nil {
			if s != nil || Reason(err) == "other" {
				t.Fatalf("Parse(%q): got sample %p with error %v (reason %q); want nil and a package error", line, s, err, Reason(err))
			}
			return
		}
		if kind != KindMetric {
			if s != nil {
				t.Fatalf("Parse(%q): got a sample for a %v, want nil", line, kind)
			}
			return
		}
		if s.Name == "" || strings.ContainsAny(s.Name, "|:\n") {
			t.Fatalf("Parse(%q): got name %q, want non-empty without '|', ':', '\\n'", line, s.Name)
		}
		if s.Type < Counter || s.Type > Set {
			t.Fatalf("Parse(%q): got type %d, want a declared Type", line, s.Type)
		}
		if s.Rate != 0 && !(s.Rate > 0 && s.Rate <= 1) {
			t.Fatalf("Parse(%q): got rate %v, want 0 or in (0, 1]", line, s.Rate)
		}
		if s.Timestamp < 0 {
			t.Fatalf("Parse(%q): got timestamp %d, want >= 0", line, s.Timestamp)
		}
		for _, tag := range s.Tags {
			if tag == "" || strings.ContainsAny(tag, ",|\n") || !within(tag, line) {
				t.Fatalf("Parse(%q): got tag %q, want non-empty, without ',', '|', '\\n', inside the line", line, tag)
			}
		}
		for _, v := range []string{s.Name, s.Container, s.External, s.Cardinality, s.SetValue()} {
			if strings.ContainsAny(v, "|\n") || !within(v, line) {
				t.Fatalf("Parse(%q): got field %q, want no '|' or '\\n', inside the line", line, v)
			}
		}
		n := 0
		err = s.Values(func(v float64, rel bool) {
			n++
			if !Valid(v) || (rel && s.Type != Gauge) {
				t.Fatalf("Parse(%q): got value %v, relative %v for type %v; want finite, relative only for gauges", line, v, rel, s.Type)
			}
		})
		switch {
		case s.Type == Set:
			if err != ErrBadType || s.SetValue() == "" {
				t.Fatalf("Parse(%q): set: got Values error %v, member %q; want %v, non-empty", line, err, s.SetValue(), ErrBadType)
			}
		case err == nil:
			if n == 0 || n != s.numValues() {
				t.Fatalf("Parse(%q): got %d values, numValues %d; want equal and > 0", line, n, s.numValues())
			}
		case err != ErrBadValue && err != ErrNoValue:
			t.Fatalf("Parse(%q): got Values error %v, want nil, %v or %v", line, err, ErrBadValue, ErrNoValue)
		}
	})
}

// FuzzParseNumber holds parseNumber to strconv.ParseFloat on any input.
func FuzzParseNumber(f *testing.F) {
	for _, s := range []string{"1", "-0", "+1", ".5", "5.", "1e3", "2.5E-3", "nan", "inf", "0x1p3", "1e309", overflowDigits, "4e-324"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkParseNumber(t, s)
	})
}

// replaceBytes returns s with every byte in bad replaced by '_', byte by
// byte, as the encoders do (strings.Map would turn invalid UTF-8 into
// U+FFFD).
func replaceBytes(s, bad string) string {
	b := []byte(s)
	for i, c := range b {
		if strings.IndexByte(bad, c) >= 0 {
			b[i] = '_'
		}
	}
	return string(b)
}

// FuzzEncodeParseRoundTrip encodes a line with the package's encoders and
// parses it back: the Parser must read exactly what the encoder wrote.
func FuzzEncodeParseRoundTrip(f *testing.F) {
	f.Add("http.requests", "env:prod", "Service:API", uint8(0), 0.5, "83c0a99c", int64(1700000000), uint8(0), 1.5, -2.25, int64(7), "alice")
	f.Add("fuel level", "", "", uint8(1), 0.0, "", int64(0), uint8(1), -3.0, 1e300, int64(-5), "")
	f.Add("1lat", "le:0.5", "a,b|c", uint8(4), 1e-9, "c|d\ne", int64(-1), uint8(2), 5e-324, 0.0, int64(math.MinInt64), "a:b|c,d")
	f.Add("users", "beta", "x", uint8(5), 2.0, "cid", int64(math.MaxInt64), uint8(3), math.NaN(), math.Inf(1), int64(1), "zoë@#\xc3")
	f.Fuzz(func(t *testing.T, name, tag1, tag2 string, typ uint8, rate float64, container string, ts int64,
		mode uint8, v1, v2 float64, iv int64, member string) {
		clean, _, err := SanitizeName(name)
		if err != nil {
			return
		}
		var tags []string
		for _, tag := range []string{tag1, tag2} {
			if c, _, err := SanitizeTag(tag); err == nil {
				tags = append(tags, c)
			}
		}
		l := Line{
			Name: clean, Type: Type(typ%6 + 1), Rate: rate, Tags: string(AppendTags(nil, tags)),
			Container: replaceBytes(container, "|\n"),
			Timestamp: ts,
		}

		// Encode, and write down what the Parser must read back.
		var (
			b      []byte
			values []float64
			set    string
		)
		switch {
		case l.Type == Set:
			if member == "" {
				return // "name:|s" is not a valid line
			}
			b = AppendSetValue(nil, &l, member)
			set = replaceBytes(member, "|:,#@\n\r")
		case mode%4 == 0 && Valid(v1):
			b, values = AppendFloat(nil, &l, v1), []float64{v1}
		case mode%4 == 1 && Valid(v1) && Valid(v2):
			values = []float64{v1, v2, v1}
			b = AppendFloats(nil, &l, values)
			if l.Type == Gauge { // a negative gauge value comes after a 0 that makes it absolute
				values = nil
				for _, v := range []float64{v1, v2, v1} {
					if v < 0 {
						values = append(values, 0)
					}
					values = append(values, v)
				}
			}
		case mode%4 == 2:
			b, values = AppendInt(nil, &l, iv), []float64{float64(iv)}
		default:
			b, values = AppendUint(nil, &l, uint64(iv)), []float64{float64(uint64(iv))}
		}
		if len(b) > MaxLineLen {
			return
		}
		wantRate := 0.0
		if l.Rate > 0 && l.Rate < 1 {
			wantRate = l.Rate
		}
		wantTS := max(l.Timestamp, 0)

		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			// A negative gauge value: first the line that sets the gauge to 0, the same line
			// with the value 0, then the value's own line.
			zero := l
			if want := AppendInt(nil, &zero, 0); l.Type != Gauge || values[0] >= 0 || !bytes.Equal(b[:i], want) {
				t.Fatalf("encoded %q: a line break in a unit, want only %q before a negative gauge's line", b, want)
			}
			b = b[i+1:]
		}
		var p Parser
		kind, s, err := p.Parse(b)
		if err != nil || kind != KindMetric {
			t.Fatalf("Parse(%q): got %v, %v; want metric, nil", b, kind, err)
		}
		if s.Name != l.Name || s.Type != l.Type || s.Rate != wantRate || s.Container != l.Container || s.Timestamp != wantTS {
			t.Fatalf("Parse(%q): got name %q type %v rate %v container %q ts %d; want %q %v %v %q %d",
				b, s.Name, s.Type, s.Rate, s.Container, s.Timestamp, l.Name, l.Type, wantRate, l.Container, wantTS)
		}
		if strings.Join(s.Tags, ",") != strings.Join(tags, ",") || len(s.Tags) != len(tags) {
			t.Fatalf("Parse(%q): got tags %q, want %q", b, s.Tags, tags)
		}
		if l.Type == Set {
			if s.SetValue() != set {
				t.Fatalf("Parse(%q): got set member %q, want %q", b, s.SetValue(), set)
			}
			return
		}
		i := 0
		err = s.Values(func(v float64, rel bool) {
			if i >= len(values) {
				t.Fatalf("Parse(%q): got more than %d values", b, len(values))
			}
			// AppendNumber writes -0 as "0", so the sign marks exactly the
			// negative values, and only a gauge reports it.
			wantRel := l.Type == Gauge && values[i] < 0
			if v != values[i] || rel != wantRel {
				t.Fatalf("Parse(%q): value %d: got %v relative %v, want %v relative %v", b, i, v, rel, values[i], wantRel)
			}
			i++
		})
		if err != nil || i != len(values) {
			t.Fatalf("Parse(%q): got %d values, error %v; want %d, nil", b, i, err, len(values))
		}
	})
}
