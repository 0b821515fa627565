package benchmarks

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/statshard/statshard/agent"
)

// TestPrometheusExposition parses agent.WritePrometheus with Prometheus' own text parser: every
// family is well formed and typed, the drop family has one sample per reason of Stats.Dropped, and
// the values are the recorder's. It lives here, not in package agent, so that the parser's module
// never reaches the library's go.mod.
func TestPrometheusExposition(t *testing.T) {
	rec, err := agent.New(agent.Config{Interval: time.Hour, Statsd: agent.StatsdConfig{Address: "off"}, TCP: agent.TCPConfig{Enabled: true, Address: "127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	in, err := rec.Listen(agent.IntakeConfig{Listen: []string{"udp://127.0.0.1:0"}, Readers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	c, err := net.Dial("udp", strings.TrimPrefix(in.Addrs()[0], "udp://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("ok:1|c\nbad:x|c\nbad|q\nnan:1|q"))
	deadline := time.Now().Add(10 * time.Second)
	for rec.Stats().Intake.Lines < 4 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	rec.GaugeSet("g", 1)
	rec.Observe("h", 1)
	rec.SetAdd("s", "") // an invalid value
	rec.Flush()

	st := rec.Stats()
	var buf bytes.Buffer
	if err := agent.WritePrometheus(&buf, st); err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("Prometheus' parser rejects the exposition: %v\n%s", err, buf.String())
	}
	drops := fams["statshard_dropped_total"]
	if drops == nil || drops.GetType().String() != "COUNTER" {
		t.Fatalf("statshard_dropped_total missing or not a counter:\n%s", buf.String())
	}
	want := map[string]float64{}
	for _, d := range st.Dropped() {
		want[d.Reason] = float64(d.Count)
	}
	got := map[string]float64{}
	for _, m := range drops.GetMetric() {
		got[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
	}
	if len(got) != len(want) {
		t.Errorf("dropped reasons: got %v, want %v", got, want)
	}
	for r, v := range want {
		if got[r] != v {
			t.Errorf("statshard_dropped_total{reason=%q} = %v, want %v", r, got[r], v)
		}
	}
	if got["invalid_value"] != 1 {
		t.Errorf("invalid_value = %v, want 1 (the empty set member)", got["invalid_value"])
	}
	pe := 0.0
	for _, m := range fams["statshard_parse_errors_total"].GetMetric() {
		pe += m.GetCounter().GetValue()
	}
	if pe != 3 || float64(st.Intake.ParseErrors) != 3 {
		t.Errorf("parse errors: exposition %v, Stats %d, want 3", pe, st.Intake.ParseErrors)
	}
	if v := fams["statshard_series"].GetMetric()[0].GetGauge().GetValue(); v != float64(st.Series) || v < 3 {
		t.Errorf("statshard_series = %v, want %d", v, st.Series)
	}
	if v := fams["statshard_lines_received_total"].GetMetric()[0].GetCounter().GetValue(); v != 4 {
		t.Errorf("statshard_lines_received_total = %v, want 4", v)
	}
}
