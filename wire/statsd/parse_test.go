package statsd

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
)

// parsed is a Sample copied out of the Parser, values included, so tests
// can compare whole results.
type parsed struct {
	Name        string
	Type        Type
	Rate        float64
	Tags        []string
	Container   string
	Timestamp   int64
	External    string
	Cardinality string
	Values      []float64
	Relative    []bool
	Set         string
}

func collect(t *testing.T, s *Sample) parsed {
	t.Helper()
	got := parsed{
		Name: s.Name, Type: s.Type, Rate: s.Rate, Tags: append([]string{}, s.Tags...),
		Container: s.Container, Timestamp: s.Timestamp, External: s.External, Cardinality: s.Cardinality,
		Set: s.SetValue(),
	}
	if s.Type == Set {
		return got
	}
	err := s.Values(func(v float64, rel bool) {
		got.Values = append(got.Values, v)
		got.Relative = append(got.Relative, rel)
	})
	if err != nil {
		t.Fatalf("Values: got error %v, want nil", err)
	}
	if n := s.numValues(); n != len(got.Values) {
		t.Errorf("numValues: got %d, want %d (the values delivered)", n, len(got.Values))
	}
	return got
}

func TestParseMetric(t *testing.T) {
	one := []float64{1}
	no := []bool{false}
	tests := []struct {
		name string
		line string
		want parsed
	}{
		{"counter", "page.views:1|c", parsed{Name: "page.views", Type: Counter, Tags: []string{}, Values: one, Relative: no}},
		{"gauge", "fuel.level:0.5|g", parsed{Name: "fuel.level", Type: Gauge, Tags: []string{}, Values: []float64{0.5}, Relative: no}},
		{"timing", "req.time:320|ms", parsed{Name: "req.time", Type: Timing, Tags: []string{}, Values: []float64{320}, Relative: no}},
		{"histogram", "song.length:240|h", parsed{Name: "song.length", Type: Histogram, Tags: []string{}, Values: []float64{240}, Relative: no}},
		{"distribution", "lat:1.25|d", parsed{Name: "lat", Type: Distribution, Tags: []string{}, Values: []float64{1.25}, Relative: no}},
		{"set", "users.uniques:1234|s", parsed{Name: "users.uniques", Type: Set, Tags: []string{}, Set: "1234"}},
		{"set with : and ,", "users:a:b,c d|s|#env:prod", parsed{Name: "users", Type: Set, Tags: []string{"env:prod"}, Set: "a:b,c d"}},
		{"set with junk bytes", "u:\x00é@#|s", parsed{Name: "u", Type: Set, Tags: []string{}, Set: "\x00é@#"}},
		{"multi value", "lat:1:2.5:-3:1e-9|d", parsed{Name: "lat", Type: Distribution, Tags: []string{}, Values: []float64{1, 2.5, -3, 1e-9}, Relative: []bool{false, false, false, false}}},
		{"multi value counter", "hits:1:2|c", parsed{Name: "hits", Type: Counter, Tags: []string{}, Values: []float64{1, 2}, Relative: []bool{false, false}}},
		{"multi value empty skipped", "lat:1::2:|h", parsed{Name: "lat", Type: Histogram, Tags: []string{}, Values: []float64{1, 2}, Relative: []bool{false, false}}},
		{"gauge relative plus", "conns:+3|g", parsed{Name: "conns", Type: Gauge, Tags: []string{}, Values: []float64{3}, Relative: []bool{true}}},
		{"gauge relative minus", "conns:-2.5|g", parsed{Name: "conns", Type: Gauge, Tags: []string{}, Values: []float64{-2.5}, Relative: []bool{true}}},
		{"gauge multi mixed", "conns:5:+1:-2|g", parsed{Name: "conns", Type: Gauge, Tags: []string{}, Values: []float64{5, 1, -2}, Relative: []bool{false, true, true}}},
		{"counter sign not relative", "c:-1:+2|c", parsed{Name: "c", Type: Counter, Tags: []string{}, Values: []float64{-1, 2}, Relative: []bool{false, false}}},
		{"number forms", "n:1e3:.5:5.:-0:+1:2E-2|d", parsed{Name: "n", Type: Distribution, Tags: []string{}, Values: []float64{1000, 0.5, 5, 0, 1, 0.02}, Relative: []bool{false, false, false, false, false, false}}},
		{"huge value", "n:1.7976931348623157e308|g", parsed{Name: "n", Type: Gauge, Tags: []string{}, Values: []float64{math.MaxFloat64}, Relative: no}},
		{"tiny value", "n:4e-324|g", parsed{Name: "n", Type: Gauge, Tags: []string{}, Values: []float64{5e-324}, Relative: no}},
		{"underflow to zero", "n:1e-400|g", parsed{Name: "n", Type: Gauge, Tags: []string{}, Values: []float64{0}, Relative: no}},
		{"rate", "song.length:240|h|@0.5", parsed{Name: "song.length", Type: Histogram, Rate: 0.5, Tags: []string{}, Values: []float64{240}, Relative: no}},
		{"rate one", "c:1|c|@1", parsed{Name: "c", Type: Counter, Rate: 1, Tags: []string{}, Values: one, Relative: no}},
		{"rate exponent", "c:1|c|@1e-3", parsed{Name: "c", Type: Counter, Rate: 0.001, Tags: []string{}, Values: one, Relative: no}},
		{"tags", "users.online:1|c|#country:china,beta", parsed{Name: "users.online", Type: Counter, Tags: []string{"country:china", "beta"}, Values: one, Relative: no}},
		{"tag values with :", "x:1|c|#url:http://a:8080/b,k:v:w", parsed{Name: "x", Type: Counter, Tags: []string{"url:http://a:8080/b", "k:v:w"}, Values: one, Relative: no}},
		{"empty tag list", "x:1|c|#", parsed{Name: "x", Type: Counter, Tags: []string{}, Values: one, Relative: no}},
		{"empty tags skipped", "x:1|c|#,a,,b,", parsed{Name: "x", Type: Counter, Tags: []string{"a", "b"}, Values: one, Relative: no}},
		{"container", "c:1|c|c:83c0a99c0a54c0c1", parsed{Name: "c", Type: Counter, Tags: []string{}, Container: "83c0a99c0a54c0c1", Values: one, Relative: no}},
		{"timestamp", "g:5|g|T1656581400", parsed{Name: "g", Type: Gauge, Tags: []string{}, Timestamp: 1656581400, Values: []float64{5}, Relative: no}},
		{"timestamp plus", "g:5|g|T+7", parsed{Name: "g", Type: Gauge, Tags: []string{}, Timestamp: 7, Values: []float64{5}, Relative: no}},
		{"timestamp max", "g:5|g|T9223372036854775807", parsed{Name: "g", Type: Gauge, Tags: []string{}, Timestamp: math.MaxInt64, Values: []float64{5}, Relative: no}},
		{"external", "c:1|c|e:it-false,cn-app,pu-123", parsed{Name: "c", Type: Counter, Tags: []string{}, External: "it-false,cn-app,pu-123", Values: one, Relative: no}},
		{"cardinality", "c:1|c|card:high", parsed{Name: "c", Type: Counter, Tags: []string{}, Cardinality: "high", Values: one, Relative: no}},
		{
			"every field in encoder order",
			"rpc.count:42|c|@0.25|#env:prod,svc:api|c:abc123|T1700000000|e:ext|card:low",
			parsed{Name: "rpc.count", Type: Counter, Rate: 0.25, Tags: []string{"env:prod", "svc:api"}, Container: "abc123", Timestamp: 1700000000, External: "ext", Cardinality: "low", Values: []float64{42}, Relative: no},
		},
		{
			"every field in odd order",
			"rpc.count:42|c|card:low|T1700000000|c:abc123|e:ext|#env:prod,svc:api|@0.25",
			parsed{Name: "rpc.count", Type: Counter, Rate: 0.25, Tags: []string{"env:prod", "svc:api"}, Container: "abc123", Timestamp: 1700000000, External: "ext", Cardinality: "low", Values: []float64{42}, Relative: no},
		},
		{"duplicate fields last wins", "x:1|c|@0.5|#a,b|c:one|@0.25|#c|c:two", parsed{Name: "x", Type: Counter, Rate: 0.25, Tags: []string{"c"}, Container: "two", Values: one, Relative: no}},
		{"unknown fields ignored", "x:1|c|x:future|cx|card|e|%|#a", parsed{Name: "x", Type: Counter, Tags: []string{"a"}, Values: one, Relative: no}},
		{"empty fields ignored", "x:1|c||#a||", parsed{Name: "x", Type: Counter, Tags: []string{"a"}, Values: one, Relative: no}},
		{"trailing pipe", "x:1|c|", parsed{Name: "x", Type: Counter, Tags: []string{}, Values: one, Relative: no}},
		{"trailing newline", "x:1|c|#a\n", parsed{Name: "x", Type: Counter, Tags: []string{"a"}, Values: one, Relative: no}},
		{"raw name kept", "Weird Name#1:1|c", parsed{Name: "Weird Name#1", Type: Counter, Tags: []string{}, Values: one, Relative: no}},
		{"name like a service check", "_s:1|c", parsed{Name: "_s", Type: Counter, Tags: []string{}, Values: one, Relative: no}},
		{"name like an event", "_e:1|c", parsed{Name: "_e", Type: Counter, Tags: []string{}, Values: one, Relative: no}},
	}
	var p Parser
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind, s, err := p.Parse([]byte(tt.line))
			if err != nil || kind != KindMetric || s == nil {
				t.Fatalf("Parse(%q): got %v, %p, %v; want metric, a sample, nil", tt.line, kind, s, err)
			}
			if got := collect(t, s); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%q):\n got %+v\nwant %+v", tt.line, got, tt.want)
			}
		})
	}
}

func TestParseNegativeZero(t *testing.T) {
	var p Parser
	_, s, err := p.Parse([]byte("g:-0:-0.0|g"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	err = s.Values(func(v float64, rel bool) {
		n++
		if v != 0 || !math.Signbit(v) || !rel {
			t.Errorf("value %d: got %v (sign bit %v), relative %v; want -0, true, true", n, v, math.Signbit(v), rel)
		}
	})
	if err != nil || n != 2 {
		t.Errorf("got %d values, error %v; want 2, nil", n, err)
	}
}

func TestParseEventsAndServiceChecks(t *testing.T) {
	tests := []struct {
		line string
		kind LineKind
	}{
		{"_e{5,4}:title|text", KindEvent},
		{"_e{5,4}:title|text|d:1700000000|h:host|k:key|p:low|s:src|t:warning|#a:b,c", KindEvent},
		{"_e{3,3}:a|b|c|d", KindEvent}, // the title may hold '|': lengths decide
		{"_e{2,10}:é|line\\nnext", KindEvent},
		{"_e{5,4}:title|text\n", KindEvent},
		{"_sc|db.up|0", KindServiceCheck},
		{"_sc|db.up|3", KindServiceCheck},
		{"_sc|db.up|2|d:1700000000|h:host|#env:prod|m:replica lag 30s", KindServiceCheck},
	}
	var p Parser
	for _, tt := range tests {
		kind, s, err := p.Parse([]byte(tt.line))
		if kind != tt.kind || s != nil || err != nil {
			t.Errorf("Parse(%q): got %v, %v, %v; want %v, nil, nil", tt.line, kind, s, err, tt.kind)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		line string
		kind LineKind
		want error
	}{
		{"", KindMetric, ErrNoName},
		{"\n", KindMetric, ErrNoName},
		{":1|c", KindMetric, ErrNoName},
		{"|c", KindMetric, ErrNoName},
		{"a:|c", KindMetric, ErrNoValue},
		{"a|c", KindMetric, ErrNoValue},
		{"page.views", KindMetric, ErrNoValue},
		{"a:1", KindMetric, ErrNoType},
		{"a:1|", KindMetric, ErrNoType},
		{"a:1||#x", KindMetric, ErrNoType},
		{"a:1|x", KindMetric, ErrBadType},
		{"a:1|C", KindMetric, ErrBadType},
		{"a:1|cc", KindMetric, ErrBadType},
		{"a:1|m", KindMetric, ErrBadType},
		{"a:1|c|@0", KindMetric, ErrBadRate},
		{"a:1|c|@2", KindMetric, ErrBadRate},
		{"a:1|c|@1.0000001", KindMetric, ErrBadRate},
		{"a:1|c|@-0.5", KindMetric, ErrBadRate},
		{"a:1|c|@x", KindMetric, ErrBadRate},
		{"a:1|c|@", KindMetric, ErrBadRate},
		{"a:1|c|@5e-324", KindMetric, ErrBadRate}, // 1/rate overflows to +Inf
		{"a:1|c|@5.56e-309", KindMetric, ErrBadRate},
		{"a:1|c|@nan", KindMetric, ErrBadRate},
		{"a:1|c|@1e-400", KindMetric, ErrBadRate}, // rounds to 0
		{"a:1|c|T-5", KindMetric, ErrBadTimestamp},
		{"a:1|c|T0", KindMetric, ErrBadTimestamp},
		{"a:1|c|T", KindMetric, ErrBadTimestamp},
		{"a:1|c|T1.5", KindMetric, ErrBadTimestamp},
		{"a:1|c|Tabc", KindMetric, ErrBadTimestamp},
		{"a:1|c|T9223372036854775808", KindMetric, ErrBadTimestamp},
		{"a:1|c|#x|T-1|@0.5", KindMetric, ErrBadTimestamp},
		{"a\nb:1|c", KindMetric, ErrNewline},
		{"a:1|c\n\n", KindMetric, ErrNewline},
		{"a:1|c|#" + strings.Repeat("t", MaxLineLen), KindMetric, ErrLineTooLong},
		{"_e{5,3}:ab|c", KindEvent, ErrBadEvent},
		{"_e{5,4}:title|tex", KindEvent, ErrBadEvent},
		{"_e{5,4}:title|texts", KindEvent, ErrBadEvent},
		{"_e{4,4}:title|text", KindEvent, ErrBadEvent},
		{"_e{0,4}:|text", KindEvent, ErrBadEvent},
		{"_e{5,0}:title|", KindEvent, ErrBadEvent},
		{"_e{5,4}title|text", KindEvent, ErrBadEvent},
		{"_e{5;4}:title|text", KindEvent, ErrBadEvent},
		{"_e{,4}:title|text", KindEvent, ErrBadEvent},
		{"_e{5,}:title|text", KindEvent, ErrBadEvent},
		{"_e{-5,4}:title|text", KindEvent, ErrBadEvent},
		{"_e{99999999999999999999,4}:title|text", KindEvent, ErrBadEvent},
		{"_e{", KindEvent, ErrBadEvent},
		{"_e{5,4}:title|text\n|x", KindEvent, ErrNewline},
		{"_e{5,4}:title|" + strings.Repeat("x", MaxLineLen), KindEvent, ErrLineTooLong},
		{"_sc|x|9", KindServiceCheck, ErrBadServiceCheck},
		{"_sc|x|", KindServiceCheck, ErrBadServiceCheck},
		{"_sc|x", KindServiceCheck, ErrBadServiceCheck},
		{"_sc||0", KindServiceCheck, ErrBadServiceCheck},
		{"_sc|x|01", KindServiceCheck, ErrBadServiceCheck},
		{"_sc|x|-1", KindServiceCheck, ErrBadServiceCheck},
		{"_sc", KindServiceCheck, ErrBadServiceCheck},
		{"_scale:1|c", KindServiceCheck, ErrBadServiceCheck}, // as the Datadog Agent sees it
		{"\x00\xff\xfe|\x01:\x02", KindMetric, ErrNoValue},
		{"\xde\xad:\xbe\xef|\x00", KindMetric, ErrBadType},
	}
	var p Parser
	for _, tt := range tests {
		kind, s, err := p.Parse([]byte(tt.line))
		if kind != tt.kind || s != nil || err != tt.want {
			t.Errorf("Parse(%.40q): got %v, %v, %v; want %v, nil, %v", tt.line, kind, s, err, tt.kind, tt.want)
		}
	}
}

func TestValuesInvalid(t *testing.T) {
	tests := []struct {
		line      string
		want      error
		delivered []float64 // values before the bad one
	}{
		{"a:nan|g", ErrBadValue, nil},
		{"a:NaN|d", ErrBadValue, nil},
		{"a:inf|c", ErrBadValue, nil},
		{"a:-Infinity|g", ErrBadValue, nil},
		{"a:1e309|g", ErrBadValue, nil},
		{"a:-1.8e308|g", ErrBadValue, nil},
		{"a:1e99999999999999999999|g", ErrBadValue, nil},
		{"a:x|c", ErrBadValue, nil},
		{"a:0x10|c", ErrBadValue, nil},
		{"a:0x1p3|c", ErrBadValue, nil},
		{"a:1_000|c", ErrBadValue, nil},
		{"a:1 |c", ErrBadValue, nil},
		{"a: 1|c", ErrBadValue, nil},
		{"a:.|c", ErrBadValue, nil},
		{"a:-|c", ErrBadValue, nil},
		{"a:1e|c", ErrBadValue, nil},
		{"a:1e+|c", ErrBadValue, nil},
		{"a:1.2.3|c", ErrBadValue, nil},
		{"a:++1|c", ErrBadValue, nil},
		{"a:1,5|c", ErrBadValue, nil},
		{"a:1:2:x:4|d", ErrBadValue, []float64{1, 2}},
		{"a:::|d", ErrNoValue, nil},
	}
	var p Parser
	for _, tt := range tests {
		_, s, err := p.Parse([]byte(tt.line))
		if err != nil {
			t.Errorf("Parse(%q): got error %v, want nil (values are checked by Values)", tt.line, err)
			continue
		}
		var got []float64
		err = s.Values(func(v float64, _ bool) { got = append(got, v) })
		if err != tt.want || !reflect.DeepEqual(got, tt.delivered) {
			t.Errorf("Values of %q: got %v, %v; want %v, %v", tt.line, got, err, tt.delivered, tt.want)
		}
	}
}

func TestSampleSetAccessors(t *testing.T) {
	var p Parser
	_, s, err := p.Parse([]byte("u:alice|s"))
	if err != nil {
		t.Fatal(err)
	}
	called := false
	if err := s.Values(func(float64, bool) { called = true }); err != ErrBadType || called {
		t.Errorf("Values on a set: got %v, fn called %v; want %v, false", err, called, ErrBadType)
	}
	if got := s.numValues(); got != 1 {
		t.Errorf("numValues on a set: got %d, want 1", got)
	}
	_, s, err = p.Parse([]byte("c:1:2|c"))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.SetValue(); got != "" {
		t.Errorf("SetValue on a counter: got %q, want \"\"", got)
	}
}

// TestParseAliases proves the zero-copy contract: the strings of a Sample
// are views of the line, so changing the buffer changes them.
func TestParseAliases(t *testing.T) {
	var p Parser
	buf := []byte("abc:1|c|#env:prod|c:cid")
	_, s, err := p.Parse(buf)
	if err != nil {
		t.Fatal(err)
	}
	copy(buf, "xyz")
	copy(buf[len("abc:1|c|#"):], "ENV")
	if s.Name != "xyz" || s.Tags[0] != "ENV:prod" {
		t.Errorf("after overwriting the buffer: got name %q, tag %q; want \"xyz\", \"ENV:prod\" (views of the line)", s.Name, s.Tags[0])
	}
}

// TestParseResetsSample checks that nothing of a previous line leaks into
// the next one through the reused Sample.
func TestParseResetsSample(t *testing.T) {
	var p Parser
	if _, _, err := p.Parse([]byte("a:1|c|@0.5|#x,y|c:cid|T5|e:ext|card:high")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Parse([]byte("b:1|g|#z|T-1")); err != ErrBadTimestamp {
		t.Fatalf("got %v, want %v", err, ErrBadTimestamp)
	}
	_, s, err := p.Parse([]byte("c:2|d"))
	if err != nil {
		t.Fatal(err)
	}
	got := collect(t, s)
	want := parsed{Name: "c", Type: Distribution, Tags: []string{}, Values: []float64{2}, Relative: []bool{false}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// TestParseTagSliceBounded checks that a line with many tags does not pin
// a large slice in the Parser.
func TestParseTagSliceBounded(t *testing.T) {
	var p Parser
	many := "m:1|c|#" + strings.Repeat("t,", 10*maxKeptTags)
	_, s, err := p.Parse([]byte(many))
	if err != nil || len(s.Tags) != 10*maxKeptTags {
		t.Fatalf("got %v tags, error %v; want %d, nil", len(s.Tags), err, 10*maxKeptTags)
	}
	if _, _, err := p.Parse([]byte("m:1|c|#a")); err != nil {
		t.Fatal(err)
	}
	if got := cap(p.tags); got > maxKeptTags {
		t.Errorf("tag slice capacity after a small line: got %d, want <= %d", got, maxKeptTags)
	}
}

func TestSplitLines(t *testing.T) {
	tests := []struct {
		datagram string
		want     []string
	}{
		{"", nil},
		{"\n\n", nil},
		{"a:1|c", []string{"a:1|c"}},
		{"a:1|c\n", []string{"a:1|c"}},
		{"a:1|c\nb:2|g\n\n_sc|x|0", []string{"a:1|c", "b:2|g", "_sc|x|0"}},
		{"\na\n\nb", []string{"a", "b"}},
		{"a:1|c\r\nb:2|c\r\n\r\n", []string{"a:1|c", "b:2|c"}}, // CRLF, as some clients send
		{"a\rb\n", []string{"a\rb"}},                           // only a '\r' before '\n' ends a line
	}
	for _, tt := range tests {
		var got []string
		SplitLines([]byte(tt.datagram), func(line []byte) {
			if cap(line) != len(line) {
				t.Errorf("line %q: got cap %d, want %d (capped)", line, cap(line), len(line))
			}
			got = append(got, string(line))
		})
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitLines(%q): got %q, want %q", tt.datagram, got, tt.want)
		}
	}
}

func TestReason(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{ErrLineTooLong, "line_too_long"},
		{ErrNewline, "newline"},
		{ErrNoName, "no_name"},
		{ErrNoValue, "no_value"},
		{ErrBadValue, "bad_value"},
		{ErrNoType, "no_type"},
		{ErrBadType, "bad_type"},
		{ErrBadRate, "bad_rate"},
		{ErrBadTimestamp, "bad_timestamp"},
		{ErrBadEvent, "bad_event"},
		{ErrBadServiceCheck, "bad_service_check"},
		{fmt.Errorf("agent: line 3: %w", ErrBadRate), "bad_rate"},
		{errors.New("statsd: something else"), "other"},
	}
	for _, tt := range tests {
		if got := Reason(tt.err); got != tt.want {
			t.Errorf("Reason(%v): got %q, want %q", tt.err, got, tt.want)
		}
	}
	// Every sentinel must have a distinct label and the package prefix.
	seen := map[string]bool{}
	for _, r := range reasons {
		if seen[r.label] {
			t.Errorf("label %q: got it twice, want distinct labels", r.label)
		}
		seen[r.label] = true
		if !strings.HasPrefix(r.err.Error(), "statsd: ") {
			t.Errorf("error %q: got no \"statsd: \" prefix, want one", r.err)
		}
	}
}

func TestLineKindString(t *testing.T) {
	tests := []struct {
		k    LineKind
		want string
	}{
		{0, "unknown"}, {KindMetric, "metric"}, {KindEvent, "event"}, {KindServiceCheck, "service_check"}, {99, "unknown"},
	}
	for _, tt := range tests {
		if got := tt.k.String(); got != tt.want {
			t.Errorf("LineKind(%d).String(): got %q, want %q", uint8(tt.k), got, tt.want)
		}
	}
}

func TestParseAllocs(t *testing.T) {
	lines := []string{
		"page.views:1|c|#env:prod,region:eu,service:web",
		"rpc.count:42:1.5:-3e-7|d|card:low|T1700000000|c:abc123|e:ext|#env:prod,svc:api|@0.25",
		"conns:+3|g",
		"users:alice|s|#a",
		"_e{5,4}:title|text|#a",
		"_sc|db.up|0",
		// Error paths must not allocate either: a flood of junk is counted,
		// not turned into garbage.
		"a:1|c|@x",
		"a:1|c|@1e999",
		"a:1|c|@1.79769313486231581e308",
		"a:1|c|T99999999999999999999",
		"a:1|x",
		":1|c",
		"_e{5,3}:ab|c",
		"_sc|x|9",
		"a:1|c|#" + strings.Repeat("t", MaxLineLen),
	}
	values := []string{"a:nan|g", "a:1e309|g", "a:1.79769313486231581e308|g", "a:1:2.5:x|d", "a:0x1p3|c", "a:::|d"}
	var p Parser
	for _, line := range lines {
		b := []byte(line)
		p.Parse(b) // grow the tag slice once
		wantNoAllocs(t, "Parse "+line[:min(len(line), 40)], func() { p.Parse(b) })
	}
	sum := 0.0
	add := func(v float64, _ bool) { sum += v }
	for _, line := range values {
		b := []byte(line)
		wantNoAllocs(t, "Values "+line, func() {
			_, s, _ := p.Parse(b)
			_ = s.Values(add)
			_ = s.numValues()
		})
	}
	dg := []byte("a:1|c\nb:2|g\n\n_sc|x|0\n")
	wantNoAllocs(t, "SplitLines", func() {
		SplitLines(dg, func(line []byte) { p.Parse(line) })
	})
	wantNoAllocs(t, "Reason", func() { _ = Reason(ErrBadServiceCheck) })
}
