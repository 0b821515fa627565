package peertest

import (
	"strings"
	"testing"
	"time"
)

func TestParsePoint(t *testing.T) {
	p, err := parsePoint([]byte(`{"fields":{"value":-9223372036854775808},"name":"a_b","tags":{"env":"x","metric_type":"counter"},"timestamp":1700000000123}`))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "a_b" || p.Type != "counter" || len(p.Tags) != 1 || p.Tags["env"] != "x" {
		t.Errorf("got %+v, want name a_b, type counter, tags {env:x}", p)
	}
	if v, ok := p.Int("value"); !ok || v != -1<<63 {
		t.Errorf("Int: got %d %v, want every digit of -9223372036854775808", v, ok)
	}
	if !p.Time.Equal(time.UnixMilli(1700000000123)) {
		t.Errorf("Time: got %v, want 1700000000123 ms", p.Time)
	}
	f, err := parsePoint([]byte(`{"fields":{"value":9.99999999999999e+18},"name":"f","tags":{"metric_type":"gauge"},"timestamp":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Int("value"); ok {
		t.Errorf("Int of a float field: got ok, want not an integer")
	}
	if v, _ := f.Value(); v != 9.99999999999999e18 {
		t.Errorf("Value: got %v, want 9.99999999999999e18", v)
	}
	if f.Fields["value"] != "9.99999999999999e+18" {
		t.Errorf("Fields keeps the text: got %q", f.Fields["value"])
	}
	nan, err := parsePoint([]byte(`{"fields":{},"name":"nan_g","tags":{"metric_type":"gauge"},"timestamp":1}`))
	if err != nil || len(nan.Fields) != 0 {
		t.Errorf("a NaN gauge's point (no fields): got %v %v, want a point without fields", nan, err)
	}
	if _, ok := nan.Value(); ok {
		t.Errorf("Value of a point without fields: got ok, want missing")
	}
	for _, bad := range []string{
		`not json`,
		`{"fields":{"value":1},"tags":{},"timestamp":1}`,
		`{"fields":{"value":1},"name":"x","tags":{}}`,
		`{"fields":{"value":"s"},"name":"x","tags":{},"timestamp":1}`,
		`{"fields":{"value":1},"name":"x","tags":{},"timestamp":1} {}`,
	} {
		if _, err := parsePoint([]byte(bad)); err == nil {
			t.Errorf("parsePoint(%s): got no error, want one", bad)
		}
	}
}

func TestTelegrafMetricsQueries(t *testing.T) {
	var points []Point
	for i, line := range []string{
		`{"fields":{"value":1},"name":"c","tags":{"env":"x","metric_type":"counter"},"timestamp":1}`,
		`{"fields":{"value":2},"name":"c","tags":{"env":"y","metric_type":"counter"},"timestamp":1}`,
		`{"fields":{"value":3},"name":"c","tags":{"env":"x","metric_type":"counter"},"timestamp":2}`,
		`{"fields":{"value":5},"name":"d","tags":{"metric_type":"distribution"},"timestamp":2}`,
		`{"fields":{"value":5},"name":"d","tags":{"metric_type":"distribution"},"timestamp":2}`,
		`{"fields":{"value":1},"name":"peertest_probe_1_1","tags":{"metric_type":"gauge"},"timestamp":2}`,
	} {
		p, err := parsePoint([]byte(line))
		if err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		points = append(points, p)
	}
	m := &TelegrafMetrics{points: points}
	if p, ok := m.Last("c", "env", "x"); !ok || p.Fields["value"] != "3" {
		t.Errorf("Last(c, env=x): got %v %v, want the latest, value 3", p, ok)
	}
	if _, ok := m.Last("c"); ok {
		t.Errorf("Last(c) without tags: got a point, want none (tags match exactly)")
	}
	if n := len(m.All("d")); n != 2 {
		t.Errorf("All(d): got %d points, want 2 (equal values are separate points)", n)
	}
	if s := m.Series("c"); len(s) != 2 || s[0].Fields["value"] != "3" || s[1].Tags["env"] != "y" {
		t.Errorf("Series(c): got %v, want the latest of env=x then env=y", s)
	}
	d := m.dump()
	if strings.Contains(d, "peertest_probe") || !strings.Contains(d, `c{env="x"} counter value=3`) {
		t.Errorf("dump: got\n%s\nwant the latest c{env=x} and no probe", d)
	}
	if got := (&TelegrafMetrics{}).dump(); got != "(no points)\n" {
		t.Errorf("empty dump: got %q", got)
	}
	defer func() {
		if recover() == nil {
			t.Errorf("Last with an odd tag count: got no panic, want one")
		}
	}()
	//lint:ignore SA5012 the odd count is what this test checks
	m.Last("c", "env")
}
